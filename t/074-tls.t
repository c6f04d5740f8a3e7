# Over HTTPS: a key fetch that fails its TLS verification leaves nothing in
# OpenSSL's error queue for the worker's next handshake to trip on; with
# the CA given, the fetch and the API fallback work over TLS.
use Test::Nginx::Socket 'no_plan';
use StytchTest 'tls';

no_shuffle();

our $live = create_session();
our $expired = mint_jwt(session_id => $live->{session_id}, iat => time() - 3600);

run_tests();

__DATA__

=== TEST 1: a key fetch refused by certificate verification, then a TLS call to the API: no stale SSL error
--- config
    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_ssl_verify off;
    }

    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Source $stytch_auth_source always;
    }
--- init
Test::More::ok(StytchTest::wait_until(sub {
                   StytchTest::log_lines(server_root() . '/logs/error.log', qr/fetching the keys of project/) }),
               "TEST 1: the first key fetch has failed its verification");
--- more_headers eval
"Cookie: stytch_session_jwt=$::expired"
--- request
GET /p/index.html
--- error_code: 200
--- response_headers
X-Source: api
--- error_log eval
qr/\[error\] .*stytch: fetching the keys of project "[^"]+" from "https:[^"]+" failed: .*; no keys yet/
--- no_error_log
ignoring stale global SSL error
[alert]
[crit]
[emerg]



=== TEST 2: with stytch_ssl_trusted_certificate, the keys come over TLS and a fresh JWT verifies locally
--- http_config
    stytch_ssl_trusted_certificate $TEST_NGINX_STYTCH_CERT;
--- config
    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_ssl_trusted_certificate $TEST_NGINX_STYTCH_CERT;
        proxy_ssl_verify on;
        proxy_ssl_name localhost;
    }

    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Source $stytch_auth_source always;
    }
--- init
StytchTest::wait_keys('/p/index.html');
--- more_headers eval
["Cookie: stytch_session_jwt=$::live->{session_jwt}", "Cookie: stytch_session_jwt=$::expired"]
--- request eval
["GET /p/index.html", "GET /p/index.html"]
--- error_code eval
[200, 200]
--- response_headers eval
["X-Source: jwt", "X-Source: api"]
