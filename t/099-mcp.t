# An MCP client as applications run it, through NGINX: the official MCP
# TypeScript SDK's Client over its Streamable HTTP transport calls a tool
# of an MCP server (the SDK's own McpServer, t/lib/mcp-server.js) that
# NGINX protects with stytch_auth oauth.  The SDK is answered 401 with
# RFC 9728's resource_metadata, reads the protected resource metadata
# document that NGINX serves, finds the emulator as the authorization
# server, registers dynamically, authorizes with PKCE (the emulator's
# auto-consent stands in for the user), gets a token for the resource,
# and its tool call is served with the user's identity passed upstream.
# Then what an application meets later: a location that needs more than
# the token's scopes (403 insufficient_scope, the SDK authorizes again
# for the scopes it names: step-up), and a token revoked while in use
# (401 where tokens are introspected, the SDK authorizes again).
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
                     actions => ['read', 'write'] } ],
    scopes => [
        { scope => 'read:documents', description => '', permissions => [
            { resource_id => 'documents', actions => ['read'] } ] },
        { scope => 'write:documents', description => '', permissions => [
            { resource_id => 'documents', actions => ['write'] } ] } ] });

# runs the SDK's client against the MCP server's URL through NGINX, with
# sdk-mcp.js's other inputs given
sub main::mcp_client {
    my %more = @_;
    my $port = StytchTest::nginx_port();
    my $input = JSON::PP::encode_json({
        mcp_url => "http://127.0.0.1:$port/mcp",
        emulator_user => 'mcp-user@example.com',
        tool => 'whoami',
        %more,
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

sub main::uri_escape {
    my $v = shift;
    $v =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge;
    return $v;
}

# the scope an authorization URL asks for
sub main::scope_of {
    my ($q) = (shift || '') =~ /[?&]scope=([^&]*)/ or return undef;
    $q =~ tr/+/ /;
    $q =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge;
    return $q;
}

# the statuses of the POSTs (the JSON-RPC messages) in the report
sub main::posts {
    return join ' ', map { $_->{status} }
        grep { $_->{method} eq 'POST' } @{ shift->{responses} || [] };
}

# /mcp: the MCP server behind NGINX for tokens with read:documents (and
# what extra adds), told the identity and not the token; and the
# resource's metadata document
sub main::mcp_config {
    my ($extra) = @_;
    return <<'_EOC_' . $extra . <<'_EOC_';
    location /mcp {
        stytch_auth oauth;
        stytch_resource http://127.0.0.1:$TEST_NGINX_SERVER_PORT/mcp;
        stytch_require_scope read:documents;
_EOC_
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
_EOC_
}

run_tests();

__DATA__

=== TEST 1: the MCP SDK discovers the authorization server from NGINX's 401, gets a token, and its tool call is served with the user's identity
--- config eval
main::mcp_config('') . <<'_EOC_'

    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }
_EOC_
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
Test::More::like($az, qr/resource=\Q${\ main::uri_escape($resource)}\E/,
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
--- request
GET /counters
--- response_body_like: "authenticate":0,



=== TEST 2: step-up: NGINX answers the SDK's token 403 insufficient_scope with the scopes needed and the resource's metadata; the SDK authorizes again for them and its tool call is served
--- http_config
    # a message (POST) may change documents, so it needs write:documents
    map $request_method $mcp_scope {
        GET      read:documents;
        HEAD     read:documents;
        default  write:documents;
    }
--- config eval
main::mcp_config(<<'_EOC_')
        # a scope given by a variable is not among the metadata document's
        # scopes_supported (the scopes written as they are): the SDK's
        # first token has read:documents alone
        stytch_require_scope $mcp_scope;
_EOC_
--- init
my $port = StytchTest::nginx_port();
my $resource = "http://127.0.0.1:$port/mcp";
my $metadata = "http://127.0.0.1:$port/.well-known/oauth-protected-resource/mcp";
# An application configured with its Connected App, which may ask for
# both scopes.  One that registers dynamically could not step up here:
# the SDK registers with the scope of its first authorization, and the
# emulator, as RFC 7591 lets a server, grants such a client no other.
my $app = StytchTest::emulator(POST => '/emulator/connected-apps', {
    client_type => 'third_party_public', client_name => 'MCP step-up',
    redirect_uris => ['http://127.0.0.1:9/oauth/callback'],
    scopes => ['read:documents', 'write:documents'] });
my $r = main::mcp_client(client_information => { client_id => $app->{client_id} });
my $s = $r->{steps};
my @res = @{ $r->{responses} || [] };
my @tokens = @{ $r->{tokens} || [] };
my @az = @{ $r->{authorizations} || [] };
Test::More::ok(!$r->{fatal}, 'TEST 2: the client ran') or Test::More::diag($r->{fatal});
Test::More::ok($s->{connect}{ok} && $s->{connect}{value}{unauthorized},
               'TEST 2: the first connect is refused: the SDK must authorize')
    or Test::More::diag(JSON::PP::encode_json($s->{connect}));
Test::More::is(main::posts($r), '401 403 200 202 200',
               'TEST 2: NGINX answers 401 without a token, 403 with the first, and serves the second')
    or Test::More::diag(JSON::PP::encode_json(\@res));
my ($forbidden) = grep { $_->{status} == 403 } @res;
$forbidden ||= {};
Test::More::is($forbidden->{www_authenticate},
               qq{Bearer error="insufficient_scope", scope="read:documents write:documents", resource_metadata="$metadata"},
               'TEST 2: the 403 names the scopes needed and the resource metadata (RFC 6750, RFC 9728 section 5.1)');
Test::More::is(scalar @az, 2, 'TEST 2: the SDK sent the user to authorize twice')
    or Test::More::diag(JSON::PP::encode_json(\@az));
Test::More::is(main::scope_of($az[0]), 'read:documents',
               'TEST 2: first for the scopes the metadata lists');
Test::More::is(main::scope_of($az[1]), 'read:documents write:documents',
               'TEST 2: then for the scopes the 403 named');
Test::More::like($az[1] || '', qr/[?&]client_id=\Q$app->{client_id}\E(?:&|$)/,
                 'TEST 2: as the same Connected App');
Test::More::like($az[1] || '', qr/resource=\Q${\ main::uri_escape($resource)}\E/,
                 'TEST 2: for the same resource');
Test::More::is(join('|', map { $_->{scope} } @tokens),
               'read:documents|read:documents write:documents',
               'TEST 2: the tokens it got: read:documents, then both');
Test::More::is($forbidden->{token}, $tokens[0]{token},
               'TEST 2: the 403 answered the first token');
Test::More::ok($s->{call_connect_finish_auth}{ok},
               'TEST 2: the application finishes the second authorization')
    or Test::More::diag(JSON::PP::encode_json($s));
Test::More::ok($s->{call}{ok}, 'TEST 2: the tool call goes through NGINX')
    or Test::More::diag(JSON::PP::encode_json($s->{call}));
my @after = grep { defined $_->{token} && $_->{token} eq ($tokens[1]{token} || '') } @res;
Test::More::ok(@after >= 3 && !grep({ $_->{status} >= 400 && $_->{status} != 405 } @after),
               'TEST 2: every request with the second token is served')
    or Test::More::diag(JSON::PP::encode_json(\@res));
my $who = eval { JSON::PP::decode_json($s->{call}{value}{content}[0]{text}) } || {};
Test::More::is($who->{scopes}, 'read:documents write:documents',
               'TEST 2: the upstream is told the stronger scopes');
Test::More::like($who->{user} || '', qr/^user-test-/, 'TEST 2: and the user');
Test::More::is($who->{client}, $app->{client_id}, 'TEST 2: and the Connected App');
--- request
GET /.well-known/oauth-protected-resource/mcp
--- response_body_like: "scopes_supported":\["read:documents"\],



=== TEST 3: a revoked token: where tokens are introspected, NGINX answers the SDK's next call 401; the SDK authorizes again and the call is served with a new token
--- config eval
main::mcp_config(<<'_EOC_')
        stytch_oauth_introspect on;
        # the token is revoked a moment after it was last taken: an
        # introspection's answer kept in the API-result cache (5s by
        # default) would still take it
        stytch_api_cache_valid 0;
_EOC_
--- init
my $port = StytchTest::nginx_port();
my $metadata = "http://127.0.0.1:$port/.well-known/oauth-protected-resource/mcp";
my $r = main::mcp_client(revoke_url => "$StytchTest::EmuUrl/emulator/oauth/revoke");
my $s = $r->{steps};
my @res = @{ $r->{responses} || [] };
my @tokens = @{ $r->{tokens} || [] };
my @az = @{ $r->{authorizations} || [] };
Test::More::ok(!$r->{fatal}, 'TEST 3: the client ran') or Test::More::diag($r->{fatal});
Test::More::ok($s->{call}{ok}, 'TEST 3: the first tool call is served')
    or Test::More::diag(JSON::PP::encode_json($s));
my $first = eval { JSON::PP::decode_json($s->{call}{value}{content}[0]{text}) } || {};
Test::More::ok($s->{revoke}{ok} && $s->{revoke}{value}{answer}{revoked} == 1
               && $s->{revoke}{value}{token} eq ($tokens[0]{token} || ''),
               'TEST 3: then its token is revoked at the emulator')
    or Test::More::diag(JSON::PP::encode_json($s->{revoke}));
Test::More::is(main::posts($r), '401 200 202 200 401 200',
               'TEST 3: NGINX answers 401 without a token, serves the token, 401 once it is revoked, and serves the new one')
    or Test::More::diag(JSON::PP::encode_json(\@res));
my @refused = grep { $_->{status} == 401 } @res;
Test::More::is(scalar @refused, 2, 'TEST 3: two 401s');
Test::More::is($refused[1]{token}, $tokens[0]{token},
               'TEST 3: the second answered the revoked token');
Test::More::is($refused[1]{www_authenticate},
               qq{Bearer realm="stytch", error="invalid_token", resource_metadata="$metadata"},
               'TEST 3: as invalid, naming the resource metadata');
Test::More::is(scalar @az, 2, 'TEST 3: the SDK sent the user to authorize again')
    or Test::More::diag(JSON::PP::encode_json(\@az));
Test::More::is(main::scope_of($az[1]), 'read:documents',
               'TEST 3: for the scopes the metadata lists');
Test::More::ok($s->{call_again_finish_auth}{ok},
               'TEST 3: the application finishes that authorization')
    or Test::More::diag(JSON::PP::encode_json($s));
Test::More::ok(@tokens == 2 && $tokens[0]{token} ne $tokens[1]{token},
               'TEST 3: and has a new token')
    or Test::More::diag(JSON::PP::encode_json(\@tokens));
Test::More::ok($s->{call_again}{ok}, 'TEST 3: the call is served again, over the same connection')
    or Test::More::diag(JSON::PP::encode_json($s->{call_again}));
Test::More::is($res[-1]{token}, $tokens[1]{token}, 'TEST 3: with the new token');
my $again = eval { JSON::PP::decode_json($s->{call_again}{value}{content}[0]{text}) } || {};
Test::More::like($again->{user} || '', qr/^user-test-/, 'TEST 3: the upstream is told the user');
Test::More::is($again->{user}, $first->{user}, 'TEST 3: the same user as before');
Test::More::is($again->{client}, $first->{client}, 'TEST 3: and the same Connected App');
--- request
GET /.well-known/oauth-protected-resource/mcp
--- response_body_like: "scopes_supported":\["read:documents"\],
--- error_log
stytch: access denied: api_token_inactive
--- no_error_log
[error]
[alert]
[crit]
[emerg]
