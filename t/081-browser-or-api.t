# One configuration for browsers and API clients: a request that the
# module refuses with 401 is sent to the sign-in page with its URI in
# return_to when it accepts text/html, and keeps the 401 and its
# WWW-Authenticate header otherwise (error_page 401 = @login, a map on
# $http_accept, $stytch_return_to).
use Test::Nginx::Socket 'no_plan';
use StytchTest;

no_shuffle();

our $Browser = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

our $live = create_session();
our $gone = create_session();
our $gone_expired = mint_jwt(session_id => $gone->{session_id},
                             iat => time() - 3600);
revoke(session_id => $gone->{session_id});

run_tests();

__DATA__

=== TEST 1: a browser without a session is sent to sign in, its URI in return_to
--- http_config
    map $http_accept $stytch_browser {
        default      0;
        ~*text/html  1;
    }
--- config
    absolute_redirect off;
    stytch_auth on;
    error_page 401 = @login;

    location /p/ {
        root html;
    }

    location = /login {
        stytch_auth off;
        root html;
        try_files /login.html =404;
    }

    location @login {
        if ($stytch_browser) {
            return 302 /login?return_to=$stytch_return_to;
        }
        return 401 "sign in first\n";
    }

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 1s;
    }
--- user_files
>>> login.html
the sign-in page
--- request
GET /p/index.html?a=1&b=two%20words
--- more_headers eval
"Accept: $::Browser"
--- error_code: 302
--- response_headers
Location: /login?return_to=%2Fp%2Findex.html%3Fa%3D1%26b%3Dtwo%2520words



=== TEST 2: an API client without a session keeps the 401 and its challenge
--- http_config
    map $http_accept $stytch_browser {
        default      0;
        ~*text/html  1;
    }
--- config
    absolute_redirect off;
    stytch_auth on;
    error_page 401 = @login;

    location /p/ {
        root html;
    }

    location = /login {
        stytch_auth off;
        root html;
        try_files /login.html =404;
    }

    location @login {
        if ($stytch_browser) {
            return 302 /login?return_to=$stytch_return_to;
        }
        return 401 "sign in first\n";
    }

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 1s;
    }
--- user_files
>>> login.html
the sign-in page
--- request eval
["GET /p/index.html", "GET /p/index.html", "GET /p/index.html"]
--- more_headers eval
["Accept: application/json", "Accept: */*", ""]
--- error_code eval
[401, 401, 401]
--- response_headers eval
["WWW-Authenticate: Bearer realm=\"stytch\"\n!Location",
 "WWW-Authenticate: Bearer realm=\"stytch\"\n!Location",
 "WWW-Authenticate: Bearer realm=\"stytch\"\n!Location"]
--- response_body eval
["sign in first\n", "sign in first\n", "sign in first\n"]



=== TEST 3: a revoked session: the browser goes to sign in, its dead cookie cleared; the API client gets invalid_token
--- http_config
    map $http_accept $stytch_browser {
        default      0;
        ~*text/html  1;
    }
--- config
    absolute_redirect off;
    stytch_auth on;
    error_page 401 = @login;

    location /p/ {
        root html;
    }

    location = /login {
        stytch_auth off;
        root html;
        try_files /login.html =404;
    }

    location @login {
        if ($stytch_browser) {
            return 302 /login?return_to=$stytch_return_to;
        }
        return 401 "sign in first\n";
    }

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 1s;
    }
--- user_files
>>> login.html
the sign-in page
--- request eval
["GET /p/index.html", "GET /p/index.html"]
--- more_headers eval
["Accept: $::Browser\r\nCookie: stytch_session_jwt=$::gone_expired",
 "Accept: application/json\r\nAuthorization: Bearer $::gone_expired"]
--- error_code eval
[302, 401]
--- response_headers eval
["Location: /login?return_to=%2Fp%2Findex.html",
 "WWW-Authenticate: Bearer realm=\"stytch\", error=\"invalid_token\""]
--- raw_response_headers_like eval
[qr/^Set-Cookie: stytch_session_jwt=; Path=\/; SameSite=Lax; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT\r$/m,
 qr/\A(?![\s\S]*Set-Cookie)/]



=== TEST 4: both kinds of client with a session get the content
--- http_config
    map $http_accept $stytch_browser {
        default      0;
        ~*text/html  1;
    }
--- config
    absolute_redirect off;
    stytch_auth on;
    error_page 401 = @login;

    location /p/ {
        root html;
    }

    location = /login {
        stytch_auth off;
        root html;
        try_files /login.html =404;
    }

    location @login {
        if ($stytch_browser) {
            return 302 /login?return_to=$stytch_return_to;
        }
        return 401 "sign in first\n";
    }

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 1s;
    }
--- user_files
>>> login.html
the sign-in page
--- request eval
["GET /p/index.html", "GET /p/index.html"]
--- more_headers eval
["Accept: $::Browser\r\nCookie: stytch_session=$::live->{session_token}",
 "Accept: application/json\r\nCookie: stytch_session=$::live->{session_token}"]
--- error_code eval
[200, 200]
--- response_body eval
["protected content\n", "protected content\n"]



=== TEST 5: the sign-in page itself is open, to both
--- http_config
    map $http_accept $stytch_browser {
        default      0;
        ~*text/html  1;
    }
--- config
    absolute_redirect off;
    stytch_auth on;
    error_page 401 = @login;

    location /p/ {
        root html;
    }

    location = /login {
        stytch_auth off;
        root html;
        try_files /login.html =404;
    }

    location @login {
        if ($stytch_browser) {
            return 302 /login?return_to=$stytch_return_to;
        }
        return 401 "sign in first\n";
    }

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 1s;
    }
--- user_files
>>> login.html
the sign-in page
--- request eval
["GET /login?return_to=%2Fp%2F", "GET /login"]
--- more_headers eval
["Accept: $::Browser", ""]
--- error_code eval
[200, 200]
--- response_body eval
["the sign-in page\n", "the sign-in page\n"]



=== TEST 6: return_to is one query argument whatever the URI holds
--- http_config
    map $http_accept $stytch_browser {
        default      0;
        ~*text/html  1;
    }
--- config
    absolute_redirect off;
    stytch_auth on;
    error_page 401 = @login;

    location /p/ {
        root html;
    }

    location = /login {
        stytch_auth off;
        root html;
        try_files /login.html =404;
    }

    location @login {
        if ($stytch_browser) {
            return 302 /login?return_to=$stytch_return_to;
        }
        return 401 "sign in first\n";
    }

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 1s;
    }
--- user_files
>>> login.html
the sign-in page
--- request eval
["GET /p/a%0D%0Ab?x=%26y%3D1&z=#frag",
 "GET /p/?q=a+b;c=d&e=f/g",
 "GET /p/%E2%82%AC/\xe2\x82\xac?x='\"<>",
 "GET //evil.example/p/"]
--- more_headers eval
["Accept: $::Browser", "Accept: $::Browser", "Accept: $::Browser", "Accept: $::Browser"]
--- error_code eval
[302, 302, 302, 302]
--- response_headers eval
["Location: /login?return_to=%2Fp%2Fa%250D%250Ab%3Fx%3D%2526y%253D1%26z%3D%23frag",
 "Location: /login?return_to=%2Fp%2F%3Fq%3Da%2Bb%3Bc%3Dd%26e%3Df%2Fg",
 "Location: /login?return_to=%2Fp%2F%25E2%2582%25AC%2F%E2%82%AC%3Fx%3D%27%22%3C%3E",
 "Location: /login?return_to=%2F%2Fevil.example%2Fp%2F"]



=== TEST 7: a return_to made from the variable brings the user back through stytch_logout
--- http_config
    map $http_accept $stytch_browser {
        default      0;
        ~*text/html  1;
    }
--- config
    absolute_redirect off;

    location = /logout {
        stytch_auth off;
        stytch_logout /login;
    }

    location = /r {
        stytch_auth off;
        return 302 /logout?return_to=$stytch_return_to;
    }
--- request eval
["GET /r?next=%2Fp%2F&x=1", "GET /logout?return_to=%2Fr%3Fnext%3D%252Fp%252F%26x%3D1"]
--- error_code eval
[302, 303]
--- response_headers eval
["Location: /logout?return_to=%2Fr%3Fnext%3D%252Fp%252F%26x%3D1",
 "Location: /r?next=%2Fp%2F&x=1"]
