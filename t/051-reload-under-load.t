# "nginx -s reload" under load: while wrk keeps sending requests with a
# valid JWT (and, every few requests, an expired one that goes to the API),
# nginx reloads five times.  No answer may be an error, no worker may crash,
# and nothing is logged at alert level or above.  Drives nginx itself, as
# the test runner has no reload mode.
use strict;
use warnings;

use Test::More;
use StytchTest;

use Time::HiRes qw( sleep );

my ($dir, $port) = own_nginx('reload-load');

own_nginx_conf($dir, workers => 2, connections => 256, server => <<"EOC");
        location /_stytch_api/ {
            internal;
            proxy_pass $ENV{TEST_NGINX_STYTCH_URL}/;
        }
        location /p/ {
            stytch_auth on;
            root html;
        }
EOC

my $session = create_session();
my $jwt = $session->{session_jwt};
my $expired = mint_jwt(session_id => $session->{session_id},
                       iat => time() - 3600);

write_file("$dir/load.lua", <<"EOL");
local n = 0
request = function()
  n = n + 1
  local token = (n % 10 == 0) and "$expired" or "$jwt"
  return wrk.format(nil, "/p/index.html", { ["Cookie"] = "stytch_session_jwt=" .. token })
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d\\n", summary.requests, summary.errors.status))
end
EOL

my @cookie = (Cookie => "stytch_session_jwt=$jwt");

my ($rc, $out) = nginx_cmd($dir);
is($rc, 0, "nginx starts") or diag($out);

{
    local $StytchTest::WaitSeconds = 5;
    is(wait_status(200, '/p/index.html', @cookie), 200, "keys loaded");
}

my $wrk = open(my $load, '-|', 'wrk', '-t1', '-c16', '-d5s',
               '-s', "$dir/load.lua", "http://127.0.0.1:$port/")
    or die "wrk: $!";

sleep 0.5;
for (1 .. 5) {
    my ($r, $o) = nginx_cmd($dir, '-s', 'reload');
    is($r, 0, "reload $_") or diag($o);
    sleep 0.7;
}

my $report = do { local $/; <$load> };
close $load;
my ($requests, $errors) = $report =~ /^RESULT (\d+) (\d+)/m;
ok(defined $requests && $requests > 1000, "wrk kept being answered ("
   . ($requests // 'none') . " requests)") or diag($report);
is($errors, 0, "no answer was an error status");
is(scalar http_get('/p/index.html', @cookie), 200, "still serving after the reloads");

nginx_cmd($dir, '-s', 'quit');
for (1 .. 50) {
    last unless -e "$dir/logs/nginx.pid";
    sleep 0.1;
}
ok(!-e "$dir/logs/nginx.pid", "nginx stops");

my @bad = log_lines("$dir/logs/error.log",
                    qr/\[(?:error|alert|crit|emerg)\]|exited on signal|worker process \d+ exited with code [^0]/);
is(scalar(@bad), 0, "no error, alert, crash or failed worker in error.log")
    or diag(join '', @bad[0 .. ($#bad < 9 ? $#bad : 9)]);

done_testing();
