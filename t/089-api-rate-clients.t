# stytch_api_rate keeps a budget for each client besides the project's:
# one client's flood of made-up session tokens is stopped at its own share
# (a tenth of the rate unless "client=" says), and the others' requests
# that need the API still get their calls.  The client is the address
# ($binary_remote_addr, here set by the realip module) or the value of
# stytch_api_client.
use Test::Nginx::Socket 'no_plan';
use StytchTest;

no_shuffle();
check_accum_error_log();

our $live = create_session();
our $now = time();
our @expired = map { mint_jwt(session_id => $live->{session_id},
                              iat => $now - 3600 - 10 * $_) } 1 .. 8;

# N made-up session tokens from one client: how many got 503 with
# api_calls_limited
sub main::flood {
    my ($n, @headers) = @_;
    my $limited = 0;
    for my $i (1 .. $n) {
        my $r = StytchTest::http_answer(GET => '/p/index.html', @headers,
            Cookie => "stytch_session=made-up-token-$i-" . int(rand(1e9)));
        $limited++ if $r->{status} == 503
                      && ($r->{headers}{'x-error'} // '') eq 'api_calls_limited';
    }
    return $limited;
}

run_tests();

__DATA__

=== TEST 1: by address, the default share (a tenth of 20r/s): a flood of 30 made-up tokens from one client leaves another client's expired JWTs their calls
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
--- config
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Real-IP;

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
    }

    location /p/ {
        stytch_auth on;
        stytch_api_rate 20r/s;
        root html;
        add_header X-Error $stytch_auth_error always;
        add_header X-Source $stytch_auth_source always;
    }
--- user_files
>>> p/index.html
protected content
--- init
StytchTest::reset_emulator();
my $limited = main::flood(30, 'X-Real-IP' => '192.0.2.1');
Test::More::cmp_ok($limited, '>=', 25, "TEST 1: the flooding client is stopped at its share ($limited of 30)");
--- more_headers eval
[map { "X-Real-IP: 192.0.2.2\nAuthorization: Bearer $::expired[$_]" } 5 .. 6]
--- request eval
["GET /p/index.html", "GET /p/index.html"]
--- error_code eval
[200, 200]
--- response_headers eval
["X-Source: api", "X-Source: api"]
--- error_log eval
qr/\[warn\] .*stytch: "stytch_api_rate" of project "[^"]+" is reached for this client/
--- no_error_log
[error]
[alert]
[crit]
[emerg]



=== TEST 2: by address, client=5r/s of 10r/s: a flood of 30 made-up tokens from one client takes its share (client=5r/s) of 10r/s; another client's expired JWTs are still asked about
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
--- config
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Real-IP;

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
    }

    location = /status {
        stytch_status;
    }

    location /p/ {
        stytch_auth on;
        stytch_api_rate 10r/s client=5r/s;
        root html;
        add_header X-Error $stytch_auth_error always;
        add_header X-Source $stytch_auth_source always;
    }
--- user_files
>>> p/index.html
protected content
--- init
StytchTest::reset_emulator();
my $limited = main::flood(30, 'X-Real-IP' => '192.0.2.1');
Test::More::cmp_ok($limited, '>=', 20, "TEST 2: the flooding client is stopped at its share ($limited of 30)");
--- more_headers eval
[map { "X-Real-IP: 192.0.2.2\nAuthorization: Bearer $::expired[$_]" } 0 .. 2]
--- request eval
["GET /p/index.html", "GET /p/index.html", "GET /p/index.html"]
--- error_code eval
[200, 200, 200]
--- response_headers eval
["X-Source: api", "X-Source: api", "X-Source: api"]
--- error_log eval
qr/\[warn\] .*stytch: "stytch_api_rate" of project "[^"]+" is reached for this client/
--- no_error_log
[error]
[alert]
[crit]
[emerg]



=== TEST 3: by stytch_api_client, with the default share (a tenth of 20r/s): one tenant's flood leaves the other tenant its calls
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
    stytch_api_client $http_x_tenant;
--- config
    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
    }

    location /p/ {
        stytch_auth on;
        stytch_api_rate 20r/s;
        root html;
        add_header X-Error $stytch_auth_error always;
        add_header X-Source $stytch_auth_source always;
    }
--- user_files
>>> p/index.html
protected content
--- init
StytchTest::reset_emulator();
my $limited = main::flood(30, 'X-Tenant' => 'flood');
Test::More::cmp_ok($limited, '>=', 25, "TEST 3: the flooding tenant is stopped at its share ($limited of 30)");
my $calls = StytchTest::counters()->{authenticate};
Test::More::cmp_ok($calls, '<=', 5, "TEST 3: and made few calls ($calls)");
--- more_headers eval
[map { "X-Tenant: other\nAuthorization: Bearer $::expired[$_]" } 3 .. 4]
--- request eval
["GET /p/index.html", "GET /p/index.html"]
--- error_code eval
[200, 200]
--- response_headers eval
["X-Source: api", "X-Source: api"]
--- no_error_log
[error]
[alert]
[crit]
[emerg]



=== TEST 4: a client rate above the rate, or not a rate, is refused
--- config
    location /p/ {
        stytch_auth on;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_secret $TEST_NGINX_STYTCH_SECRET;
        stytch_api_url $TEST_NGINX_STYTCH_URL;
        stytch_api_rate 5r/s client=10r/s;
        root html;
    }
--- must_die
--- error_log
[emerg]
the client rate "10r/s" in "stytch_api_rate" is above the rate "5r/s"
--- no_error_log
[error]
[alert]
[crit]
