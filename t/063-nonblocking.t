# The key fetch never blocks a worker: while Stytch takes seconds to answer
# the JWKS request, the same (only) worker keeps answering requests, and
# the request that asked for the fetch waits for it.
use Test::Nginx::Socket 'no_plan';
use StytchTest;

use Time::HiRes ();

no_shuffle();

our $session = create_session();
# a kid the key set lacks: the request asks for a fetch and waits for it
our $unknown = mint_jwt(session_id => $session->{session_id},
                        header => { kid => 'jwk-test-00000000-not-in-the-set' });

run_tests();

__DATA__

=== TEST 1: requests are served while a JWKS fetch is in flight
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
    stytch_fallback off;
    stytch_jwks_cooldown 1s;
--- config
    location /p/ {
        stytch_auth on;
        root html;
    }

    location = /status {
        stytch_status;
    }
--- init
my @cookie = (Cookie => "stytch_session_jwt=$main::session->{session_jwt}");
StytchTest::wait_zone('keys_generation');
Test::More::is(StytchTest::http_get('/p/index.html', @cookie), 200, "TEST 1: keys loaded");
sleep 1;    # past the cooldown
StytchTest::reset_emulator();
StytchTest::fault(endpoint => 'jwks', latency_ms => 4000);
# the unknown kid's request waits for the refresh: it is read at the end
my $waiting = StytchTest::start_get('/p/index.html', Cookie => "stytch_session_jwt=$main::unknown");
Time::HiRes::sleep(0.3);
Test::More::is(StytchTest::counters()->{jwks}, 1, "TEST 1: the fetch reached Stytch and waits there");
my $served = grep { StytchTest::http_get('/p/index.html', @cookie) == 200 } 1 .. 200;
Test::More::is($served, 200, "TEST 1: 200 requests answered meanwhile");
Test::More::is(StytchTest::nginx_status()->{projects}[0]{fetches}, 1,
               "TEST 1: the second fetch has not finished yet");
my ($answer) = StytchTest::read_answers($waiting);
Test::More::is($answer->{status}, 401, "TEST 1: once it has, the unknown kid is refused");
StytchTest::clear_faults();
--- request
GET /p/index.html
--- more_headers eval
"Cookie: stytch_session_jwt=$::session->{session_jwt}"
--- error_code: 200
--- response_body
protected content
--- timeout: 8
