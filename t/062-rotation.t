# Key ids the key set lacks.  A kid that is not in a key set fetched less
# than stytch_jwks_cooldown ago may be a key Stytch took up since: the API
# hears of at most four such kids per worker and key set, the others get
# 401 and the JWKS endpoint hears of none.  With an older key set, the request
# starts a refresh and waits for it, then verifies locally: a key rotation
# costs no user a 401 and no API call.  Only when the keys cannot be
# fetched does the API decide.
use Test::Nginx::Socket 'no_plan';
use StytchTest;

use Time::HiRes ();

no_shuffle();

our $session = create_session();

# N JWTs of the session, signed by a key Stytch never had, each under a
# kid of its own.
sub main::forged {
    my ($n) = @_;
    return map {
        StytchTest::mint_jwt(session_id => $main::session->{session_id},
            key => 'rogue',
            header => { kid => sprintf('jwk-test-%08x-forged', int rand 2**32) })
    } 1 .. $n;
}

run_tests();

__DATA__

=== TEST 1: a rotation: the new key's JWT waits for the refresh and is verified locally, no API call
--- http_config
    stytch_jwks_cooldown 1s;
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
Time::HiRes::sleep(1.2);    # the key set is now older than the cooldown
StytchTest::reset_emulator();
StytchTest::rotate_keys();
my $new = StytchTest::mint_jwt(session_id => $main::session->{session_id});
my ($status, $head, $body) = StytchTest::http_get('/p/index.html', Cookie => "stytch_session_jwt=$new");
Test::More::is($status, 200, "TEST 1: the new key's JWT: 200");
Test::More::like($head, qr/^X-Source: jwt\r?$/m, "TEST 1: verified locally");
Test::More::is($body, "protected content\n", "TEST 1: the file");
--- request
GET /counters
--- response_body_like: ^(?=.*"jwks":1,)(?=.*"authenticate":[0-4],)



=== TEST 2: 300 JWTs with made-up kids: 401 each, at most 4 API calls, no key fetch (the key set is fresh)
--- config
    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }

    location /p/ {
        stytch_auth on;
        root html;
    }
--- init
StytchTest::wait_keys('/p/index.html');
StytchTest::reset_emulator();
my @forged = main::forged(300);
my @answers;
push @answers, StytchTest::concurrent(map { [GET => '/p/index.html', Cookie => "stytch_session_jwt=$_"] }
                                      @forged[$_ * 50 .. $_ * 50 + 49])
    for 0 .. 5;
Test::More::is(scalar(grep { $_->{status} == 401 } @answers), 300, "TEST 2: 300 forged kids, 300 answers 401");
--- request
GET /counters
--- response_body_like: ^(?=.*"jwks":0,)(?=.*"authenticate":[0-4],)



=== TEST 3: made-up kids with a key set older than the cooldown: one refresh for all, then 401, at most 4 API calls
--- http_config
    stytch_jwks_cooldown 1s;
--- config
    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }

    location /p/ {
        stytch_auth on;
        root html;
    }
--- init
StytchTest::wait_keys('/p/index.html');
Time::HiRes::sleep(1.2);
StytchTest::reset_emulator();
StytchTest::fault(endpoint => 'jwks', latency_ms => 300);
my @answers = StytchTest::concurrent(map { [GET => '/p/index.html', Cookie => "stytch_session_jwt=$_"] }
                                     main::forged(50));
Test::More::is(scalar(grep { $_->{status} == 401 } @answers), 50, "TEST 3: 50 forged kids, 50 answers 401");
StytchTest::clear_faults();
--- request
GET /counters
--- response_body_like: ^(?=.*"jwks":1,)(?=.*"authenticate":[0-4],)



=== TEST 4: the keys cannot be fetched: the request waits for the attempt, then the API decides
--- http_config
    stytch_jwks_cooldown 1s;
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
Time::HiRes::sleep(1.2);
StytchTest::reset_emulator();
StytchTest::fault(endpoint => 'jwks', status => 500);
StytchTest::rotate_keys();
my $new = StytchTest::mint_jwt(session_id => $main::session->{session_id});
my ($status, $head, $body) = StytchTest::http_get('/p/index.html', Cookie => "stytch_session_jwt=$new");
Test::More::is($status, 200, "TEST 4: the new key's JWT: 200");
Test::More::like($head, qr/^X-Source: api\r?$/m, "TEST 4: through the API");
Test::More::is($body, "protected content\n", "TEST 4: the file");
StytchTest::clear_faults();
--- request
GET /counters
--- response_body_like: ^(?=.*"jwks":1,)(?=.*"authenticate":1,)
--- error_log eval
[qr/\[error\] .*stytch: fetching the keys of project "[^"]+" from "[^"]+" failed: the response status is 500\b[^;]*; keeping the last good keys/,
 qr/\[info\] .*stytch: jwks_unknown_kid, asking the API/]
--- no_error_log
[alert]
[crit]
[emerg]
