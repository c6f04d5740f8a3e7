# Directives: every configuration error fails "nginx -t" with a message
# that names the directive and the bad value, and every directive is
# accepted in each context it documents (http, server, location) and
# works there.
use Test::Nginx::Socket;
use StytchTest;

repeat_each(1);
no_shuffle();

our $S = create_session();
our $Expired = mint_jwt(session_id => $S->{session_id},
                        iat => time - 900, lifetime => 300);

plan tests => repeat_each() * 221;

run_tests();

__DATA__

=== TEST 1: stytch_auth at http level takes only on, off, strict, report or m2m
--- http_config
    stytch_auth maybe;
--- config
    location /p/ { root html; }
--- must_die
--- error_log
[emerg]
invalid value "maybe" in "stytch_auth" directive
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: a project id that is not "project-..." is refused
--- config
    location /p/ {
        stytch_auth on;
        stytch_project_id acme-123;
        root html;
    }
--- must_die
--- error_log
[emerg]
invalid project id "acme-123" in "stytch_project_id"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: a project id of neither kind (not project-test- nor project-live-) is refused
--- config
    location /p/ {
        stytch_auth on;
        stytch_project_id project-prod-1234;
        stytch_secret x;
        root html;
    }
--- must_die
--- error_log
[emerg]
invalid project id "project-prod-1234" in "stytch_project_id"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: a project id with characters a project id never has is refused
--- config
    location /p/ {
        stytch_auth on;
        stytch_project_id project-test-a/b;
        root html;
    }
--- must_die
--- error_log
[emerg]
invalid project id "project-test-a/b" in "stytch_project_id"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: stytch_auth on without a project id is refused
--- config
    location /p/ {
        stytch_auth on;
        stytch_secret x;
        stytch_api_url $TEST_NGINX_STYTCH_URL;
        root html;
    }
--- must_die
--- error_log
[emerg]
"stytch_auth" is on but no "stytch_project_id" is set
--- no_error_log
[error]
[alert]
[crit]



=== TEST 6: stytch_secret_file: a missing file is refused
--- config
    location /p/ {
        stytch_auth on;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_secret_file /nonexistent/stytch.secret;
        root html;
    }
--- must_die
--- error_log
[emerg]
"stytch_secret_file" cannot open "/nonexistent/stytch.secret"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 7: stytch_secret_file: an empty file (blanks only) is refused
--- config
    location /p/ {
        stytch_auth on;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_secret_file ../html/empty.secret;
        root html;
    }
--- user_files
>>> empty.secret
  
--- must_die
--- error_log
[emerg]
"stytch_secret_file" "../html/empty.secret" is empty
--- no_error_log
[error]
[alert]
[crit]



=== TEST 8: stytch_api_url must be http:// or https://
--- config
    location /p/ {
        stytch_auth on;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_api_url ftp://stytch.example.com;
        root html;
    }
--- must_die
--- error_log
[emerg]
"ftp://stytch.example.com" in "stytch_api_url"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 9: stytch_api_url without a scheme is refused
--- config
    location /p/ {
        stytch_auth on;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_api_url test.stytch.com;
        root html;
    }
--- must_die
--- error_log
[emerg]
"test.stytch.com" in "stytch_api_url"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 10: stytch_zone: too small a size is refused, naming the value
--- http_config
    stytch_zone stytch 8k;
--- config
    location /p/ {
        stytch_auth on;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_secret $TEST_NGINX_STYTCH_SECRET;
        stytch_api_url $TEST_NGINX_STYTCH_URL;
        root html;
    }
--- must_die
--- error_log
[emerg]
"stytch_zone"
"8k"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 11: stytch_zone: a size that is not one is refused
--- http_config
    stytch_zone stytch lots;
--- config
    location /p/ {
        stytch_auth on;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_secret $TEST_NGINX_STYTCH_SECRET;
        stytch_api_url $TEST_NGINX_STYTCH_URL;
        root html;
    }
--- must_die
--- error_log
[emerg]
invalid zone size "lots" in "stytch_zone"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 12: stytch_zone is an http-level directive only
--- config
    stytch_zone stytch 4m;
    location /p/ {
        stytch_auth on;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_secret $TEST_NGINX_STYTCH_SECRET;
        stytch_api_url $TEST_NGINX_STYTCH_URL;
        root html;
    }
--- must_die
--- error_log
[emerg]
"stytch_zone" directive is not allowed here
--- no_error_log
[error]
[alert]
[crit]



=== TEST 13: stytch_jwks_file: a file that is not a usable key set fails the start (nginx -t)
--- config
    location /p/ {
        stytch_auth on;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_secret $TEST_NGINX_STYTCH_SECRET;
        stytch_api_url $TEST_NGINX_STYTCH_URL;
        stytch_jwks_file ../html/bad.jwks;
        root html;
    }
--- user_files
>>> bad.jwks
{"keys": []}
--- must_die
--- error_log eval
[qr{\[emerg\] .*"stytch_jwks_file" "\.\./html/bad\.jwks" is not a usable key set: jwks_no_usable_key},
 qr/\[error\] .*JWKS holds no usable key/]
--- no_error_log
[alert]
[crit]



=== TEST 14: stytch_jwks_file: a file that is not JSON fails the start
--- config
    location /p/ {
        stytch_auth on;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_secret $TEST_NGINX_STYTCH_SECRET;
        stytch_api_url $TEST_NGINX_STYTCH_URL;
        stytch_jwks_file ../html/junk.jwks;
        root html;
    }
--- user_files
>>> junk.jwks
this is not json
--- must_die
--- error_log eval
[qr{\[emerg\] .*"stytch_jwks_file" "\.\./html/junk\.jwks" is not a usable key set: jwks_invalid},
 qr/\[error\] .*JWKS document is not a JSON key set/]
--- no_error_log
[alert]
[crit]



=== TEST 15: stytch_jwks_file: a missing file fails the start
--- config
    location /p/ {
        stytch_auth on;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_secret $TEST_NGINX_STYTCH_SECRET;
        stytch_api_url $TEST_NGINX_STYTCH_URL;
        stytch_jwks_file /nonexistent/keys.json;
        root html;
    }
--- must_die
--- error_log
[emerg]
"stytch_jwks_file" cannot open "/nonexistent/keys.json"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 16: stytch_realm refuses a double quote
--- config
    location /p/ {
        stytch_auth on;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_secret $TEST_NGINX_STYTCH_SECRET;
        stytch_api_url $TEST_NGINX_STYTCH_URL;
        stytch_realm 'a"b';
        root html;
    }
--- must_die
--- error_log
[emerg]
invalid realm "a"b" in "stytch_realm"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 17: stytch_realm refuses a backslash
--- config
    location /p/ {
        stytch_auth on;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_secret $TEST_NGINX_STYTCH_SECRET;
        stytch_api_url $TEST_NGINX_STYTCH_URL;
        stytch_realm 'a\\b';
        root html;
    }
--- must_die
--- error_log
[emerg]
in "stytch_realm"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 18: stytch_unavailable_status below 400 is refused
--- config
    location /p/ {
        stytch_auth on;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_secret $TEST_NGINX_STYTCH_SECRET;
        stytch_api_url $TEST_NGINX_STYTCH_URL;
        stytch_unavailable_status 302;
        root html;
    }
--- must_die
--- error_log
[emerg]
invalid status "302" in "stytch_unavailable_status"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 19: stytch_unavailable_status above 599 is refused
--- config
    location /p/ {
        stytch_auth on;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_secret $TEST_NGINX_STYTCH_SECRET;
        stytch_api_url $TEST_NGINX_STYTCH_URL;
        stytch_unavailable_status 600;
        root html;
    }
--- must_die
--- error_log
[emerg]
invalid status "600" in "stytch_unavailable_status"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 20: stytch_max_token_age: neither a time nor off is refused
--- config
    location /p/ {
        stytch_auth on;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_secret $TEST_NGINX_STYTCH_SECRET;
        stytch_api_url $TEST_NGINX_STYTCH_URL;
        stytch_max_token_age forever;
        root html;
    }
--- must_die
--- error_log
[emerg]
invalid value "forever" in "stytch_max_token_age"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 21: stytch_jwt_header: a name with a colon is refused
--- config
    location /p/ {
        stytch_auth on;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_secret $TEST_NGINX_STYTCH_SECRET;
        stytch_api_url $TEST_NGINX_STYTCH_URL;
        stytch_jwt_header X-Token:;
        root html;
    }
--- must_die
--- error_log
[emerg]
invalid name "X-Token:" in "stytch_jwt_header"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 22: stytch_jwt_cookie: a name with "=" is refused
--- config
    location /p/ {
        stytch_auth on;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_secret $TEST_NGINX_STYTCH_SECRET;
        stytch_api_url $TEST_NGINX_STYTCH_URL;
        stytch_jwt_cookie a=b;
        root html;
    }
--- must_die
--- error_log
[emerg]
invalid name "a=b" in "stytch_jwt_cookie"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 23: stytch_jwks_refresh 0 is refused
--- config
    location /p/ {
        stytch_auth on;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_secret $TEST_NGINX_STYTCH_SECRET;
        stytch_api_url $TEST_NGINX_STYTCH_URL;
        stytch_jwks_refresh 0;
        root html;
    }
--- must_die
--- error_log
[emerg]
"stytch_jwks_refresh" must be more than 0
--- no_error_log
[error]
[alert]
[crit]



=== TEST 24: stytch_jwks_refresh: a value that is not a time is refused
--- config
    location /p/ {
        stytch_auth on;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_secret $TEST_NGINX_STYTCH_SECRET;
        stytch_api_url $TEST_NGINX_STYTCH_URL;
        stytch_jwks_refresh often;
        root html;
    }
--- must_die
--- error_log
[emerg]
"stytch_jwks_refresh" directive invalid value
--- no_error_log
[error]
[alert]
[crit]



=== TEST 25: stytch_leeway: a value that is not a time is refused
--- config
    location /p/ {
        stytch_auth on;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_secret $TEST_NGINX_STYTCH_SECRET;
        stytch_api_url $TEST_NGINX_STYTCH_URL;
        stytch_leeway lots;
        root html;
    }
--- must_die
--- error_log
[emerg]
"stytch_leeway" directive invalid value
--- no_error_log
[error]
[alert]
[crit]



=== TEST 26: stytch_jwt_cache: a value that is not a number is refused
--- config
    location /p/ {
        stytch_auth on;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_secret $TEST_NGINX_STYTCH_SECRET;
        stytch_api_url $TEST_NGINX_STYTCH_URL;
        stytch_jwt_cache many;
        root html;
    }
--- must_die
--- error_log
[emerg]
"stytch_jwt_cache" directive invalid value
--- no_error_log
[error]
[alert]
[crit]



=== TEST 27: stytch_jwt_cache: more entries than a worker should allocate are refused
--- config
    location /p/ {
        stytch_auth on;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_secret $TEST_NGINX_STYTCH_SECRET;
        stytch_api_url $TEST_NGINX_STYTCH_URL;
        stytch_jwt_cache 2000000;
        root html;
    }
--- must_die
--- error_log
[emerg]
invalid value "2000000" in "stytch_jwt_cache", it must be at most 1048576
--- no_error_log
[error]
[alert]
[crit]



=== TEST 28: stytch_ssl_verify takes only on or off
--- config
    location /p/ {
        stytch_auth on;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_secret $TEST_NGINX_STYTCH_SECRET;
        stytch_api_url $TEST_NGINX_STYTCH_URL;
        stytch_ssl_verify maybe;
        root html;
    }
--- must_die
--- error_log
[emerg]
invalid value "maybe" in "stytch_ssl_verify" directive, it must be "on" or "off"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 29: stytch_fallback takes only on or off
--- config
    location /p/ {
        stytch_auth on;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_secret $TEST_NGINX_STYTCH_SECRET;
        stytch_api_url $TEST_NGINX_STYTCH_URL;
        stytch_fallback maybe;
        root html;
    }
--- must_die
--- error_log
[emerg]
invalid value "maybe" in "stytch_fallback" directive, it must be "on" or "off"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 30: every directive is accepted at http level and applies to the locations (stytch_auth on included)
--- http_config
    stytch_auth on;
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
    stytch_zone stytch_http 1m;
    stytch_b2b off;
    stytch_jwks_refresh 5m;
    stytch_jwks_cooldown 10s;
    stytch_fetch_timeout 2s;
    stytch_ssl_trusted_certificate /etc/ssl/certs/ca-certificates.crt;
    stytch_ssl_verify on;
    stytch_leeway 5s;
    stytch_max_token_age off;
    stytch_jwt_cache 128;
    stytch_realm "ctx-http";
    stytch_jwt_header Authorization;
    stytch_jwt_cookie stytch_session_jwt;
    stytch_unavailable_status 503;
    stytch_retry_after 7s;
    stytch_fallback off;
--- config
    location /p/ {
        root html;
    }
--- init
StytchTest::wait_keys('/p/index.html');
--- request eval
["GET /p/index.html", "GET /p/index.html"]
--- more_headers eval
["", "Authorization: Bearer $main::S->{session_jwt}"]
--- error_code eval
[401, 200]
--- response_headers eval
['WWW-Authenticate: Bearer realm="ctx-http"', ""]
--- response_body_like eval
[qr/^(?!protected)/, qr/^protected content$/]



=== TEST 31: every directive is accepted at server level and applies to its locations
--- config
    stytch_auth on;
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
    stytch_b2b off;
    stytch_jwks_refresh 5m;
    stytch_jwks_cooldown 10s;
    stytch_fetch_timeout 2s;
    stytch_ssl_trusted_certificate /etc/ssl/certs/ca-certificates.crt;
    stytch_ssl_verify off;
    stytch_leeway 5s;
    stytch_max_token_age 1h;
    stytch_jwt_cache 128;
    stytch_realm "ctx-server";
    stytch_jwt_header X-Token;
    stytch_jwt_cookie my_jwt;
    stytch_unavailable_status 502;
    stytch_retry_after 7s;
    stytch_fallback off;
    location /p/ {
        root html;
    }
--- init
StytchTest::wait_keys('/p/index.html', 'X-Token' => 'Bearer ' . StytchTest::mint_jwt());
--- request eval
["GET /p/index.html", "GET /p/index.html", "GET /p/index.html"]
--- more_headers eval
["Authorization: Bearer $main::S->{session_jwt}",
 "X-Token: Bearer $main::S->{session_jwt}",
 "Cookie: my_jwt=$main::S->{session_jwt}"]
--- error_code eval
[401, 200, 200]
--- response_headers eval
['WWW-Authenticate: Bearer realm="ctx-server"', "", ""]



=== TEST 32: every directive is accepted at location level
--- config
    location /p/ {
        stytch_auth on;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_secret $TEST_NGINX_STYTCH_SECRET;
        stytch_api_url $TEST_NGINX_STYTCH_URL;
        stytch_b2b off;
        stytch_jwks_refresh 5m;
        stytch_jwks_cooldown 10s;
        stytch_fetch_timeout 2s;
        stytch_ssl_trusted_certificate /etc/ssl/certs/ca-certificates.crt;
        stytch_ssl_verify on;
        stytch_leeway 0;
        stytch_max_token_age 10m;
        stytch_jwt_cache 1;
        stytch_realm "ctx-location";
        stytch_jwt_header off;
        stytch_jwt_cookie stytch_session_jwt;
        stytch_unavailable_status 599;
        stytch_retry_after 1;
        stytch_fallback off;
        root html;
    }
--- init
StytchTest::wait_keys('/p/index.html', Cookie => 'stytch_session_jwt=' . StytchTest::mint_jwt());
--- request eval
["GET /p/index.html", "GET /p/index.html"]
--- more_headers eval
["Authorization: Bearer $main::S->{session_jwt}",
 "Cookie: stytch_session_jwt=$main::S->{session_jwt}"]
--- error_code eval
[401, 200]
--- response_headers eval
['WWW-Authenticate: Bearer realm="ctx-location"', ""]



=== TEST 33: stytch_secret_file: the trimmed secret authenticates API calls and is never logged
--- config
    location /p/ {
        stytch_auth on;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_secret_file ../html/stytch.secret;
        stytch_api_url $TEST_NGINX_STYTCH_URL;
        root html;
        add_header X-Source $stytch_auth_source always;
    }
--- user_files eval
">>> stytch.secret\n$ENV{TEST_NGINX_STYTCH_SECRET}\n\n"
--- init
StytchTest::wait_keys('/p/index.html');
--- request
GET /p/index.html
--- more_headers eval
"Authorization: Bearer $main::Expired"
--- error_code: 200
--- response_body
protected content
--- response_headers
X-Source: api
--- no_error_log eval
[$ENV{TEST_NGINX_STYTCH_SECRET}, "[error]", "[alert]", "[crit]", "[emerg]"]
