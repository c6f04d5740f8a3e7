# "nginx -s reload" keeps the zone and its keys: the new workers verify at
# once, without a new JWKS fetch.  A new zone size starts clean.  The test
# runner has no HUP mode, so this file drives nginx itself.
use strict;
use warnings;

use Test::More;
use StytchTest;

use File::Temp qw( tempdir );
use Time::HiRes qw( sleep );

# none with STYTCH_MODULE=static: the module is in the binary
my $load_module = $StytchTest::Module ? "load_module $StytchTest::Module;" : '';
my $dir = tempdir('stytch-reload-XXXXXX', TMPDIR => 1, CLEANUP => 1);
mkdir "$dir/$_" for qw( conf logs html html/p );

my $port = free_port();
$StytchTest::NginxPort = $port;

sub write_conf {
    my ($zone_size) = @_;
    write_file("$dir/conf/nginx.conf", <<"EOC");
$load_module
daemon on;
master_process on;
worker_processes 2;
user root;
pid logs/nginx.pid;
error_log logs/error.log debug;
events { worker_connections 64; }
http {
    access_log off;
    stytch_zone stytch $zone_size;
    stytch_project_id $ENV{TEST_NGINX_STYTCH_PROJECT};
    stytch_secret $ENV{TEST_NGINX_STYTCH_SECRET};
    stytch_api_url $ENV{TEST_NGINX_STYTCH_URL};
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

sub get_status {
    my ($jwt) = @_;
    return scalar http_get('/p/index.html', Authorization => "Bearer $jwt");
}

my $master;
END { stop_nginx($dir) }    # always stop the nginx this file started

write_file("$dir/html/p/index.html", "protected content\n");
write_conf('4m');
reset_emulator();

my ($rc, $out) = nginx_cmd($dir);
is($rc, 0, 'nginx starts') or diag($out);
ok(wait_until(sub { $master = nginx_pid("$dir/logs/nginx.pid") }), 'nginx wrote its pid')
    or BAIL_OUT('no nginx');

# the first fetch is asynchronous: wait with a token of its own
is(wait_status(200, '/p/index.html', Authorization => 'Bearer ' . mint_jwt()),
   200, 'the keys were loaded');
is(counters()->{jwks}, 1, 'one JWKS fetch for two workers');

# reload with the same zone: the new workers have the keys at once
my @old = nginx_workers($master);
is(scalar @old, 2, 'two workers before the reload');

($rc, $out) = nginx_cmd($dir, '-s', 'reload');
is($rc, 0, 'nginx -s reload') or diag($out);

my %old = map { $_ => 1 } @old;
my @new;
wait_until(sub {
    @new = grep { !$old{$_} } nginx_workers($master);
    @new == 2 && !grep { kill 0, $_ } @old;
});
is(scalar @new, 2, 'two new workers after the reload');

# tokens these workers never saw: verified with the keys from the zone
my @statuses = map { get_status(mint_jwt()) } 1 .. 6;
is("@statuses", join(' ', (200) x 6),
   'the new workers verify at once, no 503 for want of keys');
sleep 1.5;    # a first tick that would fetch has had time to
is(counters()->{jwks}, 1, 'no JWKS fetch after the reload');

# a new zone size starts clean: the keys are fetched again
write_conf('8m');
($rc, $out) = nginx_cmd($dir, '-s', 'reload');
is($rc, 0, 'nginx -s reload with a new zone size') or diag($out);
wait_until(sub { counters()->{jwks} >= 2 });
is(counters()->{jwks}, 2, 'a new zone fetches the keys again');

is(wait_status(200, '/p/index.html', Authorization => 'Bearer ' . mint_jwt()),
   200, 'tokens verify after the zone change');

my @bad = log_lines("$dir/logs/error.log",
                    qr/\[(?:error|alert|crit|emerg)\]|signal \d+ \(SIG(?:SEGV|ABRT|BUS)\)/);
is_deeply(\@bad, [], 'no error, alert, crit, emerg or crash in error.log')
    or diag(@bad);

done_testing();
