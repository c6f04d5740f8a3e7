# The request path against hostile and unlucky API answers: an answer that
# redirects the subrequest, a location stricter than the one that accepted
# the session, a client that goes away while others wait for its call,
# error pages that would replace Stytch's answer, answers that are too
# big or never end, and a location reached by auth_request, which its
# stytch_auth does not protect (nginx warns at start).
use Test::Nginx::Socket 'no_plan';
use StytchTest;

use StytchHostile;

no_shuffle();

# A hostile "Stytch" on loopback (t/lib/StytchHostile.pm): /drip never
# ends its answer; /big sends 300 KB of a 10 MB answer, then nothing.
StytchHostile::start();

our $live = create_session();
our $expired = mint_jwt(session_id => $live->{session_id}, iat => time() - 3600);
our $revoked = create_session();
revoke(session_id => $revoked->{session_id});
our $revoked_expired = mint_jwt(session_id => $revoked->{session_id},
                                iat => time() - 3600);

$ENV{TEST_NGINX_H2_PORT} = free_port();

run_tests();

__DATA__

=== TEST 1: an API answer with X-Accel-Redirect: 503 api_response_invalid, the worker lives, the target does not leak
--- config
    location /_stytch_api/ {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/fake/;
    }

    # a compromised Stytch: its answer redirects the call to a local file
    location /fake/ {
        add_header X-Accel-Redirect /secret/data.txt;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
    }

    location /secret/ {
        internal;
        root html;
    }

    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Error $stytch_auth_error always;
    }
--- user_files
>>> secret/data.txt
the secret file
--- more_headers eval
"Cookie: stytch_session_jwt=$::expired"
--- request eval
["GET /p/index.html", "GET /p/index.html"]
--- error_code eval
[503, 503]
--- response_headers eval
["X-Error: api_response_invalid", "X-Error: api_response_invalid"]
--- response_body_unlike eval
["the secret file", "the secret file"]
--- error_log eval
qr/\[error\] .*redirected the call internally \(X-Accel-Redirect\): it is refused/
--- no_error_log
exited on signal
[alert]
[crit]
[emerg]



=== TEST 2: other X-Accel headers of an API answer change nothing: 200, fast
--- config
    location /_stytch_api/ {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/fake/;
    }

    location /fake/ {
        add_header X-Accel-Buffering no;
        add_header X-Accel-Limit-Rate 1;
        add_header X-Accel-Expires 3600;
        add_header X-Accel-Charset koi8-r;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
    }

    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Source $stytch_auth_source always;
    }
--- more_headers eval
"Cookie: stytch_session_jwt=$::expired"
--- request
GET /p/index.html
--- error_code: 200
--- response_headers
X-Source: api
--- response_body
protected content
--- timeout: 3



=== TEST 3: from a lax location into a strict one (error_page): a revoked session accepted locally gets 401 there
--- config
    location /lax/ {
        stytch_auth on;
        root html;
        log_not_found off;
        error_page 404 = /strict/index.html;
    }

    location /strict/ {
        stytch_auth strict;
        root html;
        add_header X-Source $stytch_auth_source always;
    }
--- user_files
>>> lax/index.html
lax content
>>> strict/index.html
strict content
--- init
StytchTest::wait_keys('/lax/index.html');
--- more_headers eval
"Cookie: stytch_session_jwt=$::revoked->{session_jwt}"
--- request eval
["GET /lax/index.html", "GET /lax/missing.html"]
--- error_code eval
[200, 401]
--- response_body_like eval
["lax content", "401 (?:Authorization Required|Unauthorized)"]



=== TEST 4: into a location with a smaller stytch_max_token_age (try_files): the API decides there
--- config
    location /lax/ {
        stytch_auth on;
        root html;
        try_files $uri /young/index.html;
    }

    location /young/ {
        stytch_auth on;
        stytch_max_token_age 0;
        root html;
    }
--- user_files
>>> lax/index.html
lax content
>>> young/index.html
young content
--- init
StytchTest::wait_keys('/lax/index.html');
--- more_headers eval
"Cookie: stytch_session_jwt=$::revoked->{session_jwt}"
--- request eval
["GET /lax/index.html", "GET /lax/missing.html"]
--- error_code eval
[200, 401]



=== TEST 5: into a location that is not stricter: the identity is kept, nothing asked again
--- config
    location = /status {
        stytch_status;
    }

    location /a/ {
        stytch_auth on;
        root html;
        log_not_found off;
        error_page 404 = /b/index.html;
    }

    location /b/ {
        stytch_auth on;
        stytch_leeway 30s;
        root html;
        add_header X-Source $stytch_auth_source always;
    }
--- user_files
>>> b/index.html
b content
--- init
StytchTest::wait_zone('keys_generation');
StytchTest::reset_emulator();
--- more_headers eval
"Cookie: stytch_session_jwt=$::live->{session_jwt}"
--- request eval
["GET /a/missing.html", "GET /status"]
--- error_code eval
[200, 200]
--- response_body_like eval
["b content", qr/"local_accepts":1,.*"api_calls":0,/]
--- response_headers eval
["X-Source: jwt", ""]



=== TEST 6: the client that made the API call goes away (HTTP/1.1 close): the waiting requests ask again, 200 each
--- config
    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }

    location /p/ {
        stytch_auth on;
        root html;
    }
--- init
StytchTest::reset_emulator();
StytchTest::fault(endpoint => 'authenticate', latency_ms => 600);
my @get = (GET => '/p/index.html', Cookie => "stytch_session_jwt=$main::expired");
my (undef, @waited) = StytchTest::concurrent({ close_first => 0.2 }, ([@get]) x 5);
Test::More::is(scalar(grep { $_->{status} == 200 && $_->{body} eq "protected content\n" } @waited),
               4, "TEST 6: the 4 requests that waited got the file");
StytchTest::clear_faults();
--- request
GET /counters
--- response_body_like: "authenticate":2,
--- error_log eval
qr/\[info\] .*the client went away before the API answered/
--- no_error_log
[error]
[alert]
[crit]
[emerg]



=== TEST 7: the stream that made the API call is cancelled (HTTP/2 RST_STREAM): the others ask again, 200 each
--- http_config
    server {
        listen 127.0.0.1:$TEST_NGINX_H2_PORT http2;

        location /_stytch_api/ {
            internal;
            proxy_pass $TEST_NGINX_STYTCH_URL/;
        }

        location /p/ {
            stytch_auth on;
            root html;
        }
    }
--- config
    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }
--- init
StytchTest::reset_emulator();
StytchTest::fault(endpoint => 'authenticate', latency_ms => 600);
Test::More::is(join(' ', StytchTest::h2_get({ cancel_first => 200 }, $ENV{TEST_NGINX_H2_PORT}, '/p/index.html', 6,
                                             Cookie => "stytch_session_jwt=$main::expired")),
               '200 200 200 200 200', "TEST 7: the 5 streams that waited got 200");
StytchTest::clear_faults();
--- request
GET /counters
--- response_body_like: "authenticate":2,



=== TEST 8: proxy_intercept_errors and error_page at the server level do not replace Stytch's 404: 401, cached
--- http_config
    stytch_api_cache_valid 10s 10s;
    proxy_intercept_errors on;
--- config
    error_page 404 /404.html;

    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }

    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Error $stytch_auth_error always;
    }
--- user_files
>>> 404.html
not found page
--- init
StytchTest::reset_emulator();
--- more_headers eval
"Cookie: stytch_session_jwt=$::revoked_expired"
--- request eval
["GET /p/index.html", "GET /p/index.html", "GET /counters"]
--- error_code eval
[401, 401, 200]
--- response_headers eval
["X-Error: api_session_not_found", "X-Error: api_session_not_found", ""]
--- response_body_like eval
["401 (?:Authorization Required|Unauthorized)", "401 (?:Authorization Required|Unauthorized)", qr/"authenticate":1,/]



=== TEST 9: an answer that never ends: 503 at stytch_api_deadline, not when the upstream stops
--- config
    stytch_api_deadline 1s;

    location /_stytch_api/ {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_FAKE_PORT/drip/;
        proxy_read_timeout 30s;
    }

    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Error $stytch_auth_error always;
    }
--- more_headers eval
"Cookie: stytch_session_jwt=$::expired"
--- request
GET /p/index.html
--- error_code: 503
--- response_headers
Retry-After: 5
X-Error: api_unavailable
--- timeout: 4
--- error_log eval
qr/\[error\] .*the API did not answer within 1000 ms \("stytch_api_deadline"\)/
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 10: an answer over the size limit ends the call at once: 503, long before the deadline
--- config
    stytch_api_deadline 30s;

    location /_stytch_api/ {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_FAKE_PORT/big/;
        proxy_read_timeout 30s;
    }

    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Error $stytch_auth_error always;
    }
--- more_headers eval
"Cookie: stytch_session_jwt=$::expired"
--- request
GET /p/index.html
--- error_code: 503
--- response_headers
X-Error: api_response_invalid
--- timeout: 4
--- error_log eval
qr/\[error\] .*the API's answer is over 262144 bytes: the call is ended/
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 11: a location that an auth_request reaches is not protected by its stytch_auth: nginx says so at start
--- http_config
    stytch_fallback off;
--- config
    location /check/ {
        stytch_auth on;
        root html;
    }

    location /p/ {
        auth_request /check/ok.txt;
        root html;
    }
--- user_files
>>> check/ok.txt
ok
>>> p/index.html
content behind auth_request
--- request
GET /p/index.html
--- error_code: 200
--- response_body
content behind auth_request
--- error_log eval
qr/\[warn\] .*"stytch_auth" of location "\/check\/" in server "localhost" does not protect it from the "auth_request" subrequest to "\/check\/ok.txt"/
--- no_error_log
[error]
[alert]
[crit]
[emerg]
