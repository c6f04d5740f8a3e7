# stytch_logout: the session is revoked at Stytch through the API location,
# with nothing of the client's request; the module's cookies are cleared
# and the client is redirected (303) to the configured URL or to a
# same-origin "return_to", whatever Stytch answered; configuration errors.
use Test::Nginx::Socket 'no_plan';
use StytchTest;

use Time::HiRes ();

no_shuffle();

# The cookies as they must be cleared with the default attributes.
our $ClearJwt = qr/^Set-Cookie: stytch_session_jwt=; Path=\/; SameSite=Lax; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT\r$/m;
our $ClearToken = qr/^Set-Cookie: stytch_session=; Path=\/; SameSite=Lax; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT\r$/m;
our $Cleared = qr/(?=[\s\S]*$ClearJwt)(?=[\s\S]*$ClearToken)[\s\S]*^Cache-Control: no-store\r$/m;

sub main::revoked {
    my $id = shift;
    return StytchTest::emulator(GET => "/emulator/sessions/$id")->{revoked}
           ? 1 : 0;
}

our $s1 = create_session();
our $s2 = create_session();
our $s3 = create_session();
our $s4 = create_session();
our $s5 = create_session();
our $s6 = create_session();
our $b2b = create_session(type => 'b2b');

run_tests();

__DATA__

=== TEST 1: the session token is revoked at Stytch, the cookies are cleared, 303 to "/"
--- config
    absolute_redirect off;

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 1s;
    }

    location /emu/ {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/;
    }

    location = /logout {
        stytch_logout;
    }

    location = /bye {
        stytch_logout /signed-out?from=bye;
    }

    location = /away {
        stytch_logout https://www.example.com/signed-out;
    }

    location /p/ {
        stytch_auth on;
        root html;
    }
--- user_files
>>> secret/data.txt
the secret file
--- init
StytchTest::reset_emulator();
--- request eval
["GET /logout", "GET /emu/sessions/$::s1->{session_id}"]
--- more_headers eval
["Cookie: theme=dark; stytch_session=$::s1->{session_token}; stytch_session_jwt=$::s1->{session_jwt}", ""]
--- error_code eval
[303, 200]
--- response_headers eval
["Location: /", ""]
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



=== TEST 2: nothing of the client's request reaches Stytch: the token in our body, our Basic credentials
--- config
    absolute_redirect off;

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 1s;
    }

    location /emu/ {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/;
    }

    location = /logout {
        stytch_logout;
    }

    location = /bye {
        stytch_logout /signed-out?from=bye;
    }

    location = /away {
        stytch_logout https://www.example.com/signed-out;
    }

    location /p/ {
        stytch_auth on;
        root html;
    }
--- user_files
>>> secret/data.txt
the secret file
--- init
StytchTest::reset_emulator();
--- request eval
["POST /logout?return_to=/p/\r\nclient body", "GET /emu/requests?endpoint=revoke"]
--- more_headers eval
["Cookie: stytch_session=$::s2->{session_token}\r\nX-Leak: client-header-value\r\nAuthorization: Bearer client.bearer.value\r\nX-Forwarded-For: 198.51.100.7\r\nUser-Agent: client-agent", ""]
--- error_code eval
[303, 200]
--- response_body_like eval
["303 See Other", qr/^\{"requests":\[\{"method":"POST","path":"\/v1\/sessions\/revoke","headers":\{[^{}]*"content-type":"application\/json","authorization":"Basic [A-Za-z0-9+\/=]+"\},"body":\{"session_token":"\Q$::s2->{session_token}\E"\}\}\]\}$/]
--- response_body_unlike eval
["client", qr/client-header-value|client\.bearer|198\.51\.100\.7|client-agent|client body|cookie/i]



=== TEST 3: a JWT alone is revoked by session_jwt
--- config
    absolute_redirect off;

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 1s;
    }

    location /emu/ {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/;
    }

    location = /logout {
        stytch_logout;
    }

    location = /bye {
        stytch_logout /signed-out?from=bye;
    }

    location = /away {
        stytch_logout https://www.example.com/signed-out;
    }

    location /p/ {
        stytch_auth on;
        root html;
    }
--- user_files
>>> secret/data.txt
the secret file
--- init
StytchTest::reset_emulator();
--- request eval
["GET /logout", "GET /emu/sessions/$::s3->{session_id}", "GET /emu/requests?endpoint=revoke"]
--- more_headers eval
["Cookie: stytch_session_jwt=$::s3->{session_jwt}", "", ""]
--- error_code eval
[303, 200, 200]
--- raw_response_headers_like eval
[$::Cleared, "", ""]
--- response_body_like eval
["303 See Other", qr/"revoked":true/, qr/"body":\{"session_jwt":"\Q$::s3->{session_jwt}\E"\}/]



=== TEST 4: without a session: no call to Stytch, the cookies are cleared all the same
--- config
    absolute_redirect off;

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 1s;
    }

    location /emu/ {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/;
    }

    location = /logout {
        stytch_logout;
    }

    location = /bye {
        stytch_logout /signed-out?from=bye;
    }

    location = /away {
        stytch_logout https://www.example.com/signed-out;
    }

    location /p/ {
        stytch_auth on;
        root html;
    }
--- user_files
>>> secret/data.txt
the secret file
--- init
StytchTest::reset_emulator();
--- request eval
["GET /logout", "GET /emu/counters"]
--- more_headers eval
["Cookie: theme=dark", ""]
--- error_code eval
[303, 200]
--- response_headers eval
["Location: /", ""]
--- raw_response_headers_like eval
[$::Cleared, ""]
--- response_body_like eval
["303 See Other", qr/"revoke":0,/]
--- no_error_log
[warn]
[error]
[alert]
[crit]
[emerg]



=== TEST 5: idempotent: the same session signed out twice; Stytch's 404 the second time
--- config
    absolute_redirect off;

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 1s;
    }

    location /emu/ {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/;
    }

    location = /logout {
        stytch_logout;
    }

    location = /bye {
        stytch_logout /signed-out?from=bye;
    }

    location = /away {
        stytch_logout https://www.example.com/signed-out;
    }

    location /p/ {
        stytch_auth on;
        root html;
    }
--- user_files
>>> secret/data.txt
the secret file
--- init
StytchTest::reset_emulator();
my ($status, $head) = StytchTest::http_get('/logout',
    Cookie => "stytch_session=$::s4->{session_token}");
Test::More::is($status, 303, "signed out once");
Test::More::like($head, $::Cleared, "the cookies are cleared once");
Test::More::is(main::revoked($::s4->{session_id}), 1, "revoked at Stytch");
Test::More::is(StytchTest::counters()->{revoke}, 1, "one call to Stytch");
--- request
GET /logout
--- more_headers eval
"Cookie: stytch_session=$::s4->{session_token}"
--- error_code: 303
--- raw_response_headers_like eval
$::Cleared
--- error_log
signing out a session that Stytch does not know (404 session_not_found): its cookies are cleared
--- no_error_log
[warn]
[error]
[alert]
[crit]
[emerg]



=== TEST 6: a session Stytch never knew, by JWT: cleared and redirected
--- config
    absolute_redirect off;

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 1s;
    }

    location /emu/ {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/;
    }

    location = /logout {
        stytch_logout;
    }

    location = /bye {
        stytch_logout /signed-out?from=bye;
    }

    location = /away {
        stytch_logout https://www.example.com/signed-out;
    }

    location /p/ {
        stytch_auth on;
        root html;
    }
--- user_files
>>> secret/data.txt
the secret file
--- request
GET /logout
--- more_headers eval
"Cookie: stytch_session_jwt=" . StytchTest::mint_jwt(key => 'rogue')
--- error_code: 303
--- raw_response_headers_like eval
$::Cleared
--- error_log
signing out a session that Stytch does not know (400 unable_to_parse_session_jwt)
--- no_error_log
[warn]
[error]
[alert]
[crit]
[emerg]



=== TEST 7: a cookie that is no token is not sent to Stytch
--- config
    absolute_redirect off;

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 1s;
    }

    location /emu/ {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/;
    }

    location = /logout {
        stytch_logout;
    }

    location = /bye {
        stytch_logout /signed-out?from=bye;
    }

    location = /away {
        stytch_logout https://www.example.com/signed-out;
    }

    location /p/ {
        stytch_auth on;
        root html;
    }
--- user_files
>>> secret/data.txt
the secret file
--- init
StytchTest::reset_emulator();
my ($status, $head) = StytchTest::http_get('/logout',
    Cookie => 'stytch_session="a\\"b"; stytch_session_jwt={"x":1}');
Test::More::is($status, 303, "signed out");
Test::More::like($head, $::Cleared, "the cookies are cleared");
--- request
GET /emu/counters
--- response_body_like: "revoke":0,
--- error_log
the cookie "stytch_session" does not hold a token
the cookie "stytch_session_jwt" does not hold a token
--- no_error_log
[error]
[alert]
[crit]
[emerg]



=== TEST 8: Stytch unreachable: the cookies are cleared, the session stays valid at Stytch (warn)
--- config
    absolute_redirect off;

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 1s;
    }

    location /emu/ {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/;
    }

    location = /logout {
        stytch_logout;
    }

    location = /bye {
        stytch_logout /signed-out?from=bye;
    }

    location = /away {
        stytch_logout https://www.example.com/signed-out;
    }

    location /p/ {
        stytch_auth on;
        root html;
    }
--- user_files
>>> secret/data.txt
the secret file
--- init
StytchTest::reset_emulator();
my $s = StytchTest::create_session();
StytchTest::refuse(1500);
my $t0 = Time::HiRes::time();
my ($status, $head) = StytchTest::http_get('/logout',
    Cookie => "stytch_session=$s->{session_token}");
Test::More::is($status, 303, "signed out while Stytch refuses connections");
Test::More::like($head, $::Cleared, "both cookies are cleared");
Test::More::like($head, qr{^Location: /\r$}m, "redirected to /");
Time::HiRes::sleep(0.1) while Time::HiRes::time() < $t0 + 1.7;
Test::More::is(main::revoked($s->{session_id}), 0,
               "the session is still valid at Stytch");
--- request
GET /emu/health
--- error_code: 200
--- error_log eval
[qr{\[error\] .*, upstream: "http://127\.0\.0\.1:\d+/v1/sessions/revoke"},
 qr/\[warn\] .*the session could not be revoked at Stytch \(no answer\): its cookies are cleared, but it stays valid at Stytch until it expires/]
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 9: Stytch answers 503: the cookies are cleared (warn)
--- config
    absolute_redirect off;

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 1s;
    }

    location /emu/ {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/;
    }

    location = /logout {
        stytch_logout;
    }

    location = /bye {
        stytch_logout /signed-out?from=bye;
    }

    location = /away {
        stytch_logout https://www.example.com/signed-out;
    }

    location /p/ {
        stytch_auth on;
        root html;
    }
--- user_files
>>> secret/data.txt
the secret file
--- init
StytchTest::reset_emulator();
StytchTest::fault(endpoint => 'revoke', status => 503);
--- request
GET /logout
--- more_headers eval
"Cookie: stytch_session=$::s1->{session_token}"
--- error_code: 303
--- raw_response_headers_like eval
$::Cleared
--- error_log eval
qr/\[warn\] .*the session could not be revoked at Stytch \(503 server_unavailable\)/
--- no_error_log
[error]
[alert]
[crit]
[emerg]



=== TEST 10: Stytch refuses the project's credentials: an error names the directives
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret wrong-secret;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
--- config
    absolute_redirect off;

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 1s;
    }

    location /emu/ {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/;
    }

    location = /logout {
        stytch_logout;
    }

    location = /bye {
        stytch_logout /signed-out?from=bye;
    }

    location = /away {
        stytch_logout https://www.example.com/signed-out;
    }

    location /p/ {
        stytch_auth on;
        root html;
    }
--- user_files
>>> secret/data.txt
the secret file
--- init
StytchTest::reset_emulator();
--- request
GET /logout
--- more_headers eval
"Cookie: stytch_session=$::s2->{session_token}"
--- error_code: 303
--- raw_response_headers_like eval
$::Cleared
--- error_log eval
qr/\[error\] .*the API refused to revoke the session \(401 unauthorized_credentials\): check "stytch_project_id" and "stytch_secret"/
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 11: an answer over the size limit (256 KB): cleared, redirected, nothing of it reaches the client
--- config
    absolute_redirect off;

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 1s;
    }

    location /emu/ {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/;
    }

    location = /logout {
        stytch_logout;
    }

    location = /bye {
        stytch_logout /signed-out?from=bye;
    }

    location = /away {
        stytch_logout https://www.example.com/signed-out;
    }

    location /p/ {
        stytch_auth on;
        root html;
    }
--- user_files
>>> secret/data.txt
the secret file
--- init
StytchTest::reset_emulator();
StytchTest::fault(endpoint => 'revoke', body => 'oversized');
--- request
GET /logout
--- more_headers eval
"Cookie: stytch_session=$::s2->{session_token}"
--- error_code: 303
--- raw_response_headers_like eval
$::Cleared
--- response_body_like: ^<html>\r?\n(?:<head>)?<title>303 See Other</title>
--- error_log eval
[qr/\[error\] .*the API's answer is over 262144 bytes: the call is ended/,
 qr/\[warn\] .*the session could not be revoked at Stytch \(an answer over the size limit\)/]
--- no_error_log
too big subrequest response
[alert]
[crit]
[emerg]



=== TEST 12: a CDN's HTML error page: cleared, and the page does not reach the client
--- config
    absolute_redirect off;

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 1s;
    }

    location /emu/ {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/;
    }

    location = /logout {
        stytch_logout;
    }

    location = /bye {
        stytch_logout /signed-out?from=bye;
    }

    location = /away {
        stytch_logout https://www.example.com/signed-out;
    }

    location /p/ {
        stytch_auth on;
        root html;
    }
--- user_files
>>> secret/data.txt
the secret file
--- init
StytchTest::reset_emulator();
StytchTest::fault(endpoint => 'revoke', html => '<html><body>cdn-error-page</body></html>', status => 502);
--- request
GET /logout
--- more_headers eval
"Cookie: stytch_session=$::s2->{session_token}"
--- error_code: 303
--- raw_response_headers_like eval
$::Cleared
--- response_body_unlike: cdn-error-page
--- error_log
the session could not be revoked at Stytch (502
--- no_error_log
[error]
[alert]
[crit]
[emerg]



=== TEST 13: Stytch slower than proxy_read_timeout: cleared after the timeout
--- config
    absolute_redirect off;

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 1s;
    }

    location /emu/ {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/;
    }

    location = /logout {
        stytch_logout;
    }

    location = /bye {
        stytch_logout /signed-out?from=bye;
    }

    location = /away {
        stytch_logout https://www.example.com/signed-out;
    }

    location /p/ {
        stytch_auth on;
        root html;
    }
--- user_files
>>> secret/data.txt
the secret file
--- init
StytchTest::reset_emulator();
StytchTest::fault(endpoint => 'revoke', latency_ms => 2500);
--- request
GET /logout
--- more_headers eval
"Cookie: stytch_session=$::s2->{session_token}"
--- error_code: 303
--- raw_response_headers_like eval
$::Cleared
--- error_log eval
[qr/\[error\] .*upstream timed out/,
 qr/\[warn\] .*the session could not be revoked at Stytch \(no answer\)/]
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 14: an answer that redirects the call internally is refused; the file does not leak
--- config
    absolute_redirect off;

    location /_stytch_api/ {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/fake/;
    }

    # a compromised Stytch: its answer redirects the call to a local file
    location /fake/ {
        add_header X-Accel-Redirect /secret/data.txt always;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
    }

    location /secret/ {
        internal;
        root html;
    }

    location = /logout {
        stytch_logout;
    }

    location /p/ {
        stytch_auth on;
        root html;
    }
--- user_files
>>> secret/data.txt
the secret file
--- init
StytchTest::reset_emulator();
--- request
GET /logout
--- more_headers eval
"Cookie: stytch_session=$::s6->{session_token}"
--- error_code: 303
--- raw_response_headers_like eval
$::Cleared
--- response_body_unlike: the secret file
--- error_log eval
[qr/\[error\] .*the API's answer redirected the call internally \(X-Accel-Redirect\): it is refused/,
 qr/\[warn\] .*the session could not be revoked at Stytch \(an answer that redirects the call\)/]
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 15: a "return_to" path of this site is the redirect, query and all
--- config
    absolute_redirect off;

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 1s;
    }

    location /emu/ {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/;
    }

    location = /logout {
        stytch_logout;
    }

    location = /bye {
        stytch_logout /signed-out?from=bye;
    }

    location = /away {
        stytch_logout https://www.example.com/signed-out;
    }

    location /p/ {
        stytch_auth on;
        root html;
    }
--- user_files
>>> secret/data.txt
the secret file
--- request eval
["GET /logout?return_to=%2Fp%2Findex.html%3Fa%3D1%26b%3D%2520c",
 "GET /logout?x=1&return_to=/docs/guide.html",
 "GET /bye?return_to=%2F",
 "GET /away?return_to=%2Fp%2F"]
--- error_code eval
[303, 303, 303, 303]
--- response_headers eval
["Location: /p/index.html?a=1&b=%20c",
 "Location: /docs/guide.html",
 "Location: /",
 "Location: /p/"]
--- no_error_log
is not a path of this site
[error]
[alert]
[crit]
[emerg]



=== TEST 16: open redirects are refused: the configured URL instead
--- config
    absolute_redirect off;

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 1s;
    }

    location /emu/ {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/;
    }

    location = /logout {
        stytch_logout;
    }

    location = /bye {
        stytch_logout /signed-out?from=bye;
    }

    location = /away {
        stytch_logout https://www.example.com/signed-out;
    }

    location /p/ {
        stytch_auth on;
        root html;
    }
--- user_files
>>> secret/data.txt
the secret file
--- request eval
["GET /logout?return_to=//evil.example/",
 "GET /logout?return_to=%2F%2Fevil.example%2F",
 "GET /logout?return_to=/%5Cevil.example/",
 "GET /logout?return_to=%2F%5Cevil.example",
 "GET /logout?return_to=/ok%5C..%5C..%5Cevil",
 "GET /logout?return_to=https://evil.example/",
 "GET /logout?return_to=https%3A%2F%2Fevil.example%2F",
 "GET /logout?return_to=javascript:alert(1)",
 "GET /logout?return_to=evil.example",
 "GET /logout?return_to=%2Fa%0D%0ASet-Cookie:%20injected=1",
 "GET /logout?return_to=%2Fa%0Ab",
 "GET /logout?return_to=%2Fa%09b",
 "GET /logout?return_to=%2Fa%20b",
 "GET /logout?return_to=%2F%E2%80%A8",
 "GET /logout?return_to=%2F%00x",
 "GET /logout?return_to=///evil.example",
 "GET /logout?return_to=/" . ("a" x 5000),
 "GET /bye?return_to=//evil.example/",
 "GET /away?return_to=https://evil.example/"]
--- error_code eval
[(303) x 19]
--- response_headers eval
[("Location: /") x 17,
 "Location: /signed-out?from=bye",
 "Location: https://www.example.com/signed-out"]
--- raw_response_headers_unlike eval
[(qr/evil|injected/) x 19]



=== TEST 17: a refused "return_to" is logged
--- config
    absolute_redirect off;

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 1s;
    }

    location /emu/ {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/;
    }

    location = /logout {
        stytch_logout;
    }

    location = /bye {
        stytch_logout /signed-out?from=bye;
    }

    location = /away {
        stytch_logout https://www.example.com/signed-out;
    }

    location /p/ {
        stytch_auth on;
        root html;
    }
--- user_files
>>> secret/data.txt
the secret file
--- request
GET /logout?return_to=//evil.example/
--- error_code: 303
--- error_log
the sign-out's "return_to" is not a path of this site: redirecting to "/"
--- no_error_log
[error]
[alert]
[crit]
[emerg]



=== TEST 18: absolute redirects as NGINX makes them, by default
--- config
    location = /logout {
        stytch_logout /signed-out;
    }
--- request
GET /logout?return_to=/p/
--- error_code: 303
--- response_headers_like
Location: http://localhost(:\d+)?/p/



=== TEST 19: the cookies' names and attributes as configured; the token from the renamed cookie
--- config
    stytch_jwt_cookie app_jwt;
    stytch_session_cookie app_session;
    stytch_cookie_attributes "Domain=example.com; Path=/; HttpOnly; SameSite=Strict";
    absolute_redirect off;

    location /emu/ {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/;
    }

    location = /logout {
        stytch_logout;
    }
--- init
StytchTest::reset_emulator();
--- request eval
["GET /logout", "GET /emu/sessions/$::s4->{session_id}"]
--- more_headers eval
["Cookie: stytch_session=wrong-cookie; app_session=$::s4->{session_token}", ""]
--- error_code eval
[303, 200]
--- raw_response_headers_like eval
[qr/(?=[\s\S]*^Set-Cookie: app_jwt=; Domain=example.com; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT\r$)^[\s\S]*Set-Cookie: app_session=; Domain=example.com; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT\r$/m, ""]
--- raw_response_headers_unlike eval
[qr/stytch_session/, qr/\A(?!)/]
--- response_body_like eval
["303 See Other", qr/"revoked":true/]



=== TEST 20: "stytch_session_cookie off": the JWT is revoked, only its cookie is cleared
--- config
    stytch_session_cookie off;
    absolute_redirect off;

    location /emu/ {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/;
    }

    location = /logout {
        stytch_logout;
    }
--- init
StytchTest::reset_emulator();
--- request eval
["GET /logout", "GET /emu/requests?endpoint=revoke"]
--- more_headers eval
["Cookie: stytch_session=$::s5->{session_token}; stytch_session_jwt=$::s5->{session_jwt}", ""]
--- error_code eval
[303, 200]
--- raw_response_headers_like eval
[$::ClearJwt, ""]
--- raw_response_headers_unlike eval
[qr/Set-Cookie: stytch_session=/, qr/\A(?!)/]
--- response_body_like eval
["303 See Other", qr/"body":\{"session_jwt":/]



=== TEST 21: B2B: the member session is revoked at /v1/b2b/sessions/revoke
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_B2B_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_B2B_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
    stytch_b2b on;
--- config
    absolute_redirect off;

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 1s;
    }

    location /emu/ {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/;
    }

    location = /logout {
        stytch_logout;
    }

    location = /bye {
        stytch_logout /signed-out?from=bye;
    }

    location = /away {
        stytch_logout https://www.example.com/signed-out;
    }

    location /p/ {
        stytch_auth on;
        root html;
    }
--- user_files
>>> secret/data.txt
the secret file
--- init
StytchTest::reset_emulator();
--- request eval
["GET /logout", "GET /emu/sessions/$::b2b->{session_id}", "GET /emu/requests?endpoint=b2b_revoke"]
--- more_headers eval
["Cookie: stytch_session=$::b2b->{session_token}", "", ""]
--- error_code eval
[303, 200, 200]
--- raw_response_headers_like eval
[$::Cleared, "", ""]
--- response_body_like eval
["303 See Other", qr/"revoked":true/, qr/"path":"\/v1\/b2b\/sessions\/revoke"/]



=== TEST 22: GET, HEAD and POST sign out; other methods are refused
--- config
    absolute_redirect off;

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 1s;
    }

    location /emu/ {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/;
    }

    location = /logout {
        stytch_logout;
    }

    location = /bye {
        stytch_logout /signed-out?from=bye;
    }

    location = /away {
        stytch_logout https://www.example.com/signed-out;
    }

    location /p/ {
        stytch_auth on;
        root html;
    }
--- user_files
>>> secret/data.txt
the secret file
--- request eval
["HEAD /logout", "POST /logout\r\nreturn_to=/elsewhere", "PUT /logout\r\nx", "DELETE /logout"]
--- error_code eval
[303, 303, 405, 405]
--- response_headers eval
["Location: /", "Location: /", "", ""]



=== TEST 23: a client that goes away while Stytch answers: nothing breaks
--- config
    absolute_redirect off;

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 1s;
    }

    location /emu/ {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/;
    }

    location = /logout {
        stytch_logout;
    }

    location = /bye {
        stytch_logout /signed-out?from=bye;
    }

    location = /away {
        stytch_logout https://www.example.com/signed-out;
    }

    location /p/ {
        stytch_auth on;
        root html;
    }
--- user_files
>>> secret/data.txt
the secret file
--- init
StytchTest::reset_emulator();
StytchTest::fault(endpoint => 'revoke', latency_ms => 600, count => 1);
--- request
GET /logout
--- more_headers eval
"Cookie: stytch_session=$::s2->{session_token}"
--- timeout: 100ms
--- abort
--- wait: 1
--- ignore_response
--- no_error_log
[alert]
[crit]
exited on signal
[error]
[emerg]



=== TEST 24: the protected location still refuses a request whose cookies were cleared
--- config
    absolute_redirect off;

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 1s;
    }

    location /emu/ {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/;
    }

    location = /logout {
        stytch_logout;
    }

    location = /bye {
        stytch_logout /signed-out?from=bye;
    }

    location = /away {
        stytch_logout https://www.example.com/signed-out;
    }

    location /p/ {
        stytch_auth on;
        root html;
    }
--- user_files
>>> secret/data.txt
the secret file
--- init
my $s = StytchTest::create_session();
my ($status, $head) = StytchTest::http_get('/logout',
    Cookie => "stytch_session=$s->{session_token}");
Test::More::is($status, 303, "signed out");
--- request
GET /p/index.html
--- more_headers eval
"Cookie: stytch_session=$::s1->{session_token}"
--- error_code: 401



=== TEST 25: no API location in a server without protected locations: the cookies go all the same
--- no_stytch_defaults: api_location
--- config
    absolute_redirect off;

    location = /logout {
        stytch_logout;
    }
--- request
GET /logout
--- more_headers eval
"Cookie: stytch_session=$::s3->{session_token}"
--- error_code: 303
--- raw_response_headers_like eval
$::Cleared
--- response_body_unlike: _stytch_api
--- error_log eval
[qr{\[error\] .*open\(\) "[^"]*/_stytch_api/v1/sessions/revoke" failed},
 qr/\[error\] .*did not reach an upstream: "stytch_api_location" must name a location with "proxy_pass" to the Stytch API/]
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 26: the URL must be a local path or an http(s) URL
--- config
    location = /logout {
        stytch_logout //evil.example/;
    }
--- must_die
--- error_log
[emerg]
invalid value "//evil.example/" in "stytch_logout" directive, it must be a path that starts with "/" (not "//") or an "http://" or "https://" URL
--- no_error_log
[error]
[alert]
[crit]



=== TEST 27: a backslash is refused
--- config
    location = /logout {
        stytch_logout "/a\\b";
    }
--- must_die
--- error_log
[emerg]
invalid value "/a\b" in "stytch_logout" directive
--- no_error_log
[error]
[alert]
[crit]



=== TEST 28: a URL without a host is refused
--- config
    location = /logout {
        stytch_logout https:///x;
    }
--- must_die
--- error_log
[emerg]
invalid value "https:///x" in "stytch_logout" directive
--- no_error_log
[error]
[alert]
[crit]



=== TEST 29: another scheme is refused
--- config
    location = /logout {
        stytch_logout javascript:alert(1);
    }
--- must_die
--- error_log
[emerg]
invalid value "javascript:alert(1)" in "stytch_logout" directive
--- no_error_log
[error]
[alert]
[crit]



=== TEST 30: a space is refused
--- config
    location = /logout {
        stytch_logout "/signed out";
    }
--- must_die
--- error_log
[emerg]
invalid value "/signed out" in "stytch_logout" directive
--- no_error_log
[error]
[alert]
[crit]



=== TEST 31: twice in a location
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
--- config
    location = /logout {
        stytch_logout;
        stytch_logout /x;
    }
--- must_die
--- error_log
[emerg]
"stytch_logout" directive is duplicate
--- no_error_log
[error]
[alert]
[crit]



=== TEST 32: two arguments
--- config
    location = /logout {
        stytch_logout / /x;
    }
--- must_die
--- error_log
[emerg]
invalid number of arguments in "stytch_logout" directive
--- no_error_log
[error]
[alert]
[crit]



=== TEST 33: not at server level
--- config
    stytch_logout;
--- must_die
--- error_log
[emerg]
"stytch_logout" directive is not allowed here
--- no_error_log
[error]
[alert]
[crit]



=== TEST 34: a protected sign-out location would refuse the requests it is for
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
--- config
    stytch_auth on;

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
    }

    location = /logout {
        stytch_logout;
    }
--- must_die
--- error_log
[emerg]
"stytch_logout" needs "stytch_auth off" in its location: a sign-out must answer requests whose session is gone
--- no_error_log
[error]
[alert]
[crit]



=== TEST 35: the credentials are needed
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
--- config
    location = /logout {
        stytch_logout;
    }
--- must_die
--- error_log
[emerg]
"stytch_logout" needs "stytch_project_id" and "stytch_secret" or "stytch_secret_file" to revoke sessions
--- no_error_log
[error]
[alert]
[crit]



=== TEST 36: the API location is checked as the fallback's is
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
--- config
    location = /logout {
        stytch_logout;
    }

    location /p/ {
        stytch_auth on;
        stytch_fallback off;
        root html;
    }
--- must_die
--- error_log
[emerg]
"stytch_api_location" "/_stytch_api": server "localhost" has no location for it, so its calls fall into "location /"; add "location /_stytch_api/ { internal;
--- no_error_log
[error]
[alert]
[crit]
