# Stytch rotates its keys: a JWT signed by a key that nginx has not
# fetched yet is answered by the API (200, not 401), and the log says why
# the API was asked.
use Test::Nginx::Socket 'no_plan';
use StytchTest;

no_shuffle();

# nginx will be served the key set from before the rotation, while the
# emulator already signs with the new key.
our $session = create_session();
our $old_jwks = jwks_json();
rotate_keys();
our $new_jwt = mint_jwt(session_id => $session->{session_id});
fault(endpoint => 'jwks', body => $old_jwks);    # before nginx starts

run_tests();

__DATA__

=== TEST 1: a JWT signed by a key not fetched yet: 200 through the API, not 401
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
--- config
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Result $stytch_auth_result always;
        add_header X-Source $stytch_auth_source always;
    }

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
    }

    location = /status {
        stytch_status;
    }
--- user_files
>>> p/index.html
protected content
--- init
StytchTest::wait_zone('keys_generation');
StytchTest::reset_emulator();
StytchTest::fault(endpoint => 'jwks', body => $main::old_jwks);
--- more_headers eval
"Cookie: stytch_session_jwt=$::new_jwt"
--- request eval
["GET /p/index.html", "GET /p/index.html"]
--- error_code eval
[200, 200]
--- response_headers_like eval
["X-Result: ok\nX-Source: api", "X-Result: ok\nX-Source: (api|cache)"]
--- response_body_like eval
["^protected content\n\$", "^protected content\n\$"]
--- error_log eval
qr/\[info\] .*stytch: jwks_unknown_kid, asking the API/
--- no_error_log
[error]
[alert]
[crit]
[emerg]
