# Answering as Stytch's SDKs answer against the real Stytch, with the
# emulator in the modes that show the difference: a project on a custom
# domain, clock skew, each of Stytch's error types, a project of the other
# vertical, 200 B2B organizations, and an edge that closes idle
# connections.
use Test::Nginx::Socket 'no_plan';
use StytchTest;

use JSON::PP ();
use Time::HiRes ();

no_shuffle();

our $Default = $ENV{TEST_NGINX_STYTCH_PROJECT};
our $live = create_session();
our $expired = mint_jwt(session_id => $live->{session_id}, iat => time() - 3600);
# Stytch's clock is 5 s ahead of NGINX's host
our $skewed = mint_jwt(session_id => $live->{session_id},
                       claims => { nbf => time() + 5, iat => time() + 5 });

# Stytch's answers, on demand: each error type, what the client gets, and
# the directive the error log must name (empty: no error-level line).
our @Errors = (
    [unauthorized_credentials => 500, 'api_unauthorized', '"stytch_project_id" and "stytch_secret"'],
    [unauthorized_project_id_test => 500, 'api_misconfigured', '"stytch_project_id" and "stytch_api_url"'],
    [use_https => 500, 'api_misconfigured', '"stytch_api_url"'],
    [invalid_b2b_endpoint => 500, 'api_misconfigured', '"stytch_b2b"'],
    [invalid_consumer_endpoint => 500, 'api_misconfigured', '"stytch_b2b"'],
    [route_not_found => 500, 'api_misconfigured', '"stytch_api_url" and "stytch_api_location"'],
    [session_not_found => 401, 'api_session_not_found', ''],
    [invalid_session_token => 401, 'api_session_not_found', ''],
    [unable_to_parse_session_jwt => 401, 'api_session_not_found', ''],
    [jwt_invalid_issuer => 401, 'api_session_not_found', ''],
    [too_many_requests => 503, 'api_rate_limited', ''],
    [internal_server_error => 503, 'api_unavailable', ''],
);

run_tests();

__DATA__

=== TEST 1: a custom domain's issuer, without stytch_issuer: Stytch is asked and lets the user in; warned once
--- config
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Source $stytch_auth_source always;
    }
--- init
StytchTest::wait_keys('/p/index.html');
StytchTest::emulator(POST => "/emulator/projects/$main::Default/settings",
                     { custom_domain => 'https://login.example.test' });
my $s = StytchTest::create_session();
$main::domain_jwt = $s->{session_jwt};
my %src;
for (1 .. 3) {
    my $r = StytchTest::http_answer(GET => '/p/index.html', Cookie => "stytch_session_jwt=$main::domain_jwt");
    Test::More::is($r->{status}, 200, "the custom domain's JWT is let in");
    $src{$r->{headers}{'x-source'} // ''}++;
}
Test::More::ok($src{api} || $src{cache}, "by Stytch's word");
my @warn = StytchTest::nginx_error_log() =~ /(has the issuer "https:\/\/login\.example\.test", which is not accepted: if it is your custom domain, add it to "stytch_issuer")/g;
Test::More::is(scalar @warn, 1, "one warning names the issuer and stytch_issuer");
StytchTest::emulator(POST => "/emulator/projects/$main::Default/settings",
                     { custom_domain => undef });
--- request
GET /p/index.html
--- error_code: 401



=== TEST 2: with stytch_issuer, the custom domain's JWT verifies locally
--- http_config
    stytch_issuer https://login.example.test/;
--- config
    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }

    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Source $stytch_auth_source always;
    }
--- init
StytchTest::wait_keys('/p/index.html');
StytchTest::emulator(POST => "/emulator/projects/$main::Default/settings",
                     { custom_domain => 'https://login.example.test' });
$main::domain_jwt = StytchTest::create_session()->{session_jwt};
StytchTest::emulator(POST => "/emulator/projects/$main::Default/settings",
                     { custom_domain => undef });
StytchTest::reset_emulator();
my $r = StytchTest::http_answer(GET => '/p/index.html', Cookie => "stytch_session_jwt=$main::domain_jwt");
Test::More::is($r->{status}, 200, "accepted");
Test::More::is($r->{headers}{'x-source'}, 'jwt', "locally");
--- request
GET /counters
--- response_body_like: "authenticate":0,
--- no_error_log
[error]
[warn]
[alert]
[crit]
[emerg]



=== TEST 3: clock skew: a JWT whose nbf is 5 s ahead gets 200 through the API
--- http_config
    stytch_leeway 0s;
--- config
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Source $stytch_auth_source always;
    }
--- more_headers eval
"Cookie: stytch_session_jwt=$::skewed"
--- request
GET /p/index.html
--- error_code: 200
--- response_headers
X-Source: api
--- error_log eval
qr/\[info\] .*stytch: claim_not_yet_valid, asking the API/
--- no_error_log
[error]
[alert]
[crit]
[emerg]



=== TEST 4: each of Stytch's error types gives the answer it means, and a misconfiguration names its directive
--- http_config
    stytch_api_cache off;
--- config
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Error $stytch_auth_error always;
    }
--- init
for my $case (@main::Errors) {
    my ($type, $status, $error, $directive) = @$case;
    StytchTest::clear_faults();
    StytchTest::fault(endpoint => 'authenticate', error => $type);
    my $before = length StytchTest::nginx_error_log();
    my $r = StytchTest::http_answer(GET => '/p/index.html', Cookie => "stytch_session_jwt=$main::expired");
    Test::More::is($r->{status}, $status, "$type: $status");
    Test::More::is($r->{headers}{'x-error'}, $error, "$type: $error");
    Test::More::ok(!$r->{headers}{'set-cookie'} || $status == 401, "$type: no cookie set");
    my $log = substr(StytchTest::nginx_error_log(), $before);
    if ($directive) {
        Test::More::like($log, qr/\[error\] .*\(\d+ $type\): check \Q$directive\E/,
                         "$type: the error log names $directive");
    } elsif ($status == 401) {
        Test::More::unlike($log, qr/\[error\]/, "$type: no error-level line");
    }
    Test::More::like($r->{headers}{'retry-after'} // '', qr/^\d+$/, "$type: Retry-After")
        if $status == 503;
}
StytchTest::clear_faults();
--- request
GET /p/index.html
--- error_code: 401
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 5: an answer that is not Stytch's (a CDN's HTML page): 500 naming stytch_api_url; the same page with 502: 503
--- http_config
    stytch_api_cache off;
--- config
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Error $stytch_auth_error always;
    }
--- init
StytchTest::clear_faults();
StytchTest::fault(endpoint => 'authenticate', html => JSON::PP::true, status => 403);
my $r = StytchTest::http_answer(GET => '/p/index.html', Cookie => "stytch_session_jwt=$main::expired");
Test::More::is($r->{status}, 500, "an HTML page with 403: 500");
Test::More::is($r->{headers}{'x-error'}, 'api_misconfigured', "api_misconfigured");
Test::More::like(StytchTest::nginx_error_log(), qr/\[error\] .*not Stytch's.*check "stytch_api_url"/,
                 "the error log names stytch_api_url");
StytchTest::clear_faults();
StytchTest::fault(endpoint => 'authenticate', html => JSON::PP::true);
$r = StytchTest::http_answer(GET => '/p/index.html', Cookie => "stytch_session_jwt=$main::expired");
Test::More::is($r->{status}, 503, "an HTML page with 502: 503");
StytchTest::clear_faults();
--- request
GET /p/index.html
--- error_code: 401
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 6: the consumer project with stytch_b2b on: reported at start, naming stytch_b2b, and in stytch_status
--- http_config
    stytch_b2b on;
--- config
    location = /status {
        stytch_status;
    }

    location /p/ {
        stytch_auth on;
        root html;
    }
--- init
Test::More::ok(StytchTest::wait_until(sub { StytchTest::nginx_status()->{projects}[0]{credentials} ne 'unknown' }),
               "the credentials are checked at start");
--- request
GET /status
--- response_body_like: "credentials":"refused"
--- error_log eval
[qr/\[error\] .*fetching the keys of project .* failed: the response status is 400 \(invalid_b2b_endpoint\): check "stytch_b2b"/,
 qr/\[error\] .*fetching the RBAC policy of project .* failed: the response status is 400 \(invalid_b2b_endpoint\): check "stytch_b2b"/]
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 7: 200 active organizations: once their policies are fetched, permission checks stay local
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_B2B_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_B2B_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
    stytch_b2b on;
--- config
    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }

    location /p/ {
        stytch_auth on;
        stytch_require_permission documents read;
        root html;
    }
--- init
my @jwts = map {
    StytchTest::create_session(type => 'b2b', roles => ['stytch_member', 'editor'],
        organization_id => sprintf('organization-test-%08d-0000-0000-0000-000000000000', $_))->{session_jwt}
} 1 .. 200;
Test::More::is(StytchTest::wait_status(200, '/p/index.html', Authorization => "Bearer $jwts[0]"), 200,
               "the keys are loaded");
my $ok = grep { StytchTest::http_answer(GET => '/p/index.html', Authorization => "Bearer $_")->{status} == 200 } @jwts;
Test::More::is($ok, 200, "the first round: 200 each (the API checks meanwhile)");
{
    local $StytchTest::WaitSeconds = 15;
    StytchTest::wait_until(sub { StytchTest::counters()->{org_policy} >= 200 });
}
Test::More::is(StytchTest::counters()->{org_policy}, 200, "each organization's policy fetched once");
StytchTest::reset_emulator();
$ok = grep { StytchTest::http_answer(GET => '/p/index.html', Authorization => "Bearer $_")->{status} == 200 } @jwts;
Test::More::is($ok, 200, "the second round: 200 each");
--- request
GET /counters
--- response_body_like: ^(?=.*"authenticate":0,)(?=.*"org_policy":0,)
--- timeout: 30



=== TEST 8: an edge that closes idle connections: with README's proxy_next_upstream, no API call is lost
--- http_config
    stytch_api_cache off;

    upstream stytch_api {
        server 127.0.0.1:$TEST_NGINX_STYTCH_PORT;
        keepalive 8;
        keepalive_timeout 10s;
    }
--- config
    location /_stytch_api/ {
        internal;
        proxy_pass http://stytch_api/;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_next_upstream error timeout non_idempotent;
    }

    location /p/ {
        stytch_auth on;
        root html;
    }
--- init
StytchTest::emulator(POST => '/emulator/idle-timeout', { ms => 300 });
StytchTest::reset_emulator();
my $ok = 0;
for my $i (1 .. 20) {
    $ok++ if StytchTest::http_answer(GET => '/p/index.html', Cookie => "stytch_session_jwt=$main::expired")->{status} == 200;
    Time::HiRes::sleep(0.28 + 0.01 * ($i % 5));
}
Test::More::is($ok, 20, "20 API calls spaced around the idle timeout: 200 each");
my $c = StytchTest::emulator(GET => '/emulator/connections');
Test::More::cmp_ok($c->{closed_idle}, '>', 0, "the emulator did close idle connections");
StytchTest::emulator(POST => '/emulator/idle-timeout', { ms => 65000 });
--- request
GET /p/index.html
--- error_code: 401
--- timeout: 20
--- grep_error_log eval: qr/\[error\] .*/
--- grep_error_log_out eval
qr/\A(?:\[error\] [^\n]*(?:upstream prematurely closed connection|Connection reset by peer)[^\n]*\n)*\z/
--- no_error_log
[alert]
[crit]
[emerg]
