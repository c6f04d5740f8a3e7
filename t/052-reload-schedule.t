# A reload that shortens stytch_jwks_refresh or stytch_policy_refresh takes
# effect at once: when a document is due is computed from its last fetch
# and the new interval, not from a schedule the old workers left in the
# zone.  This file drives nginx itself, as t/050-reload.t does.
use strict;
use warnings;

use Test::More;
use StytchTest;

use File::Temp qw( tempdir );

# none with STYTCH_MODULE=static: the module is in the binary
my $load_module = $StytchTest::Module ? "load_module $StytchTest::Module;" : '';
my $dir = tempdir('stytch-schedule-XXXXXX', TMPDIR => 1, CLEANUP => 1);
mkdir "$dir/$_" for qw( conf logs html );

my $port = free_port();

sub write_conf {
    my ($refresh) = @_;
    write_file("$dir/conf/nginx.conf", <<"EOC");
$load_module
daemon on;
master_process on;
worker_processes 1;
user root;
pid logs/nginx.pid;
error_log logs/error.log info;
events { worker_connections 64; }
http {
    access_log off;
    stytch_project_id $ENV{TEST_NGINX_STYTCH_PROJECT};
    stytch_secret $ENV{TEST_NGINX_STYTCH_SECRET};
    stytch_api_url $ENV{TEST_NGINX_STYTCH_URL};
    stytch_jwks_refresh $refresh;
    stytch_policy_refresh $refresh;
    stytch_fallback off;
    server {
        listen 127.0.0.1:$port;
        location /p/ {
            stytch_auth on;
            root html;
        }
    }
}
EOC
}

END { stop_nginx($dir) }    # always stop the nginx this file started

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
