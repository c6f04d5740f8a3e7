# The location that the API's URI falls into is found at start as NGINX
# finds it for a request: an exact match, the longest prefix and the
# locations nested in it, then regular expressions in their order unless
# the prefix is "^~"; each server on its own.  Where nginx starts, a
# request whose opaque session token needs the API shows that the call
# reaches that location.
use Test::Nginx::Socket 'no_plan';
use StytchTest;

no_shuffle();
no_root_location();

our $s = create_session();

$ENV{TEST_NGINX_OTHER_PORT} = free_port();

run_tests();

__DATA__

=== TEST 1: the API location nested in "location /"
--- config
    location / {
        root html;

        location /_stytch_api/ {
            internal;
            proxy_pass $TEST_NGINX_STYTCH_URL/;
        }

        location /p/ {
            stytch_auth on;
            add_header X-Source $stytch_auth_source always;
        }
    }
--- more_headers eval
"Cookie: stytch_session=$::s->{session_token}"
--- request
GET /p/index.html
--- error_code: 200
--- response_body
protected content
--- response_headers
X-Source: api



=== TEST 2: a regular expression wins over a plain prefix, as for a request
--- config
    location /_stytch_api/ {
        root html;
    }

    location ~ ^/_stytch_api(/.*)$ {
        internal;
        rewrite ^/_stytch_api(/.*)$ $1 break;
        proxy_pass $TEST_NGINX_STYTCH_URL;
    }

    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Source $stytch_auth_source always;
    }
--- more_headers eval
"Cookie: stytch_session=$::s->{session_token}"
--- request
GET /p/index.html
--- error_code: 200
--- response_headers
X-Source: api



=== TEST 3: a "^~" prefix keeps the regular expressions out: its location is the one checked
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
--- config
    location ^~ /_stytch_api/ {
        root html;
    }

    location ~ ^/_stytch_api(/.*)$ {
        internal;
        rewrite ^/_stytch_api(/.*)$ $1 break;
        proxy_pass $TEST_NGINX_STYTCH_URL;
    }

    location /p/ {
        stytch_auth on;
        root html;
    }
--- must_die
--- error_log
[emerg]
"stytch_api_location" "/_stytch_api" matches the location "/_stytch_api/" in server "localhost", which is not "internal"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: an exact location for the call's URI wins over every other
--- config
    location = /_stytch_api/v1/sessions/authenticate {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/v1/sessions/authenticate;
    }

    location ~ _stytch_api {
        root html;
    }

    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Source $stytch_auth_source always;
    }
--- more_headers eval
"Cookie: stytch_session=$::s->{session_token}"
--- request
GET /p/index.html
--- error_code: 200
--- response_headers
X-Source: api



=== TEST 5: a regular expression nested in the prefix is tried before the server's
--- config
    location / {
        root html;

        location ~ ^/_stytch_api(/.*)$ {
            internal;
            rewrite ^/_stytch_api(/.*)$ $1 break;
            proxy_pass $TEST_NGINX_STYTCH_URL;
        }
    }

    location ~ _stytch {
        root html;
    }

    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Source $stytch_auth_source always;
    }
--- more_headers eval
"Cookie: stytch_session=$::s->{session_token}"
--- request
GET /p/index.html
--- error_code: 200
--- response_headers
X-Source: api



=== TEST 6: the server's regular expressions, when the nested ones do not match
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
--- config
    location / {
        root html;

        location ~ \.php$ {
            internal;
            return 500;
        }
    }

    location ~ ^/_stytch_api/ {
        root html;
    }

    location /p/ {
        stytch_auth on;
        root html;
    }
--- must_die
--- error_log
[emerg]
"stytch_api_location" "/_stytch_api" matches the location "^/_stytch_api/" in server "localhost", which is not "internal"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 7: another server's API location does not count
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;

    server {
        listen 127.0.0.1:$TEST_NGINX_OTHER_PORT;
        server_name other;

        location /_stytch_api/ {
            internal;
            proxy_pass $TEST_NGINX_STYTCH_URL/;
        }
    }
--- config
    location /p/ {
        stytch_auth on;
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
