# A response that carries a refreshed session cookie is never one a shared
# cache may store, whatever set its caching headers: the location's
# "expires" and "add_header Cache-Control", or the upstream's
# Cache-Control and Expires.  It has one Cache-Control, "private" first,
# with max-age and the browser's directives kept and public, s-maxage and
# proxy-revalidate dropped; an Expires in the past; and no CDN-Cache-Control
# or Surrogate-Control.
use Test::Nginx::Socket 'no_plan';
use StytchTest;

no_shuffle();

our $live = create_session();
our $now = time();
our @expired = map { mint_jwt(session_id => $live->{session_id},
                              iat => $now - 3600 - 10 * $_) } 1 .. 8;
our $valid = mint_jwt(session_id => $live->{session_id});

# one Cache-Control line, private first, nothing a shared cache may use
our $Private = qr/\A(?![\s\S]*\r\nCache-Control:[^\r]*\r\n[\s\S]*\r\nCache-Control:)[\s\S]*\r\nCache-Control: private(, [^\r]*)?\r\n/i;
our $Shared = qr/public|s-maxage|proxy-revalidate|CDN-Cache-Control|Surrogate-Control|Expires: (?!Thu, 01 Jan 1970 00:00:01 GMT\r)/i;
our $Cookie = qr/\r\nSet-Cookie: stytch_session_jwt=eyJ/;

our $Past = qr/\r\nExpires: Thu, 01 Jan 1970 00:00:01 GMT\r\n/;

# a refreshed response whose headers match each pattern
sub main::refreshed {
    my $all = join '', map { "(?=[\\s\\S]*$_)" } $Cookie, $Past, @_;
    return qr/(?=$Private)$all/;
}

run_tests();

__DATA__

=== TEST 1: expires, add_header Cache-Control public in the location, an upstream's public Cache-Control and Expires, CDN headers: a refreshed response is private, with its max-age, an Expires in the past, nothing for shared caches
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
--- config
    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
    }

    location /expires/ {
        stytch_auth on;
        add_header X-Source $stytch_auth_source always;
        root html;
        expires 10m;
    }

    location /public/ {
        stytch_auth on;
        add_header X-Source $stytch_auth_source always;
        root html;
        add_header Cache-Control "public, max-age=600, s-maxage=3600";
    }

    location /both/ {
        stytch_auth on;
        add_header X-Source $stytch_auth_source always;
        root html;
        expires 1h;
        add_header Cache-Control "public, s-maxage=3600, proxy-revalidate, no-transform";
    }

    location /app/ {
        stytch_auth on;
        add_header X-Source $stytch_auth_source always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend/;
    }

    location /cdn/ {
        stytch_auth on;
        add_header X-Source $stytch_auth_source always;
        root html;
        add_header CDN-Cache-Control "max-age=600";
        add_header Cloudflare-CDN-Cache-Control "max-age=600";
        add_header Surrogate-Control "max-age=600";
    }

    location /backend/ {
        add_header Cache-Control "public, max-age=600";
        expires 10m;
        root html;
    }
--- user_files
>>> expires/index.html
expires
>>> public/index.html
public
>>> both/index.html
both
>>> backend/index.html
backend
>>> cdn/index.html
cdn
--- init
StytchTest::reset_emulator();
--- more_headers eval
[map { "Cookie: stytch_session_jwt=$::expired[$_]" } 0 .. 4]
--- request eval
["GET /expires/index.html", "GET /public/index.html", "GET /both/index.html",
 "GET /app/index.html", "GET /cdn/index.html"]
--- error_code eval
[200, 200, 200, 200, 200]
--- response_headers eval
[("X-Source: api") x 5]
--- raw_response_headers_like eval
[main::refreshed(qr/\r\nCache-Control: private, max-age=600\r\n/),
 main::refreshed(qr/\r\nCache-Control: private, max-age=600\r\n/),
 main::refreshed(qr/\r\nCache-Control: private, max-age=3600, no-transform\r\n/),
 main::refreshed(qr/\r\nCache-Control: private, max-age=600(, max-age=600)?\r\n/),
 main::refreshed(qr/\r\nCache-Control: private\r\n/)]
--- raw_response_headers_unlike eval
[$::Shared, $::Shared, $::Shared, $::Shared, $::Shared]
--- no_error_log
[error]
[alert]
[crit]
[emerg]



=== TEST 2: a response that refreshes nothing keeps the location's caching headers
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
--- config
    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
    }

    location /public/ {
        stytch_auth on;
        root html;
        add_header Cache-Control "public, max-age=600";
    }
--- user_files
>>> public/index.html
public
--- init
StytchTest::wait_keys('/public/index.html');
--- more_headers eval
"Cookie: stytch_session_jwt=$::valid"
--- request
GET /public/index.html
--- error_code: 200
--- raw_response_headers_like: \r\nCache-Control: public, max-age=600\r\n
--- raw_response_headers_unlike: Set-Cookie|private
--- no_error_log
[error]
[alert]
[crit]
[emerg]
