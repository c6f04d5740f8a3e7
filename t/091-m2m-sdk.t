# The official Stytch Node SDK and the module agree on M2M access tokens:
# for each token of t/lib/StytchM2m.pm and each set of required scopes,
# stytch-node's m2m.authenticateToken({access_token, required_scopes}),
# pointed at the emulator over TLS, and a stytch_auth m2m location that
# requires the same scopes give the same verdict: success is 200, the
# SDK's missing_scopes is 403, any other refusal of the token is 401.
# Then the verdicts where stytch_max_token_age and RBAC meet the SDK's
# sessions.authenticateJwt: a 3-minute-old M2M token under a 2-minute
# maximum age, and a permission the JWT's roles lack but the session's
# roles at Stytch grant (authorization_check), side by side.
# The SDK is the one emulator/test/clients/package-lock.json pins,
# installed by scripts/install-deps test.
use Test::Nginx::Socket;
use JSON::PP ();

our ($SdkHelper, $Sdk);

BEGIN {
    require Cwd;
    require File::Basename;
    $SdkHelper = Cwd::abs_path(File::Basename::dirname(Cwd::abs_path(__FILE__))
                               . '/../emulator/lib/sdk-m2m.js');
    my $out = `node $SdkHelper find`;
    $Sdk = eval { JSON::PP::decode_json($out) }
        or die "sdk-m2m.js find: no answer: $out\n";
    die "$Sdk->{missing}\n" if $Sdk->{missing};
}

use StytchTest 'tls';
use StytchM2m;
use File::Temp qw( tempfile );

plan('no_plan');
no_shuffle();
check_accum_error_log();

# the sets of required scopes, one location each
our @Sets = (
    [],
    ['read:users'],
    ['read:users', 'write:users'],
    ['pet:cats'],
    ['pet:*'],
    ['audit'],
    ['*'],
    ['read:*'],
    ['read:users:extra'],
    ['write:users', 'pet:dogs'],
);

our $M = m2m_cases();
our @Cases = @{ $M->{cases} };

# Where the module is stricter than the SDK, and why.  stytch-node's
# authenticateToken checks no kind of token: a session JWT whose custom
# claims hold a string "scope" (Stytch reserves only the registered claim
# names) passes it as an M2M token with those scopes.  The module takes a
# token with a https://stytch.com/session claim for a session, never for
# a machine client.
our %Stricter = (session_scope_claim => 401);

# the SDK's verdicts
our %Sdk;
{
    my @ask;
    for my $c (@Cases) {
        for my $i (0 .. $#Sets) {
            push @ask, { id => "$c->{name}/$i", access_token => $c->{token},
                         required_scopes => $Sets[$i] };
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
    my $out = `node $SdkHelper authenticate < $file`;
    my $r = eval { JSON::PP::decode_json($out) }
        or die "sdk-m2m.js authenticate: no answer: $out\n";
    $Sdk->{version} = $r->{sdk_version};
    %Sdk = map { $_->{id} => $_ } @{ $r->{results} };
}

# success 200, missing scopes 403, a refused token 401
sub main::verdict {
    my $r = shift;
    return 200 if $r->{ok};
    return 403 if ($r->{error} // '') eq 'ClientError'
                  && ($r->{code} // '') eq 'missing_scopes';
    return 401;
}

# what the SDK said, in short
sub main::said {
    my $r = shift;
    return 'ok' if $r->{ok};
    return $r->{code} if ($r->{error} // '') eq 'ClientError';
    return $r->{error} // 'error';
}

# The SDK refuses for the reasons Stytch's tokens are refused for: a valid
# token is never refused and an invalid one never accepted; a session JWT
# without a scope claim makes it throw a TypeError (scope.split).
for my $c (@Cases) {
    for my $i (0 .. $#Sets) {
        my $r = $Sdk{"$c->{name}/$i"} or die "no SDK answer for $c->{name}/$i\n";
        if ($c->{kind} eq 'ok' || $c->{name} eq 'session_scope_claim') {
            ok($r->{ok} || ($r->{code} // '') eq 'missing_scopes',
               "SDK: $c->{name} with [@{$Sets[$i]}] is valid: " . main::said($r));
        } elsif ($c->{kind} eq 'session') {
            is($r->{error}, 'TypeError',
               "SDK: $c->{name} with [@{$Sets[$i]}] has no scope claim");
        } else {
            is(main::said($r), 'jwt_invalid',
               "SDK: $c->{name} with [@{$Sets[$i]}] is refused");
        }
    }
}
my ($scoped) = grep { $_->{name} eq 'session_scope_claim' } @Cases;
is($Sdk{'session_scope_claim/0'}{client_id},
   JSON::PP::decode_json(base64url_decode((split /\./, $scoped->{token})[1]))->{sub},
   'SDK: a session JWT with a scope claim passes as an M2M token of its user');

# the table: one row per token, one column per set of required scopes;
# the SDK's verdict, and the module's where it differs
{
    my @head = map { '[' . join(' ', @$_) . ']' } @Sets;
    my $w = 19;
    my $t = sprintf("stytch-node %s vs the module (m: where the module differs)\n",
                    $Sdk->{version});
    $t .= sprintf("%-${w}s %s\n", 'token \\ required', join(' ', map { sprintf '%-7s', $_ } 0 .. $#Sets));
    for my $c (@Cases) {
        my @cells;
        for my $i (0 .. $#Sets) {
            my $v = main::verdict($Sdk{"$c->{name}/$i"});
            my $m = $Stricter{$c->{name}};
            push @cells, sprintf '%-7s', defined $m && $m != $v ? "${v}m$m" : $v;
        }
        $t .= sprintf("%-${w}s %s\n", $c->{name}, join(' ', @cells));
    }
    $t .= "scope sets: " . join('  ', map { "$_=$head[$_]" } 0 .. $#head) . "\n";
    $t .= "SDK errors: " . join(', ', map {
        my $c = $_;
        my %e = map { main::said($Sdk{"$c->{name}/$_"}) => 1 } 0 .. $#Sets;
        "$c->{name}=" . join('/', sort keys %e)
    } @Cases) . "\n";
    diag($t);
}

# the module: a location per set, every token to every location
our $Server = '';
for my $i (0 .. $#Sets) {
    $Server .= "    location /s$i/ {\n        stytch_auth m2m;\n"
        . (@{ $Sets[$i] } ? "        stytch_require_scope @{ $Sets[$i] };\n" : '')
        . "        root html;\n"
        . "        add_header X-Err \$stytch_auth_error always;\n    }\n\n";
}
$Server .= <<'_EOC_';
    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
        proxy_ssl_verify off;
    }
_EOC_

our $Files = join '', map { ">>> s$_/index.html\nset $_\n" } 0 .. $#Sets;

our (@Req, @Hdr, @Code, @Body);
for my $c (@Cases) {
    for my $i (0 .. $#Sets) {
        my $v = main::verdict($Sdk{"$c->{name}/$i"});
        $v = $Stricter{$c->{name}} if exists $Stricter{$c->{name}};
        push @Req, "GET /s$i/index.html";
        push @Hdr, "Authorization: Bearer $c->{token}";
        push @Code, $v;
        push @Body, $v == 200 ? qr/^set $i$/m : qr/$v /;
    }
}
push @Req, 'GET /counters';
push @Hdr, '';
push @Code, 200;
push @Body, qr/"authenticate":0,.*"m2m_token":0,/;

# stytch_max_token_age and RBAC: the same tokens to the SDK and to the
# module.  A session JWT without roles whose session has them at Stytch,
# one minted before a role was granted, one never granted; an M2M token
# and a session JWT three minutes old, under a two-minute maximum age.
our $Noroles = StytchTest::create_session(omit_roles => \1,
                                          roles => ['stytch_user', 'admin']);
our $Later = StytchTest::create_session(roles => ['stytch_user']);
StytchTest::emulator(POST => "/emulator/sessions/$Later->{session_id}/roles",
                     { roles => ['stytch_user', 'admin'] });
our $Plain = StytchTest::create_session(roles => ['stytch_user']);
our $Old = StytchTest::create_session();
our $OldJwt = StytchTest::mint_jwt(session_id => $Old->{session_id},
                                   iat => time() - 180);
our $OldM2m = StytchTest::emulator(POST => '/emulator/m2m/token',
                                   { iat => time() - 180 })->{access_token};

our @Check = ({ resource_id => 'documents', action => 'delete' });
our @Pairs = (
    { id => 'jwt_without_roles', path => '/rbac/', jwt => $Noroles->{session_jwt},
      check => $Check[0] },
    { id => 'role_granted_later', path => '/rbac/', jwt => $Later->{session_jwt},
      check => $Check[0] },
    { id => 'role_never_granted', path => '/rbac/', jwt => $Plain->{session_jwt},
      check => $Check[0] },
    { id => 'session_jwt_3m_old', path => '/age/', jwt => $OldJwt, max_age => 120 },
    { id => 'm2m_token_3m_old', path => '/age/', m2m => $OldM2m },
);

# sessions.authenticateJwt({session_jwt, authorization_check,
# max_token_age_seconds}) or m2m.authenticateToken({access_token}):
# 200 on success, the StytchError's status_code (403 for a denied check),
# else 401
our %Pair;
{
    my ($js, $jsfile) = tempfile(SUFFIX => '.js', UNLINK => 1);
    print $js <<'_JS_';
'use strict';
const fs = require('node:fs');
const path = require('node:path');
(async () => {
  const input = JSON.parse(fs.readFileSync(0, 'utf8'));
  const stytch = require(path.join(input.dir, 'node_modules', 'stytch'));
  const client = new stytch.Client({ project_id: input.project_id, secret: input.secret,
    custom_base_url: input.base_url });
  const out = [];
  for (const c of input.cases) {
    try {
      if (c.m2m) {
        await client.m2m.authenticateToken({ access_token: c.m2m });
      } else {
        const params = { session_jwt: c.jwt };
        if (c.check) params.authorization_check = c.check;
        if (c.max_age !== undefined) params.max_token_age_seconds = c.max_age;
        await client.sessions.authenticateJwt(params);
      }
      out.push({ id: c.id, status: 200, said: 'ok' });
    } catch (e) {
      const code = e && e.status_code;
      out.push({ id: c.id, status: code === 403 ? 403 : 401,
        said: (e && (e.error_type || e.code)) || String(e) });
    }
  }
  process.stdout.write(JSON.stringify(out));
})().catch((e) => { process.stderr.write(String(e.stack)); process.exit(1); });
_JS_
    close $js;
    my ($fh, $file) = tempfile(UNLINK => 1);
    print $fh JSON::PP::encode_json({
        dir => $Sdk->{dir},
        base_url => $ENV{TEST_NGINX_STYTCH_URL},
        project_id => $ENV{TEST_NGINX_STYTCH_PROJECT},
        secret => $ENV{TEST_NGINX_STYTCH_SECRET},
        cases => [ map { { %$_ } } @Pairs ],
    });
    close $fh;
    local $ENV{NODE_EXTRA_CA_CERTS} = $ENV{TEST_NGINX_STYTCH_CERT};
    my $out = `node $jsfile < $file`;
    my $r = eval { JSON::PP::decode_json($out) }
        or die "authenticateJwt: no answer: $out\n";
    %Pair = map { $_->{id} => $_ } @$r;
}

is($Pair{jwt_without_roles}{status}, 200,
   "SDK: a JWT without roles, granted by the session's roles at Stytch: $Pair{jwt_without_roles}{said}");
is($Pair{role_granted_later}{status}, 200,
   "SDK: a role granted after the JWT was minted: $Pair{role_granted_later}{said}");
is($Pair{role_never_granted}{status}, 403,
   "SDK: a role never granted: $Pair{role_never_granted}{said}");
is($Pair{m2m_token_3m_old}{status}, 200,
   "SDK: m2m.authenticateToken has no maximum age: $Pair{m2m_token_3m_old}{said}");
diag(join '', "stytch-node $Sdk->{version} vs the module, stytch_max_token_age and RBAC:\n",
     map { sprintf "  %-20s SDK %s (%s)\n", $_->{id}, $Pair{$_->{id}}{status},
           $Pair{$_->{id}}{said} } @Pairs);

our (@PReq, @PHdr, @PCode, @PBody);
for my $c (@Pairs) {
    my $v = $Pair{$c->{id}}{status};
    push @PReq, "GET $c->{path}index.html";
    push @PHdr, $c->{m2m} ? "Authorization: Bearer $c->{m2m}"
                          : "Cookie: stytch_session_jwt=$c->{jwt}";
    push @PCode, $v;
    push @PBody, $v == 200 ? qr/^page$/m : qr/$v /;
}

run_tests();

__DATA__

=== TEST 1: every token at every set of required scopes: the module's answer is the SDK's verdict
--- no_stytch_defaults: api_location
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
    stytch_ssl_trusted_certificate $TEST_NGINX_STYTCH_CERT;
--- config eval: $::Server
--- user_files eval: $::Files
--- init
StytchTest::reset_emulator();
--- request eval: \@::Req
--- more_headers eval: \@::Hdr
--- error_code eval: \@::Code
--- response_body_like eval: \@::Body
--- no_error_log
[error]
[alert]



=== TEST 2: stytch_max_token_age and RBAC, the SDK's authenticateJwt and authenticateToken vs the module: the same verdicts
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
    stytch_ssl_trusted_certificate $TEST_NGINX_STYTCH_CERT;
    stytch_policy_refresh 1s;
--- config
    location /rbac/ {
        stytch_auth on;
        stytch_require_permission documents delete;
        root html;
    }

    location /age/ {
        stytch_auth on;
        stytch_accept_m2m on;
        stytch_max_token_age 2m;
        root html;
    }

    location = /status {
        stytch_status;
    }
--- user_files
>>> rbac/index.html
page
>>> age/index.html
page
--- init
StytchTest::wait_policy();
--- request eval: \@::PReq
--- more_headers eval: \@::PHdr
--- error_code eval: \@::PCode
--- response_body_like eval: \@::PBody
