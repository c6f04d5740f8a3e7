# The Stytch API fallback: expired JWTs and opaque session tokens are sent
# to sessions/authenticate through a subrequest; the answers map to 200,
# 401, 403, 500 and 503; a refreshed JWT goes back in a cookie.
use Test::Nginx::Socket 'no_plan';
use StytchTest;

no_shuffle();

our $HttpConfig = <<'_EOC_';
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
_EOC_

our $Api = <<'_EOC_';
    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 1s;
    }

    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }

    location = /seen {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/requests?endpoint=authenticate&limit=1;
    }
_EOC_

our $Protected = <<'_EOC_';
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Result $stytch_auth_result always;
        add_header X-Source $stytch_auth_source always;
        add_header X-User $stytch_user_id always;
    }
_EOC_

our $Files = <<'_EOC_';
>>> p/index.html
protected content
_EOC_

# An expired JWT whose session is live, and one whose session is revoked.
our $live = create_session(roles => ['stytch_user']);
our $expired = mint_jwt(session_id => $live->{session_id},
                        iat => time() - 3600);

our $gone = create_session();
our $gone_expired = mint_jwt(session_id => $gone->{session_id},
                             iat => time() - 3600);
revoke(session_id => $gone->{session_id});

our $opaque = create_session(roles => ['stytch_user']);

run_tests();

__DATA__

=== TEST 1: an expired JWT of a live session: the API answers, and the new JWT is set
--- http_config eval: $::HttpConfig
--- config eval: $::Api . $::Protected
--- user_files eval: $::Files
--- init
StytchTest::reset_emulator();
--- more_headers eval
"Cookie: stytch_session_jwt=$::expired"
--- request eval
["GET /p/index.html", "GET /counters"]
--- error_code eval
[200, 200]
--- response_body_like eval
["^protected content\n\$", qr/"authenticate":1,/]
--- response_headers_like eval
["X-Source: api\nX-User: \Q$::live->{user_id}\E\nSet-Cookie: stytch_session_jwt=eyJ[A-Za-z0-9_.-]+; Path=/; SameSite=Lax; Expires=\\w{3}, \\d\\d[- ]\\w{3}[- ]\\d{2,4} \\d\\d:\\d\\d:\\d\\d GMT", ""]
--- no_error_log
[error]



=== TEST 2: an expired JWT of a revoked session: 401, no cookie
--- http_config eval: $::HttpConfig
--- config eval: $::Api . $::Protected
--- user_files eval: $::Files
--- init
StytchTest::reset_emulator();
--- more_headers eval
"Cookie: stytch_session_jwt=$::gone_expired"
--- request eval
["GET /p/index.html", "GET /counters"]
--- error_code eval
[401, 200]
--- response_body_like eval
["401 Authorization Required", qr/"authenticate":1,/]
--- response_headers eval
["WWW-Authenticate: Bearer realm=\"stytch\", error=\"invalid_token\"\nX-Result: invalid\n!Set-Cookie", ""]
--- no_error_log
[error]



=== TEST 3: an opaque session token: 200 with the user's identity
--- http_config eval: $::HttpConfig
--- config eval: $::Api . $::Protected
--- user_files eval: $::Files
--- more_headers eval
"Cookie: stytch_session=$::opaque->{session_token}"
--- request
GET /p/index.html
--- error_code: 200
--- response_body
protected content
--- response_headers eval
"X-Source: api\nX-User: $::opaque->{user_id}\nX-Result: ok"
--- no_error_log
[error]



=== TEST 4: an unknown opaque session token: 401
--- http_config eval: $::HttpConfig
--- config eval: $::Api . $::Protected
--- user_files eval: $::Files
--- more_headers
Cookie: stytch_session=session-token-that-stytch-never-issued
--- request
GET /p/index.html
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="stytch", error="invalid_token"
--- no_error_log
[error]



=== TEST 5: a session token with characters Stytch never uses: 401, and no API call
--- http_config eval: $::HttpConfig
--- config eval: $::Api . $::Protected
--- user_files eval: $::Files
--- init
StytchTest::reset_emulator();
--- more_headers
Cookie: stytch_session="a\"b,{}"
--- request eval
["GET /p/index.html", "GET /counters"]
--- error_code eval
[401, 200]
--- response_body_like eval
["401", qr/"authenticate":0,/]



=== TEST 6: stytch_fallback off: an expired JWT is refused without asking
--- http_config eval: $::HttpConfig
--- config eval: $::Api . $::Protected =~ s/stytch_auth on;/stytch_auth on; stytch_fallback off;/r
--- user_files eval: $::Files
--- init
StytchTest::reset_emulator();
--- more_headers eval
"Cookie: stytch_session_jwt=$::expired"
--- request eval
["GET /p/index.html", "GET /counters"]
--- error_code eval
[401, 200]
--- response_body_like eval
["401", qr/"authenticate":0,/]



=== TEST 7: Stytch answers 500: 503 with Retry-After, and nginx keeps serving
--- http_config eval: $::HttpConfig
--- config eval: $::Api . $::Protected
--- user_files eval: $::Files
--- init
StytchTest::clear_faults();
StytchTest::fault(endpoint => 'authenticate', status => 500);
--- more_headers eval
"Cookie: stytch_session_jwt=$::expired"
--- request eval
["GET /p/index.html", "GET /p/index.html"]
--- error_code eval
[503, 503]
--- response_headers eval
["Retry-After: 5\nX-Result: unavailable", "Retry-After: 5"]
--- error_log
the API answered 500



=== TEST 8: Stytch answers 429: 503
--- http_config eval: $::HttpConfig
--- config eval: $::Api . $::Protected
--- user_files eval: $::Files
--- init
StytchTest::clear_faults();
StytchTest::fault(endpoint => 'authenticate', status => 429);
--- more_headers eval
"Cookie: stytch_session_jwt=$::expired"
--- request
GET /p/index.html
--- error_code: 503
--- response_headers
Retry-After: 5



=== TEST 9: Stytch drops the connection: 503
--- http_config eval: $::HttpConfig
--- config eval: $::Api . $::Protected
--- user_files eval: $::Files
--- init
StytchTest::clear_faults();
StytchTest::fault(endpoint => 'authenticate', drop => \1);
--- more_headers eval
"Cookie: stytch_session_jwt=$::expired"
--- request
GET /p/index.html
--- error_code: 503
--- error_log
the API call through



=== TEST 10: Stytch is slower than proxy_read_timeout: 503
--- http_config eval: $::HttpConfig
--- config eval: $::Api . $::Protected
--- user_files eval: $::Files
--- init
StytchTest::clear_faults();
StytchTest::fault(endpoint => 'authenticate', latency_ms => 2500);
--- more_headers eval
"Cookie: stytch_session_jwt=$::expired"
--- request
GET /p/index.html
--- error_code: 503
--- timeout: 5
--- error_log
upstream timed out



=== TEST 11: Stytch answers malformed JSON: 503
--- http_config eval: $::HttpConfig
--- config eval: $::Api . $::Protected
--- user_files eval: $::Files
--- init
StytchTest::clear_faults();
StytchTest::fault(endpoint => 'authenticate', body => 'malformed');
--- more_headers eval
"Cookie: stytch_session_jwt=$::expired"
--- request
GET /p/index.html
--- error_code: 503
--- error_log
api_response_invalid



=== TEST 12: Stytch answers 10 MB: 503, the body is not kept
--- http_config eval: $::HttpConfig
--- config eval: $::Api . $::Protected
--- user_files eval: $::Files
--- init
StytchTest::clear_faults();
StytchTest::fault(endpoint => 'authenticate', body => 'oversized');
--- more_headers eval
"Cookie: stytch_session_jwt=$::expired"
--- request eval
["GET /p/index.html", "GET /p/index.html"]
--- error_code eval
[503, 503]
--- error_log
the API's answer is over 262144 bytes



=== TEST 13: a wrong secret: 500, and the log names the cause
--- http_config eval: $::HttpConfig =~ s/stytch_secret [^;]+;/stytch_secret wrong-secret;/r
--- config eval: $::Api . $::Protected
--- user_files eval: $::Files
--- init
StytchTest::clear_faults();
--- more_headers eval
"Cookie: stytch_session_jwt=$::expired"
--- request
GET /p/index.html
--- error_code: 500
--- error_log
the API refused the project's configuration (401 unauthorized_credentials): check "stytch_project_id" and "stytch_secret"
--- no_error_log
wrong-secret



=== TEST 14: nothing of the client's request reaches Stytch
--- http_config eval: $::HttpConfig
--- config eval: $::Api . $::Protected
--- user_files eval: $::Files
--- init
StytchTest::reset_emulator();
--- more_headers eval
"Cookie: stytch_session_jwt=$::expired; tracking=client-cookie-value
X-Client-Secret: client-header-value
User-Agent: client-user-agent"
--- request eval
["GET /p/index.html?q=client-arg", "GET /seen"]
--- error_code eval
[200, 200]
--- response_body_like eval
["protected content", qr/"authorization":"Basic [A-Za-z0-9+\/=]+"/]
--- response_body_unlike eval
["^\$", qr/client-cookie-value|client-header-value|client-user-agent|client-arg|tracking/]



=== TEST 15: a cached rejection is not reused for another token
--- http_config eval: $::HttpConfig
--- config eval: $::Api . $::Protected
--- user_files eval: $::Files
--- init
StytchTest::clear_faults();
--- more_headers eval
["Cookie: stytch_session_jwt=$::gone_expired", "Cookie: stytch_session_jwt=$::expired"]
--- request eval
["GET /p/index.html", "GET /p/index.html"]
--- error_code eval
[401, 200]



=== TEST 16: the API-result cache answers the second request; off, it does not
--- http_config eval: $::HttpConfig
--- config eval: $::Api . $::Protected . "location /nocache/ { stytch_auth on; stytch_api_cache off; root html; }"
--- user_files eval: $::Files . ">>> nocache/index.html\nuncached\n"
--- init
StytchTest::reset_emulator();
--- more_headers eval
"Cookie: stytch_session=$::opaque->{session_token}"
--- request eval
["GET /p/index.html", "GET /p/index.html", "GET /nocache/index.html", "GET /nocache/index.html", "GET /counters"]
--- error_code eval
[200, 200, 200, 200, 200]
--- response_headers_like eval
["X-Source: api", "X-Source: cache", "", "", ""]
--- response_body_like eval
["protected", "protected", "uncached", "uncached", qr/"authenticate":3,/]
