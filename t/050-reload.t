# "nginx -s reload" keeps the zone and its keys: the new workers verify at
# once, without a new JWKS fetch.  A new zone size starts clean.  The test
# runner has no HUP mode, so this file drives nginx itself.
use strict;
use warnings;

use Test::More;
use StytchTest;

use File::Temp qw( tempdir );
use HTTP::Tiny ();
use IO::Socket::INET ();
use Time::HiRes qw( sleep time );

my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
my $module = $StytchTest::Module;
my $dir = tempdir('stytch-reload-XXXXXX', TMPDIR => 1, CLEANUP => 1);
mkdir "$dir/$_" for qw( conf logs html html/p );

my $port = do {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, ReuseAddr => 1) or die $!;
    my $p = $s->sockport;
    close $s;
    $p;
};

sub write_file {
    my ($name, $text) = @_;
    open my $f, '>', "$dir/$name" or die "$name: $!";
    print $f $text;
    close $f;
}

sub write_conf {
    my ($zone_size) = @_;
    write_file('conf/nginx.conf', <<"EOC");
load_module $module;
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

sub nginx_cmd {
    my @args = @_;
    my $out = `$nginx -p $dir/ -c conf/nginx.conf -e logs/error.log @args 2>&1`;
    return ($? >> 8, $out);
}

sub master_pid {
    open my $f, '<', "$dir/logs/nginx.pid" or return undef;
    my $pid = <$f>;
    chomp $pid if defined $pid;
    return $pid;
}

sub workers_of {
    my ($master) = @_;
    my @pids = map { /(\d+)/ ? $1 : () } `ps -o pid= --ppid $master`;
    return sort { $a <=> $b } @pids;
}

my $ua = HTTP::Tiny->new(timeout => 3);
sub get {
    my ($jwt) = @_;
    return $ua->get("http://127.0.0.1:$port/p/index.html",
                    { headers => { Authorization => "Bearer $jwt" } });
}

my $master;
END {
    # always stop the nginx this file started
    if ($master && kill 0, $master) {
        kill 'QUIT', $master;
        my $deadline = time + 5;
        sleep 0.05 while kill(0, $master) && time < $deadline;
        kill 'KILL', $master if kill 0, $master;
    }
}

write_file('html/p/index.html', "protected content\n");
write_conf('4m');
reset_emulator();

my ($rc, $out) = nginx_cmd();
is($rc, 0, 'nginx starts') or diag($out);
my $deadline = time + 10;
sleep 0.05 until ($master = master_pid()) || time > $deadline;
ok($master, 'nginx wrote its pid') or BAIL_OUT('no nginx');

# the first fetch is asynchronous: poll with a token of its own
my $st;
my $poll = mint_jwt();
$deadline = time + 10;
while (time < $deadline) {
    $st = get($poll)->{status};
    last if $st == 200;
    sleep 0.05;
}
is($st, 200, 'the keys were loaded');
is(counters()->{jwks}, 1, 'one JWKS fetch for two workers');

# reload with the same zone: the new workers have the keys at once
my @old = workers_of($master);
is(scalar @old, 2, 'two workers before the reload');

($rc, $out) = nginx_cmd('-s', 'reload');
is($rc, 0, 'nginx -s reload') or diag($out);

my @new;
$deadline = time + 10;
while (time < $deadline) {
    my %old = map { $_ => 1 } @old;
    @new = grep { !$old{$_} } workers_of($master);
    last if @new == 2 && !grep { kill 0, $_ } @old;
    sleep 0.05;
}
is(scalar @new, 2, 'two new workers after the reload');

# tokens these workers never saw: verified with the keys from the zone
my @statuses = map { get(mint_jwt())->{status} } 1 .. 6;
is("@statuses", join(' ', (200) x 6),
   'the new workers verify at once, no 503 for want of keys');
sleep 1.5;    # a first tick that would fetch has had time to
is(counters()->{jwks}, 1, 'no JWKS fetch after the reload');

# a new zone size starts clean: the keys are fetched again
write_conf('8m');
($rc, $out) = nginx_cmd('-s', 'reload');
is($rc, 0, 'nginx -s reload with a new zone size') or diag($out);
$deadline = time + 10;
sleep 0.05 while counters()->{jwks} < 2 && time < $deadline;
is(counters()->{jwks}, 2, 'a new zone fetches the keys again');

$deadline = time + 10;
$poll = mint_jwt();
while (time < $deadline) {
    $st = get($poll)->{status};
    last if $st == 200;
    sleep 0.05;
}
is($st, 200, 'tokens verify after the zone change');

open my $log, '<', "$dir/logs/error.log" or die $!;
my @bad = grep { /\[(alert|crit|emerg)\]/ || /signal \d+ \(SIG(SEGV|ABRT|BUS)\)/ } <$log>;
is_deeply(\@bad, [], 'no alert, crit, emerg or crash in error.log')
    or diag(@bad);

done_testing();
