# Mistakes that used to pass "nginx -t" and show only when the first JWT
# expired: each is caught at configuration time when it can be known
# there, else logged at start, at error level, naming the directive.
use Test::Nginx::Socket 'no_plan';
use StytchTest;

no_shuffle();
no_root_location();

run_tests();

__DATA__

=== TEST 1: no API location in the server: nginx -t fails, naming the directive
--- config
    location /p/ {
        stytch_auth on;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_secret $TEST_NGINX_STYTCH_SECRET;
        root html;
    }
--- must_die
--- error_log
[emerg]
"stytch_api_location" "/_stytch_api" matches no location in server "localhost": declare an internal location with "proxy_pass" to the Stytch API
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: a misnamed API location: the URI falls into "location /", and the message shows the location to add
--- config
    location /_stytch/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
    }

    location / {
        stytch_auth on;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_secret $TEST_NGINX_STYTCH_SECRET;
        root html;
    }
--- must_die
--- error_log
[emerg]
"stytch_api_location" "/_stytch_api": server "localhost" has no location for it, so its calls fall into "location /"; add "location /_stytch_api/ { internal;
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: an API location without proxy_pass
--- config
    location /_stytch_api/ {
        internal;
        root html;
    }

    location /p/ {
        stytch_auth on;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_secret $TEST_NGINX_STYTCH_SECRET;
        root html;
    }
--- must_die
--- error_log
[emerg]
"stytch_api_location" "/_stytch_api" matches the location "/_stytch_api/" in server "localhost", which has no "proxy_pass" to the Stytch API
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: a regular-expression location is found as NGINX finds it
--- config
    location ~ ^/_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL;
    }

    location /p/ {
        stytch_auth on;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_secret $TEST_NGINX_STYTCH_SECRET;
        stytch_api_url $TEST_NGINX_STYTCH_URL;
        root html;
    }
--- request
GET /p/index.html
--- error_code: 401



=== TEST 5: stytch_api_url with the API's /v1
--- config
    location /p/ {
        stytch_auth on;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_fallback off;
        stytch_api_url https://test.stytch.com/v1;
        root html;
    }
--- must_die
--- error_log
[emerg]
invalid URL "https://test.stytch.com/v1" in "stytch_api_url": it must not include the API's "/v1", which the module adds
--- no_error_log
[error]
[alert]
[crit]



=== TEST 6: a stytch_ssl_trusted_certificate that does not exist
--- config
    location /p/ {
        stytch_auth on;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_fallback off;
        stytch_ssl_trusted_certificate no-such-ca.pem;
        root html;
    }
--- must_die
--- error_log eval
["[emerg]", qr{"stytch_ssl_trusted_certificate" "\S+/conf/no-such-ca\.pem" cannot be read}]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 7: a wrong secret is reported at start, before any request, and shown in stytch_status
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret wrong-secret;
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
               "TEST 7: the credentials are checked at start");
--- request
GET /status
--- response_body_like: "credentials":"refused"
--- error_log eval
qr/\[error\] .*stytch: fetching the .* failed: the response status is 401 \(unauthorized_credentials\): check "stytch_project_id" and "stytch_secret"/
--- no_error_log
wrong-secret
[alert]
[crit]
[emerg]



=== TEST 8: the right secret: "credentials":"accepted"
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
               "TEST 8: the credentials are checked at start");
--- request
GET /status
--- response_body_like: "credentials":"accepted"
