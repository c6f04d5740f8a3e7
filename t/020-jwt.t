# Local JWT verification in the access phase: tokens from the emulator or
# from Crypt::JWT, never from our own verifier.
use Test::Nginx::Socket;
use StytchTest;

use Crypt::JWT qw( encode_jwt );
use HTTP::Tiny ();
use JSON::PP ();
use MIME::Base64 qw( decode_base64url );
use Time::HiRes ();

repeat_each(1);
no_shuffle();

# Waits until the protected PATH answers something else than 503 (the
# first key fetch is asynchronous).  Called from "--- init"; its own token
# is never used by the block, so the block's first request is a fresh
# verification.
sub main::wait_keys {
    my ($path) = @_;
    my $jwt = mint_jwt();
    my $ua = HTTP::Tiny->new(timeout => 2);
    my $url = 'http://127.0.0.1:' . server_port_for_client() . $path;
    my $deadline = Time::HiRes::time() + 10;
    while (Time::HiRes::time() < $deadline) {
        my $r = $ua->get($url, { headers => { Authorization => "Bearer $jwt" } });
        return 1 if $r->{status} != 503 && $r->{status} != 599;
        Time::HiRes::sleep(0.05);
    }
    die "the keys were not loaded within 10 s\n";
}

sub payload_of {
    my ($jwt) = @_;
    return JSON::PP->new->decode(decode_base64url((split /\./, $jwt)[1]));
}

# Test::Base's eval filter runs in Test::Base::Filter: the helpers are
# called as StytchTest::mint_jwt(...) and the values as $main::...
our $Kid = list_keys()->{signing};
our $Now = time;
our $S1 = create_session(roles => ['admin']);
our $S2 = create_session();

# HS256 over the same claims with the current kid (alg confusion).
our $Hs256 = encode_jwt(payload => payload_of($S2->{session_jwt}),
                        alg => 'HS256', key => 'not-the-rsa-key',
                        extra_headers => { kid => $Kid });

# The emulator's token with one signature character changed.
our $Tampered = do {
    my ($h, $p, $s) = split /\./, $S2->{session_jwt};
    substr($s, 10, 1) = substr($s, 10, 1) eq 'A' ? 'B' : 'A';
    "$h.$p.$s";
};

our $Files = <<'FILES';
>>> p/index.html
protected content
FILES

# Every block: the project in http{}, and in the server the API location
# that the fallback (on by default) would call, so that a call that must
# not happen is counted by the emulator (GET /counters).
our $HttpConfig = <<'_EOC_';
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
_EOC_

our $Api = <<'_EOC_';
    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
    }
    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('user_files', $Files) unless defined $block->user_files;
    $block->set_value('http_config', $HttpConfig)
        unless defined $block->http_config;
    $block->set_value('config', $block->config . $Api)
        if defined $block->config;
});

plan tests => repeat_each() * 136;

run_tests();

__DATA__


=== TEST 1: a valid JWT in "Authorization: Bearer" gets the file
--- config
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Result $stytch_auth_result always;
        add_header X-Source $stytch_auth_source always;
    }
--- init
main::wait_keys('/p/index.html');
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
--- no_error_log
[error]
[alert]



=== TEST 2: a valid JWT in the stytch_session_jwt cookie gets the file
--- config
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Result $stytch_auth_result always;
    }
--- init
main::wait_keys('/p/index.html');
--- request
GET /p/index.html
--- more_headers eval
"Cookie: a=b; stytch_session_jwt=$main::S1->{session_jwt}; c=d"
--- error_code: 200
--- response_body
protected content
--- response_headers
X-Result: ok
--- no_error_log
[error]



=== TEST 3: the same token again in the same worker comes from the cache
--- config
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Source $stytch_auth_source always;
    }
--- init
main::wait_keys('/p/index.html');
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
    }
--- request
GET /p/index.html
--- error_code: 401
--- response_body_unlike: protected content
--- response_headers
WWW-Authenticate: Bearer realm="stytch"
X-Result: missing



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
main::wait_keys('/p/index.html');
--- request
GET /p/index.html
--- more_headers eval
"Authorization: bEARER $main::S1->{session_jwt}"
--- error_code: 200
--- response_body
protected content



=== TEST 7: a malformed token: 401 invalid_token, no API call
--- config
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Result $stytch_auth_result always;
    }
--- init
main::wait_keys('/p/index.html');
StytchTest::reset_emulator();
--- request eval
["GET /p/index.html", "GET /counters"]
--- more_headers eval
["Authorization: Bearer not.a.jwt", ""]
--- error_code eval
[401, 200]
--- response_headers eval
['WWW-Authenticate: Bearer realm="stytch", error="invalid_token"', ""]
--- response_body_like eval
[qr/^(?!protected)/, qr/"authenticate":0\b/]



=== TEST 8: a bad signature (one character changed): 401 invalid_token, no API call
--- config
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Result $stytch_auth_result always;
        add_header X-Error $stytch_auth_error always;
    }
--- init
main::wait_keys('/p/index.html');
StytchTest::reset_emulator();
--- request eval
["GET /p/index.html", "GET /counters"]
--- more_headers eval
["Authorization: Bearer $main::Tampered", ""]
--- error_code eval
[401, 200]
--- response_headers eval
["WWW-Authenticate: Bearer realm=\"stytch\", error=\"invalid_token\"\nX-Result: invalid", ""]
--- response_body_like eval
[qr/^(?!protected)/, qr/"authenticate":0\b/]



=== TEST 9: signed by another key under the current kid: 401 invalid_token
--- config
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Result $stytch_auth_result always;
    }
--- init
main::wait_keys('/p/index.html');
StytchTest::reset_emulator();
--- request eval
["GET /p/index.html", "GET /counters"]
--- more_headers eval
["Authorization: Bearer " . StytchTest::mint_jwt(key => 'rogue', header => { kid => $main::Kid }), ""]
--- error_code eval
[401, 200]
--- response_headers eval
["WWW-Authenticate: Bearer realm=\"stytch\", error=\"invalid_token\"\nX-Result: invalid", ""]
--- response_body_like eval
[qr/^(?!protected)/, qr/"authenticate":0\b/]



=== TEST 10: alg "none" with no signature: 401 invalid_token, no API call
--- config
    location /p/ {
        stytch_auth on;
        root html;
    }
--- init
main::wait_keys('/p/index.html');
StytchTest::reset_emulator();
--- request eval
["GET /p/index.html", "GET /counters"]
--- more_headers eval
["Authorization: Bearer " . StytchTest::mint_jwt(signature => 'none', header => { alg => 'none' }), ""]
--- error_code eval
[401, 200]
--- response_headers eval
['WWW-Authenticate: Bearer realm="stytch", error="invalid_token"', ""]
--- response_body_like eval
[qr/^(?!protected)/, qr/"authenticate":0\b/]



=== TEST 11: HS256 (key confusion) with the current kid: 401 invalid_token, no API call
--- config
    location /p/ {
        stytch_auth on;
        root html;
    }
--- init
main::wait_keys('/p/index.html');
StytchTest::reset_emulator();
--- request eval
["GET /p/index.html", "GET /counters"]
--- more_headers eval
["Authorization: Bearer $main::Hs256", ""]
--- error_code eval
[401, 200]
--- response_headers eval
['WWW-Authenticate: Bearer realm="stytch", error="invalid_token"', ""]
--- response_body_like eval
[qr/^(?!protected)/, qr/"authenticate":0\b/]



=== TEST 12: a wrong issuer with the project's signature: Stytch is asked, and refuses it
--- config
    location /p/ {
        stytch_auth on;
        root html;
    }
--- init
main::wait_keys('/p/index.html');
StytchTest::reset_emulator();
--- request eval
["GET /p/index.html", "GET /counters"]
--- more_headers eval
["Authorization: Bearer " . StytchTest::mint_jwt(claims => { iss => 'stytch.com/project-test-11111111-1111-1111-1111-111111111111' }), ""]
--- error_code eval
[401, 200]
--- response_headers eval
['WWW-Authenticate: Bearer realm="stytch", error="invalid_token"', ""]
--- response_body_like eval
[qr/^(?!protected)/, qr/"authenticate":1\b/]



=== TEST 13: a wrong audience with the project's signature: Stytch is asked, and refuses it
--- config
    location /p/ {
        stytch_auth on;
        root html;
    }
--- init
main::wait_keys('/p/index.html');
StytchTest::reset_emulator();
--- request eval
["GET /p/index.html", "GET /counters"]
--- more_headers eval
["Authorization: Bearer " . StytchTest::mint_jwt(claims => { aud => ['project-test-11111111-1111-1111-1111-111111111111'] }), ""]
--- error_code eval
[401, 200]
--- response_headers eval
['WWW-Authenticate: Bearer realm="stytch", error="invalid_token"', ""]
--- response_body_like eval
[qr/^(?!protected)/, qr/"authenticate":1\b/]



=== TEST 14: nbf an hour ahead with the project's signature: Stytch is asked, and refuses it
--- config
    location /p/ {
        stytch_auth on;
        root html;
    }
--- init
main::wait_keys('/p/index.html');
StytchTest::reset_emulator();
--- request eval
["GET /p/index.html", "GET /counters"]
--- more_headers eval
["Authorization: Bearer " . StytchTest::mint_jwt(claims => { nbf => $main::Now + 3600 }), ""]
--- error_code eval
[401, 200]
--- response_headers eval
['WWW-Authenticate: Bearer realm="stytch", error="invalid_token"', ""]
--- response_body_like eval
[qr/^(?!protected)/, qr/"authenticate":1\b/]



=== TEST 15: an expired JWT with stytch_fallback off: 401 invalid_token
--- config
    location /p/ {
        stytch_auth on;
        stytch_fallback off;
        root html;
        add_header X-Result $stytch_auth_result always;
    }
--- init
main::wait_keys('/p/index.html');
--- request
GET /p/index.html
--- more_headers eval
"Authorization: Bearer " . StytchTest::mint_jwt(session_id => $main::S2->{session_id}, iat => $main::Now - 600, lifetime => 300)
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="stytch", error="invalid_token"
X-Result: expired



=== TEST 16: a JWT older than stytch_max_token_age, fallback off: 401 invalid_token
--- config
    location /p/ {
        stytch_auth on;
        stytch_fallback off;
        stytch_max_token_age 60s;
        root html;
        add_header X-Result $stytch_auth_result always;
    }
--- init
main::wait_keys('/p/index.html');
--- request
GET /p/index.html
--- more_headers eval
"Authorization: Bearer " . StytchTest::mint_jwt(session_id => $main::S2->{session_id}, iat => $main::Now - 600, lifetime => 3600)
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="stytch", error="invalid_token"
X-Result: too_old



=== TEST 17: the same old JWT without stytch_max_token_age is fine
--- config
    location /p/ {
        stytch_auth on;
        root html;
    }
--- init
main::wait_keys('/p/index.html');
--- request
GET /p/index.html
--- more_headers eval
"Authorization: Bearer " . StytchTest::mint_jwt(session_id => $main::S2->{session_id}, iat => $main::Now - 600, lifetime => 3600)
--- error_code: 200
--- response_body
protected content



=== TEST 18: a key the JWKS lacks (its own kid), fallback off: 401 invalid_token
--- config
    location /p/ {
        stytch_auth on;
        stytch_fallback off;
        root html;
        add_header X-Result $stytch_auth_result always;
    }
--- init
main::wait_keys('/p/index.html');
--- request
GET /p/index.html
--- more_headers eval
"Authorization: Bearer " . StytchTest::mint_jwt(key => 'rogue')
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="stytch", error="invalid_token"
X-Result: unknown_key



=== TEST 19: stytch_leeway lets a JWT expired 10 s ago through
--- config
    location /p/ {
        stytch_auth on;
        stytch_leeway 60s;
        root html;
    }
--- init
main::wait_keys('/p/index.html');
--- request
GET /p/index.html
--- more_headers eval
"Authorization: Bearer " . StytchTest::mint_jwt(session_id => $main::S2->{session_id}, iat => $main::Now - 310, lifetime => 300)
--- error_code: 200
--- response_body
protected content



=== TEST 20: no keys (the JWKS endpoint is unreachable), fallback off: 503 with Retry-After
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



=== TEST 21: stytch_unavailable_status and stytch_retry_after shape the 503
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



=== TEST 22: error_page 401 = @login turns the challenge into a redirect
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



=== TEST 23: satisfy any: an allowed address needs no token
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



=== TEST 24: satisfy any: a denied address still needs a token
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



=== TEST 25: stytch_realm names the realm of the challenge
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



=== TEST 26: stytch_jwt_header: the token is read from another header, Authorization is ignored
--- config
    location /p/ {
        stytch_auth on;
        stytch_jwt_header X-Stytch-Token;
        root html;
    }
--- init
main::wait_keys('/p/index.html');
--- request eval
["GET /p/index.html", "GET /p/index.html"]
--- more_headers eval
["X-Stytch-Token: Bearer $main::S1->{session_jwt}",
 "Authorization: Bearer $main::S1->{session_jwt}"]
--- error_code eval
[200, 401]
--- response_body_like eval
[qr/^protected content$/, qr/^(?!protected)/]



=== TEST 27: stytch_jwt_header off: only the cookie counts
--- config
    location /p/ {
        stytch_auth on;
        stytch_jwt_header off;
        root html;
    }
--- init
main::wait_keys('/p/index.html');
--- request eval
["GET /p/index.html", "GET /p/index.html"]
--- more_headers eval
["Authorization: Bearer $main::S1->{session_jwt}",
 "Cookie: stytch_session_jwt=$main::S1->{session_jwt}"]
--- error_code eval
[401, 200]
--- response_headers eval
['WWW-Authenticate: Bearer realm="stytch"', ""]



=== TEST 28: stytch_jwt_cookie names the cookie; the default cookie is then ignored
--- config
    location /p/ {
        stytch_auth on;
        stytch_jwt_cookie my_jwt;
        root html;
    }
--- init
main::wait_keys('/p/index.html');
--- request eval
["GET /p/index.html", "GET /p/index.html"]
--- more_headers eval
["Cookie: my_jwt=$main::S1->{session_jwt}",
 "Cookie: stytch_session_jwt=$main::S1->{session_jwt}"]
--- error_code eval
[200, 401]



=== TEST 29: stytch_jwt_cookie off: a cookie is not a token
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



=== TEST 30: the header is read before the cookie: a bad header token is not saved by a good cookie
--- config
    location /p/ {
        stytch_auth on;
        root html;
    }
--- init
main::wait_keys('/p/index.html');
--- request
GET /p/index.html
--- more_headers eval
"Authorization: Bearer $main::Tampered\nCookie: stytch_session_jwt=$main::S1->{session_jwt}"
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="stytch", error="invalid_token"



=== TEST 31: a proxied location: the upstream gets the user only after a valid JWT
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
main::wait_keys('/app/x');
--- request eval
["GET /app/x", "GET /app/x"]
--- more_headers eval
["Authorization: Bearer $main::S1->{session_jwt}", ""]
--- error_code eval
[200, 401]
--- response_body_like eval
[qr/^upstream uid=\Q$main::S1->{user_id}\E$/, qr/^(?!upstream)/]



=== TEST 32: stytch_auth off in a nested location turns protection off there
--- config
    location /p/ {
        stytch_auth on;
        root html;
        location /p/open/ {
            stytch_auth off;
        }
    }
--- user_files
>>> p/index.html
protected content
>>> p/open/index.html
open content
--- request eval
["GET /p/open/index.html", "GET /p/index.html"]
--- error_code eval
[200, 401]
--- response_body_like eval
[qr/^open content$/, qr/^(?!protected)/]



=== TEST 33: an index redirect is verified once (the result survives the internal redirect)
--- config
    location /p/ {
        stytch_auth on;
        root html;
        index index.html;
        add_header X-Source $stytch_auth_source always;
    }
--- init
main::wait_keys('/p/index.html');
--- request
GET /p/
--- more_headers eval
"Authorization: Bearer $main::S2->{session_jwt}"
--- error_code: 200
--- response_body
protected content
--- response_headers
X-Source: jwt



=== TEST 34: the secret never reaches the error log (debug level, valid and invalid tokens)
--- config
    location /p/ {
        stytch_auth on;
        root html;
    }
--- init
main::wait_keys('/p/index.html');
--- request eval
["GET /p/index.html", "GET /p/index.html", "GET /p/index.html"]
--- more_headers eval
["Authorization: Bearer $main::S1->{session_jwt}",
 "Authorization: Bearer $main::Tampered",
 "Authorization: Bearer " . StytchTest::mint_jwt(key => 'rogue')]
--- error_code eval
[200, 401, 401]
--- no_error_log eval
[$ENV{TEST_NGINX_STYTCH_SECRET}]



=== TEST 35: the cookie is found as NGINX finds cookies: any case, among others, in any Cookie header
--- config
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Result $stytch_auth_result always;
    }
--- init
main::wait_keys('/p/index.html');
--- request eval
["GET /p/index.html", "GET /p/index.html", "GET /p/index.html",
 "GET /p/index.html", "GET /p/index.html"]
--- more_headers eval
["Cookie: stytch_session_jwt_old=x, Stytch_Session_JWT = $main::S1->{session_jwt};tail=1",
 "Cookie: a=b\nCookie: c=d;stytch_session_jwt=$main::S1->{session_jwt}",
 "Cookie: stytch_session_jwt=$main::S1->{session_jwt}; stytch_session_jwt=garbage",
 "Cookie: xstytch_session_jwt=$main::S1->{session_jwt}",
 "Cookie: stytch_session_jwt"]
--- error_code eval
[200, 200, 200, 401, 401]
--- response_headers eval
["X-Result: ok", "X-Result: ok", "X-Result: ok", "X-Result: missing",
 "X-Result: missing"]
