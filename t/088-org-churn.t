# B2B organizations' policies are kept by use, not by arrival: members of
# many organizations, each seen once, cannot evict the policies of the
# organizations in use and make the workers fetch them again.  A new
# organization takes a place only when one has been idle for
# stytch_policy_refresh; until then its permissions are asked of the API,
# and a warn line says so, once a minute.  The policy fetches of a
# many-organizations workload are counted.
use Test::Nginx::Socket 'no_plan';
use StytchTest;

use Time::HiRes ();

no_shuffle();
check_accum_error_log();

our $n = 0;
sub main::org {
    my $org = sprintf 'organization-test-%08d-0000-0000-0000-%012d', ++$n, $n;
    set_org_policy(organization_id => $org,
                   org_policy => { roles => [ { role_id => 'org-auditor',
                       description => '', permissions => [
                           { resource_id => 'reports', actions => ['read'] } ] } ] });
    my $s = create_session(type => 'b2b', organization_id => $org,
                           roles => ['stytch_member', 'org-auditor']);
    return { org => $org, jwt => $s->{session_jwt} };
}

# 4 organizations in use all along, 40 that come once each
our @hot = map { main::org() } 1 .. 4;
our @cold = map { main::org() } 1 .. 40;

sub main::get {
    my $m = shift;
    return StytchTest::http_get("/orgs/$m->{org}/reports",
                                Cookie => "stytch_session_jwt=$m->{jwt}");
}

# 5 rounds: the 4 organizations in use, then 8 new ones; 60 requests
sub main::workload {
    my ($ok, $total) = (0, 0);
    for my $round (0 .. 4) {
        for my $m (@hot, @cold[8 * $round .. 8 * $round + 7]) {
            $total++;
            $ok++ if main::get($m) == 200;
        }
        Time::HiRes::sleep(0.3);
    }
    Test::More::is($ok, $total, "every request of the workload is allowed");
}

run_tests();

__DATA__

=== TEST 1: 60 requests of 44 organizations, 8 places: at most 8 policy fetches; the organizations in use keep theirs and are decided locally
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_B2B_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_B2B_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
    stytch_policy_refresh 1m;
    stytch_organizations 8;
    stytch_b2b on;
--- config
    location ~ ^/orgs/(?<org>[^/]+)/reports {
        stytch_auth on;
        stytch_require_organization $org;
        stytch_require_permission reports read;
        root html;
        rewrite ^ /docs/index.html break;
    }

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
    }

    location = /status {
        stytch_status;
    }

    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }
--- user_files
>>> docs/index.html
documents
--- init
StytchTest::wait_policy();
StytchTest::reset_emulator();
main::workload();
Time::HiRes::sleep(1);
my $c = StytchTest::counters();
Test::More::cmp_ok($c->{org_policy}, '<=', 8,
                   "TEST 1: the workload fetched at most one policy per place");
Test::More::diag("the workload: $c->{org_policy} organization policy fetches, "
                 . "$c->{authenticate} authenticate calls");
StytchTest::reset_emulator();
--- request eval
[(map { "GET /orgs/$_->{org}/reports" } @::hot), "GET /counters"]
--- more_headers eval
[(map { "Cookie: stytch_session_jwt=$_->{jwt}" } @::hot), ""]
--- error_code eval
[200, 200, 200, 200, 200]
--- response_body_like eval
["documents", "documents", "documents", "documents",
 qr/"authenticate":0,.*"org_policy":0,/]
--- error_log eval
qr/\[warn\] .*no room for the RBAC policy of organization "organization-test-\d+-0000-0000-0000-\d+" of project "[^"]+": the policies in its place were all used within "stytch_policy_refresh"/
--- no_error_log
[error]
[alert]
[crit]
[emerg]
