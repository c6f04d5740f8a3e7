# The official Stytch Node SDK and the module agree on Connected Apps
# (OAuth) access tokens: for each token below and each authorization
# check, stytch-node's idp.introspectTokenLocal(token, {authorization_check:
# {resource_id, action}}), pointed at the emulator over TLS, and a
# stytch_auth oauth location with stytch_require_permission for the same
# check give the same verdict: success is 200, the SDK's
# invalid_permissions is 403, any other refusal of the token is 401.
# Permissions come from the policy's scopes.  The SDK is the one
# emulator/test/clients/package-lock.json pins, installed by
# scripts/install-deps test.
use Test::Nginx::Socket;
use JSON::PP ();

our ($SdkHelper, $Sdk);

BEGIN {
    require Cwd;
    require File::Basename;
    $SdkHelper = Cwd::abs_path(File::Basename::dirname(Cwd::abs_path(__FILE__))
                               . '/../emulator/lib/sdk-oauth.js');
    my $out = `node $SdkHelper find`;
    $Sdk = eval { JSON::PP::decode_json($out) }
        or die "sdk-oauth.js find: no answer: $out\n";
    die "$Sdk->{missing}\n" if $Sdk->{missing};
}

use StytchTest 'tls';
use File::Temp qw( tempfile );
use MIME::Base64 qw( encode_base64url decode_base64url );

plan('no_plan');
no_shuffle();
check_accum_error_log();

# the project's policy: scopes grant permissions
set_policy(policy => {
    roles => [ { role_id => 'stytch_user', description => '',
                 permissions => [] } ],
    resources => [ { resource_id => 'documents', description => '',
                     actions => ['read', 'write', 'delete'] } ],
    scopes => [
        { scope => 'read:documents', description => '', permissions => [
            { resource_id => 'documents', actions => ['read'] } ] },
        { scope => 'write:documents', description => '', permissions => [
            { resource_id => 'documents', actions => ['read', 'write'] } ] } ] });

# the checks, one location each: none, one the token's scopes grant
# (read:documents grants it), one only write:documents grants
our @Checks = (
    undef,
    { resource_id => 'documents', action => 'read' },
    { resource_id => 'documents', action => 'write' },
);

sub oauth {
    emulator(POST => '/emulator/oauth/token',
             { sub => 'user-test-oauth-sdk-1',
               client_id => 'connected-app-test-sdk-1',
               scope => 'read:documents', @_ })->{access_token};
}

my $ok = oauth();
my ($h, $p, $s) = split /\./, $ok;
my $claims = JSON::PP::decode_json(decode_base64url($p));
$claims->{sub} = 'user-test-oauth-sdk-2';
my $tampered = join '.', $h,
    encode_base64url(JSON::PP->new->canonical->encode($claims)), $s;

our @Cases = (
    { name => 'valid', token => $ok },
    { name => 'expired', token => oauth(iat => time() - 7200, lifetime => 3600) },
    { name => 'not_yet_valid', token => oauth(iat => time() + 600) },
    { name => 'tampered', token => $tampered },
    { name => 'bad_signature', token => oauth(key => 'rogue') },
    { name => 'another_project',
      token => oauth(project_id => $StytchTest::EmuB2bProject,
                     organization_id => 'organization-test-00000000-0000-0000-0000-000000000001') },
    { name => 'wrong_audience', token => oauth(aud => ['project-test-other']) },
    { name => 'wrong_issuer',
      token => oauth(claims => { iss => 'stytch.com/project-test-other' }) },
    { name => 'no_scope', token => oauth(scope => '') },
    { name => 'several_scopes',
      token => oauth(scope => 'openid read:documents write:documents') },
    { name => 'session_jwt', token => mint_jwt() },
    { name => 'm2m_token',
      token => emulator(POST => '/emulator/m2m/token',
                        { scopes => ['read:documents', 'write:documents'] })
                   ->{access_token} },
);

# Where the module is stricter than the SDK, and why.  introspectTokenLocal
# checks no kind of token: a session JWT or an M2M token of the project
# passes as an access token (an M2M token's scope claim even grants the
# policy's permissions; a session JWT has no scope claim and the SDK
# throws a TypeError on an authorization check).  A stytch_auth oauth
# location takes Connected Apps access tokens only.
our %Stricter = (session_jwt => 401, m2m_token => 401);

# the SDK's verdicts
our %Sdk;
{
    my @ask;
    for my $c (@Cases) {
        for my $i (0 .. $#Checks) {
            push @ask, { id => "$c->{name}/$i", token => $c->{token},
                         $Checks[$i] ? (check => $Checks[$i]) : () };
        }
    }
    my ($fh, $file) = tempfile(UNLINK => 1);
    print $fh JSON::PP::encode_json({
        base_url => $ENV{TEST_NGINX_STYTCH_URL},
        project_id => $ENV{TEST_NGINX_STYTCH_PROJECT},
        secret => $ENV{TEST_NGINX_STYTCH_SECRET},
        cases => \@ask,
    });
    close $fh;
    local $ENV{NODE_EXTRA_CA_CERTS} = $ENV{TEST_NGINX_STYTCH_CERT};
    my $out = `node $SdkHelper introspect < $file`;
    my $r = eval { JSON::PP::decode_json($out) }
        or die "sdk-oauth.js introspect: no answer: $out\n";
    $Sdk->{version} = $r->{sdk_version};
    %Sdk = map { $_->{id} => $_ } @{ $r->{results} };
}

# success 200, a denied authorization check 403, a refused token 401
sub main::verdict {
    my $r = shift;
    return 200 if $r->{ok};
    return 403 if ($r->{error} // '') eq 'ClientError'
                  && ($r->{code} // '') eq 'invalid_permissions';
    return 401;
}

# what the SDK said, in short
sub main::said {
    my $r = shift;
    return 'ok' if $r->{ok};
    return $r->{code} if ($r->{error} // '') eq 'ClientError';
    return $r->{error} // 'error';
}

sub main::check_name {
    my $k = shift;
    return $k ? "$k->{resource_id}:$k->{action}" : 'none';
}

# The SDK's own verdicts, as Stytch's tokens are: the tokens of the project
# pass (the scopes decide the checks), the others are refused as invalid.
our %Expect = (
    valid => [200, 200, 403],
    no_scope => [200, 403, 403],
    several_scopes => [200, 200, 200],
    m2m_token => [200, 200, 200],
    session_jwt => [200, 401, 401],
);
for my $c (@Cases) {
    for my $i (0 .. $#Checks) {
        my $r = $Sdk{"$c->{name}/$i"} or die "no SDK answer for $c->{name}/$i\n";
        my $want = $Expect{$c->{name}} ? $Expect{$c->{name}}[$i] : 401;
        is(main::verdict($r), $want,
           "SDK: $c->{name} with check " . main::check_name($Checks[$i])
           . ': ' . main::said($r));
    }
}

# the table: one row per token, one column per check; the SDK's verdict,
# and the module's where it differs
{
    my $w = 16;
    my $t = sprintf("stytch-node %s introspectTokenLocal vs the module "
                    . "(m: where the module differs)\n", $Sdk->{version});
    $t .= sprintf("%-${w}s %s\n", 'token \\ check',
                  join(' ', map { sprintf '%-16s', main::check_name($_) } @Checks));
    for my $c (@Cases) {
        my @cells;
        for my $i (0 .. $#Checks) {
            my $r = $Sdk{"$c->{name}/$i"};
            my $v = main::verdict($r);
            my $m = $Stricter{$c->{name}};
            push @cells, sprintf '%-16s', (defined $m && $m != $v ? "${v}m$m" : $v)
                                          . ' ' . main::said($r);
        }
        $t .= sprintf("%-${w}s %s\n", $c->{name}, join(' ', @cells));
    }
    diag($t);
}

# the module: a location per check, every token to every location
our $Server = '';
for my $i (0 .. $#Checks) {
    $Server .= "    location /c$i/ {\n        stytch_auth oauth;\n"
        . ($Checks[$i] ? "        stytch_require_permission"
                         . " $Checks[$i]{resource_id} $Checks[$i]{action};\n" : '')
        . "        root html;\n"
        . "        add_header X-Err \$stytch_auth_error always;\n    }\n\n";
}
$Server .= <<'_EOC_';
    location = /status {
        stytch_status;
    }

    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
        proxy_ssl_verify off;
    }
_EOC_

our $Files = join '', map { ">>> c$_/index.html\ncheck $_\n" } 0 .. $#Checks;

our (@Req, @Hdr, @Code, @Body);
for my $c (@Cases) {
    for my $i (0 .. $#Checks) {
        my $v = main::verdict($Sdk{"$c->{name}/$i"});
        $v = $Stricter{$c->{name}} if exists $Stricter{$c->{name}};
        push @Req, "GET /c$i/index.html";
        push @Hdr, "Authorization: Bearer $c->{token}";
        push @Code, $v;
        push @Body, $v == 200 ? qr/^check $i$/m : qr/$v /;
    }
}
push @Req, 'GET /counters';
push @Hdr, '';
push @Code, 200;
push @Body, qr/"authenticate":0,/;

run_tests();

__DATA__

=== TEST 1: every token at every authorization check: the module's answer is the SDK's verdict
--- no_stytch_defaults: project api_location
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
    stytch_ssl_trusted_certificate $TEST_NGINX_STYTCH_CERT;
--- config eval: $::Server
--- user_files eval: $::Files
--- init
StytchTest::wait_policy();
--- request eval: \@::Req
--- more_headers eval: \@::Hdr
--- error_code eval: \@::Code
--- response_body_like eval: \@::Body
--- no_error_log
[error]
[alert]
