# HTTP/2: the streams of one connection are authenticated one by one,
# and concurrent streams with the same session token share one API call,
# with and without a permission to check.
use Test::Nginx::Socket 'no_plan';
use StytchTest;

no_shuffle();

$ENV{TEST_NGINX_H2_PORT} = free_port();

our $session = create_session(roles => ['stytch_user', 'editor']);

run_tests();

__DATA__

=== TEST 1: 20 concurrent streams with one session token: 200 each, one API call; streams without a session: 401
--- http_config
    server {
        listen 127.0.0.1:$TEST_NGINX_H2_PORT http2;

        location /p/ {
            stytch_auth on;
            root html;
        }

        location /r/ {
            stytch_auth on;
            stytch_require_permission documents read;
            alias html/p/;
        }

        location /_stytch_api/ {
            internal;
            proxy_pass $TEST_NGINX_STYTCH_URL/;
        }
    }
--- config
    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }
--- init
StytchTest::reset_emulator();
StytchTest::fault(endpoint => 'authenticate', latency_ms => 300);
my @cookie = (Cookie => "stytch_session=$main::session->{session_token}");
for my $path ('/p/index.html', '/r/index.html') {
    Test::More::is(join(' ', StytchTest::h2_get($ENV{TEST_NGINX_H2_PORT}, $path, 20, @cookie)),
                   join(' ', (200) x 20), "TEST 1: 20 streams on $path");
}
Test::More::is(join(' ', StytchTest::h2_get($ENV{TEST_NGINX_H2_PORT}, '/p/index.html', 3, Cookie => 'other=1')),
               '401 401 401', "TEST 1: streams without a session");
StytchTest::clear_faults();
--- request
GET /counters
--- response_body_like chomp
"authenticate":1,
