# stytch_oauth_introspect: a Connected Apps access token that verifies
# locally is also introspected (RFC 7662) through the API location, as its
# own client asks Stytch (a public client with its client_id, a
# confidential one with its credentials from stytch_oauth_client), with
# the single flight and the API-result cache of session calls: a revoked
# token is refused there and still taken where tokens are verified
# locally only.  Nothing of the client's request, and not the project's
# secret, reaches Stytch.
use Test::Nginx::Socket 'no_plan';
use StytchTest;
use IO::Socket::INET;
use File::Temp qw( tempfile );

no_shuffle();

{
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', Listen => 1)
        or die "no free port: $!\n";
    $ENV{TEST_NGINX_APP_PORT} = $s->sockport;
    close $s;
}

sub register {
    my $method = shift;
    return emulator(POST => '/v1/oauth2/register', {
        client_name => "introspection $method",
        redirect_uris => ['http://127.0.0.1:9/callback'],
        token_endpoint_auth_method => $method,
    });
}

sub oauth {
    my ($client, $sub) = @_;
    return emulator(POST => '/emulator/oauth/token', {
        sub => $sub, client_id => $client->{client_id}, scope => 'openid',
    })->{access_token};
}

sub revoke_token { emulator(POST => '/emulator/oauth/revoke', { token => shift }) }

our $Public = register('none');
our $Confidential = register('client_secret_basic');
our ($fh, $SecretFile) = tempfile(UNLINK => 1);
print $fh "$Confidential->{client_secret}\n";
close $fh;

our %T = map { $_ => oauth($Public, "user-test-introspect-$_") }
    qw(active revoked later cached);
$T{confidential} = oauth($Confidential, 'user-test-introspect-c');
$T{confidential_revoked} = oauth($Confidential, 'user-test-introspect-cr');
revoke_token($T{$_}) for qw(revoked confidential_revoked);

# RFC 8707: tokens granted for a resource, or not
our $Resource = 'https://mcp.example.test/mcp';
for my $aud ([$StytchTest::EmuProject, $Resource], [$StytchTest::EmuProject]) {
    push @main::Aud, emulator(POST => '/emulator/oauth/token', {
        sub => 'user-test-introspect-aud', client_id => $Public->{client_id},
        scope => 'openid', aud => $aud })->{access_token};
}

our $Invalid = 'WWW-Authenticate: Bearer realm="stytch", error="invalid_token"';

our $Config = <<"_EOC_";
    add_header X-Err \$stytch_auth_error always;

    location /_stytch_api/ {
        internal;
        proxy_pass $ENV{TEST_NGINX_STYTCH_URL}/;
    }

    location /strict/ {
        stytch_auth oauth;
        stytch_oauth_introspect on;
        stytch_oauth_client $Confidential->{client_id} $SecretFile;
        proxy_pass http://127.0.0.1:$ENV{TEST_NGINX_APP_PORT};
        proxy_set_header X-User \$stytch_user_id;
        proxy_set_header X-Client \$stytch_client_id;
        proxy_set_header X-Source \$stytch_auth_source;
    }

    location /nocache/ {
        stytch_auth oauth;
        stytch_oauth_introspect on;
        stytch_api_cache off;
        root html;
    }

    location /local/ {
        stytch_auth oauth;
        root html;
    }

    # an internal redirect from a local-only location into an
    # introspecting one
    location /local-to-strict/ {
        stytch_auth oauth;
        root html;
        log_not_found off;
        error_page 404 = /nocache/index.html;
    }

    location = /counters {
        proxy_pass $ENV{TEST_NGINX_STYTCH_URL}/emulator/counters;
    }
_EOC_

our $App = <<'_EOC_';
    server {
        listen 127.0.0.1:$TEST_NGINX_APP_PORT;
        location / {
            return 200 "app user=$http_x_user client=$http_x_client source=$http_x_source\n";
        }
    }
_EOC_

our $Files = join '', map { ">>> $_/index.html\n$_ content\n" }
    qw(nocache local);

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

=== TEST 1: an active token of a public client: introspected with its client_id, its identity from the answer
--- init
StytchTest::wait_status(200, '/local/index.html', Authorization => "Bearer $main::T{active}");
StytchTest::reset_emulator();
--- request
GET /strict/x
--- more_headers eval
"Authorization: Bearer $main::T{active}\nX-Client-Header: from-the-client"
--- error_code: 200
--- response_body eval
"app user=user-test-introspect-active client=$main::Public->{client_id} source=api\n"



=== TEST 2: the introspection request: the public endpoint, a form with the token and the client id, no credentials, nothing of the client's
--- request
GET /local/index.html
--- more_headers eval
"Authorization: Bearer $main::T{active}"
--- response_body_like: local content
--- init
my $reqs = StytchTest::requests(endpoint => 'connected_apps');
my ($q) = grep { $_->{path} =~ m{/oauth2/introspect$} } @$reqs;
Test::More::ok($q, 'TEST 2: NGINX introspected') or return;
Test::More::is($q->{method}, 'POST', 'TEST 2: with POST');
Test::More::is($q->{path}, "/v1/public/$StytchTest::EmuProject/oauth2/introspect",
               'TEST 2: at the project\'s public introspection endpoint');
Test::More::like($q->{headers}{'content-type'}, qr{^application/x-www-form-urlencoded},
                 'TEST 2: a form');
Test::More::is($q->{body}, "token=$main::T{active}&token_type_hint=access_token&client_id=$main::Public->{client_id}",
               'TEST 2: the token and the public client\'s id');
Test::More::ok(!exists $q->{headers}{authorization},
               'TEST 2: no credentials: not the project\'s secret');
Test::More::ok(!exists $q->{headers}{'x-client-header'},
               'TEST 2: no header of the client\'s request');



=== TEST 3: a revoked token is refused where it is introspected, and taken where tokens are only verified locally
--- request eval
["GET /strict/x", "GET /local/index.html"]
--- more_headers eval
["Authorization: Bearer $main::T{revoked}", "Authorization: Bearer $main::T{revoked}"]
--- error_code eval
[401, 200]
--- response_headers eval
["$main::Invalid\nX-Err: api_token_inactive", "!WWW-Authenticate"]
--- response_body_like eval
[qr/401/, qr/^local content/]



=== TEST 4: a confidential client's token: introspected with its credentials from stytch_oauth_client
--- request eval
["GET /strict/x", "GET /strict/x"]
--- more_headers eval
["Authorization: Bearer $main::T{confidential}", "Authorization: Bearer $main::T{confidential_revoked}"]
--- error_code eval
[200, 401]
--- response_body_like eval
[qr/^app user=user-test-introspect-c client=\Q$main::Confidential->{client_id}\E source=api$/, qr/401/]
--- response_headers eval
["!WWW-Authenticate", "$main::Invalid\nX-Err: api_token_inactive"]



=== TEST 5: the confidential client's introspection carries its credentials, not the project's
--- init
StytchTest::reset_emulator();
--- request
GET /strict/x
--- more_headers eval
"Authorization: Bearer $main::T{confidential}"
--- error_code: 200
--- response_body_like: source=(?:api|cache)



=== TEST 6: the API-result cache answers the same token again: one introspection for two requests
--- init
my ($q) = grep { $_->{path} =~ m{/oauth2/introspect$} }
    @{ StytchTest::requests(endpoint => 'connected_apps') };
require MIME::Base64;
Test::More::is($q && $q->{headers}{authorization},
               'Basic ' . MIME::Base64::encode_base64("$main::Confidential->{client_id}:$main::Confidential->{client_secret}", ''),
               'TEST 5: the confidential client\'s introspection carries its own credentials');
Test::More::is($q && $q->{body}, "token=$main::T{confidential}&token_type_hint=access_token",
               'TEST 5: and its token alone in the form');
StytchTest::reset_emulator();
--- request eval
["GET /strict/x", "GET /strict/x", "GET /counters"]
--- more_headers eval
["Authorization: Bearer $main::T{cached}", "Authorization: Bearer $main::T{cached}", ""]
--- error_code eval
[200, 200, 200]
--- response_body_like eval
[qr/source=api$/, qr/source=cache$/, qr/"authenticate":0,.*"connected_apps":1,/]



=== TEST 7: a token revoked after it was taken is refused at its next request
--- init
StytchTest::wait_status(200, '/nocache/index.html', Authorization => "Bearer $main::T{later}");
main::revoke_token($main::T{later});
--- request eval
["GET /nocache/index.html", "GET /local/index.html"]
--- more_headers eval
["Authorization: Bearer $main::T{later}", "Authorization: Bearer $main::T{later}"]
--- error_code eval
[401, 200]
--- response_headers eval
["$main::Invalid\nX-Err: api_token_inactive", "!WWW-Authenticate"]



=== TEST 8: an internal redirect into an introspecting location introspects the token there
--- request eval
["GET /local-to-strict/missing", "GET /local-to-strict/missing"]
--- more_headers eval
["Authorization: Bearer $main::T{revoked}", "Authorization: Bearer $main::T{active}"]
--- error_code eval
[401, 200]
--- response_headers eval
["$main::Invalid\nX-Err: api_token_inactive", "!WWW-Authenticate"]
--- response_body_like eval
[qr/401/, qr/^nocache content/]



=== TEST 9: stytch_oauth_introspect where no Connected Apps token is taken is refused
--- config
    location /p/ {
        stytch_auth on;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_secret $TEST_NGINX_STYTCH_SECRET;
        stytch_oauth_introspect on;
        root html;
    }
--- must_die
--- error_log
"stytch_oauth_introspect" is on but the location takes no Connected Apps token: use "stytch_auth oauth" or "stytch_accept_oauth on"



=== TEST 10: stytch_oauth_client with a secret file that cannot be opened is refused
--- config
    location /p/ {
        stytch_auth oauth;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_oauth_introspect on;
        stytch_oauth_client connected-app-test-1 /nonexistent/secret;
        root html;
    }
--- must_die
--- error_log
"stytch_oauth_client" cannot open "/nonexistent/secret"



=== TEST 11: stytch_resource_audience where tokens are introspected: the JWT's "aud" is looked at before Stytch is asked
--- config
    add_header X-Err $stytch_auth_error always;

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
    }

    location /aud/ {
        stytch_auth oauth;
        stytch_oauth_introspect on;
        stytch_resource https://mcp.example.test/mcp;
        stytch_resource_audience on;
        root html;
    }
--- user_files
>>> aud/index.html
aud content
--- init
StytchTest::reset_emulator();
--- more_headers eval
["Authorization: Bearer $main::Aud[0]", "Authorization: Bearer $main::Aud[1]"]
--- request eval
["GET /aud/index.html", "GET /aud/index.html"]
--- error_code eval
[200, 401]
--- response_headers eval
["X-Err: ", "X-Err: claim_audience_mismatch"]
--- response_body_like eval
["aud content", ""]
--- no_error_log
[error]
[alert]
[crit]
