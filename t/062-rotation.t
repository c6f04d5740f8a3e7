# Key ids the key set lacks.  A kid that is not in a key set fetched less
# than stytch_jwks_cooldown ago is forged: 401, and neither Stytch's API
# nor its JWKS endpoint hears of it.  With an older key set, the request
# starts a refresh and waits for it, then verifies locally: a key rotation
# costs no user a 401 and no API call.  Only when the keys cannot be
# fetched does the API decide.
use Test::Nginx::Socket 'no_plan';
use StytchTest;
use IO::Select;
use IO::Socket::INET;
use Time::HiRes ();

no_shuffle();

our $session = create_session();

# Sends each request on its own connection, all before reading any answer,
# and returns the raw answers.
sub main::answers {
    my @requests = @_;
    my @socks;
    for my $req (@requests) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => server_port(),
                                      Proto => 'tcp')
            or die "connect: $!";
        print $s $req;
        push @socks, $s;
    }
    my %buf;
    my $sel = IO::Select->new(@socks);
    my $deadline = time() + 15;
    while ($sel->count && time() < $deadline) {
        for my $s ($sel->can_read(1)) {
            my $n = sysread($s, my $chunk, 65536);
            if (!$n) {
                $sel->remove($s);
                close $s;
                next;
            }
            $buf{"$s"} .= $chunk;
        }
    }
    return map { $buf{"$_"} // '' } @socks;
}

sub main::statuses {
    return map { (m{^HTTP/1\.\d (\d+)})[0] // 0 } main::answers(@_);
}

sub main::request_for {
    my ($jwt) = @_;
    return "GET /p/index.html HTTP/1.0\r\nHost: localhost\r\n"
           . "Cookie: stytch_session_jwt=$jwt\r\n\r\n";
}

# Until the current signing key's JWT is accepted.
sub main::wait_keys {
    my $jwt = StytchTest::mint_jwt(session_id => $main::session->{session_id});
    for (1 .. 100) {
        my ($st) = main::statuses(main::request_for($jwt));
        return if $st == 200;
        Time::HiRes::sleep(0.05);
    }
    die "the keys were not loaded\n";
}

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
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
    stytch_jwks_cooldown 1s;
--- config
    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
    }

    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }

    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Source $stytch_auth_source always;
    }
--- user_files
>>> p/index.html
protected content
--- init
main::wait_keys();
Time::HiRes::sleep(1.2);    # the key set is now older than the cooldown
StytchTest::reset_emulator();
StytchTest::rotate_keys();
my $new = StytchTest::mint_jwt(session_id => $main::session->{session_id});
my ($answer) = main::answers(main::request_for($new));
Test::More::like($answer, qr{^HTTP/1\.\d 200 .*\r\nX-Source: jwt\r\n.*protected content}s,
                 "the new key's JWT: 200, verified locally");
--- request
GET /counters
--- response_body_like: ^(?=.*"jwks":1,)(?=.*"authenticate":0,)
--- no_error_log
[error]
[alert]



=== TEST 2: 300 JWTs with made-up kids: 401 each, no API call, no key fetch (the key set is fresh)
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
--- config
    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
    }

    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }

    location /p/ {
        stytch_auth on;
        root html;
    }
--- user_files
>>> p/index.html
protected content
--- init
main::wait_keys();
StytchTest::reset_emulator();
my @forged = main::forged(300);
my @codes;
push @codes, main::statuses(map { main::request_for($_) } @forged[$_ * 50 .. $_ * 50 + 49])
    for 0 .. 5;
Test::More::is(scalar(grep { $_ == 401 } @codes), 300, "300 forged kids, 300 answers 401");
--- request
GET /counters
--- response_body_like: ^(?=.*"jwks":0,)(?=.*"authenticate":0,)
--- no_error_log
[error]
[alert]



=== TEST 3: made-up kids with a key set older than the cooldown: one refresh for all, then 401, no API call
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
    stytch_jwks_cooldown 1s;
--- config
    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
    }

    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }

    location /p/ {
        stytch_auth on;
        root html;
    }
--- user_files
>>> p/index.html
protected content
--- init
main::wait_keys();
Time::HiRes::sleep(1.2);
StytchTest::reset_emulator();
StytchTest::fault(endpoint => 'jwks', latency_ms => 300);
my @codes = main::statuses(map { main::request_for($_) } main::forged(50));
Test::More::is(scalar(grep { $_ == 401 } @codes), 50, "50 forged kids, 50 answers 401");
StytchTest::clear_faults();
--- request
GET /counters
--- response_body_like: ^(?=.*"jwks":1,)(?=.*"authenticate":0,)
--- no_error_log
[error]
[alert]



=== TEST 4: the keys cannot be fetched: the request waits for the attempt, then the API decides
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
    stytch_jwks_cooldown 1s;
--- config
    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
    }

    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }

    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Source $stytch_auth_source always;
    }
--- user_files
>>> p/index.html
protected content
--- init
main::wait_keys();
Time::HiRes::sleep(1.2);
StytchTest::reset_emulator();
StytchTest::fault(endpoint => 'jwks', status => 500);
StytchTest::rotate_keys();
my $new = StytchTest::mint_jwt(session_id => $main::session->{session_id});
my ($answer) = main::answers(main::request_for($new));
Test::More::like($answer, qr{^HTTP/1\.\d 200 .*\r\nX-Source: api\r\n.*protected content}s,
                 "the new key's JWT: 200 through the API");
StytchTest::clear_faults();
--- request
GET /counters
--- response_body_like: ^(?=.*"jwks":1,)(?=.*"authenticate":1,)
--- error_log
fetching the keys of project
jwks_unknown_kid, asking the API
--- no_error_log
[alert]
