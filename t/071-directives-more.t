# Configuration errors of the fallback and authorization directives: each
# fails "nginx -t" with an emerg line naming the directive and the bad
# value, and logs nothing else at error level or above.
use Test::Nginx::Socket 'no_plan';
use StytchTest;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: stytch_auth strict with stytch_fallback off is refused: strict needs the API
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
[emerg]
"stytch_auth strict" asks the Stytch API about every request and cannot be used with "stytch_fallback off"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: the fallback without a secret is refused
--- config
    location /p/ {
        stytch_auth on;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        root html;
    }
--- must_die
--- error_log
[emerg]
"stytch_fallback" is on but no "stytch_secret" or "stytch_secret_file" is set
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: permissions without a secret to fetch the policy are refused
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
[emerg]
"stytch_require_permission" needs "stytch_secret" or "stytch_secret_file" to fetch the RBAC policy
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: stytch_require takes only error=401 or error=403
--- config
    location /p/ {
        stytch_require $arg_x error=404;
        root html;
    }
--- must_die
--- error_log
[emerg]
invalid "error=404" in "stytch_require": it must be "error=401" or "error=403"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: stytch_require without a value is refused
--- config
    location /p/ {
        stytch_require error=401;
        root html;
    }
--- must_die
--- error_log
[emerg]
no value in "stytch_require"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 6: stytch_policy_refresh 0 is refused: it must be positive
--- config
    location /p/ {
        stytch_policy_refresh 0;
        root html;
    }
--- must_die
--- error_log
[emerg]
"stytch_policy_refresh" must be more than 0
--- no_error_log
[error]
[alert]
[crit]



=== TEST 7: stytch_api_cache_valid: a value that is not a time is refused
--- config
    location /p/ {
        stytch_api_cache_valid soon;
        root html;
    }
--- must_die
--- error_log
[emerg]
invalid time "soon" in "stytch_api_cache_valid"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 8: stytch_api_location: a value that is not a URI is refused
--- config
    location /p/ {
        stytch_api_location _stytch;
        root html;
    }
--- must_die
--- error_log
[emerg]
invalid URI "_stytch" in "stytch_api_location": it must start with "/"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 9: stytch_cookie_attributes with a newline is refused: they stay on one header line
--- config
    location /p/ {
        stytch_cookie_attributes "Path=/\nX-Injected: 1";
        root html;
    }
--- must_die
--- error_log
[emerg]
invalid attributes "Path=/
X-Injected: 1" in "stytch_cookie_attributes"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 10: stytch_require_organization twice in a location is refused
--- config
    location /p/ {
        stytch_require_organization $arg_a;
        stytch_require_organization $arg_b;
        root html;
    }
--- must_die
--- error_log
[emerg]
"stytch_require_organization" directive is duplicate
--- no_error_log
[error]
[alert]
[crit]
