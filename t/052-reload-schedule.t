# A reload that shortens stytch_jwks_refresh or stytch_policy_refresh takes
# effect at once: when a document is due is computed from its last fetch
# and the new interval, not from a schedule the old workers left in the
# zone.  This file drives nginx itself, as t/050-reload.t does.
use strict;
use warnings;

use Test::More;
use StytchTest;

use File::Temp qw( tempdir );
use IO::Socket::INET ();
use Time::HiRes qw( sleep time );

my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
my $module = $StytchTest::Module;
my $dir = tempdir('stytch-schedule-XXXXXX', TMPDIR => 1, CLEANUP => 1);
mkdir "$dir/$_" for qw( conf logs html );

my $port = do {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, ReuseAddr => 1) or die $!;
    my $p = $s->sockport;
    close $s;
    $p;
};

sub write_conf {
    my ($refresh) = @_;
    open my $f, '>', "$dir/conf/nginx.conf" or die $!;
    print $f <<"EOC";
load_module $module;
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
    close $f;
}

sub nginx_cmd {
    my $out = `$nginx -p $dir/ -c conf/nginx.conf -e logs/error.log @_ 2>&1`;
    return ($? >> 8, $out);
}

sub master_pid {
    open my $f, '<', "$dir/logs/nginx.pid" or return undef;
    my $pid = <$f>;
    chomp $pid if defined $pid;
    return $pid;
}

my $master;
END {
    if ($master && kill 0, $master) {
        kill 'QUIT', $master;
        my $deadline = time + 5;
        sleep 0.05 while kill(0, $master) && time < $deadline;
        kill 'KILL', $master if kill 0, $master;
    }
}

sub wait_for {
    my ($what, $cond) = @_;
    my $deadline = time + 10;
    until ($cond->()) {
        return 0 if time > $deadline;
        sleep 0.1;
    }
    return 1;
}

write_conf('10m');
reset_emulator();

my ($rc, $out) = nginx_cmd();
is($rc, 0, 'nginx starts with a 10-minute refresh') or diag($out);
ok(wait_for('pid', sub { $master = master_pid() }), 'nginx wrote its pid')
    or BAIL_OUT('no nginx');
ok(wait_for('fetch', sub { counters()->{jwks} >= 1 && counters()->{policy} >= 1 }),
   'the key set and the policy are fetched at start');

reset_emulator();
write_conf('1s');
($rc, $out) = nginx_cmd('-s', 'reload');
is($rc, 0, 'reload to a 1-second refresh') or diag($out);

ok(wait_for('refetch', sub { counters()->{jwks} >= 2 }),
   'the key set is fetched again every second after the reload');
ok(counters()->{policy} >= 2, 'and so is the policy');

done_testing();
