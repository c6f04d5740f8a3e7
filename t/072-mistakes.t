# Mistakes that used to pass "nginx -t" and show only when the first JWT
# expired: each is caught at configuration time when it can be known
# there, else logged at start, at error level, naming the directive.
use Test::Nginx::Socket 'no_plan';
use StytchTest;
use Time::HiRes ();

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
"stytch_api_location" "/_stytch_api" matches no location in server "localhost": declare an internal location with "proxy_pass" to the Stytch API



=== TEST 2: a misnamed API location: the URI falls into a location that is not internal
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
"stytch_api_location" "/_stytch_api" matches the location "/" in server "localhost", which is not "internal"



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
"stytch_api_location" "/_stytch_api" matches the location "/_stytch_api/" in server "localhost", which has no "proxy_pass" to the Stytch API



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
--- user_files
>>> p/index.html
protected content
--- request
GET /p/index.html
--- error_code: 401
--- no_error_log
[emerg]
[error]



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
invalid URL "https://test.stytch.com/v1" in "stytch_api_url": it must not include the API's "/v1", which the module adds



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
qr/"stytch_ssl_trusted_certificate" "\S+\/conf\/no-such-ca.pem" cannot be read/



=== TEST 7: a wrong secret is reported at start, before any request, and shown in stytch_status
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret wrong-secret;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
--- config
    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
    }

    location = /status {
        stytch_status;
    }

    location /p/ {
        stytch_auth on;
        root html;
    }
--- init
Time::HiRes::sleep(0.5);
--- request
GET /status
--- response_body_like: "credentials":"refused"
--- error_log
(unauthorized_credentials): check "stytch_project_id" and "stytch_secret"
--- no_error_log
[alert]



=== TEST 8: the right secret: "credentials":"accepted"
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
--- config
    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
    }

    location = /status {
        stytch_status;
    }

    location /p/ {
        stytch_auth on;
        root html;
    }
--- init
Time::HiRes::sleep(0.5);
--- request
GET /status
--- response_body_like: "credentials":"accepted"
--- no_error_log
[error]
[alert]
