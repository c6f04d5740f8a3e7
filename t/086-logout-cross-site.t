# stytch_logout refuses a sign-out that another site asked for: a request
# whose Sec-Fetch-Site is "cross-site", or whose Origin is "null" or
# another host's, gets 403, and nothing is revoked or cleared, unless
# stytch_logout_cross_site is on.  This site's own links and forms, and
# clients that say nothing of where they come from, still sign out.
use Test::Nginx::Socket 'no_plan';
use StytchTest;

no_shuffle();

our $Cleared = qr/^Set-Cookie: stytch_session=; Path=\/; SameSite=Lax; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT\r$/m;

our @s = map { create_session() } 1 .. 9;

sub main::cookie {
    my $s = shift;
    return "Cookie: stytch_session=$s->{session_token}; stytch_session_jwt=$s->{session_jwt}";
}

run_tests();

__DATA__

=== TEST 1: cross-site sign-outs are refused with 403: nothing revoked, no cookie cleared; this site's, and a client that says nothing, sign out
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
--- config
    absolute_redirect off;

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
    }

    location /emu/ {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/;
    }

    location = /logout {
        stytch_logout;
    }
--- init
StytchTest::reset_emulator();
--- request eval
["GET /logout", "GET /emu/sessions/$::s[0]{session_id}",
 "POST /logout", "GET /emu/sessions/$::s[1]{session_id}",
 "POST /logout", "GET /emu/sessions/$::s[2]{session_id}",
 "POST /logout", "GET /emu/sessions/$::s[3]{session_id}",
 "GET /logout", "GET /emu/sessions/$::s[4]{session_id}",
 "POST /logout", "GET /emu/sessions/$::s[5]{session_id}",
 "GET /logout", "GET /emu/sessions/$::s[6]{session_id}",
 "GET /logout", "GET /emu/sessions/$::s[7]{session_id}"]
--- more_headers eval
[main::cookie($::s[0]) . "\nSec-Fetch-Site: cross-site\nSec-Fetch-Mode: navigate", "",
 main::cookie($::s[1]) . "\nOrigin: https://evil.example", "",
 main::cookie($::s[2]) . "\nOrigin: null", "",
 main::cookie($::s[3]) . "\nOrigin: http://localhost.evil.example\nSec-Fetch-Site: same-site", "",
 main::cookie($::s[4]) . "\nSec-Fetch-Site: same-origin", "",
 main::cookie($::s[5]) . "\nOrigin: http://localhost\nSec-Fetch-Site: same-origin", "",
 main::cookie($::s[6]) . "\nSec-Fetch-Site: none", "",
 main::cookie($::s[7]), ""]
--- error_code eval
[403, 200, 403, 200, 403, 200, 403, 200, 303, 200, 303, 200, 303, 200, 303, 200]
--- raw_response_headers_like eval
[qr/^Cache-Control: no-store\r$/m, "",
 qr/^Cache-Control: no-store\r$/m, "",
 qr/^Cache-Control: no-store\r$/m, "",
 qr/^Cache-Control: no-store\r$/m, "",
 $::Cleared, "", $::Cleared, "", $::Cleared, "", $::Cleared, ""]
--- raw_response_headers_unlike eval
[qr/Set-Cookie/i, qr/^$/, qr/Set-Cookie/i, qr/^$/, qr/Set-Cookie/i, qr/^$/,
 qr/Set-Cookie/i, qr/^$/, qr/^$/, qr/^$/, qr/^$/, qr/^$/, qr/^$/, qr/^$/,
 qr/^$/, qr/^$/]
--- response_body_like eval
["403 Forbidden", qr/"revoked":false/, "403 Forbidden", qr/"revoked":false/,
 "403 Forbidden", qr/"revoked":false/, "403 Forbidden", qr/"revoked":false/,
 "303 See Other", qr/"revoked":true/, "303 See Other", qr/"revoked":true/,
 "303 See Other", qr/"revoked":true/, "303 See Other", qr/"revoked":true/]
--- no_error_log
[warn]
[error]
[alert]
[crit]
[emerg]



=== TEST 2: stytch_logout_cross_site on: another site's link signs out, as before
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
    stytch_logout_cross_site on;
--- config
    absolute_redirect off;

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
    }

    location /emu/ {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/;
    }

    location = /logout {
        stytch_logout;
    }
--- request eval
["GET /logout", "GET /emu/sessions/$::s[8]{session_id}"]
--- more_headers eval
[main::cookie($::s[8]) . "\nSec-Fetch-Site: cross-site\nOrigin: https://evil.example", ""]
--- error_code eval
[303, 200]
--- raw_response_headers_like eval
[$::Cleared, ""]
--- response_body_like eval
["303 See Other", qr/"revoked":true/]
--- no_error_log
[warn]
[error]
[alert]
[crit]
[emerg]



=== TEST 3: stytch_logout_cross_site takes on or off
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
--- config
    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
    }

    location = /logout {
        stytch_logout;
        stytch_logout_cross_site sometimes;
    }
--- must_die
--- error_log
[emerg]
invalid value "sometimes" in "stytch_logout_cross_site" directive, it must be "on" or "off"
--- no_error_log
[error]
[alert]
[crit]
