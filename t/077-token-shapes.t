# Tokens in the wrong place: a JWT in the opaque session-token cookie is
# refused without asking Stytch (a session token has no dots); RBAC
# directives where only M2M tokens come fail nginx -t.
use Test::Nginx::Socket 'no_plan';
use StytchTest;

no_shuffle();

our $jwt = mint_jwt(session_id => create_session()->{session_id}, key => 'rogue');

run_tests();

__DATA__

=== TEST 1: a JWT in the stytch_session cookie: 401 token_malformed, no API call
--- config
    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }

    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Error $stytch_auth_error always;
    }
--- init
StytchTest::reset_emulator();
--- more_headers eval
["Cookie: stytch_session=$::jwt", ""]
--- request eval
["GET /p/index.html", "GET /counters"]
--- error_code eval
[401, 200]
--- response_headers eval
["X-Error: token_malformed", ""]
--- response_body_like eval
["401 (?:Authorization Required|Unauthorized)", qr/"authenticate":0,/]



=== TEST 2: stytch_require_permission with stytch_auth m2m fails nginx -t
--- config
    location /api/ {
        stytch_auth m2m;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_secret $TEST_NGINX_STYTCH_SECRET;
        stytch_require_permission documents read;
        root html;
    }
--- must_die
--- error_log
[emerg]
"stytch_require_permission" cannot be used with "stytch_auth m2m": an M2M token has no roles and no organization; require scopes with "stytch_require_scope"
--- no_error_log
[error]
[alert]
[crit]
