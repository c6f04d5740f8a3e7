# Self-tests of t/lib/Test/Nginx/Socket.pm: runs small .t files in child
# perls (own servroot and port, stock nginx, no module) and checks their
# outcome.  Plain Test::More: this file does not use the runner itself.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use File::Basename qw(dirname);
use File::Spec;
use Cwd qw(abs_path);
use IO::Socket::INET;

my $lib = abs_path(File::Spec->catdir(dirname(abs_path(__FILE__)), 'lib'));
my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
my $dir = tempdir('runner-selftest-XXXXXX', TMPDIR => 1, CLEANUP => 1);

sub free_port {
    for (1 .. 100) {
        my $p = 20000 + int rand 30000;
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $p,
                                      Proto => 'tcp', ReuseAddr => 1) or next;
        close $s;
        return $p;
    }
    die "no free port";
}

my $n = 0;
# run_child(body) -> (exit status, output)
sub run_child {
    my ($body) = @_;
    $n++;
    my $file = "$dir/child$n.t";
    open my $o, '>', $file or die $!;
    print $o $body;
    close $o;
    local $ENV{TEST_NGINX_SERVROOT} = "$dir/servroot$n";
    local $ENV{TEST_NGINX_PORT} = free_port();
    local $ENV{TEST_NGINX_BINARY} = $nginx;
    delete local $ENV{TEST_NGINX_SERVER_PORT};
    my $out = `$^X -I$lib $file 2>&1`;
    return ($? >> 8, $out, "$dir/servroot$n");
}

sub no_nginx_left {
    my ($servroot, $what) = @_;
    my $left = `ps -eo pid,stat,args | grep '$servroot' | grep -v grep | grep -v ' Z'`;
    is($left, '', "$what: no nginx left running");
}

my $head = <<'EOF2';
use Test::Nginx::Socket 'no_plan';
no_shuffle();
run_tests();
__DATA__
EOF2

# 1. a passing file, exercising the main sections, with an exact plan
{
    my ($rc, $out, $sr) = run_child(<<'EOT');
use Test::Nginx::Socket;
repeat_each(2);
plan tests => repeat_each() * 18;   # response_headers_like is ignored when response_headers is given, as in the real runner
no_shuffle();
$ENV{TEST_NGINX_GREETING} = 'hi';
run_tests();
__DATA__

=== TEST 1: file, headers, logs
--- config
    location /f/ { root html; add_header X-Greeting $TEST_NGINX_GREETING; }
--- user_files
>>> f/a.txt
file body
--- request
GET /f/a.txt
--- response_headers
X-Greeting: hi
!X-Absent
--- response_headers_like
Content-Length: \d+
--- response_body
file body
--- error_log
http request line: "GET /f/a.txt HTTP/1.1"
--- no_error_log
[error]

=== TEST 2: two requests, arrays
--- config
    location /a { return 200 "a\n"; }
    location /b { return 403; }
--- request eval
["GET /a", "GET /b"]
--- error_code eval
[200, 403]
--- response_body_like eval
["^a\$", "403 Forbidden"]

=== TEST 3: POST body gets Content-Length
--- config
    location /p { proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/len; proxy_http_version 1.1; }
    location /len { return 200 "len=$http_content_length\n"; }
--- request
POST /p
hello
--- response_body
len=5

=== TEST 4: must_die
--- config
    location /x { no_such_directive_here on; }
--- must_die
--- error_log
unknown directive "no_such_directive_here"

=== TEST 5: chunked response (ssi), more_headers with a comment
--- config
    location /s/ { ssi on; root html; }
--- user_files
>>> s/a.html
one <!--# echo var="http_x_foo" --> two
--- more_headers
X-Foo: bar
# a comment
--- request
GET /s/a.html
--- raw_response_headers_like: Transfer-Encoding: chunked
--- response_headers
!Content-Length
--- response_body
one bar two
EOT
    is($rc, 0, 'passing file exits 0') or diag $out;
    like($out, qr/^ok 36 /m, "all 36 tests ran");
    unlike($out, qr/^not ok/m, 'no failures');
    no_nginx_left($sr, 'passing file');
}

# 2. an unknown section fails the file, naming the section
{
    my ($rc, $out) = run_child($head . <<'EOT');

=== TEST 1: typo
--- config
    location /a { return 200; }
--- request
GET /a
--- respons_body
x
EOT
    isnt($rc, 0, 'unknown section: non-zero exit');
    like($out, qr/unknown section '--- respons_body'/, 'unknown section named');
}

# 3. a wrong expectation fails
{
    my ($rc, $out, $sr) = run_child($head . <<'EOT');

=== TEST 1: wrong body
--- config
    location /a { return 200 "real\n"; }
--- request
GET /a
--- response_body
expected
EOT
    isnt($rc, 0, 'wrong body: non-zero exit');
    like($out, qr/^not ok 2 .*response_body/m, 'wrong body: the body test fails');
    no_nginx_left($sr, 'wrong body');
}

# 4. nginx that cannot start: one failing test with the log, nothing left
{
    my ($rc, $out, $sr) = run_child($head . <<'EOT');

=== TEST 1: bad config
--- config
    location /a { return 200 "x\n"
--- request
GET /a
--- response_body
x
EOT
    isnt($rc, 0, 'bad config: non-zero exit');
    like($out, qr/nginx failed to start/, 'bad config: reported');
    like($out, qr/is not terminated by ";"/, "bad config: nginx error shown");
    no_nginx_left($sr, 'bad config');
}

# 5. timeouts: fail by default, not with --- abort
{
    my ($rc, $out, $sr) = run_child($head . <<'EOT');

=== TEST 1: incomplete request times out
--- config
    location /a { return 200; }
--- raw_request eval
"GET /a HTTP/1.1\r\nHost: localhost\r\n"
--- timeout: 300ms
--- ignore_response
EOT
    isnt($rc, 0, 'timeout: non-zero exit');
    like($out, qr/client socket timed out/, 'timeout: reported');
    no_nginx_left($sr, 'timeout');

    ($rc, $out) = run_child($head . <<'EOT');

=== TEST 1: incomplete request, abort
--- config
    location /a { return 200; }
--- raw_request eval
"GET /a HTTP/1.1\r\nHost: localhost\r\n"
--- timeout: 300ms
--- abort
--- ignore_response
--- no_error_log
[error]
EOT
    is($rc, 0, 'abort: timeout is not a failure') or diag $out;
}

# 6. no_error_log catches a logged error; error_log misses fail
{
    my ($rc, $out) = run_child($head . <<'EOT');

=== TEST 1: 404 logs an error
--- config
    location /nope { root html; }
--- request
GET /nope/file
--- error_code: 404
--- error_log
this line is never logged
--- no_error_log
[error]
EOT
    isnt($rc, 0, 'log checks: non-zero exit');
    like($out, qr/^not ok \d+ .*should match a line in error.log/m, 'missing error_log line fails');
    like($out, qr/^not ok \d+ .*should not match any line in error.log/m, 'unwanted [error] fails');
}

done_testing();
