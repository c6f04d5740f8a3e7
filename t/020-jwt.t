# Local JWT verification in the access phase: where the token is read
# from, what local verification accepts, what it refuses on its own, what
# it leaves to the API (a wrong claim under the project's signature), the
# answers without keys, and how the module fits with error_page, satisfy,
# proxied and nested locations.  Tokens come from
# the emulator or from Crypt::JWT, never from our own verifier.
use Test::Nginx::Socket;
use StytchTest;

use Crypt::JWT qw( encode_jwt );
use JSON::PP ();
use MIME::Base64 qw( decode_base64url );

repeat_each(1);
no_shuffle();

sub payload_of {
    my ($jwt) = @_;
    return JSON::PP->new->decode(decode_base64url((split /\./, $jwt)[1]));
}

our $Kid = list_keys()->{signing};
our $Now = time;
our $S1 = create_session(roles => ['admin']);
our $S2 = create_session();
our $Other = 'project-test-11111111-1111-1111-1111-111111111111';

# The emulator's token with one signature character changed.
our $Tampered = do {
    my ($h, $p, $s) = split /\./, $S2->{session_jwt};
    substr($s, 10, 1) = substr($s, 10, 1) eq 'A' ? 'B' : 'A';
    "$h.$p.$s";
};

sub random_text {
    my ($n, @alphabet) = @_;
    return join '', map { $alphabet[rand @alphabet] } 1 .. $n;
}
my @b64url = ('A' .. 'Z', 'a' .. 'z', '0' .. '9', '-', '_');
our $Huge = join '.', 'eyJhbGciOiJSUzI1NiJ9', map { random_text(20000, @b64url) } 1 .. 2;
our $Garbage = join '.', map { random_text(3000, 'A' .. 'Z', 'a' .. 'z') } 1 .. 3;

# HS256 over the same claims, keyed with a string, with the current kid.
our $Hs256 = encode_jwt(payload => payload_of($S2->{session_jwt}), alg => 'HS256',
                        key => 'not-the-rsa-key', extra_headers => { kid => $Kid });

# Tokens that local verification refuses with 401 invalid_token, whether
# they come in the header or in the cookie, and that are never sent to the
# API although the fallback is on.
our @Refused = (
    # [name, token, status, $stytch_auth_error]
    ['a token that is not a JWT',                   'not.a.jwt', 401, 'token_malformed'],
    ['three segments of garbage (9 KB)',            $Garbage,    401, 'jwt_header_invalid'],
    ['a 40 KB token',                               $Huge,       401, 'token_too_large'],
    ['one character of the signature changed',      $Tampered,   401, 'jwt_signature_invalid'],
    ['HS256 under the current kid (key confusion)', $Hs256,      401, 'jwt_alg_not_allowed'],
    ['signed by another key under the current kid', mint_jwt(key => 'rogue', header => { kid => $Kid }),        401, 'jwt_signature_invalid'],
    ['alg "none" and no signature',                 mint_jwt(signature => 'none', header => { alg => 'none' }), 401, 'jwt_alg_not_allowed'],
);
table_blocks(refused => [qw( name token status error )], @Refused);

# Tokens with the project's signature whose claims local verification
# refuses: Stytch is asked, and refuses them; the second request, with the
# same token in the cookie, is answered by the API-result cache.
our @Asked = (
    # [name, token, status, $stytch_auth_error]
    ['another project as the issuer',   mint_jwt(claims => { iss => "stytch.com/$Other" }), 401, 'api_session_not_found'],
    ['another project as the audience', mint_jwt(claims => { aud => [$Other] }),            401, 'api_session_not_found'],
    ['nbf an hour ahead',               mint_jwt(claims => { nbf => $Now + 3600 }),         401, 'api_session_not_found'],
);
table_blocks(asked => [qw( name token status error )], @Asked);

# Tokens that only the API could accept, refused when stytch_fallback is
# off (with stytch_max_token_age 1h).
our @Unverifiable = (
    # [name, token, status, $stytch_auth_result, $stytch_auth_error]
    ['an expired JWT',                    mint_jwt(session_id => $S2->{session_id}, iat => $Now - 600, lifetime => 300),   401, 'expired',     'jwt_expired'],
    ['a JWT older than 1 h, not expired', mint_jwt(session_id => $S2->{session_id}, iat => $Now - 4000, lifetime => 7200), 401, 'too_old',     'jwt_too_old'],
    ['signed by a key the key set lacks', mint_jwt(key => 'rogue'),                                                       401, 'unknown_key', 'jwks_unknown_kid'],
);
table_blocks(unverifiable => [qw( name token status result error )], @Unverifiable);

plan tests => repeat_each() * (241 + 26 * @Refused + 26 * @Asked + 20 * @Unverifiable);

run_tests();

__DATA__

=== TEST 1: a valid JWT in "Authorization: Bearer" gets the file, verified locally
--- config
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Result $stytch_auth_result always;
        add_header X-Source $stytch_auth_source always;
    }
--- init
StytchTest::wait_keys('/p/index.html');
--- request
GET /p/index.html
--- more_headers eval
"Authorization: Bearer $main::S1->{session_jwt}"
--- error_code: 200
--- response_body
protected content
--- response_headers
X-Result: ok
X-Source: jwt
!WWW-Authenticate



=== TEST 2: a valid JWT in the stytch_session_jwt cookie, among other cookies, gets the file
--- config
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Result $stytch_auth_result always;
    }
--- init
StytchTest::wait_keys('/p/index.html');
--- request
GET /p/index.html
--- more_headers eval
"Cookie: a=b; stytch_session_jwt=$main::S1->{session_jwt}; c=d"
--- error_code: 200
--- response_body
protected content
--- response_headers
X-Result: ok



=== TEST 3: the same token again in the same worker is answered from the JWT cache
--- config
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Source $stytch_auth_source always;
    }
--- init
StytchTest::wait_keys('/p/index.html');
--- request eval
["GET /p/index.html", "GET /p/index.html"]
--- more_headers eval
["Authorization: Bearer $main::S1->{session_jwt}",
 "Authorization: Bearer $main::S1->{session_jwt}"]
--- error_code eval
[200, 200]
--- response_body eval
["protected content\n", "protected content\n"]
--- response_headers eval
["X-Source: jwt", "X-Source: cache"]



=== TEST 4: no token: 401 with a plain Bearer challenge
--- config
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Result $stytch_auth_result always;
        add_header X-Error $stytch_auth_error always;
    }
--- request
GET /p/index.html
--- error_code: 401
--- response_body_unlike: protected content
--- response_headers
WWW-Authenticate: Bearer realm="stytch"
X-Result: missing
X-Error: token_missing



=== TEST 5: another scheme (Basic) is not a token: 401 as with none
--- config
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Result $stytch_auth_result always;
    }
--- request
GET /p/index.html
--- more_headers
Authorization: Basic dXNlcjpwYXNz
--- error_code: 401
--- response_body_unlike: protected content
--- response_headers
WWW-Authenticate: Bearer realm="stytch"
X-Result: missing



=== TEST 6: the Bearer scheme is case-insensitive
--- config
    location /p/ {
        stytch_auth on;
        root html;
    }
--- init
StytchTest::wait_keys('/p/index.html');
--- request
GET /p/index.html
--- more_headers eval
"Authorization: bEARER $main::S1->{session_jwt}"
--- error_code: 200
--- response_body
protected content



=== TEST 7: refused locally, in the header and in the cookie, with no API call: {{name}}
--- table: refused
--- http_config
    large_client_header_buffers 4 64k;
--- config
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Result $stytch_auth_result always;
        add_header X-Error $stytch_auth_error always;
        add_header X-User "[$stytch_user_id]" always;
    }

    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }
--- init
StytchTest::wait_keys('/p/index.html');
StytchTest::reset_emulator();
--- request eval
["GET /p/index.html", "GET /p/index.html", "GET /counters"]
--- more_headers eval
["Authorization: Bearer {{token}}", "Cookie: stytch_session_jwt={{token}}", ""]
--- error_code eval
[{{status}}, {{status}}, 200]
--- response_headers eval
[qq{WWW-Authenticate: Bearer realm="stytch", error="invalid_token"\nX-Result: invalid\nX-Error: {{error}}\nX-User: []},
 qq{WWW-Authenticate: Bearer realm="stytch", error="invalid_token"\nX-Result: invalid\nX-Error: {{error}}\nX-User: []},
 ""]
--- response_body_like eval
[qr/^(?!protected)/, qr/^(?!protected)/, qr/"authenticate":0,/]



=== TEST 8: a wrong claim under the project's signature, in the header and in the cookie: Stytch is asked once (the refusal is cached) and refuses it: {{name}}
--- table: asked
--- config
    location /p/ {
        stytch_auth on;
        stytch_api_cache_valid 5s 1m;
        root html;
        add_header X-Result $stytch_auth_result always;
        add_header X-Error $stytch_auth_error always;
        add_header X-User "[$stytch_user_id]" always;
    }

    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }
--- init
StytchTest::wait_keys('/p/index.html');
StytchTest::reset_emulator();
--- request eval
["GET /p/index.html", "GET /p/index.html", "GET /counters"]
--- more_headers eval
["Authorization: Bearer {{token}}", "Cookie: stytch_session_jwt={{token}}", ""]
--- error_code eval
[{{status}}, {{status}}, 200]
--- response_headers eval
[qq{WWW-Authenticate: Bearer realm="stytch", error="invalid_token"\nX-Result: invalid\nX-Error: {{error}}\nX-User: []},
 qq{WWW-Authenticate: Bearer realm="stytch", error="invalid_token"\nX-Result: invalid\nX-Error: {{error}}\nX-User: []},
 ""]
--- response_body_like eval
[qr/^(?!protected)/, qr/^(?!protected)/, qr/"authenticate":1,/]



=== TEST 9: with stytch_fallback off, a token only the API could accept is refused, in the header and in the cookie: {{name}}
--- table: unverifiable
--- config
    location /p/ {
        stytch_auth on;
        stytch_fallback off;
        stytch_max_token_age 1h;
        root html;
        add_header X-Result $stytch_auth_result always;
        add_header X-Error $stytch_auth_error always;
        add_header X-User "[$stytch_user_id]" always;
    }
--- init
StytchTest::wait_keys('/p/index.html');
--- request eval
["GET /p/index.html", "GET /p/index.html"]
--- more_headers eval
["Authorization: Bearer {{token}}", "Cookie: stytch_session_jwt={{token}}"]
--- error_code eval
[{{status}}, {{status}}]
--- response_headers eval
[qq{WWW-Authenticate: Bearer realm="stytch", error="invalid_token"\nX-Result: {{result}}\nX-Error: {{error}}\nX-User: []},
 qq{WWW-Authenticate: Bearer realm="stytch", error="invalid_token"\nX-Result: {{result}}\nX-Error: {{error}}\nX-User: []}]
--- response_body_like eval
[qr/^(?!protected)/, qr/^(?!protected)/]



=== TEST 10: stytch_max_token_age: a JWT older than it is refused (fallback off)
--- config
    location /p/ {
        stytch_auth on;
        stytch_fallback off;
        stytch_max_token_age 60s;
        root html;
        add_header X-Result $stytch_auth_result always;
    }
--- init
StytchTest::wait_keys('/p/index.html');
--- request
GET /p/index.html
--- more_headers eval
"Authorization: Bearer " . StytchTest::mint_jwt(session_id => $main::S2->{session_id}, iat => $main::Now - 600, lifetime => 3600)
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="stytch", error="invalid_token"
X-Result: too_old



=== TEST 11: without stytch_max_token_age the same old JWT gets the file
--- config
    location /p/ {
        stytch_auth on;
        root html;
    }
--- init
StytchTest::wait_keys('/p/index.html');
--- request
GET /p/index.html
--- more_headers eval
"Authorization: Bearer " . StytchTest::mint_jwt(session_id => $main::S2->{session_id}, iat => $main::Now - 600, lifetime => 3600)
--- error_code: 200
--- response_body
protected content



=== TEST 12: stytch_leeway lets a JWT expired 10 s ago through
--- config
    location /p/ {
        stytch_auth on;
        stytch_leeway 60s;
        root html;
    }
--- init
StytchTest::wait_keys('/p/index.html');
--- request
GET /p/index.html
--- more_headers eval
"Authorization: Bearer " . StytchTest::mint_jwt(session_id => $main::S2->{session_id}, iat => $main::Now - 310, lifetime => 300)
--- error_code: 200
--- response_body
protected content



=== TEST 13: no keys (the JWKS endpoint is unreachable), fallback off: 503 with Retry-After
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
--- config
    location /p/ {
        stytch_auth on;
        stytch_fallback off;
        stytch_api_url http://127.0.0.1:9;
        root html;
        add_header X-Result $stytch_auth_result always;
    }
--- request
GET /p/index.html
--- more_headers eval
"Authorization: Bearer $main::S1->{session_jwt}"
--- error_code: 503
--- response_body_unlike: protected content
--- response_headers
Retry-After: 5
X-Result: no_keys
--- error_log eval
qr{\[error\] .*stytch: fetching the keys of project "[^"]+" from "http://127\.0\.0\.1:9/[^"]+" failed: .*; no keys yet}
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 14: stytch_unavailable_status and stytch_retry_after shape the answer without keys
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
--- config
    location /p/ {
        stytch_auth on;
        stytch_fallback off;
        stytch_unavailable_status 502;
        stytch_retry_after 1m;
        stytch_api_url http://127.0.0.1:9;
        root html;
    }
--- request
GET /p/index.html
--- more_headers eval
"Authorization: Bearer $main::S1->{session_jwt}"
--- error_code: 502
--- response_headers
Retry-After: 60
--- error_log eval
qr{\[error\] .*stytch: fetching the keys of project "[^"]+" from "http://127\.0\.0\.1:9/[^"]+" failed: .*; no keys yet}
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 15: error_page 401 = @login turns the challenge into a redirect
--- config
    location /p/ {
        stytch_auth on;
        root html;
        error_page 401 = @login;
    }

    location @login {
        return 302 /login;
    }
--- request
GET /p/index.html
--- error_code: 302
--- response_headers_like
Location: .*/login$
--- response_body_unlike: protected content



=== TEST 16: satisfy any: an allowed address needs no token
--- config
    location /p/ {
        satisfy any;
        allow 127.0.0.1;
        deny all;
        stytch_auth on;
        root html;
    }
--- request
GET /p/index.html
--- error_code: 200
--- response_body
protected content



=== TEST 17: satisfy any: a denied address still needs a token
--- config
    location /p/ {
        satisfy any;
        deny all;
        stytch_auth on;
        root html;
    }
--- request
GET /p/index.html
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="stytch"



=== TEST 18: stytch_realm names the realm of the challenge
--- config
    location /p/ {
        stytch_auth on;
        stytch_realm "example app";
        root html;
    }
--- request
GET /p/index.html
--- more_headers
Authorization: Bearer x.y.z
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="example app", error="invalid_token"



=== TEST 19: stytch_jwt_header: the token is read from another header, Authorization is ignored
--- config
    location /p/ {
        stytch_auth on;
        stytch_jwt_header X-Stytch-Token;
        root html;
    }
--- init
StytchTest::wait_keys('/p/index.html', 'X-Stytch-Token' => 'Bearer ' . StytchTest::mint_jwt());
--- request eval
["GET /p/index.html", "GET /p/index.html"]
--- more_headers eval
["X-Stytch-Token: Bearer $main::S1->{session_jwt}",
 "Authorization: Bearer $main::S1->{session_jwt}"]
--- error_code eval
[200, 401]
--- response_body_like eval
[qr/^protected content$/, qr/^(?!protected)/]



=== TEST 20: stytch_jwt_header off: only the cookie counts
--- config
    location /p/ {
        stytch_auth on;
        stytch_jwt_header off;
        root html;
    }
--- init
StytchTest::wait_keys('/p/index.html', Cookie => 'stytch_session_jwt=' . StytchTest::mint_jwt());
--- request eval
["GET /p/index.html", "GET /p/index.html"]
--- more_headers eval
["Authorization: Bearer $main::S1->{session_jwt}",
 "Cookie: stytch_session_jwt=$main::S1->{session_jwt}"]
--- error_code eval
[401, 200]
--- response_headers eval
['WWW-Authenticate: Bearer realm="stytch"', ""]



=== TEST 21: stytch_jwt_cookie names the cookie; the default cookie is then ignored
--- config
    location /p/ {
        stytch_auth on;
        stytch_jwt_cookie my_jwt;
        root html;
    }
--- init
StytchTest::wait_keys('/p/index.html');
--- request eval
["GET /p/index.html", "GET /p/index.html"]
--- more_headers eval
["Cookie: my_jwt=$main::S1->{session_jwt}",
 "Cookie: stytch_session_jwt=$main::S1->{session_jwt}"]
--- error_code eval
[200, 401]



=== TEST 22: stytch_jwt_cookie off: a cookie is not a token
--- config
    location /p/ {
        stytch_auth on;
        stytch_jwt_cookie off;
        root html;
    }
--- request
GET /p/index.html
--- more_headers eval
"Cookie: stytch_session_jwt=$main::S1->{session_jwt}"
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="stytch"



=== TEST 23: the header is read before the cookie: a bad header token is not saved by a good cookie
--- config
    location /p/ {
        stytch_auth on;
        root html;
    }
--- init
StytchTest::wait_keys('/p/index.html');
--- request
GET /p/index.html
--- more_headers eval
"Authorization: Bearer $main::Tampered\nCookie: stytch_session_jwt=$main::S1->{session_jwt}"
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="stytch", error="invalid_token"



=== TEST 24: a proxied location: the upstream gets the user only after a valid JWT
--- config
    location /app/ {
        stytch_auth on;
        proxy_set_header X-User-Id $stytch_user_id;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo/;
    }

    location /echo/ {
        return 200 "upstream uid=$http_x_user_id\n";
    }
--- init
StytchTest::wait_keys('/app/x');
--- request eval
["GET /app/x", "GET /app/x"]
--- more_headers eval
["Authorization: Bearer $main::S1->{session_jwt}", ""]
--- error_code eval
[200, 401]
--- response_body_like eval
[qr/^upstream uid=\Q$main::S1->{user_id}\E$/, qr/^(?!upstream)/]



=== TEST 25: stytch_auth off in a nested location turns protection off there
--- config
    location /p/ {
        stytch_auth on;
        root html;

        location /p/open/ {
            stytch_auth off;
        }
    }
--- user_files
>>> p/open/index.html
open content
--- request eval
["GET /p/open/index.html", "GET /p/index.html"]
--- error_code eval
[200, 401]
--- response_body_like eval
[qr/^open content$/, qr/^(?!protected)/]



=== TEST 26: an index redirect is verified once (the result survives the internal redirect)
--- config
    location /p/ {
        stytch_auth on;
        root html;
        index index.html;
        add_header X-Source $stytch_auth_source always;
    }
--- init
StytchTest::wait_keys('/p/index.html');
--- request
GET /p/
--- more_headers eval
"Authorization: Bearer $main::S2->{session_jwt}"
--- error_code: 200
--- response_body
protected content
--- response_headers
X-Source: jwt



=== TEST 27: the secret never reaches the error log (debug level, valid and invalid tokens)
--- config
    location /p/ {
        stytch_auth on;
        root html;
    }
--- init
StytchTest::wait_keys('/p/index.html');
--- request eval
["GET /p/index.html", "GET /p/index.html", "GET /p/index.html"]
--- more_headers eval
["Authorization: Bearer $main::S1->{session_jwt}",
 "Authorization: Bearer $main::Tampered",
 "Authorization: Bearer " . StytchTest::mint_jwt(key => 'rogue')]
--- error_code eval
[200, 401, 401]
--- no_error_log eval
[$ENV{TEST_NGINX_STYTCH_SECRET}, "[error]", "[alert]", "[crit]", "[emerg]"]



=== TEST 28: the cookie is found as NGINX finds cookies: any case, among others, in any Cookie header
--- config
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Result $stytch_auth_result always;
    }
--- init
StytchTest::wait_keys('/p/index.html');
--- request eval
["GET /p/index.html", "GET /p/index.html", "GET /p/index.html",
 "GET /p/index.html", "GET /p/index.html", "GET /p/index.html"]
--- more_headers eval
["Cookie: stytch_session_jwt_old=x, Stytch_Session_JWT = $main::S1->{session_jwt};tail=1",
 "Cookie: a=b\nCookie: c=d;stytch_session_jwt=$main::S1->{session_jwt}",
 "Cookie: stytch_session_jwt=$main::S1->{session_jwt}; stytch_session_jwt=garbage",
 "Cookie: xstytch_session_jwt=$main::S1->{session_jwt}",
 "Cookie: stytch_session_jwt",
 "Cookie: a=1,b=2;c=3, d=4 ;stytch_session_jwt=$main::S1->{session_jwt}"]
--- error_code eval
[200, 200, 200, 401, 401, 200]
--- response_headers eval
["X-Result: ok", "X-Result: ok", "X-Result: ok", "X-Result: missing",
 "X-Result: missing", "X-Result: ok"]
