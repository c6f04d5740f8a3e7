# A worker that dies while it holds the fetch lease does not wedge the
# refresh: the lease expires (stytch_fetch_timeout + 5 s) and a new worker
# fetches the keys.  Two workers.
use Test::Nginx::Socket 'no_plan';
use StytchTest;

use Time::HiRes ();

master_on();
workers(2);

our $session = create_session();

# the first JWKS request hangs longer than the test: its worker dies
# holding the lease
clear_faults();
fault(endpoint => 'jwks', latency_ms => 30000, count => 1);

run_tests();

__DATA__

=== TEST 1: the workers are killed during the first fetch; once the lease expires a new worker fetches the keys
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
    stytch_fallback off;
    stytch_fetch_timeout 2s;
--- config
    location /p/ {
        stytch_auth on;
        root html;
    }
--- init
my @cookie = (Cookie => "stytch_session_jwt=$main::session->{session_jwt}");
Time::HiRes::sleep(0.5);
Test::More::is(StytchTest::counters()->{jwks}, 1, "TEST 1: the first fetch is waiting at Stytch");
my @workers = StytchTest::nginx_workers(StytchTest::nginx_pid());
Test::More::is(scalar(@workers), 2, "TEST 1: two workers");
kill 'KILL', @workers;
Time::HiRes::sleep(0.5);
Test::More::is(StytchTest::http_get('/p/index.html', @cookie), 503,
               "TEST 1: no keys while the dead worker's lease lasts");
local $StytchTest::WaitSeconds = 15;
Test::More::is(StytchTest::wait_status(200, '/p/index.html', @cookie), 200,
               "TEST 1: keys fetched once the lease expired");
Test::More::is(StytchTest::counters()->{jwks}, 2, "TEST 1: one more fetch, by a new worker");
--- request
GET /p/index.html
--- more_headers eval
"Cookie: stytch_session_jwt=$::session->{session_jwt}"
--- error_code: 200
--- response_body
protected content
--- timeout: 5
--- error_log
[alert]
exited on signal 9
--- grep_error_log eval: qr/\[(?:alert|crit|emerg)\] .*/
--- grep_error_log_out eval
qr/\A(?:\[alert\] \d+#\d+: worker process \d+ exited on signal 9\n){2}\z/
--- no_error_log
[error]
