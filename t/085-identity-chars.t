# An identity that no header can carry as it is never reaches one: a JWT
# whose sub, session id or organization id holds a control character
# (CR LF, NEL) or a line or paragraph separator (U+2028, U+2029) is
# refused with 401 and a warn line, instead of being let through with an
# empty $stytch_user_id.  Other string claims with such characters are
# empty in $stytch_claim_NAME, and escaped in $stytch_claims, as an
# upstream that echoes its headers shows.
use Test::Nginx::Socket 'no_plan';
use StytchTest;

no_shuffle();
check_accum_error_log();

our $crlf = mint_jwt(claims => { sub => "user-test-crlf\r\nX-Injected: 1" });
our $ls = mint_jwt(claims => { sub => "user-test-\x{2028}X-Injected: 1" });
our $ps_session = mint_jwt(claims => {
    'https://stytch.com/session' => { id => "session-test-\x{2029}x" } });
our $nel = mint_jwt(claims => { sub => "user-test-\x{85}x" });
our $note = mint_jwt(claims => { sub => 'user-test-fine', note => "a\x{2028}b",
                                 deep => { k => "v\x{2029}\x{85}" } });
our $b2b_org = mint_jwt(type => 'b2b', claims => {
    'https://stytch.com/organization' => {
        organization_id => "organization-test-\x{2028}x", slug => 'acme' } });
our $b2b_fine = mint_jwt(type => 'b2b');

run_tests();

__DATA__

=== TEST 1: a sub or session id with CR LF, NEL, U+2028 or U+2029 is refused with 401; other claims reach the upstream empty or escaped
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
    stytch_fallback off;
--- config
    location /app/ {
        stytch_auth on;
        proxy_set_header X-User $stytch_user_id;
        proxy_set_header X-Session $stytch_session_id;
        proxy_set_header X-Note $stytch_claim_note;
        proxy_set_header X-Deep $stytch_claim_deep;
        proxy_set_header X-Claims $stytch_claims;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo/;
        add_header X-Err $stytch_auth_error always;
    }

    location /echo/ {
        return 200 "user=[$http_x_user] session=[$http_x_session] note=[$http_x_note] deep=[$http_x_deep] claims=[$http_x_claims] injected=[$http_x_injected]\n";
    }
--- more_headers eval
["Authorization: Bearer $::crlf", "Authorization: Bearer $::ls",
 "Authorization: Bearer $::ps_session", "Authorization: Bearer $::nel",
 "Authorization: Bearer $::note"]
--- request eval
["GET /app/x", "GET /app/x", "GET /app/x", "GET /app/x", "GET /app/x"]
--- error_code eval
[401, 401, 401, 401, 200]
--- response_headers eval
["X-Err: identity_invalid\nWWW-Authenticate: Bearer realm=\"stytch\", error=\"invalid_token\"",
 "X-Err: identity_invalid", "X-Err: identity_invalid", "X-Err: identity_invalid",
 "X-Err:"]
--- response_body_like eval
[qr/401 Authorization Required/, qr/401 Authorization Required/,
 qr/401 Authorization Required/, qr/401 Authorization Required/,
 qr/^user=\[user-test-fine\] session=\[session-test-[^\]]+\] note=\[\] deep=\[\{"k":"v\\u2029\\u0085"\}\] claims=\[\{"deep":\{"k":"v\\u2029\\u0085"\},"note":"a\\u2028b"\}\] injected=\[\]$/]
--- error_log eval
qr/\[warn\] .*stytch: a session whose identity \(sub, session id or organization id\) holds a control character or a line separator is refused/
--- no_error_log
[error]
[alert]
[crit]
[emerg]



=== TEST 2: B2B: an organization id with U+2028 is refused with 401; a plain one passes
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_B2B_PROJECT;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
    stytch_fallback off;
--- config
    location /app/ {
        stytch_auth on;
        stytch_b2b on;
        proxy_set_header X-Org $stytch_organization_id;
        proxy_set_header X-Member $stytch_member_id;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo/;
        add_header X-Err $stytch_auth_error always;
    }

    location /echo/ {
        return 200 "org=[$http_x_org] member=[$http_x_member]\n";
    }
--- more_headers eval
["Authorization: Bearer $::b2b_org", "Authorization: Bearer $::b2b_fine"]
--- request eval
["GET /app/x", "GET /app/x"]
--- error_code eval
[401, 200]
--- response_headers eval
["X-Err: identity_invalid", "X-Err:"]
--- response_body_like eval
[qr/401 Authorization Required/, qr/^org=\[organization-test-[^\]\x{80}-\x{ff}]+\] member=\[member-test-[^\]]+\]$/]
--- error_log eval
qr/\[warn\] .*stytch: a session whose identity \(sub, session id or organization id\) holds a control character or a line separator is refused/
--- no_error_log
[error]
[alert]
[crit]
[emerg]
