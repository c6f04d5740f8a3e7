# The $stytch_* variables: identity, custom claims, B2B, and the result
# of the decision, as an upstream sees them (proxy_set_header), in
# response headers (add_header ... always, which shows them on 401s too)
# and in the access log; empty where the module did not run.  Every block
# has stytch_fallback off: what is checked is decided locally.  (The
# result and error of each refused token: the tables of t/020-jwt.t.)
use Test::Nginx::Socket;
use StytchTest;

use JSON::PP ();

repeat_each(1);
no_shuffle();

our $S = create_session(
    roles => ['stytch_user', 'editor'],
    custom_claims => {
        plan  => 'pro',
        level => 3,
        flags => { b => JSON::PP::true, a => [1, 'two'] },
        note  => "line1\r\nX-Injected: yes",
    });
our $B = create_session(type => 'b2b', roles => ['stytch_member']);

plan tests => repeat_each() * 91;

run_tests();

__DATA__

=== TEST 1: identity variables reach the upstream
--- http_config
    stytch_fallback off;
--- config
    location /app/ {
        stytch_auth on;
        proxy_set_header X-User $stytch_user_id;
        proxy_set_header X-Session $stytch_session_id;
        proxy_set_header X-Started $stytch_session_started_at;
        proxy_set_header X-Expires $stytch_session_expires_at;
        proxy_set_header X-Roles $stytch_roles;
        proxy_set_header X-Member $stytch_member_id;
        proxy_set_header X-Org $stytch_organization_id;
        proxy_set_header X-Result $stytch_auth_result;
        proxy_set_header X-Source $stytch_auth_source;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo/;
    }

    location /echo/ {
        return 200 "user=$http_x_user
session=$http_x_session
started=$http_x_started
expires=$http_x_expires
roles=$http_x_roles
member=$http_x_member
org=$http_x_org
result=$http_x_result
source=$http_x_source
";
    }
--- init
StytchTest::wait_keys('/app/x');
--- request
GET /app/x
--- more_headers eval
"Authorization: Bearer $main::S->{session_jwt}"
--- error_code: 200
--- response_body eval
"user=$main::S->{user_id}
session=$main::S->{session_id}
started=$main::S->{session}{started_at}
expires=$main::S->{session}{expires_at}
roles=stytch_user,editor
member=
org=
result=ok
source=jwt
"



=== TEST 2: custom claims: strings raw, other values compact JSON, control characters as a JSON string, $stytch_claims sorted
--- http_config
    stytch_fallback off;
--- config
    location /app/ {
        stytch_auth on;
        proxy_set_header X-Plan $stytch_claim_plan;
        proxy_set_header X-Level $stytch_claim_level;
        proxy_set_header X-Flags $stytch_claim_flags;
        proxy_set_header X-Note $stytch_claim_note;
        proxy_set_header X-Missing $stytch_claim_missing;
        proxy_set_header X-Claims $stytch_claims;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo/;
    }

    location /echo/ {
        return 200 "plan=$http_x_plan
level=$http_x_level
flags=$http_x_flags
note=$http_x_note
missing=$http_x_missing
injected=$http_x_injected
claims=$http_x_claims
";
    }
--- init
StytchTest::wait_keys('/app/x');
--- request
GET /app/x
--- more_headers eval
"Authorization: Bearer $main::S->{session_jwt}"
--- error_code: 200
--- response_body
plan=pro
level=3
flags={"a":[1,"two"],"b":true}
note=
missing=
injected=
claims={"flags":{"a":[1,"two"],"b":true},"level":3,"note":"line1\r\nX-Injected: yes","plan":"pro"}



=== TEST 3: B2B token: member, organization id and slug
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_B2B_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_B2B_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
    stytch_fallback off;
--- config
    location /app/ {
        stytch_auth on;
        stytch_b2b on;
        proxy_set_header X-User $stytch_user_id;
        proxy_set_header X-Member $stytch_member_id;
        proxy_set_header X-Org $stytch_organization_id;
        proxy_set_header X-Slug $stytch_organization_slug;
        proxy_set_header X-Session $stytch_session_id;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo/;
    }

    location /echo/ {
        return 200 "member=$http_x_member
org=$http_x_org
slug=$http_x_slug
session=$http_x_session
";
    }
--- init
StytchTest::wait_keys({ b2b => 1 }, '/app/x');
--- request
GET /app/x
--- more_headers eval
"Authorization: Bearer $main::B->{session_jwt}"
--- error_code: 200
--- response_body eval
"member=$main::B->{member_id}
org=$main::B->{organization_id}
slug=$main::B->{organization_slug}
session=$main::B->{session}{member_session_id}
"



=== TEST 4: $stytch_auth_result and $stytch_auth_error on a file: ok, missing, invalid
--- http_config
    stytch_fallback off;
--- config
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Result $stytch_auth_result always;
        add_header X-Error "[$stytch_auth_error]" always;
        add_header X-Source "[$stytch_auth_source]" always;
        add_header X-User "[$stytch_user_id]" always;
    }
--- init
StytchTest::wait_keys('/p/index.html');
--- request eval
["GET /p/index.html", "GET /p/index.html", "GET /p/index.html", "GET /p/index.html"]
--- more_headers eval
["Authorization: Bearer $main::S->{session_jwt}",
 "",
 "Authorization: Bearer not-a-jwt",
 "Authorization: Bearer " . StytchTest::mint_jwt(claims => { aud => ['project-test-11111111-1111-1111-1111-111111111111'] })]
--- error_code eval
[200, 401, 401, 401]
--- response_headers eval
["X-Result: ok\nX-Error: []\nX-Source: [jwt]\nX-User: [$main::S->{user_id}]",
 "X-Result: missing\nX-Error: [token_missing]\nX-Source: []\nX-User: []",
 "X-Result: invalid\nX-Error: [token_malformed]\nX-User: []",
 "X-Result: invalid\nX-Error: [claim_audience_mismatch]\nX-User: []"]



=== TEST 5: $stytch_auth_result no_keys (the JWKS endpoint unreachable, fallback off)
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
    stytch_fallback off;
--- config
    location /p/ {
        stytch_auth on;
        stytch_api_url http://127.0.0.1:9;
        root html;
        add_header X-Result $stytch_auth_result always;
        add_header X-Error $stytch_auth_error always;
    }
--- request
GET /p/index.html
--- more_headers eval
"Authorization: Bearer $main::S->{session_jwt}"
--- error_code: 503
--- response_headers
X-Result: no_keys
X-Error: jwks_no_keys
--- error_log eval
qr{\[error\] .*stytch: fetching the keys of project "[^"]+" from "http://127\.0\.0\.1:9/[^"]+" failed: .*; no keys yet}
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 6: $stytch_auth_source: jwt, then cache for the same token
--- http_config
    stytch_fallback off;
--- config
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Source $stytch_auth_source always;
    }
--- init
StytchTest::wait_keys('/p/index.html');
--- request eval
["GET /p/index.html", "GET /p/index.html", "GET /p/index.html"]
--- more_headers eval
["Cookie: stytch_session_jwt=$main::S->{session_jwt}",
 "Cookie: stytch_session_jwt=$main::S->{session_jwt}",
 "Authorization: Bearer $main::S->{session_jwt}"]
--- error_code eval
[200, 200, 200]
--- response_headers eval
["X-Source: jwt", "X-Source: cache", "X-Source: cache"]



=== TEST 7: variables are empty outside a protected location
--- http_config
    stytch_fallback off;
--- config
    location /p/ {
        stytch_auth on;
        root html;
    }

    location /open/ {
        alias html/p/;
        add_header X-User "[$stytch_user_id]" always;
        add_header X-Result "[$stytch_auth_result]" always;
        add_header X-Claim "[$stytch_claim_plan]" always;
    }
--- request
GET /open/index.html
--- more_headers eval
"Authorization: Bearer $main::S->{session_jwt}"
--- error_code: 200
--- response_headers
X-User: []
X-Result: []
X-Claim: []



=== TEST 8: variables in the access log
--- http_config
    stytch_fallback off;
    log_format stytch "stytch user=$stytch_user_id result=$stytch_auth_result source=$stytch_auth_source";
--- config
    access_log logs/access.log stytch;

    location /p/ {
        stytch_auth on;
        root html;
    }
--- init
StytchTest::wait_keys('/p/index.html');
--- request
GET /p/index.html
--- more_headers eval
"Authorization: Bearer $main::S->{session_jwt}"
--- error_code: 200
--- wait: 0.2
--- access_log eval
"stytch user=$main::S->{user_id} result=ok source=jwt"
