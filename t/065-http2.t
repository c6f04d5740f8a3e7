# HTTP/2: streams of one connection are authenticated independently, and
# concurrent streams with the same session token share one API call.
use Test::Nginx::Socket 'no_plan';
use StytchTest;
use File::Temp qw( tempdir );
use IO::Socket::INET;

no_shuffle();

$ENV{TEST_NGINX_H2_PORT} = do {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, ReuseAddr => 1) or die $!;
    my $p = $s->sockport;
    close $s;
    $p;
};

# a client of the Node.js the emulator runs on: N concurrent streams
our $client = tempdir('stytch-h2-XXXXXX', TMPDIR => 1, CLEANUP => 1) . '/client.js';
open my $f, '>', $client or die $!;
print $f <<'JS';
const http2 = require('node:http2');
const [port, cookie, path, n] = process.argv.slice(2);
const c = http2.connect(`http://127.0.0.1:${port}`);
const codes = [];
let done = 0;
for (let i = 0; i < Number(n); i++) {
  const req = c.request({ ':path': `${path}?i=${i}`, cookie });
  req.on('response', (h) => codes.push(h[':status']));
  req.resume();
  req.on('end', () => { if (++done === Number(n)) { console.log(codes.sort().join(' ')); c.close(); } });
}
JS
close $f;

our $session = create_session(roles => ['stytch_user', 'editor']);

run_tests();

__DATA__

=== TEST 1: 20 concurrent streams with one session token: 200 each, one API call
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;

    server {
        listen 127.0.0.1:$TEST_NGINX_H2_PORT http2;

        location /_stytch_api/ {
            internal;
            proxy_pass $TEST_NGINX_STYTCH_URL/;
        }

        location /p/ {
            stytch_auth on;
            root html;
        }

        location /r/ {
            stytch_auth on;
            stytch_require_permission documents read;
            alias html/p/;
        }
    }
--- config
    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }
--- user_files
>>> p/index.html
protected content
--- init
StytchTest::reset_emulator();
StytchTest::fault(endpoint => 'authenticate', latency_ms => 300);
my $cookie = "stytch_session=$main::session->{session_token}";
for my $path ('/p/index.html', '/r/index.html') {
    my $out = `node $main::client $ENV{TEST_NGINX_H2_PORT} '$cookie' $path 20`;
    chomp $out;
    Test::More::is($out, join(' ', ('200') x 20), "20 streams on $path");
}
my $none = `node $main::client $ENV{TEST_NGINX_H2_PORT} 'other=1' /p/index.html 3`;
chomp $none;
Test::More::is($none, '401 401 401', "streams without a session");
StytchTest::clear_faults();
--- request
GET /counters
--- response_body_like chomp
"authenticate":1,
--- no_error_log
[alert]
[crit]
