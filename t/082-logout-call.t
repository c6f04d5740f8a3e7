# The sign-out's call to Stytch has the safeguards of the authentication's:
# an answer that never ends is given up at stytch_api_deadline, one over
# the size limit at once, and one that redirects the call internally
# (X-Accel-Redirect) is refused and ended; the sign-out answers 303 with
# the cookies cleared in each case, and its connection is not held.
use Test::Nginx::Socket 'no_plan';
use StytchTest;
use StytchHostile;

no_shuffle();

StytchHostile::start();

our $s1 = create_session();

# The cookies as they must be cleared with the default attributes.
our $ClearJwt = qr/^Set-Cookie: stytch_session_jwt=; Path=\/; SameSite=Lax; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT\r$/m;
our $ClearToken = qr/^Set-Cookie: stytch_session=; Path=\/; SameSite=Lax; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT\r$/m;
our $Cleared = qr/(?=[\s\S]*$ClearJwt)(?=[\s\S]*$ClearToken)[\s\S]*^Cache-Control: no-store\r$/m;

run_tests();

__DATA__

=== TEST 1: a revocation answer that never ends: 303 at stytch_api_deadline, not when the upstream stops
--- config
    absolute_redirect off;
    stytch_api_deadline 1s;

    location /_stytch_api/ {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_FAKE_PORT/drip/;
        proxy_read_timeout 30s;
    }

    location = /logout {
        stytch_logout;
    }
--- more_headers eval
"Cookie: stytch_session=$::s1->{session_token}"
--- request
GET /logout
--- error_code: 303
--- raw_response_headers_like eval
$::Cleared
--- timeout: 4
--- error_log eval
[qr/\[error\] .*the API did not answer within 1000 ms \("stytch_api_deadline"\)/,
 qr/\[warn\] .*the session could not be revoked at Stytch/]
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 2: a revocation answer over the size limit ends the call at once: 303 long before the deadline
--- config
    absolute_redirect off;
    stytch_api_deadline 30s;

    location /_stytch_api/ {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_FAKE_PORT/big/;
        proxy_read_timeout 30s;
    }

    location = /logout {
        stytch_logout;
    }
--- more_headers eval
"Cookie: stytch_session=$::s1->{session_token}"
--- request
GET /logout
--- error_code: 303
--- raw_response_headers_like eval
$::Cleared
--- timeout: 4
--- error_log eval
[qr/\[error\] .*the API's answer is over 262144 bytes: the call is ended/,
 qr/\[warn\] .*the session could not be revoked at Stytch/]
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 3: a revocation answer that redirects the call into a proxied location: refused and ended, 303 at once, the connection kept
--- config
    absolute_redirect off;
    stytch_api_deadline 30s;

    location /_stytch_api/ {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/fake/;
    }

    # a compromised Stytch: its answer sends the call to a slow upstream
    location /fake/ {
        add_header X-Accel-Redirect /slow/ always;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
    }

    location /slow/ {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_FAKE_PORT/drip/;
        proxy_read_timeout 30s;
    }

    location = /logout {
        stytch_logout;
    }
--- more_headers eval
"Cookie: stytch_session=$::s1->{session_token}"
--- request eval
["GET /logout", "GET /logout"]
--- error_code eval
[303, 303]
--- raw_response_headers_like eval
[$::Cleared, $::Cleared]
--- timeout: 4
--- error_log eval
[qr/\[error\] .*redirected the call internally \(X-Accel-Redirect\): it is refused/,
 qr/\[warn\] .*the session could not be revoked at Stytch/]
--- no_error_log
[alert]
[crit]
[emerg]
