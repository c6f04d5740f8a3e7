# Authorization at the edge: Stytch RBAC permissions evaluated with the
# project's policy (and the organization's, for B2B), the organization a
# B2B session must belong to, and stytch_require rules.
use Test::Nginx::Socket 'no_plan';
use StytchTest;
use IO::Socket::INET;

no_shuffle();
check_accum_error_log();

our $HttpConfig = <<'_EOC_';
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
    stytch_policy_refresh 1s;

    map $request_method $doc_action {
        GET     read;
        DELETE  delete;
        default write;
    }

    map $stytch_claim_plan $paid {
        premium 1;
        default 0;
    }
_EOC_

our $Api = <<'_EOC_';
    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
    }

    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }

    location = /status {
        stytch_status;
    }
_EOC_

our $Files = <<'_EOC_';
>>> docs/index.html
documents
>>> open/index.html
open to all signed in
>>> paid/index.html
premium content
_EOC_

sub main::get {
    my ($path, $cookie, $method) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => server_port(), Proto => 'tcp')
        or die "connect: $!";
    print $s ($method // 'GET') . " $path HTTP/1.0\r\nHost: localhost\r\n"
             . ($cookie ? "Cookie: $cookie\r\n" : "") . "\r\n";
    local $/;
    my $raw = <$s> // '';
    my ($status) = $raw =~ m{^HTTP/1\.\d (\d+)};
    return ($status // 0, $raw);
}

# Waits until the workers have the RBAC policy, so that what follows is
# decided locally.
sub main::wait_policy {
    for (1 .. 50) {
        my (undef, $raw) = main::get('/status');
        return if $raw =~ /"policy_generation":[1-9]/;
        select(undef, undef, undef, 0.1);
    }
    die "no RBAC policy after 5 s\n";
}

sub main::jwt_cookie {
    my (%opts) = @_;
    return "stytch_session_jwt=" . StytchTest::create_session(%opts)->{session_jwt};
}

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
use MIME::Base64 qw(encode_base64);
our $default_policy = JSON::PP::decode_json(emulator_raw(GET => '/v1/rbac/policy', undef,
    { Authorization => 'Basic ' . encode_base64("$ENV{TEST_NGINX_STYTCH_PROJECT}:$ENV{TEST_NGINX_STYTCH_SECRET}", '') })->{content})->{policy};

run_tests();

__DATA__

=== TEST 1: a role's "*" grants any action; no role, no grant
--- http_config eval: $::HttpConfig
--- config eval
$::Api . q{
    location /docs/ {
        stytch_auth on;
        stytch_require_permission documents delete;
        root html;
    }
}
--- user_files eval: $::Files
--- init
main::wait_policy();
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



=== TEST 2: several roles, an exact resource, several permissions on one location
--- http_config eval: $::HttpConfig
--- config eval
$::Api . q{
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
}
--- user_files eval: $::Files
--- init
main::wait_policy();
--- more_headers eval
"Cookie: stytch_session_jwt=$::editor->{session_jwt}"
--- request eval
["GET /open/index.html", "GET /docs/index.html"]
--- error_code eval
[403, 200]
--- error_log eval
qr/no role grants "read" on "documentsX"/



=== TEST 3: a role missing from the policy, and a session without roles: 403
--- http_config eval: $::HttpConfig
--- config eval
$::Api . q{
    location /docs/ {
        stytch_auth on;
        stytch_require_permission documents read;
        root html;
    }
}
--- user_files eval: $::Files
--- init
main::wait_policy();
--- more_headers eval
["Cookie: stytch_session_jwt=$::ghost->{session_jwt}",
 "Cookie: stytch_session_jwt=$::noroles->{session_jwt}"]
--- request eval
["GET /docs/index.html", "GET /docs/index.html"]
--- error_code eval
[403, 403]



=== TEST 4: the action taken from a variable (a map over the method)
--- http_config eval: $::HttpConfig
--- config eval
$::Api . q{
    location /docs/ {
        stytch_auth on;
        stytch_require_permission documents $doc_action;
        root html;
        dav_methods DELETE;
    }
}
--- user_files eval: $::Files
--- init
main::wait_policy();
--- more_headers eval
"Cookie: stytch_session_jwt=$::editor->{session_jwt}"
--- request eval
["GET /docs/index.html", "DELETE /docs/index.html"]
--- error_code eval
[200, 403]



=== TEST 5: a new policy is picked up after stytch_policy_refresh
--- http_config eval: $::HttpConfig
--- config eval
$::Api . q{
    location /docs/ {
        stytch_auth on;
        stytch_require_permission documents read;
        root html;
    }
}
--- user_files eval: $::Files
--- init
main::wait_policy();
my $cookie = "stytch_session_jwt=$main::editor->{session_jwt}";
my ($before) = main::get('/docs/index.html', $cookie);
Test::More::is($before, 200, "editor may read before the policy changes");
StytchTest::set_policy(policy => {
    roles => [ { role_id => 'stytch_user', description => '', permissions => [] },
               { role_id => 'editor', description => '', permissions => [
                   { resource_id => 'documents', actions => ['write'] } ] } ],
    resources => [ { resource_id => 'documents', description => '',
                     actions => ['read', 'write', 'delete'] } ],
    scopes => [] });
my $after = 0;
for (1 .. 40) {
    ($after) = main::get('/docs/index.html', $cookie);
    last if $after == 403;
    select(undef, undef, undef, 0.1);
}
Test::More::is($after, 403, "editor may no longer read once the policy is refetched");
StytchTest::set_policy(policy => $main::default_policy);
--- request
GET /status
--- response_body_like chomp
"policy_generation":2,



=== TEST 6: policy endpoint down: the API's authorization_check decides
--- http_config eval: $::HttpConfig =~ s{stytch_api_url [^;]+;}{stytch_api_url http://127.0.0.1:\$TEST_NGINX_SERVER_PORT/broken;}r
--- config eval
$::Api . q{
    location = /broken/v1/rbac/policy {
        return 500;
    }

    location /broken/ {
        proxy_pass $TEST_NGINX_STYTCH_URL/;
    }

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
}
--- user_files eval: $::Files
--- init
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
[qr/no RBAC policy yet, asking the API about "read" on "documents"/,
 qr/fetching the RBAC policy of project .* failed: the response status is 500; no policy yet/]



=== TEST 7: stytch_require with a map over a custom claim; error=401
--- http_config eval: $::HttpConfig
--- config eval
$::Api . q{
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
}
--- user_files eval: $::Files
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
--- http_config eval: $::HttpConfig
--- config eval
$::Api . q{
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
}
--- user_files eval: $::Files
--- init
main::wait_policy();
--- more_headers eval
"Cookie: stytch_session=$::plain->{session_token}"
--- request eval
["GET /open/index.html", "GET /open/index.html", "GET /docs/index.html"]
--- error_code eval
[200, 200, 403]
--- response_headers eval
["X-Source: api", "X-Source: cache", "WWW-Authenticate: Bearer error=\"insufficient_scope\""]



=== TEST 9: B2B: the member's organization must be the one in the URL
--- http_config eval: ($::HttpConfig =~ s/TEST_NGINX_STYTCH_PROJECT/TEST_NGINX_STYTCH_B2B_PROJECT/r =~ s/TEST_NGINX_STYTCH_SECRET/TEST_NGINX_STYTCH_B2B_SECRET/r) . "stytch_b2b on;"
--- config eval
$::Api . q{
    location ~ ^/orgs/(?<org>[^/]+)/ {
        stytch_auth on;
        stytch_require_organization $org;
        root html;
        rewrite ^ /docs/index.html break;
        add_header X-Org $stytch_organization_id always;
        add_header X-Member $stytch_member_id always;
        add_header X-Slug $stytch_organization_slug always;
    }
}
--- user_files eval: $::Files
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
qr/the session's organization is not "\Q$::org_b\E"/



=== TEST 10: B2B: the organization's policy adds its roles, and the RBAC check includes the tenancy check
--- http_config eval: ($::HttpConfig =~ s/TEST_NGINX_STYTCH_PROJECT/TEST_NGINX_STYTCH_B2B_PROJECT/r =~ s/TEST_NGINX_STYTCH_SECRET/TEST_NGINX_STYTCH_B2B_SECRET/r) . "stytch_b2b on;"
--- config eval
$::Api . q{
    location ~ ^/orgs/(?<org>[^/]+)/reports {
        stytch_auth on;
        stytch_require_organization $org;
        stytch_require_permission reports read;
        root html;
        rewrite ^ /docs/index.html break;
    }
}
--- user_files eval: $::Files
--- init
main::wait_policy();
# the organization's policy is fetched when a member of it is first seen
main::get("/orgs/$main::org_a/reports", "stytch_session_jwt=$main::auditor->{session_jwt}");
select(undef, undef, undef, 1.5);
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
