# Machine-to-machine access tokens at the edge, against the emulator:
# tokens from Stytch's client-credentials grant at stytch_auth m2m
# locations, scopes matched as Stytch's SDKs match them, the 401 and 403
# answers, tokens of the wrong kind, the variables an upstream gets,
# stytch_accept_m2m, a secret rotation, and the README's example as
# written.  No M2M token ever reaches the Stytch API.
use Test::Nginx::Socket 'no_plan';
use StytchTest;
use StytchM2m;
use IO::Socket::INET;

no_shuffle();
check_accum_error_log();

# the application behind the proxied locations: echoes what it was told
{
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', Listen => 1)
        or die "no free port: $!\n";
    $ENV{TEST_NGINX_APP_PORT} = $s->sockport;
    close $s;
}

our $App = <<'_EOC_';
    server {
        listen 127.0.0.1:$TEST_NGINX_APP_PORT;
        location / {
            return 200 "app $request_method $request_uri kind=$http_x_token_kind client=$http_x_client_id scopes=$http_x_scopes tenant=$http_x_tenant tier=$http_x_tier claims=$http_x_claims user=$http_x_user_id source=$http_x_source\n";
        }
    }
_EOC_

our $HttpConfig = <<'_EOC_' . $App;
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;

    map $request_method $users_scope {
        GET      read:users;
        HEAD     read:users;
        default  write:users;
    }

    map $uri $several {
        default  "read:users  audit";
    }

    map $uri $nothing {
        default  "";
    }
_EOC_

# what each m2m location requires: [path, directives' arguments...]
our @Scoped = (
    ['any'],
    ['users', 'read:users'],
    ['both', 'read:users write:users'],
    ['two', 'read:users', 'write:users'],
    ['cats', 'pet:cats'],
    ['petstar', 'pet:*'],
    ['audit', 'audit'],
    ['star', '*'],
    ['readall', 'read:*'],
    ['extra', 'read:users:extra'],
);

our $Server = <<'_EOC_';
    add_header X-Err $stytch_auth_error always;

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
    }

    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }

    # the scope from a variable: the method's, or several at once
    location /var/ {
        stytch_auth m2m;
        stytch_require_scope $users_scope;
        proxy_pass http://127.0.0.1:$TEST_NGINX_APP_PORT;
    }

    location /multi/ {
        stytch_auth m2m;
        stytch_require_scope $several;
        root html;
    }

    # an empty value refuses every token (t/084-scope-values.t)
    location /nothing/ {
        stytch_auth m2m;
        stytch_require_scope $nothing;
        root html;
    }

    # sessions only, and both kinds
    location /web/ {
        stytch_auth on;
        root html;
    }

    location /mixed/ {
        stytch_auth on;
        stytch_accept_m2m on;
        root html;
    }

    location /mixed-users/ {
        stytch_auth on;
        stytch_accept_m2m on;
        stytch_require_scope read:users;
        root html;
    }

    location /mixed-app/ {
        stytch_auth on;
        stytch_accept_m2m on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_APP_PORT;
        proxy_set_header X-Token-Kind $stytch_token_kind;
        proxy_set_header X-User-Id $stytch_user_id;
        proxy_set_header X-Client-Id $stytch_client_id;
        proxy_set_header X-Source $stytch_auth_source;
    }

    location /mixed-strict/ {
        stytch_auth strict;
        stytch_accept_m2m on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_APP_PORT;
        proxy_set_header X-Token-Kind $stytch_token_kind;
        proxy_set_header X-Source $stytch_auth_source;
    }

    # what an upstream is told
    location /orders/ {
        stytch_auth m2m;
        stytch_require_scope read:users;
        proxy_pass http://127.0.0.1:$TEST_NGINX_APP_PORT;
        proxy_set_header X-Token-Kind $stytch_token_kind;
        proxy_set_header X-Client-Id $stytch_client_id;
        proxy_set_header X-Scopes $stytch_scopes;
        proxy_set_header X-Tenant $stytch_claim_tenant;
        proxy_set_header X-Tier $stytch_claim_tier;
        proxy_set_header X-Claims $stytch_claims;
        proxy_set_header X-User-Id $stytch_user_id;
        proxy_set_header X-Source $stytch_auth_source;
    }

    # an internal redirect into a location of the other kind
    location /m2m-to-web/ {
        stytch_auth m2m;
        root html;
        log_not_found off;
        error_page 404 = /web/index.html;
    }

    location /m2m-to-mixed/ {
        stytch_auth m2m;
        root html;
        log_not_found off;
        error_page 404 = /mixed/index.html;
    }

    location /web-to-m2m/ {
        stytch_auth on;
        root html;
        log_not_found off;
        error_page 404 = /any/index.html;
    }

    location /web-to-web/ {
        stytch_auth on;
        root html;
        log_not_found off;
        error_page 404 = /mixed/index.html;
    }

    # RBAC permissions: an M2M token has no roles
    location /perm/ {
        stytch_auth on;
        stytch_accept_m2m on;
        stytch_require_permission documents read;
        root html;
    }
_EOC_

for my $s (@Scoped) {
    my ($path, @scopes) = @$s;
    $Server .= "\n    location /$path/ {\n        stytch_auth m2m;\n"
        . join('', map { "        stytch_require_scope $_;\n" } @scopes)
        . "        root html;\n    }\n";
}

our $Files = join '', map { ">>> $_/index.html\n$_ content\n" }
    (map { $_->[0] } @Scoped), qw(multi nothing web mixed mixed-users perm);

our $M = m2m_cases();
our %T = map { $_->{name} => $_->{token} } @{ $M->{cases} };
our $orders = $M->{clients}{orders};
our $session = create_session(roles => ['stytch_user', 'editor']);
our $expired_session = mint_jwt(session_id => create_session()->{session_id},
                                iat => time() - 3600);

# the end of the rotation that m2m_cases began: the next secret becomes
# the only one; tokens issued before keep working until they expire
{
    my $rot = $M->{clients}{rotating};
    stytch_api(POST => "/v1/m2m/clients/$rot->{client_id}/secrets/rotate", {});
    my $old = oauth_token_raw(client_id => $rot->{client_id},
                              client_secret => $rot->{client_secret});
    die "the old secret still works after the rotation: $old->{status}\n"
        unless $old->{status} == 401 && $old->{body}{error} eq 'invalid_client';
    $T{after_rotation} = oauth_token(client_id => $rot->{client_id},
                                     client_secret => $rot->{next_client_secret});
}

my $Invalid = 'WWW-Authenticate: Bearer realm="stytch", error="invalid_token"';

# table(ROWS): the arrays of a block's sections from rows of
# [request, credentials, status, header lines, body pattern]; credentials
# are "bearer TOKEN", "cookie TOKEN" (the session JWT cookie), "header
# LINE" or "".  Without header lines, a 200 checks that no challenge and
# no error were sent, a 401 the invalid_token challenge.
sub main::table {
    my %t = (request => [], more_headers => [], error_code => [],
             response_headers => [], response_body_like => []);
    for my $r (@_) {
        my ($req, $cred, $code, $hdr, $body) = @$r;
        push @{ $t{request} }, $req;
        my $h = '';
        if ($cred =~ /^bearer (.*)/s) { $h = "Authorization: Bearer $1" }
        elsif ($cred =~ /^cookie (.*)/s) { $h = "Cookie: stytch_session_jwt=$1" }
        elsif ($cred =~ /^header (.*)/s) { $h = $1 }
        push @{ $t{more_headers} }, $h;
        push @{ $t{error_code} }, $code;
        if (!defined $hdr) {
            $hdr = $code == 401 ? $Invalid
                 : $code == 200 ? "!WWW-Authenticate\n!X-Err"
                 : '';
        }
        push @{ $t{response_headers} }, $hdr;
        push @{ $t{response_body_like} },
            defined $body ? $body : $code == 200 ? qr/content|^app / : qr/./;
    }
    return \%t;
}

# the challenge of a location's 403
sub main::scopes_of {
    my $path = shift;
    my ($s) = grep { $_->[0] eq $path } @Scoped;
    my $list = join ' ', map { split ' ' } @{$s}[1 .. $#$s];
    return "WWW-Authenticate: Bearer error=\"insufficient_scope\", scope=\"$list\"\nX-Err: scope_missing";
}

# a row per (token, m2m location): 200 when Stytch's matching grants
# the location's scopes, else 403 with the location's scope list
sub main::scope_rows {
    my @rows;
    while (my ($name, $granted) = splice @_, 0, 2) {
        my %ok = map { $_ => 1 } @$granted;
        for my $s (@Scoped) {
            my $p = $s->[0];
            push @rows, ["GET /$p/index.html", "bearer $T{$name}",
                         $ok{$p} ? 200 : 403,
                         $ok{$p} ? undef : main::scopes_of($p),
                         $ok{$p} ? qr/^$p content/ : qr/403 Forbidden/];
        }
    }
    return @rows;
}

our $Counters = ['GET /counters', '', 200, '', undef];
sub main::no_api_calls {
    return [@$Counters[0 .. 3], qr/"authenticate":0,.*"m2m_token":0,/];
}

our $T_rbac = main::table(
    ['GET /perm/index.html', "bearer $T{grant}", 403,
     "WWW-Authenticate: Bearer error=\"insufficient_scope\"\nX-Err: permission_denied"],
    ['GET /perm/index.html', "bearer $T{expired}", 401, "$Invalid\nX-Err: jwt_expired"],
    main::no_api_calls(),
);

our $T_scopes = main::table(
    main::scope_rows(
        grant => [qw(any users both two cats petstar audit extra)],
        narrowed => [qw(any users extra)],
        basic_json => [qw(any cats petstar audit)],
        claims => [qw(any users both two cats petstar audit extra)],
        read_any => [qw(any users readall extra)],
        star => [qw(any star)],
        no_scopes => [qw(any)],
    ),
    main::no_api_calls(),
);

our $T_vars = main::table(
    ['GET /var/x', "bearer $T{narrowed}", 200, undef, qr/^app GET \/var\/x /],
    ['POST /var/x', "bearer $T{narrowed}", 403,
     "WWW-Authenticate: Bearer error=\"insufficient_scope\", scope=\"write:users\""],
    ['DELETE /var/x', "bearer $T{grant}", 200, undef, qr/^app DELETE \/var\/x /],
    ['GET /multi/index.html', "bearer $T{grant}", 200],
    ['GET /multi/index.html', "bearer $T{narrowed}", 403,
     "WWW-Authenticate: Bearer error=\"insufficient_scope\", scope=\"read:users audit\"\nX-Err: scope_missing"],
    ['GET /multi/index.html', "bearer $T{basic_json}", 403,
     "WWW-Authenticate: Bearer error=\"insufficient_scope\", scope=\"read:users audit\""],
    ['GET /nothing/index.html', "bearer $T{expired}", 401],
    main::no_api_calls(),
);

our %Reason = (
    expired_grant => 'jwt_expired', expired => 'jwt_expired',
    not_yet_valid => 'claim_not_yet_valid',
    tampered => 'jwt_signature_invalid', bad_signature => 'jwt_signature_invalid',
    unsigned => 'jwt_signature_invalid', not_a_jwt => 'token_malformed', rogue_key => 'jwks_unknown_kid',
    rogue_our_kid => 'jwt_signature_invalid', other_project => 'jwks_unknown_kid',
    wrong_audience => 'claim_audience_mismatch',
    wrong_issuer => 'claim_issuer_mismatch',
);

our $T_refused = main::table(
    (map {
        my $n = $_->{name};
        (["GET /any/index.html", "bearer $_->{token}", 401,
          "$Invalid\nX-Err: $Reason{$n}", qr/401 (?:Authorization Required|Unauthorized)/],
         ["GET /users/index.html", "bearer $_->{token}", 401,
          "$Invalid\nX-Err: $Reason{$n}"])
    } grep { $_->{kind} ne 'ok' && $_->{kind} ne 'session' } @{ $M->{cases} }),
    main::no_api_calls(),
);

our $T_nokeys = main::table(
    ['GET /users/index.html', "bearer $T{grant}", 503, "Retry-After: 5\n!WWW-Authenticate\nX-Err: jwks_no_keys"],
);

our $T_issuer = main::table(
    ['GET /any/index.html', "bearer $T{wrong_issuer}", 401,
     "$Invalid\nX-Err: claim_issuer_mismatch"],
    main::no_api_calls(),
);

our $T_kinds = main::table(
    ['GET /any/index.html', "bearer $T{session_jwt}", 401,
     "$Invalid\nX-Err: token_kind_not_allowed"],
    ['GET /users/index.html', "bearer $T{session_scope_claim}", 401,
     "$Invalid\nX-Err: token_kind_not_allowed"],
    ['GET /any/index.html', "cookie $T{session_jwt}", 401,
     "WWW-Authenticate: Bearer realm=\"stytch\"\nX-Err: token_missing"],
    ['GET /any/index.html', "cookie $T{grant}", 401,
     "WWW-Authenticate: Bearer realm=\"stytch\"\nX-Err: token_missing"],
    ['GET /web/index.html', "bearer $T{grant}", 401,
     "$Invalid\nX-Err: token_kind_not_allowed"],
    ['GET /web/index.html', "cookie $T{grant}", 401,
     "$Invalid\nX-Err: token_kind_not_allowed"],
    ['GET /mixed/index.html', "cookie $T{grant}", 401,
     "$Invalid\nX-Err: token_kind_not_allowed"],
    ['GET /web/index.html', "cookie $T{session_jwt}", 200],
    main::no_api_calls(),
);

our $T_upstream = main::table(
    ['GET /orders/1', "header Authorization: Bearer $T{claims}\nX-Client-Id: evil\nX-Scopes: admin\nX-Tenant: evil", 200, undef,
     qr/^app GET \/orders\/1 kind=m2m client=\Q$orders->{client_id}\E scopes=read:users write:users pet:\* audit tenant=acme tier=3 claims=\{"tenant":"acme","tier":3\} user=\Q$orders->{client_id}\E source=jwt$/],
    ['GET /orders/2', "bearer $T{narrowed}", 200, undef,
     qr/^app GET \/orders\/2 kind=m2m client=\Q$orders->{client_id}\E scopes=read:users tenant= tier= claims=\{\} user=\Q$orders->{client_id}\E source=jwt$/],
    ['GET /orders/2', "bearer $T{narrowed}", 200, undef, qr/ source=cache$/],
    main::no_api_calls(),
);

our $T_mixed = main::table(
    ['GET /mixed-app/a', "cookie $session->{session_jwt}", 200, undef,
     qr/^app GET \/mixed-app\/a kind=session client= .* user=\Q$session->{user_id}\E source=jwt$/],
    ['GET /mixed-app/b', "bearer $session->{session_jwt}", 200, undef,
     qr/kind=session client= .* user=\Q$session->{user_id}\E source=cache$/],
    ['GET /mixed-app/c', "bearer $T{grant}", 200, undef,
     qr/kind=m2m client=\Q$orders->{client_id}\E .* user=\Q$orders->{client_id}\E source=jwt$/],
    ['GET /mixed-app/d', "cookie $expired_session", 200, undef,
     qr/kind=session .* source=api$/],
    ['GET /mixed-app/e', "bearer $T{expired}", 401, "$Invalid\nX-Err: jwt_expired"],
    ['GET /mixed-strict/f', "bearer $T{narrowed}", 200, undef,
     qr/kind=m2m .* source=jwt$/],
    ['GET /mixed-strict/g', "cookie $session->{session_jwt}", 200, undef,
     qr/kind=session .* source=api$/],
    ['GET /mixed-users/index.html', "bearer $T{narrowed}", 200],
    ['GET /mixed-users/index.html', "cookie $session->{session_jwt}", 403,
     "WWW-Authenticate: Bearer error=\"insufficient_scope\", scope=\"read:users\"\nX-Err: scope_missing"],
    [@$Counters[0 .. 3], qr/"authenticate":2,.*"m2m_token":0,/],
);

our $T_rotation = main::table(
    ['GET /users/index.html', "bearer $T{old_secret}", 200],
    ['GET /users/index.html', "bearer $T{next_secret}", 200],
    ['GET /users/index.html', "bearer $T{after_rotation}", 200],
    ['GET /both/index.html', "bearer $T{after_rotation}", 403, main::scopes_of('both')],
);

our $T_redirect = main::table(
    ['GET /m2m-to-web/none', "bearer $T{grant}", 401,
     "$Invalid\nX-Err: token_kind_not_allowed"],
    ['GET /web-to-m2m/none', "cookie $session->{session_jwt}", 401,
     "WWW-Authenticate: Bearer realm=\"stytch\"\nX-Err: token_missing"],
    ['GET /m2m-to-mixed/none', "bearer $T{grant}", 200, undef, qr/^mixed content/],
    ['GET /web-to-web/none', "cookie $session->{session_jwt}", 200, undef, qr/^mixed content/],
    main::no_api_calls(),
);

# The README's example of this section, as written there, with the test's
# project, API and application put in.  Each replacement must apply
# exactly once, so that a change to the example that this mapping does
# not foresee fails here.
our ($ExampleHttp, $ExampleServer);
{
    open my $in, '<', "$StytchTest::RepoRoot/README.md" or die "README.md: $!\n";
    my $readme = do { local $/; <$in> };
    my ($section) = $readme =~ /^## Protecting an API for machine clients\n(.*?)^## /ms
        or die "README.md has no section \"Protecting an API for machine clients\"\n";
    my ($conf) = $section =~ /^```nginx\n(.*?)^```/ms
        or die "the README's section has no nginx example\n";
    my $once = sub {
        my ($re, $with) = @_;
        my $n = () = $conf =~ /$re/g;
        die "README example: $n matches of $re, expected 1\n" unless $n == 1;
        $conf =~ s/$re/$with/;
    };
    $once->(qr/\Q$ENV{TEST_NGINX_STYTCH_PROJECT}\E/, '$TEST_NGINX_STYTCH_PROJECT');
    $once->(qr{stytch_secret_file /etc/nginx/stytch-secret;},
            'stytch_secret $TEST_NGINX_STYTCH_SECRET; stytch_api_url $TEST_NGINX_STYTCH_URL;');
    $once->(qr{server 127\.0\.0\.1:3000;}, 'server 127.0.0.1:$TEST_NGINX_APP_PORT;');
    $once->(qr{proxy_pass https://test\.stytch\.com/;}, 'proxy_pass $TEST_NGINX_STYTCH_URL/;');
    $once->(qr/^\s*listen 443 ssl;\n/m, '');
    $once->(qr/^\s*server_name api\.example\.com;\n/m, '');
    $once->(qr/^\s*ssl_certificate .*\n/m, '');
    $once->(qr/^\s*ssl_certificate_key .*\n/m, '');
    my ($http, $server) = $conf =~ /\Ahttp \{\n(.*?)^    server \{\n(.*)^    \}\n\}\n\z/ms
        or die "README example: not one http block with one server block\n";
    $ExampleHttp = $http . $App;
    $ExampleServer = $server . <<'_EOC_';
        location = /counters {
            proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
        }
_EOC_
}

our $shop = StytchTest::emulator(POST => '/emulator/m2m/clients', {
    client_name => 'shop', scopes => ['read:orders', 'write:orders'],
    custom_claims => { tenant => 'acme' },
});
our $shop_read = oauth_token(client_id => $shop->{client_id},
                             client_secret => $shop->{client_secret},
                             scope => 'read:orders');
our $shop_all = oauth_token(client_id => $shop->{client_id},
                            client_secret => $shop->{client_secret});

our $T_example = main::table(
    ['GET /orders/17', "bearer $shop_read", 200, "!WWW-Authenticate",
     qr/^app GET \/orders\/17 kind= client=\Q$shop->{client_id}\E scopes=read:orders tenant=acme /],
    ['POST /orders/', "bearer $shop_read", 403,
     'WWW-Authenticate: Bearer error="insufficient_scope", scope="write:orders"'],
    ['POST /orders/', "bearer $shop_all", 200, "!WWW-Authenticate",
     qr/^app POST \/orders\/ kind= client=\Q$shop->{client_id}\E scopes=read:orders write:orders tenant=acme /],
    ['GET /orders/17', '', 401, 'WWW-Authenticate: Bearer realm="stytch"'],
    ['GET /orders/17', "cookie $session->{session_jwt}", 401, 'WWW-Authenticate: Bearer realm="stytch"'],
    ['GET /orders/17', "bearer $session->{session_jwt}", 401, $Invalid],
    ['GET /orders/17', "bearer $T{expired}", 401, $Invalid],
    ['GET /reports/q1', "cookie $session->{session_jwt}", 200, "!WWW-Authenticate",
     qr/^app GET \/reports\/q1 kind=session client= .* user=\Q$session->{user_id}\E /],
    ['GET /reports/q1', "bearer $shop_read", 200, "!WWW-Authenticate",
     qr/^app GET \/reports\/q1 kind=m2m client=\Q$shop->{client_id}\E .* user=\Q$shop->{client_id}\E /],
    ['GET /reports/q1', "cookie $shop_read", 401, $Invalid],
    ['GET /reports/q1', "cookie $expired_session", 200, "!WWW-Authenticate",
     qr/kind=session /],
    [@$Counters[0 .. 3], qr/"authenticate":1,.*"m2m_token":0,/],
);

# The first block needs the project's RBAC policy to stay out of reach: its
# one fetch hangs.  The fault is spent by that fetch, so that the next
# block's nginx, whose fetch may start before its init runs, finds none.
reset_emulator();
fault(endpoint => 'policy', latency_ms => 30000, count => 1);

run_tests();

__DATA__

=== TEST 1: an M2M token where a permission is required and no RBAC policy is loaded: 403 without asking the API
--- http_config eval: $::HttpConfig . "    stytch_fetch_timeout 60s;\n"
--- config eval: $::Server
--- user_files eval: $::Files
--- request eval: $::T_rbac->{request}
--- more_headers eval: $::T_rbac->{more_headers}
--- error_code eval: $::T_rbac->{error_code}
--- response_headers eval: $::T_rbac->{response_headers}
--- response_body_like eval: $::T_rbac->{response_body_like}
--- no_error_log
[error]
[alert]



=== TEST 2: tokens of the client-credentials grant against required scopes, matched as Stytch matches them
--- http_config eval: $::HttpConfig
--- config eval: $::Server
--- user_files eval: $::Files
--- init
StytchTest::clear_faults();
StytchTest::reset_emulator();
--- request eval: $::T_scopes->{request}
--- more_headers eval: $::T_scopes->{more_headers}
--- error_code eval: $::T_scopes->{error_code}
--- response_headers eval: $::T_scopes->{response_headers}
--- response_body_like eval: $::T_scopes->{response_body_like}
--- no_error_log
[error]
[alert]



=== TEST 3: scopes given through variables: one per method, several in one value, none
--- http_config eval: $::HttpConfig
--- config eval: $::Server
--- user_files eval: $::Files
--- init
StytchTest::reset_emulator();
--- request eval: $::T_vars->{request}
--- more_headers eval: $::T_vars->{more_headers}
--- error_code eval: $::T_vars->{error_code}
--- response_headers eval: $::T_vars->{response_headers}
--- response_body_like eval: $::T_vars->{response_body_like}
--- no_error_log
[error]
[alert]



=== TEST 4: expired, not yet valid, forged, rogue-key and other projects' tokens: 401 invalid_token, nothing asked
--- http_config eval: $::HttpConfig
--- config eval: $::Server
--- user_files eval: $::Files
--- init
StytchTest::reset_emulator();
--- request eval: $::T_refused->{request}
--- more_headers eval: $::T_refused->{more_headers}
--- error_code eval: $::T_refused->{error_code}
--- response_headers eval: $::T_refused->{response_headers}
--- response_body_like eval: $::T_refused->{response_body_like}
--- no_error_log
[error]
[alert]



=== TEST 5: an M2M token with an issuer that is not accepted is logged as refused, not as asked about
--- http_config eval: $::HttpConfig
--- config eval: $::Server
--- user_files eval: $::Files
--- init
StytchTest::reset_emulator();
--- request eval: $::T_issuer->{request}
--- more_headers eval: $::T_issuer->{more_headers}
--- error_code eval: $::T_issuer->{error_code}
--- response_headers eval: $::T_issuer->{response_headers}
--- response_body_like eval: $::T_issuer->{response_body_like}
--- error_log eval
qr/\[warn\] .*has the issuer "stytch\.com\/project-test-[^"]+", which is not accepted: if it is your custom domain, add it to "stytch_issuer"; the token is refused,/
--- no_error_log eval
["[error]", "[alert]", "asked meanwhile"]



=== TEST 6: no key set can be had: 503 with Retry-After
--- http_config eval
my $c = $::HttpConfig;
$c =~ s{stytch_api_url \S+;}{stytch_api_url http://127.0.0.1:1;} or die;
$c;
--- config eval: $::Server
--- user_files eval: $::Files
--- request eval: $::T_nokeys->{request}
--- more_headers eval: $::T_nokeys->{more_headers}
--- error_code eval: $::T_nokeys->{error_code}
--- response_headers eval: $::T_nokeys->{response_headers}
--- response_body_like eval: $::T_nokeys->{response_body_like}
--- error_log
fetching the keys of project
--- no_error_log
[alert]



=== TEST 7: the wrong kind: session JWTs at an m2m location, M2M tokens at session locations and in cookies
--- http_config eval: $::HttpConfig
--- config eval: $::Server
--- user_files eval: $::Files
--- init
StytchTest::reset_emulator();
--- request eval: $::T_kinds->{request}
--- more_headers eval: $::T_kinds->{more_headers}
--- error_code eval: $::T_kinds->{error_code}
--- response_headers eval: $::T_kinds->{response_headers}
--- response_body_like eval: $::T_kinds->{response_body_like}
--- no_error_log
[error]
[alert]



=== TEST 8: the client id, scopes and custom claims reach the upstream; the client's own headers do not
--- http_config eval: $::HttpConfig
--- config eval: $::Server
--- user_files eval: $::Files
--- init
StytchTest::reset_emulator();
--- request eval: $::T_upstream->{request}
--- more_headers eval: $::T_upstream->{more_headers}
--- error_code eval: $::T_upstream->{error_code}
--- response_headers eval: $::T_upstream->{response_headers}
--- response_body_like eval: $::T_upstream->{response_body_like}
--- no_error_log
[error]
[alert]



=== TEST 9: stytch_accept_m2m on: sessions and M2M tokens at one location; strict asks the API about sessions only
--- http_config eval: $::HttpConfig
--- config eval: $::Server
--- user_files eval: $::Files
--- init
StytchTest::reset_emulator();
--- request eval: $::T_mixed->{request}
--- more_headers eval: $::T_mixed->{more_headers}
--- error_code eval: $::T_mixed->{error_code}
--- response_headers eval: $::T_mixed->{response_headers}
--- response_body_like eval: $::T_mixed->{response_body_like}
--- no_error_log
[error]
[alert]



=== TEST 10: a secret rotation: tokens of the old and the next secret, and of the new one after it
--- http_config eval: $::HttpConfig
--- config eval: $::Server
--- user_files eval: $::Files
--- request eval: $::T_rotation->{request}
--- more_headers eval: $::T_rotation->{more_headers}
--- error_code eval: $::T_rotation->{error_code}
--- response_headers eval: $::T_rotation->{response_headers}
--- response_body_like eval: $::T_rotation->{response_body_like}
--- no_error_log
[error]
[alert]



=== TEST 11: an internal redirect into a location that does not take the token's kind authenticates again
--- http_config eval: $::HttpConfig
--- config eval: $::Server
--- user_files eval: $::Files
--- init
StytchTest::reset_emulator();
--- request eval: $::T_redirect->{request}
--- more_headers eval: $::T_redirect->{more_headers}
--- error_code eval: $::T_redirect->{error_code}
--- response_headers eval: $::T_redirect->{response_headers}
--- response_body_like eval: $::T_redirect->{response_body_like}
--- no_error_log
[error]
[alert]



=== TEST 12: the README's example configuration for machine clients, as written there
--- http_config eval: $::ExampleHttp
--- config eval: $::ExampleServer
--- init
StytchTest::reset_emulator();
--- request eval: $::T_example->{request}
--- more_headers eval: $::T_example->{more_headers}
--- error_code eval: $::T_example->{error_code}
--- response_headers eval: $::T_example->{response_headers}
--- response_body_like eval: $::T_example->{response_body_like}
--- no_error_log
[error]
[alert]
