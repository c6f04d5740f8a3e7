# Hostile inputs that once got through: a zone filled with cached answers
# that refused a key rotation room, a lax location's cache validity used by
# a strict one, API answers whose tokens would split or extend Set-Cookie,
# shared caches told to store a user's cookie, and JSON false, null, [] and
# {} taken as true by stytch_require.
use Test::Nginx::Socket 'no_plan';
use StytchTest;

use JSON::PP ();
use Time::HiRes ();

no_shuffle();

our $live = create_session();
our $expired = mint_jwt(session_id => $live->{session_id}, iat => time() - 3600);

# what sessions/authenticate answers for $expired, with tokens that are not
# tokens: a CR LF that would start a header, a ";" that would add an
# attribute
our $hostile_answer = do {
    my $a = stytch_api(POST => '/v1/sessions/authenticate', { session_jwt => $expired });
    $a->{session_jwt} = "eyJhbGciOi.x.y; Domain=evil.example";
    $a->{session_token} = "abc\r\nX-Injected: yes";
    JSON::PP->new->canonical->encode($a);
};

our $claims = mint_jwt(claims => {
    f => JSON::PP::false, n => undef, a => [], o => {}, t => JSON::PP::true,
    s => 'yes',
});

run_tests();

__DATA__

=== TEST 1: a zone full of cached answers: a rotated key set is still published, and its JWTs verify locally
--- http_config
    stytch_zone stytch 192k;
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
    stytch_jwks_cooldown 1s;
    stytch_api_cache_valid 10m 10m;
--- config
    location = /status {
        stytch_status;
    }

    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }

    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Source $stytch_auth_source always;
    }
--- init
StytchTest::wait_keys('/p/index.html');
my $refused = 0;
for my $round (1 .. 75) {
    my @req = map { [GET => '/p/index.html', Cookie => sprintf('stytch_session=random%08x%08xtoken%04d',
                                                              int rand 2**32, int rand 2**32, $_)] } 1 .. 20;
    $refused += grep { $_->{status} == 401 } StytchTest::concurrent(@req);
}
Test::More::is($refused, 1500, "TEST 1: 1500 random session tokens refused");
Test::More::cmp_ok(StytchTest::nginx_status()->{zone}{cache_evictions}, '>', 0,
                   "TEST 1: the zone was full: cached answers were evicted");
Time::HiRes::sleep(1.2);
StytchTest::reset_emulator();
StytchTest::rotate_keys();
my $new = StytchTest::mint_jwt(session_id => $main::live->{session_id});
my ($status, $head) = StytchTest::http_get('/p/index.html', Cookie => "stytch_session_jwt=$new");
Test::More::is($status, 200, "TEST 1: a JWT of the new key: 200");
Test::More::like($head, qr/^X-Source: jwt\r?$/m, "TEST 1: verified locally");
--- request
GET /counters
--- response_body_like: ^(?=.*"jwks":1,)(?=.*"authenticate":0,)
--- no_error_log
the zone is too small
[error]
[alert]
[crit]
[emerg]



=== TEST 2: an answer cached by a lax location is not used by a strict one past its own validity
--- config
    location /lax/ {
        stytch_auth on;
        stytch_api_cache_valid 10m;
        root html;
    }

    location /strict/ {
        stytch_auth strict;
        stytch_api_cache_valid 1s;
        root html;
        add_header X-Error $stytch_auth_error always;
    }
--- user_files
>>> lax/index.html
lax content
>>> strict/index.html
strict content
--- init
$main::s2 = StytchTest::create_session();
my @cookie = (Cookie => "stytch_session=$main::s2->{session_token}");
Test::More::is(StytchTest::http_get('/lax/index.html', @cookie), 200,
               "TEST 2: the lax location caches the answer");
StytchTest::revoke(session_id => $main::s2->{session_id});
Time::HiRes::sleep(1.5);
Test::More::is(StytchTest::http_get('/lax/index.html', @cookie), 200,
               "TEST 2: the lax location may still use it");
my ($status, $head) = StytchTest::http_get('/strict/index.html', @cookie);
Test::More::is($status, 401, "TEST 2: the strict location asks Stytch: revoked");
Test::More::like($head, qr/^X-Error: api_session_not_found\r?$/m, "TEST 2: Stytch said so");
--- request
GET /lax/index.html
--- error_code: 401



=== TEST 3: tokens in an API answer that would split or extend Set-Cookie: no cookie is set, and the log says so
--- config
    location /p/ {
        stytch_auth on;
        root html;
    }
--- init
StytchTest::reset_emulator();
StytchTest::fault(endpoint => 'authenticate', body => $main::hostile_answer);
--- more_headers eval
"Cookie: stytch_session_jwt=$::expired; stytch_session=abc"
--- request
GET /p/index.html
--- error_code: 200
--- response_body
protected content
--- raw_response_headers_unlike: (?i)set-cookie|x-injected|domain=evil
--- error_log eval
qr/\[error\] .*the API's session_jwt is not a token: no cookie is set/
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 4: a response that sets a cookie is private: the upstream's public Cache-Control becomes private
--- config
    location /app/ {
        stytch_auth on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend/;
    }

    location /backend/ {
        add_header Cache-Control "public, max-age=600, s-maxage=3600";
        root html;
    }
--- user_files
>>> backend/index.html
application page
--- init
StytchTest::reset_emulator();
--- more_headers eval
"Cookie: stytch_session_jwt=$::expired"
--- request
GET /app/index.html
--- error_code: 200
--- response_body
application page
--- raw_response_headers_like: \r\nSet-Cookie: stytch_session_jwt=eyJ[^\r]*\r\n.*\r\nCache-Control: private, max-age=600\r\n
--- raw_response_headers_unlike: public|s-maxage



=== TEST 5: expires in the location: its max-age joins "private" in one Cache-Control (t/087-refresh-private.t has the rest)
--- config
    location /p/ {
        stytch_auth on;
        root html;
        expires 10m;
    }
--- init
StytchTest::reset_emulator();
--- more_headers eval
"Cookie: stytch_session_jwt=$::expired"
--- request
GET /p/index.html
--- error_code: 200
--- raw_response_headers_like: \r\nCache-Control: private, max-age=600\r\n



=== TEST 6: stytch_require: claims that are false, null, [] or {} fail; true and a string pass
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
    stytch_fallback off;
--- config
    location /false/ { stytch_auth on; stytch_require $stytch_claim_f; alias html/p/; }
    location /null/  { stytch_auth on; stytch_require $stytch_claim_n; alias html/p/; }
    location /array/ { stytch_auth on; stytch_require $stytch_claim_a; alias html/p/; }
    location /obj/   { stytch_auth on; stytch_require $stytch_claim_o; alias html/p/; }
    location /true/  { stytch_auth on; stytch_require $stytch_claim_t; alias html/p/; }
    location /str/   { stytch_auth on; stytch_require $stytch_claim_s; alias html/p/; }
--- init
Test::More::is(StytchTest::wait_status(200, '/true/index.html', Cookie => "stytch_session_jwt=$main::claims"),
               200, "TEST 6: the keys are loaded");
--- more_headers eval
"Cookie: stytch_session_jwt=$::claims"
--- request eval
["GET /false/index.html", "GET /null/index.html", "GET /array/index.html",
 "GET /obj/index.html", "GET /true/index.html", "GET /str/index.html"]
--- error_code eval
[403, 403, 403, 403, 200, 200]
