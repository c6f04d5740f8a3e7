# Configuration errors of the fallback and authorization directives: each
# fails "nginx -t" naming the directive and the bad value.
use Test::Nginx::Socket 'no_plan';
use StytchTest;

run_tests();

__DATA__

=== TEST 1: stytch_auth strict needs the API fallback
--- config
    location /p/ {
        stytch_auth strict;
        stytch_fallback off;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_secret $TEST_NGINX_STYTCH_SECRET;
        root html;
    }
--- must_die
--- error_log
"stytch_auth strict" asks the Stytch API about every request and cannot be used with "stytch_fallback off"



=== TEST 2: the fallback needs the secret
--- config
    location /p/ {
        stytch_auth on;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        root html;
    }
--- must_die
--- error_log
"stytch_fallback" is on but no "stytch_secret" or "stytch_secret_file" is set



=== TEST 3: permissions need the secret to fetch the policy
--- config
    location /p/ {
        stytch_auth on;
        stytch_fallback off;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_require_permission documents read;
        root html;
    }
--- must_die
--- error_log
"stytch_require_permission" needs "stytch_secret" or "stytch_secret_file" to fetch the RBAC policy



=== TEST 4: stytch_require takes error=401 or error=403 only
--- config
    location /p/ {
        stytch_require $arg_x error=404;
        root html;
    }
--- must_die
--- error_log
invalid "error=404" in "stytch_require": it must be "error=401" or "error=403"



=== TEST 5: stytch_require needs a value
--- config
    location /p/ {
        stytch_require error=401;
        root html;
    }
--- must_die
--- error_log
no value in "stytch_require"



=== TEST 6: stytch_policy_refresh must be positive
--- config
    location /p/ {
        stytch_policy_refresh 0;
        root html;
    }
--- must_die
--- error_log
"stytch_policy_refresh" must be more than 0



=== TEST 7: stytch_api_cache_valid takes times
--- config
    location /p/ {
        stytch_api_cache_valid soon;
        root html;
    }
--- must_die
--- error_log
invalid time "soon" in "stytch_api_cache_valid"



=== TEST 8: stytch_api_location must be a URI
--- config
    location /p/ {
        stytch_api_location _stytch;
        root html;
    }
--- must_die
--- error_log
invalid URI "_stytch" in "stytch_api_location": it must start with "/"



=== TEST 9: stytch_cookie_attributes stays on one header line
--- config
    location /p/ {
        stytch_cookie_attributes "Path=/\nX-Injected: 1";
        root html;
    }
--- must_die
--- error_log
invalid attributes



=== TEST 10: stytch_require_organization is set once
--- config
    location /p/ {
        stytch_require_organization $arg_a;
        stytch_require_organization $arg_b;
        root html;
    }
--- must_die
--- error_log
"stytch_require_organization" directive is duplicate
