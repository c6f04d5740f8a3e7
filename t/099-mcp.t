# An MCP client as applications run it, through NGINX: the official MCP
# TypeScript SDK's Client over its Streamable HTTP transport calls a tool
# of an MCP server (the SDK's own McpServer, t/lib/mcp-server.js) that
# NGINX protects with stytch_auth oauth.  The SDK is answered 401 with
# RFC 9728's resource_metadata, reads the protected resource metadata
# document that NGINX serves, finds the emulator as the authorization
# server, registers dynamically, authorizes with PKCE (the emulator's
# auto-consent stands in for the user), gets a token for the resource,
# and its tool call is served with the user's identity passed upstream.
# The SDK is the one emulator/test/clients/package-lock.json pins,
# installed by scripts/install-deps test.
use Test::Nginx::Socket;
use JSON::PP ();

our ($Helper, $Sdk, $McpPid, $McpOut);

BEGIN {
    require Cwd;
    require File::Basename;
    $Helper = Cwd::abs_path(File::Basename::dirname(Cwd::abs_path(__FILE__))
                            . '/../emulator/lib/sdk-mcp.js');
    my $out = `node $Helper find`;
    $Sdk = eval { JSON::PP::decode_json($out) }
        or die "sdk-mcp.js find: no answer: $out\n";
    die "$Sdk->{missing}\n" if $Sdk->{missing};
}

use StytchTest;

plan('no_plan');
no_shuffle();

# the MCP server, NGINX's upstream
{
    $ENV{TEST_NGINX_MCP_PORT} = StytchTest::free_port();
    local $ENV{MCP_SDK_DIR} = $Sdk->{dir};
    my $script = Cwd::abs_path(File::Basename::dirname(Cwd::abs_path(__FILE__))
                               . '/lib/mcp-server.js');
    # the pipe stays open: closing it would wait for the server to exit
    $McpPid = open($McpOut, '-|', 'node', $script, $ENV{TEST_NGINX_MCP_PORT})
        or die "node mcp-server.js: $!\n";
    my $line = <$McpOut>;
    die "mcp-server.js did not start\n"
        unless defined $line && $line =~ /^listening /;
}

END { kill 'TERM', $McpPid if $McpPid }

# the scopes the project's Connected Apps may be granted
set_policy(policy => {
    roles => [ { role_id => 'stytch_user', description => '',
                 permissions => [] } ],
    resources => [ { resource_id => 'documents', description => '',
                     actions => ['read'] } ],
    scopes => [
        { scope => 'read:documents', description => '', permissions => [
            { resource_id => 'documents', actions => ['read'] } ] } ] });

# runs the SDK's client against the MCP server's URL through NGINX
sub main::mcp_client {
    my $port = StytchTest::nginx_port();
    my $input = JSON::PP::encode_json({
        mcp_url => "http://127.0.0.1:$port/mcp",
        emulator_user => 'mcp-user@example.com',
        tool => 'whoami',
    });
    local $ENV{MCP_SDK_DIR} = $Sdk->{dir};
    my $pid = open(my $out, '-|', 'node', $Helper, $input)
        or die "node sdk-mcp.js: $!\n";
    my $text = do { local $/; <$out> };
    close $out;
    my ($last) = (split /\n/, $text)[-1];
    return eval { JSON::PP::decode_json($last) }
        || die "sdk-mcp.js: no report: $text\n";
}

run_tests();

__DATA__

=== TEST 1: the MCP SDK discovers the authorization server from NGINX's 401, gets a token, and its tool call is served with the user's identity
--- config
    location /mcp {
        stytch_auth oauth;
        stytch_resource http://127.0.0.1:$TEST_NGINX_SERVER_PORT/mcp;
        stytch_require_scope read:documents;
        proxy_pass http://127.0.0.1:$TEST_NGINX_MCP_PORT;
        proxy_http_version 1.1;
        proxy_buffering off;
        proxy_set_header X-User $stytch_user_id;
        proxy_set_header X-Client $stytch_client_id;
        proxy_set_header X-Scopes $stytch_scopes;
        proxy_set_header Authorization "";
    }

    location = /.well-known/oauth-protected-resource/mcp {
        stytch_resource_metadata http://127.0.0.1:$TEST_NGINX_SERVER_PORT/mcp;
    }

    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }
--- init
my $port = StytchTest::nginx_port();
my $resource = "http://127.0.0.1:$port/mcp";
my $metadata = "http://127.0.0.1:$port/.well-known/oauth-protected-resource/mcp";
my $r = main::mcp_client();
my $s = $r->{steps};
Test::More::ok(!$r->{fatal}, 'TEST 1: the client ran') or Test::More::diag($r->{fatal});
Test::More::ok($s->{connect}{ok} && $s->{connect}{value}{unauthorized},
               'TEST 1: the first connect is refused: the SDK must authorize')
    or Test::More::diag(JSON::PP::encode_json($s->{connect}));
my $first = $r->{responses}[0] || {};
Test::More::is($first->{status}, 401, 'TEST 1: NGINX answers the first POST 401');
Test::More::is($first->{www_authenticate},
               qq{Bearer realm="stytch", resource_metadata="$metadata"},
               'TEST 1: its challenge names the resource metadata (RFC 9728, section 5.1)');
my $client = $s->{connect}{value}{client} || {};
Test::More::like($client->{client_id} || '', qr/^connected-app-test-/,
                 'TEST 1: the SDK registered dynamically with the emulator');
my $az = $s->{connect}{value}{authorization_url} || '';
Test::More::like($az, qr{^\Q$StytchTest::EmuUrl\E/v1/public/[^/]+/oauth2/authorize\?},
                 'TEST 1: the authorization server is the one the metadata names');
Test::More::like($az, qr/code_challenge_method=S256/, 'TEST 1: with PKCE');
Test::More::like($az, qr/scope=read%3Adocuments/,
                 'TEST 1: for the scopes the metadata lists');
Test::More::like($az, qr/resource=\Q${\ URI_escape($resource)}\E/,
                 'TEST 1: for the resource (RFC 8707)');
Test::More::ok($s->{finish_auth}{ok}, 'TEST 1: the code is exchanged for a token')
    or Test::More::diag(JSON::PP::encode_json($s->{finish_auth}));
Test::More::ok($s->{call}{ok}, 'TEST 1: the tool call goes through NGINX')
    or Test::More::diag(JSON::PP::encode_json($s->{call}));
my $who = eval { JSON::PP::decode_json($s->{call}{value}{content}[0]{text}) } || {};
Test::More::like($who->{user} || '', qr/^user-test-/,
                 "TEST 1: the upstream is told the user who granted access");
Test::More::is($who->{client}, $client->{client_id},
               'TEST 1: and the Connected App');
Test::More::is($who->{scopes}, 'read:documents', 'TEST 1: and its scopes');
Test::More::is($who->{authorization}, 'absent',
               'TEST 1: the token itself is not passed on');
my @after = grep { $_->{status} != 401 } @{ $r->{responses} };
Test::More::ok(@after && !grep({ $_->{status} >= 400 && $_->{status} != 405 } @after),
               'TEST 1: every request with the token is served')
    or Test::More::diag(JSON::PP::encode_json($r->{responses}));

sub URI_escape {
    my $v = shift;
    $v =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge;
    return $v;
}
--- request
GET /counters
--- response_body_like: "authenticate":0,
