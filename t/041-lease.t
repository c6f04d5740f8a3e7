# A worker that dies while it holds the fetch lease does not wedge the
# refresh: the lease expires (stytch_fetch_timeout + 5 s) and a new worker
# fetches the keys.
use Test::Nginx::Socket 'no_plan';
use StytchTest;
use IO::Socket::INET;

master_on();
workers(2);

our $session = create_session();

# the first JWKS request hangs longer than the test: its worker dies
# holding the lease
clear_faults();
fault(endpoint => 'jwks', latency_ms => 30000, count => 1);

sub main::get {
    my ($cookie) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => server_port(), Proto => 'tcp')
        or return 0;
    print $s "GET /p/index.html HTTP/1.0\r\nHost: localhost\r\n"
             . "Cookie: $cookie\r\n\r\n";
    local $/;
    my $raw = <$s> // '';
    return $raw =~ m{^HTTP/1\.\d (\d+)} ? $1 : 0;
}

run_tests();

__DATA__

=== TEST 1: the workers are killed during the first fetch; the keys still come
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
--- user_files
>>> p/index.html
protected content
--- init
my $cookie = "stytch_session_jwt=$main::session->{session_jwt}";
select(undef, undef, undef, 0.5);
Test::More::is(StytchTest::counters()->{jwks}, 1, "the first fetch is waiting at Stytch");
my $master = do { local $/; open my $f, '<', "$Test::Nginx::Socket::ServRoot/logs/nginx.pid" or die $!; <$f> };
chomp $master;
my @workers = map { /(\d+)/ ? $1 : () } `ps -o pid= --ppid $master`;
Test::More::is(scalar(@workers), 2, "two workers");
kill 'KILL', @workers;
select(undef, undef, undef, 0.5);
Test::More::is(main::get($cookie), 503, "no keys while the dead worker's lease lasts");
my $status = 0;
for (1 .. 150) {
    $status = main::get($cookie);
    last if $status == 200;
    select(undef, undef, undef, 0.1);
}
Test::More::is($status, 200, "keys fetched once the lease expired");
Test::More::is(StytchTest::counters()->{jwks}, 2, "one more fetch, by a new worker");
--- request
GET /p/index.html
--- more_headers eval
"Cookie: stytch_session_jwt=$::session->{session_jwt}"
--- error_code: 200
--- timeout: 5
--- error_log
exited on signal 9
