# Mistakes that are easy to make with the module, each caught at "nginx -t"
# when the configuration shows it, else named with its fix in the log:
# an API location that proxies to an IP address over https, a TLS failure
# of the API call, an API location that was never declared, a proxy_pass
# without its trailing slash, a clock behind the tokens' or ahead of
# Stytch's, an M2M token at a session location, and a "return" in a
# protected location.
use Test::Nginx::Socket 'no_plan';
use StytchTest 'tls';

no_shuffle();
# a block's checks of the log see all of it, start-up included, whatever
# the request
check_accum_error_log();
no_root_location();

# the module's own calls (keys, policy) trust the emulator's CA
add_block_preprocessor(sub {
    my $block = shift;
    my $http = $block->http_config;
    $block->set_value('http_config', (defined $http ? $http : '')
        . "    stytch_ssl_trusted_certificate \$TEST_NGINX_STYTCH_CERT;\n");
});

our $live = create_session();
our $expired = mint_jwt(session_id => $live->{session_id},
                        iat => time() - 3600);
our $ahead = mint_jwt(session_id => $live->{session_id},
                      iat => time() + 600);
our $m2m = StytchTest::emulator(POST => '/emulator/m2m/token',
                                { scopes => ['read:users'] })->{access_token};

run_tests();

# TEST 13 moves the emulator's clock
StytchTest::emulator(POST => "/emulator/projects/$ENV{TEST_NGINX_STYTCH_PROJECT}/settings",
                     { clock_offset => 0 });

__DATA__

=== TEST 1: proxy_pass to the API's IP address over https, verified, without proxy_ssl_name: nginx -t fails
--- config
    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_ssl_verify on;
        proxy_ssl_trusted_certificate $TEST_NGINX_STYTCH_CERT;
    }

    location /p/ {
        stytch_auth on;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_secret $TEST_NGINX_STYTCH_SECRET;
        stytch_api_url $TEST_NGINX_STYTCH_URL;
        root html;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"stytch_api_location" "\/_stytch_api" in server "localhost" proxies to the address "127\.0\.0\.1" over https with "proxy_ssl_verify on": .*set "proxy_ssl_name" in location "\/_stytch_api\/"/
--- no_error_log
[error]
[alert]
[crit]



=== TEST 1b: the same to another address than stytch_api_url's (a load balancer's): nginx -t fails too
--- config
    location /_stytch_api/ {
        internal;
        proxy_pass https://127.0.0.2:9/;
        proxy_ssl_verify on;
        proxy_ssl_trusted_certificate $TEST_NGINX_STYTCH_CERT;
    }

    location /p/ {
        stytch_auth on;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_secret $TEST_NGINX_STYTCH_SECRET;
        stytch_api_url $TEST_NGINX_STYTCH_URL;
        root html;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"stytch_api_location" "\/_stytch_api" in server "localhost" proxies to the address "127\.0\.0\.2" over https with "proxy_ssl_verify on": .*set "proxy_ssl_name" in location "\/_stytch_api\/"/
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: the same with proxy_ssl_name: it starts, and an expired JWT is renewed by the API
--- config
    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_ssl_verify on;
        proxy_ssl_trusted_certificate $TEST_NGINX_STYTCH_CERT;
        proxy_ssl_name localhost;
    }

    location /p/ {
        stytch_auth on;
        root html;
    }
--- more_headers eval
"Authorization: Bearer $::expired"
--- request
GET /p/index.html
--- error_code: 200



=== TEST 3: a certificate refused by the API call: the error line names proxy_ssl_name and proxy_ssl_trusted_certificate
--- config
    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_ssl_verify on;
        proxy_ssl_trusted_certificate $TEST_NGINX_STYTCH_CERT;
        proxy_ssl_name stytch.invalid;
    }

    location /p/ {
        stytch_auth on;
        root html;
    }
--- more_headers eval
"Authorization: Bearer $::expired"
--- request
GET /p/index.html
--- error_code: 503
--- error_log eval
qr/\[error\] .*stytch: the API call through "\/_stytch_api\/v1\/sessions\/authenticate" failed \(status 502\) before its request was sent: .*"proxy_ssl_name" .*"proxy_ssl_trusted_certificate"/
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 4: no API location, the calls fall into "location /": the message says so and shows the location to add
--- config
    location / {
        stytch_auth on;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_secret $TEST_NGINX_STYTCH_SECRET;
        stytch_api_url $TEST_NGINX_STYTCH_URL;
        root html;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"stytch_api_location" "\/_stytch_api": server "localhost" has no location for it, so its calls fall into "location \/"; add "location \/_stytch_api\/ \{ internal; proxy_pass https:\/\/127\.0\.0\.1:\d+\/; \}"/
--- no_error_log
[error]
[alert]
[crit]
which is not "internal"



=== TEST 5: proxy_pass without its trailing slash: Stytch's route_not_found names the fix
--- config
    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL;
    }

    location /p/ {
        stytch_auth on;
        root html;
    }
--- more_headers eval
"Authorization: Bearer $::expired"
--- request
GET /p/index.html
--- error_code: 500
--- error_log eval
qr/\[error\] .*stytch: the API refused the project's configuration \(404 route_not_found\): check "stytch_api_url" and "stytch_api_location": "proxy_pass" in the API location likely lacks its trailing "\/" \("proxy_pass https:\/\/api\.stytch\.com\/;"\)/
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 6: a JWT issued ahead of this server's clock: the log names stytch_leeway
--- config
    location /p/ {
        stytch_auth on;
        root html;
    }
--- init
StytchTest::wait_keys('/p/index.html');
--- more_headers eval
"Authorization: Bearer $::ahead"
--- request
GET /p/index.html
--- error_code: 200
--- error_log eval
qr/\[warn\] .*stytch: a JWT of project "[^"]+" is not valid yet .*"stytch_leeway" 0 s\): synchronize the clock \(NTP\) or raise "stytch_leeway"; the API is asked meanwhile/
--- no_error_log
[error]
[alert]
[crit]



=== TEST 7: an M2M token at a location that takes sessions: the log names stytch_accept_m2m
--- config
    location /p/ {
        stytch_auth on;
        root html;
    }
--- init
StytchTest::wait_keys('/p/index.html');
--- more_headers eval
"Authorization: Bearer $::m2m"
--- request
GET /p/index.html
--- error_code: 401
--- error_log
stytch: an M2M access token is refused: this location takes session tokens only; "stytch_accept_m2m on" takes both, "stytch_auth m2m" M2M tokens only
--- no_error_log
[error]
[alert]
[crit]



=== TEST 8: "return" in a protected location: nginx -t warns that the check never runs there, and indeed it answers without a session; the protected location beside it still asks for one
--- config
    # the mistake the warning is about: this location is what the test
    # looks at, not a protected location that it relies on
    location /r/ {
        stytch_auth on;
        return 200 "unprotected\n";
    }

    location /p/ {
        stytch_auth on;
        root html;
    }
--- request eval
["GET /p/index.html", "GET /r/"]
--- error_code eval
[401, 200]
--- response_body_like eval
["401 Authorization Required", "^unprotected\n\\z"]
--- error_log
"return" in location "/r/" of server "localhost" answers before the access phase: its "stytch_auth" check never runs
--- no_error_log
[error]
[alert]
[crit]



=== TEST 9: no warning where "return" is legitimate: a location that inherits stytch_auth, and a "return" inside "if"
--- config
    stytch_auth on;

    location /health {
        return 200 "ok\n";
    }

    location /p/ {
        stytch_auth on;
        set $unused 1;
        if ($arg_old) {
            return 404;
        }
        root html;
    }
--- request eval
["GET /p/index.html", "GET /p/index.html?old=1"]
--- error_code eval
[401, 404]
--- no_error_log
answers before the access phase
[error]
[alert]
[crit]



=== TEST 10: a refused secret from stytch_secret_file: the start log names "stytch_secret_file"
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret_file ../html/stytch-secret;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
--- config
    location = /status {
        stytch_status;
    }

    location /p/ {
        stytch_auth on;
        root html;
    }
--- user_files
>>> stytch-secret
wrong-secret-from-a-file
--- init
Test::More::ok(StytchTest::wait_until(sub { StytchTest::nginx_status()->{projects}[0]{credentials} ne 'unknown' }),
               "TEST 10: the credentials are checked at start");
--- request
GET /status
--- response_body_like: "credentials":"refused"
--- error_log eval
qr/\[error\] .*stytch: fetching the RBAC policy .* failed: the response status is 401 \(unauthorized_credentials\): check "stytch_project_id" and "stytch_secret_file"/
--- no_error_log
wrong-secret-from-a-file
[alert]
[crit]
[emerg]



=== TEST 11: a consumer project with stytch_b2b on: stytch_status and the start log say which, naming stytch_b2b
--- http_config
    stytch_b2b on;
--- config
    location = /status {
        stytch_status;
    }

    location /p/ {
        stytch_auth on;
        root html;
    }
--- init
Test::More::ok(StytchTest::wait_until(sub { StytchTest::nginx_status()->{projects}[0]{credentials} ne 'unknown' }),
               "TEST 11: the credentials are checked at start");
--- request
GET /status
--- response_body_like: "credentials":"refused","credentials_error":"invalid_b2b_endpoint: a consumer project with stytch_b2b on"
--- error_log eval
qr/\[error\] .*fetching the RBAC policy of project .* failed: the response status is 400 \(invalid_b2b_endpoint\): check "stytch_b2b": the project is a consumer one, for which "stytch_b2b" must be off/
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 12: a B2B project with stytch_b2b off: the same, the other way round
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_B2B_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_B2B_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
--- config
    location = /status {
        stytch_status;
    }

    location /p/ {
        stytch_auth on;
        root html;
    }
--- init
Test::More::ok(StytchTest::wait_until(sub { StytchTest::nginx_status()->{projects}[0]{credentials} ne 'unknown' }),
               "TEST 12: the credentials are checked at start");
--- request
GET /status
--- response_body_like: "credentials":"refused","credentials_error":"invalid_consumer_endpoint: a B2B project with stytch_b2b off"
--- error_log eval
qr/\[error\] .*fetching the .* of project .* failed: the response status is 400 \(invalid_consumer_endpoint\): check "stytch_b2b": the project is a B2B one, for which "stytch_b2b on" is needed/
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 13: a clock ahead of Stytch's by more than a JWT's life: the JWT the API just minted has expired here, and the log names stytch_leeway
--- config
    location /p/ {
        stytch_auth on;
        root html;
    }
--- init
StytchTest::emulator(POST => "/emulator/projects/$ENV{TEST_NGINX_STYTCH_PROJECT}/settings",
                     { clock_offset => -900 });
--- more_headers eval
"Cookie: stytch_session=$::live->{session_token}"
--- request
GET /p/index.html
--- error_code: 200
--- error_log eval
qr/\[warn\] .*stytch: the JWT that Stytch has just minted for a session of project "[^"]+" expired 6\d\d s ago by this server's clock: the clock is ahead of Stytch's, and every JWT is sent to the API; synchronize the clock \(NTP\) or raise "stytch_leeway" \(0 s\)/
--- no_error_log
[error]
[alert]
[crit]
