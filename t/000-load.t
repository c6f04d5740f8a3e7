# The module loads into nginx: a location without protection serves its
# file, and a bad value of stytch_auth fails the start naming the value.
use Test::Nginx::Socket;
use StytchTest;

repeat_each(1);
plan tests => repeat_each() * (6 + 6);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the module loads; a location with stytch_auth off serves its file
--- no_stytch_defaults: project api_location
--- config
    location /open/ {
        stytch_auth off;
        root html;
    }
--- user_files
>>> open/hello.txt
hello from a file
--- request
GET /open/hello.txt
--- error_code: 200
--- response_body
hello from a file



=== TEST 2: stytch_auth takes only on, off, strict, report, m2m or oauth
--- config
    location /open/ {
        stytch_auth maybe;
        root html;
    }
--- must_die
--- error_log
[emerg]
invalid value "maybe" in "stytch_auth" directive, it must be "on", "off", "strict", "report", "m2m" or "oauth"
--- no_error_log
[error]
[alert]
[crit]
