# stytch_require_scope fails closed: a value that comes out empty (or all
# spaces) at request time refuses the request with 500 and an error line
# naming the directive and the value's text, whatever the token, and a
# value written empty or all spaces is refused by "nginx -t".  A required
# scope of three parts is matched as Stytch's SDKs match it, on its first
# two, and a warn line at start says so.
use Test::Nginx::Socket 'no_plan';
use StytchTest;
use StytchM2m ();

no_shuffle();
check_accum_error_log();

our $Client = StytchM2m::stytch_api(POST => '/v1/m2m/clients', {
    client_name => 'scope-values',
    scopes => ['read:users', 'write:users'],
})->{m2m_client};
our $Reader = StytchM2m::oauth_token(client_id => $Client->{client_id},
                          client_secret => $Client->{client_secret},
                          scope => 'read:users');
our $Both = StytchM2m::oauth_token(client_id => $Client->{client_id},
                        client_secret => $Client->{client_secret});

run_tests();

__DATA__

=== TEST 1: a value that comes out empty refuses every M2M token with 500: $stytch_auth_result error, and an error line names the directive and the value's text
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;

    map $uri $nothing {
        default  "";
    }

    map $uri $spaces {
        default  "   ";
    }

    map $uri $users_scope {
        ~^/named/  read:users;
        default    "";
    }
--- config
    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
    }

    location /nothing/ {
        stytch_auth m2m;
        stytch_require_scope $nothing;
        root html;
        add_header X-Result $stytch_auth_result always;
        add_header X-Err $stytch_auth_error always;
    }
--- user_files
>>> nothing/index.html
nothing
--- more_headers eval
["Authorization: Bearer $::Reader", "Authorization: Bearer $::Both"]
--- request eval
["GET /nothing/index.html", "GET /nothing/index.html"]
--- error_code eval
[500, 500]
--- response_headers eval
["X-Result: error\nX-Err: internal_error", "X-Result: error\nX-Err: internal_error"]
--- response_body_like eval
[qr/500 Internal Server Error/, qr/500 Internal Server Error/]
--- error_log eval
qr/\[error\] .*"stytch_require_scope" "\$nothing" is empty: the request is refused/
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 2: a value of spaces only is empty too
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;

    map $uri $nothing {
        default  "";
    }

    map $uri $spaces {
        default  "   ";
    }

    map $uri $users_scope {
        ~^/named/  read:users;
        default    "";
    }
--- config
    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
    }

    location /spaces/ {
        stytch_auth m2m;
        stytch_require_scope $spaces;
        root html;
    }
--- user_files
>>> spaces/index.html
spaces
--- more_headers eval
["Authorization: Bearer $::Both"]
--- request eval
["GET /spaces/index.html"]
--- error_code eval
[500]
--- error_log eval
qr/\[error\] .*"stytch_require_scope" "\$spaces" is empty: the request is refused/
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 3: an empty value beside a scope the token has refuses it
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;

    map $uri $nothing {
        default  "";
    }

    map $uri $spaces {
        default  "   ";
    }

    map $uri $users_scope {
        ~^/named/  read:users;
        default    "";
    }
--- config
    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
    }

    location /beside/ {
        stytch_auth m2m;
        stytch_require_scope read:users $nothing;
        root html;
    }
--- user_files
>>> beside/index.html
beside
--- more_headers eval
["Authorization: Bearer $::Both"]
--- request eval
["GET /beside/index.html"]
--- error_code eval
[500]
--- error_log eval
qr/\[error\] .*"stytch_require_scope" "\$nothing" is empty: the request is refused/
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 4: a map that gives no scope for one URI refuses there, and requires its scope elsewhere
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;

    map $uri $nothing {
        default  "";
    }

    map $uri $spaces {
        default  "   ";
    }

    map $uri $users_scope {
        ~^/named/  read:users;
        default    "";
    }
--- config
    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
    }

    location /unnamed/ {
        stytch_auth m2m;
        stytch_require_scope $users_scope;
        root html;
    }

    location /named/ {
        stytch_auth m2m;
        stytch_require_scope $users_scope;
        root html;
    }
--- user_files
>>> unnamed/index.html
unnamed
>>> named/index.html
named
--- more_headers eval
["Authorization: Bearer $::Reader", "Authorization: Bearer $::Reader"]
--- request eval
["GET /unnamed/index.html", "GET /named/index.html"]
--- error_code eval
[500, 200]
--- response_body_like eval
[qr/500 Internal Server Error/, qr/^named$/]
--- error_log eval
qr/\[error\] .*"stytch_require_scope" "\$users_scope" is empty: the request is refused.*"GET \/unnamed\/index.html/
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 5: a session JWT where an empty value is required is refused too
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
    stytch_fallback off;

    map $uri $nothing {
        default  "";
    }
--- config
    location /p/ {
        stytch_auth on;
        stytch_accept_m2m on;
        stytch_require_scope $nothing;
        root html;
    }
--- user_files
>>> p/index.html
protected
--- more_headers eval
"Authorization: Bearer " . StytchTest::mint_jwt()
--- request
GET /p/index.html
--- error_code: 500
--- error_log eval
qr/\[error\] .*"stytch_require_scope" "\$nothing" is empty/
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 6: a scope written as spaces is refused by nginx -t
--- config
    location /p/ {
        stytch_auth m2m;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_api_url $TEST_NGINX_STYTCH_URL;
        stytch_require_scope "  ";
        root html;
    }
--- must_die
--- error_log
[emerg]
empty scope in "stytch_require_scope"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 7: a required scope of three parts is met as Stytch's SDKs meet it, on its first two parts, and start says so
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
--- config
    location /extra/ {
        stytch_auth m2m;
        stytch_require_scope "audit read:users:extra";
        root html;
    }

    location /write/ {
        stytch_auth m2m;
        stytch_require_scope write:users:extra:more;
        root html;
    }
--- user_files
>>> extra/index.html
extra
>>> write/index.html
write
--- more_headers eval
["Authorization: Bearer $::Reader", "Authorization: Bearer $::Reader", "Authorization: Bearer $::Both"]
--- request eval
["GET /extra/index.html", "GET /write/index.html", "GET /write/index.html"]
--- error_code eval
[403, 403, 200]
--- error_log eval
[qr/\[warn\] .*"stytch_require_scope" "read:users:extra": Stytch matches a scope on its first two parts, so a token with "read:users" has it/,
 qr/\[warn\] .*"stytch_require_scope" "write:users:extra:more": Stytch matches a scope on its first two parts, so a token with "write:users" has it/]
--- no_error_log
[error]
[alert]
[crit]
[emerg]
