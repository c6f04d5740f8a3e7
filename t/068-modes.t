# Modes and options of a protected location: report only, CORS preflights,
# opaque session tokens as Bearer tokens, session_duration_minutes on API
# calls, and the per-worker bound on API calls.
use Test::Nginx::Socket 'no_plan';
use StytchTest;

no_shuffle();

our $live = create_session();
our $expired = mint_jwt(session_id => $live->{session_id}, iat => time() - 3600);
# the project's kid, a signature of another key
our $forged = do {
    my ($h, $p) = split /\./, mint_jwt(session_id => $live->{session_id});
    my (undef, undef, $sig) = split /\./, mint_jwt(session_id => $live->{session_id}, key => 'rogue');
    "$h.$p.$sig";
};

run_tests();

__DATA__

=== TEST 1: report only: a request without a token is served; the verdict is in the variables and the log
--- config
    location /p/ {
        stytch_auth report;
        root html;
        add_header X-Result $stytch_auth_result always;
        add_header X-Error $stytch_auth_error always;
    }
--- request
GET /p/index.html
--- error_code: 200
--- response_headers
X-Result: missing
X-Error: token_missing
--- response_body
protected content
--- error_log eval
qr/\[warn\] .*report only: would answer 401: token_missing/
--- no_error_log
[error]
[alert]
[crit]
[emerg]



=== TEST 2: report only: a forged JWT is served and reported; a valid one has its identity; the counters count
--- config
    location = /status {
        stytch_status;
    }

    location /p/ {
        stytch_auth report;
        root html;
        add_header X-Result $stytch_auth_result always;
        add_header X-Error $stytch_auth_error always;
        add_header X-User $stytch_user_id always;
    }
--- init
StytchTest::wait_zone('keys_generation');
--- more_headers eval
["Authorization: Bearer $::forged", "Authorization: Bearer $::live->{session_jwt}", ""]
--- request eval
["GET /p/index.html", "GET /p/index.html", "GET /status"]
--- error_code eval
[200, 200, 200]
--- response_headers eval
["X-Result: invalid\nX-Error: jwt_signature_invalid\nX-User:",
 "X-Result: ok\nX-Error:\nX-User: $::live->{user_id}", ""]
--- response_body_like eval
["protected content", "protected content", qr/"reported":1,/]



=== TEST 3: report only: what a forged JWT would get is logged at warn
--- config
    location = /status {
        stytch_status;
    }

    location /p/ {
        stytch_auth report;
        root html;
        add_header X-Result $stytch_auth_result always;
    }
--- init
StytchTest::wait_zone('keys_generation');
--- more_headers eval
"Authorization: Bearer $::forged"
--- request
GET /p/index.html
--- error_code: 200
--- error_log eval
qr/\[warn\] .*report only: would answer 401: jwt_signature_invalid/
--- no_error_log
[error]
[alert]
[crit]
[emerg]



=== TEST 4: report only while Stytch hangs: one request waits for the API's deadline, the next ones do not ask
--- config
    stytch_api_deadline 1s;

    location = /status {
        stytch_status;
    }

    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }

    location /p/ {
        stytch_auth report;
        root html;
        add_header X-Result $stytch_auth_result always;
    }
--- init
StytchTest::wait_zone('keys_generation');
StytchTest::reset_emulator();
StytchTest::fault(endpoint => 'authenticate', latency_ms => 4000);
--- more_headers eval
["Cookie: stytch_session_jwt=$::expired", "Cookie: stytch_session_jwt=$::expired",
 "Cookie: stytch_session_jwt=$::expired", ""]
--- request eval
["GET /p/index.html", "GET /p/index.html", "GET /p/index.html", "GET /counters"]
--- error_code eval
[200, 200, 200, 200]
--- response_headers eval
["X-Result: unavailable", "X-Result: unavailable", "X-Result: unavailable", ""]
--- response_body_like eval
["protected content", "protected content", "protected content", qr/"authenticate":1,/]
--- timeout: 5
--- grep_error_log eval: qr/\[error\] .*/
--- grep_error_log_out eval
qr/\A(?:\[error\] [^\n]*the API did not answer within 1000 ms \("stytch_api_deadline"\)[^\n]*\n\[error\] [^\n]*upstream timed out[^\n]*\n)?\z/
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 5: stytch_cors_preflight: an OPTIONS preflight reaches the location; other requests still need a session
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
    stytch_fallback off;
--- config
    location /api/ {
        stytch_auth on;
        stytch_cors_preflight on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend/;
    }

    location /strict-api/ {
        stytch_auth on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend/;
    }

    location /backend/ {
        add_header Access-Control-Allow-Origin https://app.example.com always;
        add_header Access-Control-Allow-Headers Authorization always;
        if ($request_method = OPTIONS) {
            return 204;
        }
        return 200 "backend\n";
    }
--- more_headers eval
["Origin: https://app.example.com\nAccess-Control-Request-Method: GET",
 "Origin: https://app.example.com",
 "Origin: https://app.example.com\nAccess-Control-Request-Method: GET",
 "Origin: https://app.example.com\nAccess-Control-Request-Method: GET"]
--- request eval
["OPTIONS /api/items", "OPTIONS /api/items", "GET /api/items", "OPTIONS /strict-api/items"]
--- error_code eval
[204, 401, 401, 401]
--- response_headers eval
["Access-Control-Allow-Origin: https://app.example.com", "", "", ""]



=== TEST 6: an opaque session token as a Bearer token is asked of the API: 200 with the identity, no cookie
--- config
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Source $stytch_auth_source always;
        add_header X-User $stytch_user_id always;
    }
--- init
StytchTest::reset_emulator();
--- more_headers eval
"Authorization: Bearer $::live->{session_token}"
--- request
GET /p/index.html
--- error_code: 200
--- response_headers eval
"X-Source: api\nX-User: $::live->{user_id}\n!Set-Cookie"



=== TEST 7: stytch_session_duration: API calls ask Stytch to extend the session
--- config
    location = /seen {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/requests?endpoint=authenticate&limit=1;
    }

    location /p/ {
        stytch_auth on;
        stytch_session_duration 2h;
        root html;
    }
--- init
StytchTest::reset_emulator();
--- more_headers eval
"Cookie: stytch_session=$::live->{session_token}"
--- request eval
["GET /p/index.html", "GET /seen"]
--- error_code eval
[200, 200]
--- response_body_like eval
["protected content", qr/session_duration_minutes\\?"\\?:120/]



=== TEST 8: stytch_api_rate: made-up session tokens beyond the rate get 503 without a call
--- config
    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }

    location = /status {
        stytch_status;
    }

    location /p/ {
        stytch_auth on;
        stytch_api_rate 5r/s;
        root html;
        add_header X-Error $stytch_auth_error always;
    }
--- init
StytchTest::reset_emulator();
my (%codes, $limited);
for my $i (1 .. 40) {
    my $r = StytchTest::http_answer(GET => '/p/index.html', Cookie => "stytch_session=made-up-token-number-$i");
    $codes{$r->{status}}++;
    $limited++ if ($r->{headers}{'x-error'} // '') eq 'api_calls_limited';
}
Test::More::cmp_ok($codes{503} // 0, '>=', 25, "most of the 40 get 503");
Test::More::is($limited, $codes{503} // 0, "each 503 says api_calls_limited");
my $calls = StytchTest::counters()->{authenticate};
Test::More::cmp_ok($calls, '<=', 15, "and Stytch was asked at most about the rest ($calls)");
Test::More::is($calls + ($codes{503} // 0), 40, "every other request was asked about");
--- request
GET /status
--- response_body_like: "api_limited":(2[5-9]|3\d|40),
--- error_log eval
qr/\[warn\] .*stytch: "stytch_api_rate" of project "[^"]+" is /
--- no_error_log
[error]
[alert]
[crit]
[emerg]



=== TEST 9: README's limit_req recipe: only requests with a session token and no JWT are limited
--- http_config
    map "$cookie_stytch_session_jwt:$cookie_stytch_session" $stytch_api_key {
        "~^:."   $binary_remote_addr;
        default  "";
    }

    limit_req_zone $stytch_api_key zone=stytch_api:1m rate=2r/s;
--- config
    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }

    location /p/ {
        stytch_auth on;
        limit_req zone=stytch_api burst=3 nodelay;
        limit_req_log_level warn;
        root html;
        add_header X-Result $stytch_auth_result always;
    }
--- init
StytchTest::wait_keys('/p/index.html');
StytchTest::reset_emulator();
my %codes;
for my $i (1 .. 30) {
    $codes{StytchTest::http_get('/p/index.html', Cookie => "stytch_session=made-up-token-number-$i")}++;
}
Test::More::cmp_ok($codes{503} // 0, '>=', 20, "most made-up tokens are stopped by limit_req");
my $ok = 0;
for (1 .. 30) {
    $ok++ if StytchTest::http_get('/p/index.html', Cookie => "stytch_session_jwt=$main::live->{session_jwt}") == 200;
}
Test::More::is($ok, 30, "requests with a valid JWT are not limited");
--- request
GET /counters
--- response_body_like: "authenticate":([0-9]),
