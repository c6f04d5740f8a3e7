# stytch_cors_preflight lets through what a browser sends as a CORS
# preflight and nothing more: an OPTIONS request with a body (sized or
# chunked), with a method-override header, or with an empty Origin or
# Access-Control-Request-Method is authenticated as usual.
use Test::Nginx::Socket 'no_plan';
use StytchTest;

no_shuffle();

run_tests();

__DATA__

=== TEST 1: a preflight passes; an OPTIONS with a body, a chunked body or a method override, or an empty Origin or Access-Control-Request-Method needs a session
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
    stytch_fallback off;
--- config
    location /api/ {
        stytch_auth on;
        stytch_cors_preflight on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend/;
    }

    location /backend/ {
        add_header Access-Control-Allow-Origin https://app.example.com always;
        if ($request_method = OPTIONS) {
            return 204;
        }
        return 200 "backend\n";
    }
--- more_headers eval
my $p = "Origin: https://app.example.com\nAccess-Control-Request-Method: DELETE";
[$p,
 "$p\nContent-Length: 0",
 $p,
 "$p\nTransfer-Encoding: chunked",
 "$p\nX-HTTP-Method-Override: DELETE",
 "$p\nX-HTTP-Method: DELETE",
 "$p\nX-Method-Override: DELETE",
 "Origin:\nAccess-Control-Request-Method: DELETE",
 "Origin: https://app.example.com\nAccess-Control-Request-Method:",
 "$p\nOrigin: https://evil.example"]
--- request eval
["OPTIONS /api/items",
 "OPTIONS /api/items",
 "OPTIONS /api/items\n{\"delete\":\"all\"}",
 "OPTIONS /api/items\n5\r\nhello\r\n0\r\n\r\n",
 "OPTIONS /api/items",
 "OPTIONS /api/items",
 "OPTIONS /api/items",
 "OPTIONS /api/items",
 "OPTIONS /api/items",
 "OPTIONS /api/items"]
--- error_code eval
[204, 204, 401, 401, 401, 401, 401, 401, 401, 401]
--- response_headers eval
["Access-Control-Allow-Origin: https://app.example.com",
 "Access-Control-Allow-Origin: https://app.example.com",
 "Access-Control-Allow-Origin:", "Access-Control-Allow-Origin:",
 "Access-Control-Allow-Origin:", "Access-Control-Allow-Origin:",
 "Access-Control-Allow-Origin:", "Access-Control-Allow-Origin:",
 "Access-Control-Allow-Origin:", "Access-Control-Allow-Origin:"]
--- no_error_log
[error]
[alert]
[crit]
[emerg]
