# The key set: one fetch for all the workers, a JWKS endpoint down at
# start (503 until it is back, one log line per change of state), a
# failing endpoint that keeps the last good keys, a key rotation fetched
# on an unknown kid (within stytch_jwks_cooldown), retired keys that stop
# verifying, and static keys from stytch_jwks_file.  Two workers.
use Test::Nginx::Socket;
use StytchTest;

use Time::HiRes ();

master_on();
workers(2);
repeat_each(1);
no_shuffle();

our $S = create_session();
our $Project = $ENV{TEST_NGINX_STYTCH_PROJECT};
our $Jwks = jwks_json();
reset_emulator();    # that GET counted as a JWKS fetch

plan tests => repeat_each() * 147;

run_tests();

__DATA__

=== TEST 1: two workers, many requests, one JWKS fetch (first block: the emulator's counters start at 0)
--- http_config
    stytch_fallback off;
--- config
    location /p/ {
        stytch_auth on;
        root html;
    }

    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }
--- init
StytchTest::wait_keys('/p/index.html');
--- request eval
[("GET /p/index.html") x 6, "GET /counters"]
--- more_headers eval
[("Authorization: Bearer $main::S->{session_jwt}") x 6, ""]
--- error_code eval
[(200) x 7]
--- response_body_like eval
[(qr/^protected content$/) x 6, qr/"jwks":1,/]



=== TEST 2: the JWKS endpoint down at start: 503 with Retry-After, one error line
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/stytch;
    stytch_fallback off;
    stytch_jwks_refresh 1s;
--- config
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Result $stytch_auth_result always;
    }

    # Stytch, down while html/jwks-down exists
    location /stytch/ {
        if (-f $document_root/jwks-down) {
            return 500;
        }
        proxy_pass $TEST_NGINX_STYTCH_URL/;
    }
--- user_files
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
--- grep_error_log eval: qr/\[error\] .*?\Kfetching the keys of project "[^"]+" from "[^"]+" failed: the response status is 500; no keys yet/
--- grep_error_log_out eval
qr/\A(fetching the keys of project "\Q$main::Project\E" from "[^"]+" failed: the response status is 500; no keys yet\n)\z/
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 3: down at start, then back: 200 after the backoff, one error line, then a "fetched again" notice
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/stytch;
    stytch_fallback off;
    stytch_jwks_refresh 1s;
--- config
    location /p/ {
        stytch_auth on;
        root html;
    }

    # Stytch, down while html/jwks-down exists
    location /stytch/ {
        if (-f $document_root/jwks-down) {
            return 500;
        }
        proxy_pass $TEST_NGINX_STYTCH_URL/;
    }
--- user_files
>>> jwks-down
--- init
Time::HiRes::sleep(2.5);
Test::More::is(StytchTest::http_get('/p/index.html', Authorization => 'Bearer ' . StytchTest::mint_jwt()),
               503, "TEST 3: no keys while Stytch is down");
unlink(html_dir() . '/jwks-down') or die "unlink: $!";
StytchTest::wait_keys('/p/index.html');
--- request
GET /p/index.html
--- more_headers eval
"Authorization: Bearer $main::S->{session_jwt}"
--- error_code: 200
--- response_body
protected content
--- grep_error_log eval: qr/\[(?:error|notice)\] .*?\K(?:fetching the keys of project[^,]*|keys of project "[^"]+" fetched again)/
--- grep_error_log_out eval
qr/\Afetching the keys of project "[^"]+" from "[^"]+" failed: the response status is 500; no keys yet\nkeys of project "\Q$main::Project\E" fetched again\n\z/
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 4: the endpoint fails after the keys were loaded: the last good keys are kept, with one error line
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/stytch;
    stytch_fallback off;
    stytch_jwks_refresh 1s;
--- config
    location /p/ {
        stytch_auth on;
        root html;
    }

    # Stytch, down while html/jwks-down exists
    location /stytch/ {
        if (-f $document_root/jwks-down) {
            return 500;
        }
        proxy_pass $TEST_NGINX_STYTCH_URL/;
    }
--- init
StytchTest::wait_keys('/p/index.html');
StytchTest::write_file(html_dir() . '/jwks-down', '');
Time::HiRes::sleep(3.5);
--- request
GET /p/index.html
--- more_headers eval
"Authorization: Bearer $main::S->{session_jwt}"
--- error_code: 200
--- response_body
protected content
--- grep_error_log eval: qr/\[error\] .*?\Kfetching the keys of project .*? failed: [^;]*; [a-z ]+/
--- grep_error_log_out eval
qr/\Afetching the keys of project "[^"]+" from "[^"]+" failed: the response status is 500; keeping the last good keys\n\z/
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 5: the endpoint unreachable (connection refused) is "down" too, and nginx still starts
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url http://127.0.0.1:9;
    stytch_fallback off;
--- config
    location /p/ {
        stytch_auth on;
        root html;
    }
--- init
Time::HiRes::sleep(0.3);
--- request
GET /p/index.html
--- more_headers eval
"Authorization: Bearer $main::S->{session_jwt}"
--- error_code: 503
--- response_headers
Retry-After: 5
--- error_log eval
qr{\[error\] .*stytch: fetching the keys of project "[^"]+" from "http://127\.0\.0\.1:9/[^"]+" failed: .*; no keys yet}
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 6: a key rotation: the new key's token is accepted after one fetch (unknown kid, cooldown 1s), the old key's token still is
--- http_config
    stytch_fallback off;
    stytch_jwks_cooldown 1s;
--- config
    location /p/ {
        stytch_auth on;
        root html;
    }

    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }
--- init
my $old = StytchTest::mint_jwt();
Test::More::is(StytchTest::wait_status(200, '/p/index.html', Authorization => "Bearer $old"),
               200, "TEST 6: the keys are loaded");
Time::HiRes::sleep(1.2);
StytchTest::rotate_keys();
StytchTest::reset_emulator();
my $new = StytchTest::mint_jwt();
Test::More::is(StytchTest::wait_status(200, '/p/index.html', Authorization => "Bearer $new"),
               200, "TEST 6: the new key is fetched");
Test::More::is(StytchTest::http_get('/p/index.html', Authorization => "Bearer $new"),
               200, "TEST 6: the new key's token");
Test::More::is(StytchTest::http_get('/p/index.html', Authorization => "Bearer $old"),
               200, "TEST 6: the old key's token");
--- request
GET /counters
--- response_body_like: "jwks":1,



=== TEST 7: unknown kids within the cooldown make no fetch
--- http_config
    stytch_fallback off;
    stytch_jwks_cooldown 1h;
--- config
    location /p/ {
        stytch_auth on;
        root html;
    }

    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }
--- init
StytchTest::wait_keys('/p/index.html');
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
    stytch_fallback off;
    stytch_jwks_refresh 1s;
--- config
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Result $stytch_auth_result always;
    }
--- init
my $old = StytchTest::mint_jwt();
# verified, then cached, in both workers
for (1 .. 3) {
    Test::More::is(StytchTest::wait_status(200, '/p/index.html', Authorization => "Bearer $old"),
                   200, "TEST 8: the old key's token verifies");
}
StytchTest::rotate_keys();
my $keys = StytchTest::list_keys();
StytchTest::retire_key($_) for grep { $_ ne $keys->{signing} } @{ $keys->{served} };
my $new = StytchTest::mint_jwt();
Test::More::is(StytchTest::wait_status(200, '/p/index.html', Authorization => "Bearer $new"),
               200, "TEST 8: the new key is fetched");
Test::More::is(StytchTest::wait_status(401, '/p/index.html', Authorization => "Bearer $old"),
               401, "TEST 8: the retired key's token is refused");
Test::More::is(StytchTest::http_get('/p/index.html', Authorization => "Bearer $old"),
               401, "TEST 8: the retired key's token, again");
Test::More::is(StytchTest::http_get('/p/index.html', Authorization => "Bearer $new"),
               200, "TEST 8: the new key's token");
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
    stytch_fallback off;
    stytch_jwks_file ../html/keys.json;
--- config
    location /p/ {
        stytch_auth on;
        root html;
    }

    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }
--- user_files eval
">>> keys.json
$main::Jwks
"
--- init
StytchTest::reset_emulator();
Time::HiRes::sleep(1.2);
--- request eval
["GET /p/index.html", "GET /p/index.html", "GET /counters"]
--- more_headers eval
["Authorization: Bearer " . StytchTest::mint_jwt(key => StytchTest::list_keys()->{served}[0]),
 "Authorization: Bearer " . StytchTest::mint_jwt(key => 'rogue'),
 ""]
--- error_code eval
[200, 401, 200]
--- response_body_like eval
[qr/^protected content$/, qr/^(?!protected)/, qr/"jwks":0,/]
