# Connected Apps (OAuth 2.1) access tokens at the edge, against the
# emulator's authorization server: stytch_auth oauth and
# stytch_accept_oauth, the variables an upstream gets, scopes matched
# exactly, permissions granted through the policy's scopes, B2B
# organizations, the RFC 6750 challenges with RFC 9728's resource_metadata,
# the protected resource metadata document, RFC 8707 audiences, and the
# configuration errors.  No access token ever reaches the Stytch API.
use Test::Nginx::Socket 'no_plan';
use StytchTest;
use IO::Socket::INET;

no_shuffle();

{
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', Listen => 1)
        or die "no free port: $!\n";
    $ENV{TEST_NGINX_APP_PORT} = $s->sockport;
    close $s;
}
$ENV{TEST_NGINX_B2B_PROJECT} = $StytchTest::EmuB2bProject;
$ENV{TEST_NGINX_B2B_SECRET} = $StytchTest::EmuB2bSecret;

our $Resource = "https://mcp.example.test/mcp";
our $MetadataUrl = "https://mcp.example.test/.well-known/oauth-protected-resource/mcp";

# the project's policy: scopes grant permissions (Connected Apps)
set_policy(policy => {
    roles => [ { role_id => 'stytch_user', description => '',
                 permissions => [] } ],
    resources => [ { resource_id => 'documents', description => '',
                     actions => ['read', 'write'] } ],
    scopes => [
        { scope => 'read:documents', description => '', permissions => [
            { resource_id => 'documents', actions => ['read'] } ] },
        { scope => 'manage:documents', description => '', permissions => [
            { resource_id => 'documents', actions => ['*'] } ] } ] });

sub oauth { emulator(POST => '/emulator/oauth/token', { @_ })->{access_token} }

our %T = (
    ok => oauth(sub => 'user-test-oauth-1', client_id => 'connected-app-test-1',
                scope => 'read:documents openid', claims => { tier => 'gold' }),
    narrow => oauth(sub => 'user-test-oauth-1', client_id => 'connected-app-test-1',
                    scope => 'openid'),
    manage => oauth(sub => 'user-test-oauth-2', client_id => 'connected-app-test-2',
                    scope => 'manage:documents'),
    expired => oauth(sub => 'user-test-oauth-1', client_id => 'connected-app-test-1',
                     scope => 'read:documents', iat => time() - 7200,
                     lifetime => 3600),
    for_resource => oauth(sub => 'user-test-oauth-1',
                          client_id => 'connected-app-test-1',
                          scope => 'read:documents',
                          aud => [$StytchTest::EmuProject, $Resource]),
    m2m => emulator(POST => '/emulator/m2m/token',
                    { scopes => ['read:documents'] })->{access_token},
    session => mint_jwt(),
);

our $Org = 'organization-test-00000000-0000-0000-0000-000000000001';
$T{b2b} = oauth(project_id => $StytchTest::EmuB2bProject,
                sub => 'member-test-oauth-1', client_id => 'connected-app-test-3',
                scope => 'read:documents', organization_id => $Org);

our $Invalid = 'Bearer realm="stytch", error="invalid_token"';

our $App = <<'_EOC_';
    server {
        listen 127.0.0.1:$TEST_NGINX_APP_PORT;
        location / {
            return 200 "app kind=$http_x_kind user=$http_x_user client=$http_x_client scopes=$http_x_scopes tier=$http_x_tier org=$http_x_org\n";
        }
    }
_EOC_

our $Config = <<'_EOC_';
    add_header X-Err $stytch_auth_error always;

    location /o/ {
        stytch_auth oauth;
        proxy_pass http://127.0.0.1:$TEST_NGINX_APP_PORT;
        proxy_set_header X-Kind $stytch_token_kind;
        proxy_set_header X-User $stytch_user_id;
        proxy_set_header X-Client $stytch_client_id;
        proxy_set_header X-Scopes $stytch_scopes;
        proxy_set_header X-Tier $stytch_claim_tier;
    }

    location /oscope/ {
        stytch_auth oauth;
        stytch_require_scope read:documents;
        root html;
    }

    location /operm/ {
        stytch_auth oauth;
        stytch_require_permission documents read;
        root html;
    }

    location /owrite/ {
        stytch_auth oauth;
        stytch_require_permission documents write;
        root html;
    }

    location /web/ {
        stytch_auth on;
        root html;
    }

    location /webo/ {
        stytch_auth on;
        stytch_accept_oauth on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_APP_PORT;
        proxy_set_header X-Kind $stytch_token_kind;
    }

    location /om2m/ {
        stytch_auth oauth;
        stytch_accept_m2m on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_APP_PORT;
        proxy_set_header X-Kind $stytch_token_kind;
    }

    location /mcp/ {
        stytch_auth oauth;
        stytch_resource https://mcp.example.test/mcp;
        stytch_require_scope read:documents;
        stytch_require_scope openid;
        root html;
    }

    location /mcp/perm/ {
        stytch_auth oauth;
        stytch_resource https://mcp.example.test/mcp;
        stytch_require_permission documents write;
        root html;
    }

    location /mcp/aud/ {
        stytch_auth oauth;
        stytch_resource https://mcp.example.test/mcp;
        stytch_resource_audience on;
        root html;
    }

    location = /.well-known/oauth-protected-resource/mcp {
        stytch_resource_metadata https://mcp.example.test/mcp;
    }

    location = /.well-known/oauth-protected-resource/other {
        stytch_resource_metadata https://mcp.example.test/other
                                 https://login.example.test/;
    }

    location /b2b/ {
        stytch_auth oauth;
        stytch_project_id $TEST_NGINX_B2B_PROJECT;
        stytch_secret $TEST_NGINX_B2B_SECRET;
        stytch_b2b on;
        stytch_require_organization $arg_org;
        proxy_pass http://127.0.0.1:$TEST_NGINX_APP_PORT;
        proxy_set_header X-Kind $stytch_token_kind;
        proxy_set_header X-User $stytch_member_id;
        proxy_set_header X-Org $stytch_organization_id;
    }

    location = /status {
        stytch_status;
    }

    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }
_EOC_

our $Files = join '', map { ">>> $_/index.html\n$_ content\n" }
    qw(oscope operm owrite web mcp mcp/perm mcp/aud);

add_block_preprocessor(sub {
    my $block = shift;
    return if defined $block->must_die;
    $block->set_value('http_config', $StytchTest::ProjectConfig . $App)
        unless defined $block->http_config;
    $block->set_value('config', $Config) unless defined $block->config;
    $block->set_value('user_files', $Files) unless defined $block->user_files;
});

run_tests();

__DATA__

=== TEST 1: a Connected Apps token at stytch_auth oauth: the grant's user, the app, its scopes and claims go upstream
--- init
StytchTest::wait_keys('/web/index.html');
--- request
GET /o/x
--- more_headers eval
"Authorization: Bearer $main::T{ok}"
--- error_code: 200
--- response_body
app kind=oauth user=user-test-oauth-1 client=connected-app-test-1 scopes=read:documents openid tier=gold org=



=== TEST 2: what each location takes: kinds, and no cookie for an access token
--- request eval
["GET /o/x", "GET /o/x", "GET /o/x", "GET /web/index.html", "GET /webo/x", "GET /webo/x", "GET /om2m/x", "GET /om2m/x", "GET /o/x"]
--- more_headers eval
["Authorization: Bearer $main::T{session}", "Authorization: Bearer $main::T{m2m}", "", "Authorization: Bearer $main::T{ok}", "Authorization: Bearer $main::T{ok}", "Authorization: Bearer $main::T{session}", "Authorization: Bearer $main::T{m2m}", "Authorization: Bearer $main::T{ok}", "Cookie: stytch_session_jwt=$main::T{ok}"]
--- error_code eval
[401, 401, 401, 401, 200, 200, 200, 200, 401]
--- response_body_like eval
[qr/401/, qr/401/, qr/401/, qr/401/, qr/^app kind=oauth /, qr/^app kind=session /, qr/^app kind=m2m /, qr/^app kind=oauth /, qr/401/]
--- response_headers eval
["WWW-Authenticate: $main::Invalid\nX-Err: token_kind_not_allowed", "WWW-Authenticate: $main::Invalid\nX-Err: token_kind_not_allowed", "WWW-Authenticate: Bearer realm=\"stytch\"", "WWW-Authenticate: $main::Invalid\nX-Err: token_kind_not_allowed", "!WWW-Authenticate", "!WWW-Authenticate", "!WWW-Authenticate", "!WWW-Authenticate", "WWW-Authenticate: Bearer realm=\"stytch\""]



=== TEST 3: an expired access token is 401 invalid_token, and the API is never asked
--- request eval
["GET /o/x", "GET /counters"]
--- more_headers eval
["Authorization: Bearer $main::T{expired}", ""]
--- error_code eval
[401, 200]
--- response_headers eval
["WWW-Authenticate: $main::Invalid\nX-Err: jwt_expired", ""]
--- response_body_like eval
[qr/401/, qr/"authenticate":0,/]



=== TEST 4: scopes match exactly; a missing one is 403 insufficient_scope with the scopes needed, and the resource's metadata where the location has one
--- request eval
["GET /oscope/index.html", "GET /oscope/index.html", "GET /mcp/index.html"]
--- more_headers eval
["Authorization: Bearer $main::T{ok}", "Authorization: Bearer $main::T{narrow}", "Authorization: Bearer $main::T{manage}"]
--- error_code eval
[200, 403, 403]
--- response_headers eval
["!WWW-Authenticate", "WWW-Authenticate: Bearer error=\"insufficient_scope\", scope=\"read:documents\"\nX-Err: scope_missing", "WWW-Authenticate: Bearer error=\"insufficient_scope\", scope=\"read:documents openid\", resource_metadata=\"$main::MetadataUrl\"\nX-Err: scope_missing"]
--- response_body_like eval
[qr/^oscope content/, qr/403/, qr/403/]



=== TEST 5: permissions through the policy's scopes, as introspectTokenLocal grants them; the 403 of a resource's location names its metadata
--- init
StytchTest::wait_policy();
--- request eval
["GET /operm/index.html", "GET /owrite/index.html", "GET /owrite/index.html", "GET /operm/index.html", "GET /mcp/perm/index.html", "GET /mcp/perm/index.html", "GET /counters"]
--- more_headers eval
["Authorization: Bearer $main::T{ok}", "Authorization: Bearer $main::T{ok}", "Authorization: Bearer $main::T{manage}", "Authorization: Bearer $main::T{narrow}", "Authorization: Bearer $main::T{ok}", "Authorization: Bearer $main::T{manage}", ""]
--- error_code eval
[200, 403, 200, 403, 403, 200, 200]
--- response_headers eval
["!WWW-Authenticate", "WWW-Authenticate: Bearer error=\"insufficient_scope\"\nX-Err: permission_denied", "!WWW-Authenticate", "X-Err: permission_denied", "WWW-Authenticate: Bearer error=\"insufficient_scope\", resource_metadata=\"$main::MetadataUrl\"\nX-Err: permission_denied", "!WWW-Authenticate", ""]
--- response_body_like eval
[qr/^operm content/, qr/403/, qr/^owrite content/, qr/403/, qr/403/, qr/^mcp\/perm content/, qr/"authenticate":0,/]



=== TEST 6: the 401 of a location protecting a resource names its metadata (RFC 9728, section 5.1)
--- request eval
["GET /mcp/index.html", "GET /mcp/index.html", "GET /mcp/index.html"]
--- more_headers eval
["", "Authorization: Bearer $main::T{expired}", "Authorization: Bearer $main::T{ok}"]
--- error_code eval
[401, 401, 200]
--- response_headers eval
["WWW-Authenticate: Bearer realm=\"stytch\", resource_metadata=\"$main::MetadataUrl\"", "WWW-Authenticate: $main::Invalid, resource_metadata=\"$main::MetadataUrl\"", "!WWW-Authenticate"]
--- response_body_like eval
[qr/401/, qr/401/, qr/^mcp content/]



=== TEST 7: the protected resource metadata document: the resource, the project's authorization server, the scopes its locations require
--- request eval
["GET /.well-known/oauth-protected-resource/mcp", "HEAD /.well-known/oauth-protected-resource/mcp", "POST /.well-known/oauth-protected-resource/mcp", "GET /.well-known/oauth-protected-resource/other"]
--- error_code eval
[200, 200, 405, 200]
--- response_headers eval
["Content-Type: application/json", "Content-Type: application/json", "", "Content-Type: application/json"]
--- response_body eval
[qq{{"resource":"$main::Resource","authorization_servers":["$StytchTest::EmuUrl"],"scopes_supported":["read:documents","openid"],"bearer_methods_supported":["header"]}},
 "",
 qr/405/,
 qq{{"resource":"https://mcp.example.test/other","authorization_servers":["https://login.example.test"],"bearer_methods_supported":["header"]}}]



=== TEST 8: stytch_resource_audience: a token granted for another resource (RFC 8707) is refused
--- request eval
["GET /mcp/aud/index.html", "GET /mcp/aud/index.html"]
--- more_headers eval
["Authorization: Bearer $main::T{ok}", "Authorization: Bearer $main::T{for_resource}"]
--- error_code eval
[401, 200]
--- response_headers eval
["WWW-Authenticate: $main::Invalid, resource_metadata=\"$main::MetadataUrl\"\nX-Err: claim_audience_mismatch", "!WWW-Authenticate"]
--- response_body_like eval
[qr/401/, qr/^mcp\/aud content/]



=== TEST 9: a B2B grant: its member and organization, and stytch_require_organization first
--- init
StytchTest::wait_status(200, '/b2b/x?org=' . $main::Org,
                        Authorization => "Bearer $main::T{b2b}");
--- request eval
["GET /b2b/x?org=$main::Org", "GET /b2b/x?org=organization-test-other"]
--- more_headers eval
["Authorization: Bearer $main::T{b2b}", "Authorization: Bearer $main::T{b2b}"]
--- error_code eval
[200, 403]
--- response_body_like eval
[qr/^app kind=oauth user=member-test-oauth-1 client= scopes= tier= org=\Q$main::Org\E$/, qr/403/]
--- response_headers eval
["!WWW-Authenticate", "X-Err: tenancy_mismatch"]



=== TEST 10: stytch_auth with a bad value names oauth among the values
--- config
    location /p/ {
        stytch_auth oauth2;
        root html;
    }
--- must_die
--- error_log
invalid value "oauth2" in "stytch_auth" directive, it must be "on", "off", "strict", "report", "m2m" or "oauth"



=== TEST 11: stytch_resource that is no http(s) URL is refused
--- config
    location /p/ {
        stytch_auth oauth;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_resource ftp://example.test/mcp;
        root html;
    }
--- must_die
--- error_log
invalid resource "ftp://example.test/mcp" in "stytch_resource": an http or https URL with a host and without a query or fragment



=== TEST 12: stytch_resource_metadata with a query is refused
--- config
    location = /.well-known/oauth-protected-resource/mcp {
        stytch_resource_metadata https://example.test/mcp?x=1;
    }
--- must_die
--- error_log
invalid resource "https://example.test/mcp?x=1" in "stytch_resource_metadata"



=== TEST 13: stytch_resource_metadata without an authorization server nor stytch_api_url is refused
--- config
    location = /.well-known/oauth-protected-resource/mcp {
        stytch_resource_metadata https://example.test/mcp;
    }
--- must_die
--- error_log
"stytch_resource_metadata" needs the authorization server, your Stytch project's domain, as its second argument, or "stytch_api_url"



=== TEST 14: stytch_resource_metadata with a bad authorization server is refused
--- config
    location = /.well-known/oauth-protected-resource/mcp {
        stytch_resource_metadata https://example.test/mcp login.example.test;
    }
--- must_die
--- error_log
invalid authorization server "login.example.test" in "stytch_resource_metadata": an http or https URL



=== TEST 15: stytch_resource_audience without stytch_resource is refused
--- config
    location /p/ {
        stytch_auth oauth;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_resource_audience on;
        root html;
    }
--- must_die
--- error_log
"stytch_resource_audience" is on but no "stytch_resource" names the resource
