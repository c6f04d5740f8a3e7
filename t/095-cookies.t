# The cookies the module writes live beside those of Stytch's frontend SDK
# (@stytch/vanilla-js): a refreshed cookie has the SDK's attributes,
# Path=/ and SameSite=Lax, and Secure unless the site is on localhost or a
# loopback address, TLS or not; stytch_cookie_attributes replaces them;
# stytch_cookie_domain and stytch_cookie_path mirror the SDK's
# cookieOptions, and sign-out clears every variant of each cookie.  A
# sign-out also drops the revoked session's answer from the API-result
# cache, and says when it found no session cookie to revoke.
use Test::Nginx::Socket 'no_plan';
use StytchTest;

no_shuffle();
check_accum_error_log();

our $s = create_session();
# expired JWTs of the session, each its own (an answer is refreshed once)
our @expired = map { mint_jwt(session_id => $s->{session_id},
                              iat => time() - 900 - $_, lifetime => 300) } 0 .. 9;
our $opaque = create_session();

# the refreshed JWT cookie, as a regex of its whole header line
sub main::refreshed {
    my ($attrs, $secure) = @_;
    my $tail = $secure ? '; Secure' : '';
    return qr/^Set-Cookie: stytch_session_jwt=[\w-]+\.[\w-]+\.[\w-]+; \Q$attrs\E; Expires=[^;\r]+ GMT\Q$tail\E\r$/m;
}

# an expired cookie of NAME with ATTRS
sub main::cleared {
    my ($name, $attrs, $secure) = @_;
    my $tail = $secure ? '; Secure' : '';
    return qr/^Set-Cookie: \Q$name=; $attrs; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT$tail\E\r$/m;
}

# every variant of both cookies, at www.example.com (so Secure)
our $ClearAll = do {
    my @v;
    for my $name ('stytch_session_jwt', 'stytch_session') {
        for my $attrs ('Path=/; SameSite=Lax', 'Path=/; Domain=example.com; SameSite=Lax',
                       'Path=/app; SameSite=Lax', 'Path=/app; Domain=example.com; SameSite=Lax') {
            push @v, '(?=[\s\S]*' . main::cleared($name, $attrs, 1) . ')';
        }
    }
    my $all = join '', @v;
    qr/\A$all/;
};

run_tests();

__DATA__

=== TEST 1: a refreshed cookie: Path=/; SameSite=Lax, and Secure unless the Host is localhost or a loopback address, over plain HTTP too
--- config
    location /p/ {
        stytch_auth on;
        root html;
    }
--- more_headers eval
["Host: app.example.com\nCookie: stytch_session_jwt=$::expired[0]",
 "Host: APP.example.com:8080\nCookie: stytch_session_jwt=$::expired[1]",
 "Host: localhost\nCookie: stytch_session_jwt=$::expired[2]",
 "Host: 127.0.0.2:8080\nCookie: stytch_session_jwt=$::expired[3]",
 "Host: [::1]\nCookie: stytch_session_jwt=$::expired[4]",
 "Host: 128.0.0.1\nCookie: stytch_session_jwt=$::expired[5]"]
--- request eval
["GET /p/index.html", "GET /p/index.html", "GET /p/index.html", "GET /p/index.html", "GET /p/index.html", "GET /p/index.html"]
--- error_code eval
[200, 200, 200, 200, 200, 200]
--- raw_response_headers_like eval
[main::refreshed('Path=/; SameSite=Lax', 1),
 main::refreshed('Path=/; SameSite=Lax', 1),
 main::refreshed('Path=/; SameSite=Lax', 0),
 main::refreshed('Path=/; SameSite=Lax', 0),
 main::refreshed('Path=/; SameSite=Lax', 0),
 main::refreshed('Path=/; SameSite=Lax', 1)]



=== TEST 2: stytch_cookie_domain and stytch_cookie_path: the refreshed cookie is written as cookieOptions would write it
--- config
    stytch_cookie_domain example.com;
    stytch_cookie_path /app;

    location /p/ {
        stytch_auth on;
        root html;
    }
--- more_headers eval
"Host: www.example.com\nCookie: stytch_session_jwt=$::expired[6]"
--- request
GET /p/index.html
--- error_code: 200
--- raw_response_headers_like eval
main::refreshed('Path=/app; Domain=example.com; SameSite=Lax', 1)



=== TEST 3: stytch_cookie_attributes replaces the SDK's attributes: written as given (Secure only over TLS, as before)
--- config
    stytch_cookie_attributes "Path=/; SameSite=Strict; HttpOnly";

    location /p/ {
        stytch_auth on;
        root html;
    }
--- more_headers eval
"Host: app.example.com\nCookie: stytch_session_jwt=$::expired[7]"
--- request
GET /p/index.html
--- error_code: 200
--- raw_response_headers_like eval
main::refreshed('Path=/; SameSite=Strict; HttpOnly', 0)



=== TEST 4: sign-out clears every variant: host-only and for the domain, at "/" and at the configured path
--- config
    stytch_cookie_domain example.com;
    stytch_cookie_path /app;
    absolute_redirect off;

    location = /logout {
        stytch_logout;
    }
--- more_headers eval
"Host: www.example.com\nCookie: stytch_session=$::s->{session_token}"
--- request
GET /logout
--- error_code: 303
--- raw_response_headers_like eval
$::ClearAll



=== TEST 5: stytch_cookie_domain and stytch_cookie_path refuse what is not one attribute value
--- config
    stytch_cookie_domain "example.com; Path=/";
--- must_die
--- error_log
invalid value "example.com; Path=/" in "stytch_cookie_domain" directive



=== TEST 6: stytch_cookie_path must be a path
--- config
    stytch_cookie_path app;
--- must_die
--- error_log
invalid value "app" in "stytch_cookie_path" directive, it must be a path that starts with "/"



=== TEST 7: sign-out drops the revoked token from the API-result cache: the same token is refused at once
--- http_config
    stytch_api_cache_valid 5m;
--- config
    absolute_redirect off;

    location /p/ {
        stytch_auth on;
        root html;
    }

    location = /logout {
        stytch_logout;
    }

    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }
--- init
StytchTest::reset_emulator();
--- more_headers eval
["Cookie: stytch_session=$::opaque->{session_token}",
 "Cookie: stytch_session=$::opaque->{session_token}",
 "Cookie: stytch_session=$::opaque->{session_token}",
 "Cookie: stytch_session=$::opaque->{session_token}",
 ""]
--- request eval
["GET /p/index.html", "GET /p/index.html", "GET /logout", "GET /p/index.html", "GET /counters"]
--- error_code eval
[200, 200, 303, 401, 200]
--- response_body_like eval
["protected content", "protected content", "303 See Other", "401 Authorization Required", qr/"authenticate":2,"revoke":1,/]



=== TEST 8: a sign-out that finds no session cookie says so, and why it may be
--- config
    absolute_redirect off;

    location = /app/logout {
        stytch_logout;
    }
--- more_headers
Cookie: other=1
--- request
GET /app/logout
--- error_code: 303
--- error_log eval
qr/\[info\] .*sign-out found no session cookie \("stytch_session" or "stytch_session_jwt"\) to revoke: a cookie set for another Path or Domain than this location's is not sent here/
--- no_error_log
[error]
