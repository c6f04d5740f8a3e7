package StytchM2m;

# Copyright (C) 2026 The ngx_http_stytch_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# M2M access tokens for t/090-m2m.t and t/091-m2m-sdk.t, made against the
# emulator that StytchTest started: clients created through Stytch's API
# (and the control API where the API cannot say it), tokens from the
# client-credentials grant (POST /v1/public/<project_id>/oauth2/token) and
# hand-made ones for the refusals.  Both files use the same cases, so that
# what the module answers to each can be compared with what the official
# SDK answers.

use strict;
use warnings;

use Carp qw( croak );
use JSON::PP ();
use MIME::Base64 qw( encode_base64 decode_base64 );
use Time::HiRes qw( sleep time );

require StytchTest;

our $VERSION = '0.01';

our @EXPORT = qw( stytch_api oauth_token oauth_token_raw m2m_cases
                  base64url_decode base64url_encode );

my $Json = JSON::PP->new->utf8->canonical;

sub import {
    my $caller = caller;
    no strict 'refs';
    *{"${caller}::$_"} = \&{"StytchM2m::$_"} for @EXPORT;
}

sub base64url_decode {
    (my $s = shift) =~ tr{-_}{+/};
    $s .= '=' x ((4 - length($s) % 4) % 4);
    return decode_base64($s);
}

sub base64url_encode {
    (my $s = encode_base64(shift, '')) =~ tr{+/}{-_};
    $s =~ s/=+$//;
    return $s;
}

# stytch_api(METHOD, PATH, BODY, [PROJECT, SECRET]): the Stytch API with
# the project's Basic credentials (the default consumer project's unless
# given); the decoded answer; dies unless 2xx.
sub stytch_api {
    my ($method, $path, $body, $project, $secret) = @_;
    $project //= $ENV{TEST_NGINX_STYTCH_PROJECT};
    $secret //= $ENV{TEST_NGINX_STYTCH_SECRET};
    my $res = StytchTest::emulator_raw($method, $path, $body,
        { Authorization => 'Basic ' . encode_base64("$project:$secret", '') });
    croak "$method $path -> $res->{status}: $res->{content}"
        unless $res->{status} =~ /^2/;
    return $Json->decode($res->{content});
}

# oauth_token_raw(project => P, client_id => ID, client_secret => S,
# [scope => "a b"], [basic => 1], [json => 1]): the client-credentials
# grant as a client sends it, the credentials in a form body (what
# stytch-node sends) or as HTTP Basic, the body a form or JSON.  Returns
# {status, body (decoded)}.
sub oauth_token_raw {
    my %o = @_;
    my $project = $o{project} // $ENV{TEST_NGINX_STYTCH_PROJECT};
    my %p = (grant_type => 'client_credentials');
    my %h;
    if ($o{basic}) {
        $h{Authorization} = 'Basic '
            . encode_base64("$o{client_id}:$o{client_secret}", '');
    } else {
        @p{qw(client_id client_secret)} = @o{qw(client_id client_secret)};
    }
    $p{scope} = $o{scope} if defined $o{scope};
    my $body;
    if ($o{json}) {
        $body = $Json->encode(\%p);
        $h{'Content-Type'} = 'application/json';
    } else {
        $body = join '&', map { "$_=" . form_escape($p{$_}) } sort keys %p;
        $h{'Content-Type'} = 'application/x-www-form-urlencoded';
    }
    my $res = StytchTest::emulator_raw(POST =>
        "/v1/public/$project/oauth2/token", $body, \%h);
    my $d = eval { $Json->decode($res->{content}) };
    return { status => $res->{status}, body => $d };
}

sub form_escape {
    (my $v = shift) =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord $1)/eg;
    return $v;
}

# oauth_token(...): the access token of a grant that must succeed.
sub oauth_token {
    my $r = oauth_token_raw(@_);
    croak "token grant -> $r->{status}: " . $Json->encode($r->{body} // {})
        unless $r->{status} == 200 && $r->{body}{access_token};
    return $r->{body}{access_token};
}

sub control_token {
    return StytchTest::emulator(POST => '/emulator/m2m/token', {@_})
        ->{access_token};
}

# A token whose payload says something else, with its original signature.
sub with_payload {
    my ($jwt, %changes) = @_;
    my ($h, $p, $s) = split /\./, $jwt;
    my $claims = $Json->decode(base64url_decode($p));
    @$claims{keys %changes} = values %changes;
    return join '.', $h, base64url_encode($Json->encode($claims)), $s;
}

# The same token with one character of its signature's middle changed.
sub flip_signature {
    my $jwt = shift;
    my ($h, $p, $s) = split /\./, $jwt;
    my $i = int(length($s) / 2);
    my $c = substr($s, $i, 1);
    substr($s, $i, 1) = $c eq 'A' ? 'B' : 'A';
    return join '.', $h, $p, $s;
}

# m2m_cases(): {clients => {...}, cases => [{name, token, via, what,
# kind}, ...]} in a fixed order.  kind is "ok" for a token that Stytch
# issued and that is valid now, else what is wrong with it.  Makes the
# clients and tokens once per emulator; waits until the short-lived token
# has expired.
my $Cached;

sub m2m_cases {
    return $Cached if $Cached;

    my $project = $ENV{TEST_NGINX_STYTCH_PROJECT};
    my %clients;
    my @cases;
    my $add = sub {
        my ($name, $kind, $what, $token, $via) = @_;
        push @cases, { name => $name, kind => $kind, what => $what,
                       token => $token, via => $via || 'bearer' };
    };

    # a client created through Stytch's API, as a deployment does
    my $orders = stytch_api(POST => '/v1/m2m/clients', {
        client_name => 'orders-sync',
        scopes => ['read:users', 'write:users', 'pet:*', 'audit'],
    })->{m2m_client};
    $clients{orders} = $orders;
    my %cred = (client_id => $orders->{client_id},
                client_secret => $orders->{client_secret});

    $add->('grant', 'ok', 'client-credentials grant, all the client\'s scopes',
           oauth_token(%cred));
    $add->('narrowed', 'ok', 'grant narrowed to scope=read:users',
           oauth_token(%cred, scope => 'read:users'));
    $add->('basic_json', 'ok',
           'grant with HTTP Basic credentials and a JSON body, scope="pet:* audit"',
           oauth_token(%cred, scope => 'pet:* audit', basic => 1, json => 1));

    # the custom claims Stytch adds from the client's claim templates
    StytchTest::emulator(POST => "/emulator/m2m/clients/$orders->{client_id}/claims",
        { custom_claims => { tenant => 'acme', tier => 3 } });
    $add->('claims', 'ok', 'grant after custom claims tenant=acme, tier=3',
           oauth_token(%cred));

    my $reader = stytch_api(POST => '/v1/m2m/clients',
        { client_name => 'reader', scopes => ['read:*'] })->{m2m_client};
    $clients{reader} = $reader;
    $add->('read_any', 'ok', 'grant of a client with scope read:*',
           oauth_token(client_id => $reader->{client_id},
                       client_secret => $reader->{client_secret}));

    my $star = stytch_api(POST => '/v1/m2m/clients',
        { client_name => 'star', scopes => ['*'] })->{m2m_client};
    $add->('star', 'ok', 'grant of a client with the scope "*" (an action, not a wildcard)',
           oauth_token(client_id => $star->{client_id},
                       client_secret => $star->{client_secret}));

    $add->('no_scopes', 'ok', 'hand-made, scope="" (no scopes)',
           control_token(client_id => $orders->{client_id}, scopes => []));

    # a secret rotation: both secrets get tokens until it completes
    my $rot = stytch_api(POST => '/v1/m2m/clients',
        { client_name => 'rotating', scopes => ['read:users'] })->{m2m_client};
    $clients{rotating} = $rot;
    my $next = stytch_api(POST =>
        "/v1/m2m/clients/$rot->{client_id}/secrets/rotate/start", {})
        ->{m2m_client}{next_client_secret};
    $rot->{next_client_secret} = $next;
    $add->('old_secret', 'ok', 'grant with the old secret during a rotation',
           oauth_token(client_id => $rot->{client_id},
                       client_secret => $rot->{client_secret}));
    $add->('next_secret', 'ok', 'grant with the next secret during a rotation',
           oauth_token(client_id => $rot->{client_id},
                       client_secret => $next));

    # the refusals
    my $now = time;
    StytchTest::emulator(POST => "/emulator/projects/$project/settings",
                         { m2m_lifetime => 1 });
    my $short = oauth_token(%cred);
    StytchTest::emulator(POST => "/emulator/projects/$project/settings",
                         { m2m_lifetime => 3600 });
    my $short_exp = $Json->decode(base64url_decode((split /\./, $short)[1]))->{exp};
    $add->('expired_grant', 'expired', 'grant with a 1 s lifetime, expired', $short);
    $add->('expired', 'expired', 'hand-made, issued 2 h ago, lived 1 h',
           control_token(client_id => $orders->{client_id},
                         iat => int($now) - 7200));
    $add->('not_yet_valid', 'not_yet_valid', 'hand-made, iat = nbf = in 10 minutes',
           control_token(client_id => $orders->{client_id},
                         iat => int($now) + 600));

    $add->('not_a_jwt', 'malformed', 'a Bearer value that is not a JWT',
           'not-a-jwt');
    my $narrow = $cases[1]{token};
    $add->('tampered', 'forged',
           'the narrowed token with "write:users admin" added to its payload',
           with_payload($narrow, scope => 'read:users write:users admin'));
    $add->('bad_signature', 'forged', 'a character of the signature changed',
           flip_signature($cases[0]{token}));
    $add->('unsigned', 'forged', 'hand-made, no signature',
           control_token(client_id => $orders->{client_id}, signature => 'none'));
    my $kid = StytchTest::list_keys()->{signing};
    $add->('rogue_key', 'forged', 'signed by a key not in the key set, its own kid',
           control_token(client_id => $orders->{client_id}, key => 'rogue'));
    $add->('rogue_our_kid', 'forged', 'signed by a key not in the key set, with our kid',
           control_token(client_id => $orders->{client_id}, key => 'rogue',
                         header => { kid => $kid }));

    # another project: its own keys, its own token endpoint
    my $other = StytchTest::emulator(POST => '/emulator/projects',
                                     { vertical => 'consumer' });
    my $oc = stytch_api(POST => '/v1/m2m/clients', { scopes => ['read:users'] },
                        $other->{project_id}, $other->{secret})->{m2m_client};
    $clients{other} = $oc;
    $add->('other_project', 'other_project', 'grant of a client of another project',
           oauth_token(project => $other->{project_id},
                       client_id => $oc->{client_id},
                       client_secret => $oc->{client_secret}));
    $add->('wrong_audience', 'other_project',
           'hand-made with our key, aud = the other project',
           control_token(client_id => $orders->{client_id},
                         claims => { aud => [$other->{project_id}] }));
    $add->('wrong_issuer', 'other_project',
           'hand-made with our key, iss = stytch.com/<the other project>',
           control_token(client_id => $orders->{client_id},
                         claims => { iss => "stytch.com/$other->{project_id}" }));

    # the other kind: session JWTs
    $add->('session_jwt', 'session', 'a session JWT',
           StytchTest::create_session(roles => ['stytch_user'])->{session_jwt});
    $add->('session_scope_claim', 'session',
           'a session JWT whose custom claims hold scope="read:users write:users"',
           StytchTest::create_session(roles => ['stytch_user'],
               custom_claims => { scope => 'read:users write:users' })->{session_jwt});

    sleep 0.05 while time <= $short_exp;

    $Cached = { clients => \%clients, cases => \@cases, other => $other,
                kid => $kid };
    return $Cached;
}

1;
