# The key set in the zone across refreshes and shutdowns:
#  - Stytch's answers differ from fetch to fetch (a new request_id each
#    time); the same keys fetched again are not published again, so the
#    workers neither parse them again nor forget the tokens they verified;
#  - a worker that shuts down (a reload) still hands the keys another
#    worker fetched to the requests that wait for them, instead of letting
#    them wait until stytch_fetch_timeout runs out.
# This file drives nginx itself, as t/052-reload-schedule.t does.
use strict;
use warnings;

use Test::More;
use StytchTest;

use Time::HiRes qw( time sleep );

my ($dir) = own_nginx('keys-steady');

sub write_conf {
    my ($refresh) = @_;
    own_nginx_conf($dir, workers => 2, connections => 256,
                   listen => 'reuseport', http => <<"EOC", server => <<'EOC');
    stytch_jwks_refresh $refresh;
    stytch_jwks_cooldown 1s;
    stytch_fetch_timeout 8s;
    stytch_fallback off;
EOC
        location = /status {
            stytch_status;
        }
        location /p/ {
            stytch_auth on;
            root html;
        }
EOC
}

reset_emulator();
write_conf('1s');

my ($rc, $out) = nginx_cmd($dir);
is($rc, 0, 'nginx starts with a 1-second key refresh') or diag($out);
ok(wait_until(sub { nginx_pid("$dir/logs/nginx.pid") }), 'nginx wrote its pid')
    or BAIL_OUT('no nginx');

wait_keys('/p/index.html');
my $jwks = counters()->{jwks};
ok(wait_until(sub { counters()->{jwks} >= $jwks + 4 }),
   'the key set is fetched every second');
is(nginx_status()->{projects}[0]{keys_generation}, 1,
   'the same keys, fetched again with other request_ids, are published once');

# A rotation within a slow fetch, and a reload while requests wait for it.

write_conf('10m');
($rc, $out) = nginx_cmd($dir, '-s', 'reload');
is($rc, 0, 'reload to a 10-minute refresh') or diag($out);
sleep 1.5;    # the old workers are gone, the cooldown is over

rotate_keys();
my $jwt = mint_jwt();
fault(endpoint => 'jwks', latency_ms => 3000);

my $sent = time;
my @conns = map { start_get('/p/index.html', Authorization => "Bearer $jwt") }
            1 .. 12;
sleep 0.3;    # the key fetch has started in one of the two workers
($rc, $out) = nginx_cmd($dir, '-s', 'reload');
is($rc, 0, 'reload while requests wait for the new key') or diag($out);

my @answers = read_answers(@conns);
my $took = time - $sent;
clear_faults();

is_deeply([map { $_->{status} } @answers], [(200) x 12],
          'every request that waited for the new key is served');
cmp_ok($took, '<', 6.5,
       'within a second of the slow fetch, not at stytch_fetch_timeout')
    or diag(sprintf 'the last answer came after %.1f s', $took);

my @bad = log_lines("$dir/logs/error.log",
                    qr/\[(?:error|alert|crit|emerg)\]|exited on signal/);
is_deeply(\@bad, [], 'no error, alert, crit, emerg or crash in error.log')
    or diag(@bad);

done_testing();
