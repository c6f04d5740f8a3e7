# Authorization at the edge: Stytch RBAC permissions evaluated with the
# project's policy (and the organization's, for B2B) or, while the policy
# is not in the zone, by the API's authorization_check; the organization a
# B2B session must belong to; and stytch_require rules.
use Test::Nginx::Socket 'no_plan';
use StytchTest;

use Time::HiRes ();

no_shuffle();
check_accum_error_log();

our $editor = create_session(roles => ['stytch_user', 'editor']);
our $admin = create_session(roles => ['stytch_user', 'admin']);
our $plain = create_session(roles => ['stytch_user']);
our $ghost = create_session(roles => ['ghost']);
our $noroles = create_session(omit_roles => \1);
our $premium = create_session(roles => ['stytch_user'], custom_claims => { plan => 'premium' });
our $free = create_session(roles => ['stytch_user'], custom_claims => { plan => 'free' });

our $org_a = 'organization-test-aaaaaaaa-0000-0000-0000-000000000001';
our $org_b = 'organization-test-bbbbbbbb-0000-0000-0000-000000000002';
our $member = create_session(type => 'b2b', organization_id => $org_a,
                             organization_slug => 'acme',
                             roles => ['stytch_member', 'editor']);
our $auditor = create_session(type => 'b2b', organization_id => $org_a,
                              organization_slug => 'acme',
                              roles => ['stytch_member', 'org-auditor']);
set_org_policy(organization_id => $org_a,
               org_policy => { roles => [ { role_id => 'org-auditor',
                   description => '', permissions => [
                       { resource_id => 'reports', actions => ['read'] } ] } ] });

# the project's policy as the emulator starts with it, to restore
our $default_policy = stytch_api(GET => '/v1/rbac/policy')->{policy};

run_tests();

__DATA__

=== TEST 1: a role's "*" grants any action; no role, no grant: 403 insufficient_scope, decided without the API (stytch_rbac_local_final on)
--- http_config
    stytch_rbac_local_final on;
    stytch_policy_refresh 1s;
--- config
    location /docs/ {
        stytch_auth on;
        stytch_require_permission documents delete;
        root html;
    }

    location = /status {
        stytch_status;
    }

    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }
--- user_files
>>> docs/index.html
documents
>>> open/index.html
open to all signed in
>>> paid/index.html
premium content
--- init
StytchTest::wait_policy();
StytchTest::reset_emulator();
--- more_headers eval
["Cookie: stytch_session_jwt=$::admin->{session_jwt}",
 "Cookie: stytch_session_jwt=$::editor->{session_jwt}",
 "Cookie: stytch_session_jwt=$::plain->{session_jwt}",
 ""]
--- request eval
["GET /docs/index.html", "GET /docs/index.html", "GET /docs/index.html", "GET /counters"]
--- error_code eval
[200, 403, 403, 200]
--- response_headers eval
["", "WWW-Authenticate: Bearer error=\"insufficient_scope\"", "WWW-Authenticate: Bearer error=\"insufficient_scope\"", ""]
--- response_body_like eval
["documents", "403 Forbidden", "403 Forbidden", qr/"authenticate":0,/]



=== TEST 2: several permissions on one location must all be granted; the log names the one that is not
--- http_config
    stytch_rbac_local_final on;
    stytch_policy_refresh 1s;
--- config
    location /docs/ {
        stytch_auth on;
        stytch_require_permission documents read;
        stytch_require_permission documents write;
        root html;
    }

    location /open/ {
        stytch_auth on;
        stytch_require_permission documents read;
        stytch_require_permission documentsX read;
        root html;
    }

    location = /status {
        stytch_status;
    }
--- user_files
>>> docs/index.html
documents
>>> open/index.html
open to all signed in
>>> paid/index.html
premium content
--- init
StytchTest::wait_policy();
--- more_headers eval
"Cookie: stytch_session_jwt=$::editor->{session_jwt}"
--- request eval
["GET /open/index.html", "GET /docs/index.html"]
--- error_code eval
[403, 200]
--- response_body_like eval
["403 Forbidden", "documents"]
--- error_log eval
qr/\[info\] .*no role grants "read" on "documentsX"/
--- no_error_log
[error]
[alert]
[crit]
[emerg]



=== TEST 3: a role missing from the policy, and a session without roles: 403
--- http_config
    stytch_policy_refresh 1s;
--- config
    location /docs/ {
        stytch_auth on;
        stytch_require_permission documents read;
        root html;
    }

    location = /status {
        stytch_status;
    }
--- user_files
>>> docs/index.html
documents
>>> open/index.html
open to all signed in
>>> paid/index.html
premium content
--- init
StytchTest::wait_policy();
--- more_headers eval
["Cookie: stytch_session_jwt=$::ghost->{session_jwt}",
 "Cookie: stytch_session_jwt=$::noroles->{session_jwt}"]
--- request eval
["GET /docs/index.html", "GET /docs/index.html"]
--- error_code eval
[403, 403]
--- response_headers eval
["WWW-Authenticate: Bearer error=\"insufficient_scope\"", "WWW-Authenticate: Bearer error=\"insufficient_scope\""]



=== TEST 4: the action of stytch_require_permission taken from a variable (a map over the method)
--- http_config
    stytch_policy_refresh 1s;

    map $request_method $doc_action {
        GET     read;
        DELETE  delete;
        default write;
    }
--- config
    location /docs/ {
        stytch_auth on;
        stytch_require_permission documents $doc_action;
        root html;
        dav_methods DELETE;
    }

    location = /status {
        stytch_status;
    }
--- user_files
>>> docs/index.html
documents
>>> open/index.html
open to all signed in
>>> paid/index.html
premium content
--- init
StytchTest::wait_policy();
--- more_headers eval
"Cookie: stytch_session_jwt=$::editor->{session_jwt}"
--- request eval
["GET /docs/index.html", "DELETE /docs/index.html"]
--- error_code eval
[200, 403]



=== TEST 5: a new policy is picked up after stytch_policy_refresh
--- http_config
    stytch_policy_refresh 1s;
--- config
    location /docs/ {
        stytch_auth on;
        stytch_require_permission documents read;
        root html;
    }

    location = /status {
        stytch_status;
    }
--- user_files
>>> docs/index.html
documents
>>> open/index.html
open to all signed in
>>> paid/index.html
premium content
--- init
StytchTest::wait_policy();
my @cookie = (Cookie => "stytch_session_jwt=$main::editor->{session_jwt}");
Test::More::is(StytchTest::http_get('/docs/index.html', @cookie), 200,
               "TEST 5: the editor may read before the policy changes");
StytchTest::set_policy(policy => {
    roles => [ { role_id => 'stytch_user', description => '', permissions => [] },
               { role_id => 'editor', description => '', permissions => [
                   { resource_id => 'documents', actions => ['write'] } ] } ],
    resources => [ { resource_id => 'documents', description => '',
                     actions => ['read', 'write', 'delete'] } ],
    scopes => [] });
Test::More::is(StytchTest::wait_status(403, '/docs/index.html', @cookie), 403,
               "TEST 5: the editor may no longer read once the policy is fetched again");
StytchTest::set_policy(policy => $main::default_policy);
--- request
GET /status
--- response_body_like chomp
"policy_generation":2,



=== TEST 6: the policy endpoint down: the API's authorization_check decides, one call per permission
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/broken;
    stytch_policy_refresh 1s;
--- config
    location /docs/ {
        stytch_auth on;
        stytch_require_permission documents read;
        root html;
    }

    location /open/ {
        stytch_auth on;
        stytch_require_permission documents delete;
        root html;
    }

    # Stytch, with its RBAC policy endpoint down
    location = /broken/v1/rbac/policy {
        return 500;
    }

    location /broken/ {
        proxy_pass $TEST_NGINX_STYTCH_URL/;
    }

    location = /status {
        stytch_status;
    }

    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }
--- user_files
>>> docs/index.html
documents
>>> open/index.html
open to all signed in
>>> paid/index.html
premium content
--- init
StytchTest::wait_zone('keys_generation');
StytchTest::reset_emulator();
--- more_headers eval
"Cookie: stytch_session_jwt=$::editor->{session_jwt}"
--- request eval
["GET /docs/index.html", "GET /open/index.html", "GET /counters"]
--- error_code eval
[200, 403, 200]
--- response_body_like eval
["documents", "403", qr/"authenticate":2,/]
--- error_log eval
[qr/\[info\] .*no RBAC policy yet, asking the API about "read" on "documents"/,
 qr/\[error\] .*fetching the RBAC policy of project .* failed: the response status is 500; no policy yet/]
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 7: stytch_require with a map over a custom claim: 403, or 401 with error=401
--- http_config
    stytch_policy_refresh 1s;

    map $stytch_claim_plan $paid {
        premium 1;
        default 0;
    }
--- config
    location /paid/ {
        stytch_auth on;
        stytch_require $paid;
        root html;
    }

    location /open/ {
        stytch_auth on;
        stytch_require $paid error=401;
        root html;
    }

    location = /status {
        stytch_status;
    }
--- user_files
>>> docs/index.html
documents
>>> open/index.html
open to all signed in
>>> paid/index.html
premium content
--- init
StytchTest::wait_zone('keys_generation');
--- more_headers eval
["Cookie: stytch_session_jwt=$::premium->{session_jwt}",
 "Cookie: stytch_session_jwt=$::free->{session_jwt}",
 "Cookie: stytch_session_jwt=$::free->{session_jwt}"]
--- request eval
["GET /paid/index.html", "GET /paid/index.html", "GET /open/index.html"]
--- error_code eval
[200, 403, 401]
--- response_body_like eval
["premium content", "403", "401"]



=== TEST 8: a success cached at one location does not admit a request at a stricter one
--- http_config
    stytch_policy_refresh 1s;
--- config
    location /open/ {
        stytch_auth on;
        root html;
        add_header X-Source $stytch_auth_source always;
    }

    location /docs/ {
        stytch_auth on;
        stytch_require_permission documents delete;
        root html;
        add_header X-Source $stytch_auth_source always;
    }

    location = /status {
        stytch_status;
    }
--- user_files
>>> docs/index.html
documents
>>> open/index.html
open to all signed in
>>> paid/index.html
premium content
--- init
StytchTest::wait_policy();
--- more_headers eval
"Cookie: stytch_session=$::plain->{session_token}"
--- request eval
["GET /open/index.html", "GET /open/index.html", "GET /docs/index.html"]
--- error_code eval
[200, 200, 403]
--- response_headers eval
["X-Source: api", "X-Source: cache", "WWW-Authenticate: Bearer error=\"insufficient_scope\""]



=== TEST 9: B2B: stytch_require_organization admits only members of the organization in the URL
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_B2B_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_B2B_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
    stytch_policy_refresh 1s;
    stytch_b2b on;
--- config
    location ~ ^/orgs/(?<org>[^/]+)/ {
        stytch_auth on;
        stytch_require_organization $org;
        root html;
        rewrite ^ /docs/index.html break;
        add_header X-Org $stytch_organization_id always;
        add_header X-Member $stytch_member_id always;
        add_header X-Slug $stytch_organization_slug always;
    }

    location = /status {
        stytch_status;
    }
--- user_files
>>> docs/index.html
documents
>>> open/index.html
open to all signed in
>>> paid/index.html
premium content
--- init
StytchTest::wait_zone('keys_generation');
--- more_headers eval
"Cookie: stytch_session_jwt=$::member->{session_jwt}"
--- request eval
["GET /orgs/$::org_b/docs", "GET /orgs/$::org_a/docs"]
--- error_code eval
[403, 200]
--- response_headers eval
["WWW-Authenticate: Bearer error=\"insufficient_scope\"",
 "X-Org: $::org_a\nX-Member: $::member->{member_id}\nX-Slug: acme"]
--- error_log eval
qr/\[info\] .*the session's organization is not "\Q$::org_b\E"/
--- no_error_log
[error]
[alert]
[crit]
[emerg]



=== TEST 10: B2B: the organization's policy adds its roles, and the RBAC check includes the tenancy check
--- http_config
    stytch_rbac_local_final on;
    stytch_project_id $TEST_NGINX_STYTCH_B2B_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_B2B_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
    stytch_policy_refresh 1s;
    stytch_b2b on;
--- config
    location ~ ^/orgs/(?<org>[^/]+)/reports {
        stytch_auth on;
        stytch_require_organization $org;
        stytch_require_permission reports read;
        root html;
        rewrite ^ /docs/index.html break;
    }

    location = /status {
        stytch_status;
    }

    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }
--- user_files
>>> docs/index.html
documents
>>> open/index.html
open to all signed in
>>> paid/index.html
premium content
--- init
StytchTest::wait_policy();
# the organization's policy is fetched when a member of it is first seen
StytchTest::http_get("/orgs/$main::org_a/reports",
                     Cookie => "stytch_session_jwt=$main::auditor->{session_jwt}");
Time::HiRes::sleep(1.5);
StytchTest::reset_emulator();
--- more_headers eval
["Cookie: stytch_session_jwt=$::auditor->{session_jwt}",
 "Cookie: stytch_session_jwt=$::member->{session_jwt}",
 "Cookie: stytch_session_jwt=$::auditor->{session_jwt}",
 ""]
--- request eval
["GET /orgs/$::org_a/reports", "GET /orgs/$::org_a/reports", "GET /orgs/$::org_b/reports", "GET /counters"]
--- error_code eval
[200, 403, 403, 200]
--- response_body_like eval
["documents", "403", "403", qr/"authenticate":0,.*"b2b_authenticate":0,/]

