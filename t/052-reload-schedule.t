# A reload that shortens stytch_jwks_refresh or stytch_policy_refresh takes
# effect at once: when a document is due is computed from its last fetch
# and the new interval, not from a schedule the old workers left in the
# zone.  This file drives nginx itself, as t/050-reload.t does.
use strict;
use warnings;

use Test::More;
use StytchTest;


my ($dir) = own_nginx('schedule');

sub write_conf {
    my ($refresh) = @_;
    own_nginx_conf($dir, http => <<"EOC", server => <<'EOC');
    stytch_jwks_refresh $refresh;
    stytch_policy_refresh $refresh;
    stytch_fallback off;
EOC
        location /p/ {
            stytch_auth on;
            root html;
        }
EOC
}

write_conf('10m');
reset_emulator();

my ($rc, $out) = nginx_cmd($dir);
is($rc, 0, 'nginx starts with a 10-minute refresh') or diag($out);
ok(wait_until(sub { nginx_pid("$dir/logs/nginx.pid") }), 'nginx wrote its pid')
    or BAIL_OUT('no nginx');
ok(wait_until(sub { counters()->{jwks} >= 1 && counters()->{policy} >= 1 }),
   'the key set and the policy are fetched at start');

reset_emulator();
write_conf('1s');
($rc, $out) = nginx_cmd($dir, '-s', 'reload');
is($rc, 0, 'reload to a 1-second refresh') or diag($out);

ok(wait_until(sub { counters()->{jwks} >= 2 }),
   'the key set is fetched again every second after the reload');
ok(counters()->{policy} >= 2, 'and so is the policy');

my @bad = log_lines("$dir/logs/error.log",
                    qr/\[(?:error|alert|crit|emerg)\]|exited on signal/);
is_deeply(\@bad, [], 'no error, alert, crit, emerg or crash in error.log')
    or diag(@bad);

done_testing();
