# Keys and timers: one fetch for all workers, keys kept through a failing
# endpoint, recovery with one log line per state change, rotation and
# retirement, static keys from stytch_jwks_file.
use Test::Nginx::Socket;
use StytchTest;

use HTTP::Tiny ();
use Time::HiRes ();

master_on();
workers(2);
repeat_each(1);
no_shuffle();

# GET PATH with a token until the status is WANT (or, without WANT, until
# it is not 503); dies after 10 s.  Called from "--- init".
sub main::poll {
    my ($path, $jwt, $want) = @_;
    my $ua = HTTP::Tiny->new(timeout => 2);
    my $url = 'http://127.0.0.1:' . server_port_for_client() . $path;
    my $deadline = Time::HiRes::time() + 10;
    my $st;
    while (Time::HiRes::time() < $deadline) {
        $st = $ua->get($url, { headers => { Authorization => "Bearer $jwt" } })->{status};
        return $st if defined $want ? $st == $want : ($st != 503 && $st != 599);
        Time::HiRes::sleep(0.05);
    }
    die "$path: still $st after 10 s\n";
}

sub main::wait_keys { main::poll($_[0], StytchTest::mint_jwt()) }

sub main::touch { open my $f, '>', html_dir() . "/$_[0]" or die "$_[0]: $!"; close $f }

our $S = create_session();
our $Project = $ENV{TEST_NGINX_STYTCH_PROJECT};
our $Jwks = emulator_raw(GET => "/v1/sessions/jwks/$Project")->{content};
reset_emulator();    # that GET counted as a JWKS fetch

# The status of one GET with a token ("--- init" checks with it what the
# request sections cannot: tokens of keys made during the block).
sub main::get {
    my ($path, $jwt) = @_;
    my $url = 'http://127.0.0.1:' . server_port_for_client() . $path;
    return HTTP::Tiny->new(timeout => 5)->get($url,
        { headers => { Authorization => "Bearer $jwt" } })->{status};
}

our $HttpConfig = <<'_EOC_';
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_fallback off;
_EOC_

# /stytch/ stands for Stytch: it proxies to the emulator unless the file
# html/jwks-down exists, then it answers 500.
our $Config = <<'_EOC_';
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Result $stytch_auth_result always;
    }
    location /stytch/ {
        if (-f $document_root/jwks-down) {
            return 500;
        }
        proxy_pass $TEST_NGINX_STYTCH_URL/;
    }
    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', $HttpConfig)
        unless defined $block->http_config;
    $block->set_value('config', $Config) unless defined $block->config;
    $block->set_value('user_files', ">>> p/index.html\nprotected content\n")
        unless defined $block->user_files;
});

plan tests => repeat_each() * 69;

run_tests();

__DATA__

=== TEST 1: two workers, many requests, one JWKS fetch (first block: the emulator's counters start at 0)
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_fallback off;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
--- init
main::wait_keys('/p/index.html');
--- request eval
[("GET /p/index.html") x 6, "GET /counters"]
--- more_headers eval
[("Authorization: Bearer $main::S->{session_jwt}") x 6, ""]
--- error_code eval
[(200) x 7]
--- response_body_like eval
[(qr/^protected content$/) x 6, qr/"jwks":1,/]
--- no_error_log
[error]
[alert]



=== TEST 2: the JWKS endpoint down at start: 503 with Retry-After, one error line
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_fallback off;
    stytch_api_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/stytch;
    stytch_jwks_refresh 1s;
--- user_files
>>> p/index.html
protected content
>>> jwks-down
--- init
Time::HiRes::sleep(2.5);
--- request
GET /p/index.html
--- more_headers eval
"Authorization: Bearer $main::S->{session_jwt}"
--- error_code: 503
--- response_headers
Retry-After: 5
X-Result: no_keys
--- response_body_unlike: protected content
--- grep_error_log eval: qr/fetching the keys of project "[^"]+" from "[^"]+" failed: the response status is 500; no keys yet/
--- grep_error_log_out eval
qr/\A(fetching the keys of project "\Q$main::Project\E" from "[^"]+" failed: the response status is 500; no keys yet\n)\z/



=== TEST 3: down at start, then back: 200 after the backoff, one error line, then a "fetched again" notice
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_fallback off;
    stytch_api_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/stytch;
    stytch_jwks_refresh 1s;
--- user_files
>>> p/index.html
protected content
>>> jwks-down
--- init
Time::HiRes::sleep(2.5);
my $st = main::poll('/p/index.html', StytchTest::mint_jwt(), 503);
unlink(html_dir() . '/jwks-down') or die "unlink: $!";
main::wait_keys('/p/index.html');
--- request
GET /p/index.html
--- more_headers eval
"Authorization: Bearer $main::S->{session_jwt}"
--- error_code: 200
--- response_body
protected content
--- grep_error_log eval: qr/fetching the keys of project[^,]*|keys of project "[^"]+" fetched again/
--- grep_error_log_out eval
qr/\Afetching the keys of project "[^"]+" from "[^"]+" failed: the response status is 500; no keys yet\nkeys of project "\Q$main::Project\E" fetched again\n\z/



=== TEST 4: the endpoint fails after the keys were loaded: the last good keys are kept
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_fallback off;
    stytch_api_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/stytch;
    stytch_jwks_refresh 1s;
--- init
main::wait_keys('/p/index.html');
main::touch('jwks-down');
Time::HiRes::sleep(3.5);
--- request
GET /p/index.html
--- more_headers eval
"Authorization: Bearer $main::S->{session_jwt}"
--- error_code: 200
--- response_body
protected content
--- grep_error_log eval: qr/fetching the keys of project .*? failed: [^;]*; [a-z ]+/
--- grep_error_log_out eval
qr/\Afetching the keys of project "[^"]+" from "[^"]+" failed: the response status is 500; keeping the last good keys\n\z/



=== TEST 5: the endpoint unreachable (connection refused) is "down" too, and nginx still starts
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_fallback off;
    stytch_api_url http://127.0.0.1:9;
--- init
Time::HiRes::sleep(0.3);
--- request
GET /p/index.html
--- more_headers eval
"Authorization: Bearer $main::S->{session_jwt}"
--- error_code: 503
--- response_headers
Retry-After: 5
--- error_log
fetching the keys of project



=== TEST 6: a key rotation: the new key's token is accepted after one fetch (unknown kid, cooldown 1s), the old key's token still is
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_fallback off;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
    stytch_jwks_cooldown 1s;
--- init
my $old = StytchTest::mint_jwt();
main::poll('/p/index.html', $old, 200);
Time::HiRes::sleep(1.2);
StytchTest::rotate_keys();
StytchTest::reset_emulator();
my $new = StytchTest::mint_jwt();
main::poll('/p/index.html', $new, 200);
Test::More::is(main::get('/p/index.html', $new), 200, "TEST 6: the new key's token");
Test::More::is(main::get('/p/index.html', $old), 200, "TEST 6: the old key's token");
--- request
GET /counters
--- response_body_like: "jwks":1,



=== TEST 7: unknown kids within the cooldown make no fetch
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_fallback off;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
    stytch_jwks_cooldown 1h;
--- init
main::wait_keys('/p/index.html');
StytchTest::reset_emulator();
--- request eval
[("GET /p/index.html") x 5, "GET /counters"]
--- more_headers eval
[(map { "Authorization: Bearer " . StytchTest::mint_jwt(key => 'rogue') } 1 .. 5), ""]
--- error_code eval
[(401) x 5, 200]
--- response_body_like eval
[(qr/^(?!protected)/) x 5, qr/"jwks":0,/]



=== TEST 8: retired keys stop verifying after the next refresh, even for a token verified (and cached) before
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_fallback off;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
    stytch_jwks_refresh 1s;
--- init
my $old = StytchTest::mint_jwt();
main::poll('/p/index.html', $old, 200);
main::poll('/p/index.html', $old, 200);
main::poll('/p/index.html', $old, 200);
StytchTest::rotate_keys();
my $keys = StytchTest::list_keys();
StytchTest::retire_key($_) for grep { $_ ne $keys->{signing} } @{ $keys->{served} };
my $new = StytchTest::mint_jwt();
main::poll('/p/index.html', $new, 200);
main::poll('/p/index.html', $old, 401);
Test::More::is(main::get('/p/index.html', $old), 401, "TEST 8: the retired key's token, again");
Test::More::is(main::get('/p/index.html', $new), 200, "TEST 8: the new key's token");
--- request
GET /p/index.html
--- more_headers eval
"Authorization: Bearer $main::S->{session_jwt}"
--- error_code: 401
--- response_headers
X-Result: unknown_key
WWW-Authenticate: Bearer realm="stytch", error="invalid_token"



=== TEST 9: stytch_jwks_file: static keys, no fetch at all
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_fallback off;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
    stytch_jwks_file ../html/keys.json;
--- user_files eval
">>> p/index.html\nprotected content\n>>> keys.json\n$main::Jwks\n"
--- init
StytchTest::reset_emulator();
Time::HiRes::sleep(1.2);
--- request eval
["GET /p/index.html", "GET /p/index.html", "GET /counters"]
--- more_headers eval
["Authorization: Bearer " . StytchTest::mint_jwt(key => (StytchTest::list_keys()->{served})->[0]), "Authorization: Bearer " . StytchTest::mint_jwt(key => 'rogue'), ""]
--- error_code eval
[200, 401, 200]
--- response_body_like eval
[qr/^protected content$/, qr/^(?!protected)/, qr/"jwks":0,/]
