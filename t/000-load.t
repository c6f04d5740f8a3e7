# The module loads into nginx and its directives parse.
use Test::Nginx::Socket;
use StytchTest;

repeat_each(1);
plan tests => repeat_each() * (5 + 3);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the module loads; a location with stytch_auth off serves its file
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
--- no_error_log
[error]
[alert]
[emerg]



=== TEST 2: stytch_auth takes only on|off
# Under the real Test::Nginx with Debian's nginx (error log compiled in as
# stderr) the startup error never reaches logs/error.log, so this block's
# error_log check needs t/lib's runner (which passes -e) or an
# OpenResty-style nginx.
--- config
    location /open/ {
        stytch_auth maybe;
        root html;
    }
--- must_die
--- error_log
[emerg]
invalid value "maybe" in "stytch_auth" directive, it must be "on", "off", "strict", "report" or "m2m"
