# stytch_status counts the RS256 signature checks made (rsa_verifications)
# and the verified-token cache's hits (jwt_cache_hits), summed over the
# workers: one JWT sent many times to several workers is verified once by
# each worker that sees it and found in its cache afterwards; distinct JWTs
# are verified once each; a forged signature costs a check every time, a
# token refused before the signature step none.  Drives nginx itself, with
# four workers and a reuseport listener, so that the connections are spread
# over them; each answer names the worker that served it.
use strict;
use warnings;

use Test::More;
use StytchTest;

use Time::HiRes qw( sleep );

my $workers = 4;
my ($dir) = own_nginx('verify-counters');

own_nginx_conf($dir, workers => $workers, connections => 256,
               listen => 'reuseport', server => <<"EOC");
        location /_stytch_api/ {
            internal;
            proxy_pass $ENV{TEST_NGINX_STYTCH_URL}/;
        }
        location /p/ {
            stytch_auth on;
            root html;
            add_header X-Worker \$pid always;
        }
        location = /status {
            stytch_status;
        }
EOC

my ($rc, $out) = nginx_cmd($dir);
is($rc, 0, "nginx starts") or diag($out);

# the keys in the zone, without a token: no counter moves
wait_zone('keys_generation');

sub project { nginx_status()->{projects}[0] }

# delta(BEFORE, AFTER): what each counter of interest grew by
sub delta {
    my ($a, $b) = @_;
    return { map { $_ => $b->{$_} - $a->{$_} }
             qw( rsa_verifications jwt_cache_hits local_accepts
                 local_rejects api_calls ) };
}

# --- one JWT, N times, over several workers

my $n = 48;
my $jwt = create_session()->{session_jwt};
my $before = project();
ok(defined $before->{rsa_verifications}, "stytch_status shows rsa_verifications")
    or diag(explain($before));

my @answers = concurrent_get($n, '/p/index.html',
                             Cookie => "stytch_session_jwt=$jwt");
my %pids;
my $ok = 0;
for (@answers) {
    $ok++ if $_->{status} == 200 && $_->{body} eq "protected content\n";
    $pids{$_->{headers}{'x-worker'}}++ if defined $_->{headers}{'x-worker'};
}
is($ok, $n, "$n requests with one JWT are all served");

my $d = delta($before, my $after = project());
my $seen = keys %pids;
diag("workers that answered: $seen; " . join(', ', map { "$_=$d->{$_}" } sort keys %$d));
ok($d->{rsa_verifications} >= 1 && $d->{rsa_verifications} <= $workers,
   "one JWT: between 1 and $workers RSA verifications ($d->{rsa_verifications})");
is($d->{rsa_verifications}, $seen,
   "one JWT: one RSA verification per worker that answered");
is($d->{jwt_cache_hits}, $n - $d->{rsa_verifications},
   "one JWT: every other request is a cache hit");
is($d->{local_accepts}, $n, "one JWT: all $n accepted locally");
is($d->{api_calls}, 0, "one JWT: no API call");

# --- M distinct JWTs, once each

my $m = 12;
my @jwts = map { create_session()->{session_jwt} } 1 .. $m;
$before = project();
$ok = 0;
for my $t (@jwts) {
    $ok++ if http_get('/p/index.html', Cookie => "stytch_session_jwt=$t") == 200;
}
is($ok, $m, "$m distinct JWTs are all served");
$d = delta($before, project());
is($d->{rsa_verifications}, $m, "distinct JWTs: one RSA verification each");
is($d->{jwt_cache_hits}, 0, "distinct JWTs: no cache hit");

# --- a forged signature is checked each time; a malformed token never

my ($h, $p, $s) = split /\./, $jwt;
substr($s, 0, 1) = substr($s, 0, 1) eq 'A' ? 'B' : 'A';
my $forged = "$h.$p.$s";
$before = project();
is(http_get('/p/index.html', Cookie => "stytch_session_jwt=$forged"), 401,
   "a forged signature is refused");
is(http_get('/p/index.html', Cookie => "stytch_session_jwt=$forged"), 401,
   "and again");
is(http_get('/p/index.html', Cookie => "stytch_session_jwt=$h.$p"), 401,
   "a token of two segments is refused");
$d = delta($before, project());
is($d->{rsa_verifications}, 2, "the forgery cost a check each time, the "
   . "malformed token none");
is($d->{jwt_cache_hits}, 0, "no refused token is a cache hit");

# --- the Prometheus form carries the same counter

my $json = project();
my ($st, $head, $body) = http_get('/status?format=prometheus');
is($st, 200, "the status in Prometheus' format");
like($body, qr/^# TYPE stytch_rsa_verifications_total counter\n
               stytch_rsa_verifications_total\{project="\Q$json->{project_id}\E"\}
               \ $json->{rsa_verifications}\n/mx,
     "stytch_rsa_verifications_total as in the JSON");

is(project()->{keys_generation}, $after->{keys_generation},
   "the key set did not change during the test (no cache emptied)");

nginx_cmd($dir, '-s', 'quit');
for (1 .. 50) {
    last unless -e "$dir/logs/nginx.pid";
    sleep 0.1;
}

my @bad = log_lines("$dir/logs/error.log",
                    qr/\[(?:alert|crit|emerg)\]|exited on signal/);
is(scalar(@bad), 0, "no alert, crash or failed worker in error.log")
    or diag(join '', @bad[0 .. ($#bad < 9 ? $#bad : 9)]);

done_testing();
