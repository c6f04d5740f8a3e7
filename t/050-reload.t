# "nginx -s reload" keeps the zone and its keys: the new workers verify at
# once, without a new JWKS fetch.  A new zone size starts clean.  The test
# runner has no HUP mode, so this file drives nginx itself.
use strict;
use warnings;

use Test::More;
use StytchTest;

use Time::HiRes qw( sleep );

my ($dir) = own_nginx('reload');

sub write_conf {
    my ($zone_size) = @_;
    own_nginx_conf($dir, workers => 2, log => 'debug', http => <<"EOC",
    stytch_zone stytch $zone_size;
    stytch_fallback off;
EOC
        server => <<'EOC');
        location /p/ {
            stytch_auth on;
            root html;
        }
EOC
}

sub get_status {
    my ($jwt) = @_;
    return scalar http_get('/p/index.html', Authorization => "Bearer $jwt");
}

my $master;
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
