# The Stytch API fallback: expired JWTs and opaque session tokens are sent
# to sessions/authenticate through a subrequest; Stytch's answers map to
# 200 (with the refreshed JWT in the cookie), 401, 500 and 503; nothing of
# the client's request reaches Stytch; answers are cached per token.
use Test::Nginx::Socket 'no_plan';
use StytchTest;

no_shuffle();

# An expired JWT whose session is live, and one whose session is revoked.
our $live = create_session(roles => ['stytch_user']);
our $expired = mint_jwt(session_id => $live->{session_id},
                        iat => time() - 3600);

our $gone = create_session();
our $gone_expired = mint_jwt(session_id => $gone->{session_id},
                             iat => time() - 3600);
revoke(session_id => $gone->{session_id});

our $opaque = create_session(roles => ['stytch_user']);

# How Stytch can fail: [name, the emulator's fault, $stytch_auth_error,
# the error line that says so].
table_blocks(failures => [qw( name fault error log )],
    ['it answers 500',                       'status => 500',       'api_unavailable',      'stytch: the API answered 500: api_unavailable'],
    ['it answers 429',                       'status => 429',       'api_rate_limited',     'stytch: the API answered 429: api_rate_limited, too_many_requests'],
    ['it drops the connection',              'drop => \1',          'api_unavailable',      'stytch: the API call through "/_stytch_api/'],
    ['it is slower than proxy_read_timeout', 'latency_ms => 2500',  'api_unavailable',      'upstream timed out'],
    ['it answers malformed JSON',            "body => 'malformed'", 'api_response_invalid', 'stytch: the API answered 200: api_response_invalid'],
    ['it answers 10 MB',                     "body => 'oversized'", 'api_response_invalid', "stytch: the API's answer is over 262144 bytes"],
);

run_tests();

__DATA__

=== TEST 1: an expired JWT of a live session: the API answers, and the refreshed JWT is set in the cookie
--- config
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Result $stytch_auth_result always;
        add_header X-Error $stytch_auth_error always;
        add_header X-Source $stytch_auth_source always;
        add_header X-User $stytch_user_id always;
    }

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 1s;
    }

    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }
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



=== TEST 2: an expired JWT of a revoked session: 401, and the dead cookie is cleared
--- config
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Result $stytch_auth_result always;
        add_header X-Error $stytch_auth_error always;
        add_header X-Source $stytch_auth_source always;
        add_header X-User $stytch_user_id always;
    }

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 1s;
    }

    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }
--- init
StytchTest::reset_emulator();
--- more_headers eval
"Cookie: stytch_session_jwt=$::gone_expired"
--- request eval
["GET /p/index.html", "GET /counters"]
--- error_code eval
[401, 200]
--- response_body_like eval
["401 (?:Authorization Required|Unauthorized)", qr/"authenticate":1,/]
--- response_headers eval
["WWW-Authenticate: Bearer realm=\"stytch\", error=\"invalid_token\"\nX-Result: invalid\nX-Error: api_session_not_found\nSet-Cookie: stytch_session_jwt=; Path=/; SameSite=Lax; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT", ""]



=== TEST 3: an opaque session token: 200 with the user's identity
--- config
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Result $stytch_auth_result always;
        add_header X-Error $stytch_auth_error always;
        add_header X-Source $stytch_auth_source always;
        add_header X-User $stytch_user_id always;
    }

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 1s;
    }
--- init
StytchTest::clear_faults();
--- more_headers eval
"Cookie: stytch_session=$::opaque->{session_token}"
--- request
GET /p/index.html
--- error_code: 200
--- response_body
protected content
--- response_headers eval
"X-Source: api\nX-User: $::opaque->{user_id}\nX-Result: ok"



=== TEST 4: an unknown opaque session token: 401
--- config
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Result $stytch_auth_result always;
        add_header X-Error $stytch_auth_error always;
        add_header X-Source $stytch_auth_source always;
        add_header X-User $stytch_user_id always;
    }

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 1s;
    }
--- init
StytchTest::clear_faults();
--- more_headers
Cookie: stytch_session=session-token-that-stytch-never-issued
--- request
GET /p/index.html
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="stytch", error="invalid_token"
X-Error: api_session_not_found



=== TEST 5: a session token with characters Stytch never uses: 401, and no API call
--- config
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Result $stytch_auth_result always;
        add_header X-Error $stytch_auth_error always;
        add_header X-Source $stytch_auth_source always;
        add_header X-User $stytch_user_id always;
    }

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 1s;
    }

    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }
--- init
StytchTest::reset_emulator();
--- more_headers
Cookie: stytch_session="a\"b,{}"
--- request eval
["GET /p/index.html", "GET /counters"]
--- error_code eval
[401, 200]
--- response_headers eval
["WWW-Authenticate: Bearer realm=\"stytch\", error=\"invalid_token\"", ""]
--- response_body_like eval
["401", qr/"authenticate":0,/]



=== TEST 6: stytch_fallback off: an expired JWT is refused without asking the API
--- config
    location /p/ {
        stytch_auth on;
        stytch_fallback off;
        root html;
        add_header X-Result $stytch_auth_result always;
        add_header X-Error $stytch_auth_error always;
        add_header X-Source $stytch_auth_source always;
        add_header X-User $stytch_user_id always;
    }

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 1s;
    }

    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }
--- init
StytchTest::wait_keys('/p/index.html');
StytchTest::reset_emulator();
--- more_headers eval
"Cookie: stytch_session_jwt=$::expired"
--- request eval
["GET /p/index.html", "GET /counters"]
--- error_code eval
[401, 200]
--- response_headers eval
["X-Result: expired", ""]
--- response_body_like eval
["401", qr/"authenticate":0,/]



=== TEST 7: Stytch fails: 503 with Retry-After, an error line that says how, and nginx keeps serving: {{name}}
--- table: failures
--- config
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Result $stytch_auth_result always;
        add_header X-Error $stytch_auth_error always;
        add_header X-Source $stytch_auth_source always;
        add_header X-User $stytch_user_id always;
    }

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 1s;
    }
--- init
StytchTest::clear_faults();
StytchTest::fault(endpoint => 'authenticate', {{fault}});
--- more_headers eval
"Cookie: stytch_session_jwt=$::expired"
--- request eval
["GET /p/index.html", "GET /p/index.html"]
--- error_code eval
[503, 503]
--- response_headers eval
["Retry-After: 5\nX-Result: unavailable\nX-Error: {{error}}",
 "Retry-After: 5\nX-Result: unavailable\nX-Error: {{error}}"]
--- response_body_unlike eval
["protected", "protected"]
--- timeout: 5
--- error_log eval
qr{\[error\] .*\Q{{log}}\E}
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 8: a wrong secret: 500, and the log names the cause but not the secret
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret wrong-secret;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
--- config
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Result $stytch_auth_result always;
        add_header X-Error $stytch_auth_error always;
        add_header X-Source $stytch_auth_source always;
        add_header X-User $stytch_user_id always;
    }

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 1s;
    }
--- init
StytchTest::clear_faults();
--- more_headers eval
"Cookie: stytch_session_jwt=$::expired"
--- request
GET /p/index.html
--- error_code: 500
--- response_headers
X-Error: api_unauthorized
--- error_log
the API refused the project's configuration (401 unauthorized_credentials): check "stytch_project_id" and "stytch_secret"
--- no_error_log
wrong-secret
[alert]
[crit]
[emerg]



=== TEST 9: nothing of the client's request reaches Stytch
--- config
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Result $stytch_auth_result always;
        add_header X-Error $stytch_auth_error always;
        add_header X-Source $stytch_auth_source always;
        add_header X-User $stytch_user_id always;
    }

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 1s;
    }

    location = /seen {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/requests?endpoint=authenticate&limit=1;
    }
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



=== TEST 10: a rejection cached for one token is not reused for another
--- config
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Result $stytch_auth_result always;
        add_header X-Error $stytch_auth_error always;
        add_header X-Source $stytch_auth_source always;
        add_header X-User $stytch_user_id always;
    }

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 1s;
    }
--- init
StytchTest::clear_faults();
--- more_headers eval
["Cookie: stytch_session_jwt=$::gone_expired", "Cookie: stytch_session_jwt=$::expired"]
--- request eval
["GET /p/index.html", "GET /p/index.html"]
--- error_code eval
[401, 200]
--- response_body_like eval
["401", "^protected content\n\$"]



=== TEST 11: the API-result cache answers the second request; with stytch_api_cache off it does not
--- config
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Result $stytch_auth_result always;
        add_header X-Error $stytch_auth_error always;
        add_header X-Source $stytch_auth_source always;
        add_header X-User $stytch_user_id always;
    }

    location /nocache/ {
        stytch_auth on;
        stytch_api_cache off;
        root html;
    }

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 1s;
    }

    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }
--- user_files
>>> nocache/index.html
uncached
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

