# The API fallback across requests: concurrent requests with one token
# share one API call, the JWT refreshed by the API then verifies locally,
# "stytch_auth strict" asks the API even for a valid JWT (but never for a
# forged one), and stytch_status counts what was decided locally.
use Test::Nginx::Socket 'no_plan';
use StytchTest;

no_shuffle();

our $live = create_session();
our $expired = mint_jwt(session_id => $live->{session_id},
                        iat => time() - 3600);

run_tests();

__DATA__

=== TEST 1: 50 concurrent requests with one expired JWT make one API call; the 49 others join it
--- config
    location /p/ {
        stytch_auth on;
        root html;
    }

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 3s;
    }

    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }

    location = /status {
        stytch_status;
    }
--- init
StytchTest::reset_emulator();
StytchTest::fault(endpoint => 'authenticate', latency_ms => 300);
my @answers = StytchTest::concurrent_get(50, '/p/index.html',
    Cookie => "stytch_session_jwt=$main::expired");
StytchTest::clear_faults();
Test::More::is(scalar(grep { $_->{status} == 200
                             && $_->{body} eq "protected content\n" } @answers),
               50, "TEST 1: all 50 concurrent requests get the file");
--- request eval
["GET /counters", "GET /status"]
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/"authenticate":1,/, qr/"api_calls":1,.*"api_joins":49[,}]/]



=== TEST 2: the refreshed JWT of the Set-Cookie then verifies locally, and is not refreshed again
--- config
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Source $stytch_auth_source always;
    }

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 3s;
    }

    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }
--- init
StytchTest::wait_keys('/p/index.html');
StytchTest::reset_emulator();
my ($status, $head) = StytchTest::http_get('/p/index.html',
    Cookie => "stytch_session_jwt=$main::expired");
Test::More::is($status, 200, "TEST 2: the expired JWT is refreshed by the API");
Test::More::like($head, qr/^X-Source: api\r?$/m, "TEST 2: answered by the API");
my ($jwt) = $head =~ /^Set-Cookie: stytch_session_jwt=([^;\r\n]+)/mi;
Test::More::ok($jwt && $jwt ne $main::expired, "TEST 2: a new JWT is set");
my ($status2, $head2) = StytchTest::http_get('/p/index.html',
    Cookie => "stytch_session_jwt=$jwt");
Test::More::is($status2, 200, "TEST 2: the new JWT is accepted");
Test::More::like($head2, qr/^X-Source: jwt\r?$/m, "TEST 2: verified locally");
Test::More::unlike($head2, qr/^Set-Cookie/mi, "TEST 2: no cookie to refresh");
--- request
GET /counters
--- response_body_like chomp
"authenticate":1,



=== TEST 3: stytch_auth strict asks the API even for a valid JWT; "on" verifies it locally
--- config
    location /strict/ {
        stytch_auth strict;
        root html;
        add_header X-Source $stytch_auth_source always;
    }

    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Source $stytch_auth_source always;
    }

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 3s;
    }

    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }

    location = /status {
        stytch_status;
    }
--- user_files
>>> strict/index.html
strictly protected content
--- init
StytchTest::wait_zone('keys_generation');
StytchTest::reset_emulator();
--- more_headers eval
"Cookie: stytch_session_jwt=$::live->{session_jwt}"
--- request eval
["GET /strict/index.html", "GET /p/index.html", "GET /counters"]
--- error_code eval
[200, 200, 200]
--- response_headers_like eval
["X-Source: api", "X-Source: (jwt|cache)", ""]
--- response_body_like eval
["strictly protected content", "protected content", qr/"authenticate":1,/]



=== TEST 4: stytch_auth strict refuses a forged JWT without asking the API
--- config
    location /strict/ {
        stytch_auth strict;
        root html;
    }

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 3s;
    }

    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }

    location = /status {
        stytch_status;
    }
--- user_files
>>> strict/index.html
strictly protected content
--- init
StytchTest::wait_zone('keys_generation');
StytchTest::reset_emulator();
--- more_headers eval
"Cookie: stytch_session_jwt=" . StytchTest::mint_jwt(session_id => $::live->{session_id}, key => 'rogue', header => { kid => StytchTest::list_keys()->{signing} })
--- request eval
["GET /strict/index.html", "GET /counters"]
--- error_code eval
[401, 200]
--- response_headers eval
["WWW-Authenticate: Bearer realm=\"stytch\", error=\"invalid_token\"", ""]
--- response_body_like eval
["401", qr/"authenticate":0,/]



=== TEST 5: stytch_status counts local accepts and rejects
--- config
    location /p/ {
        stytch_auth on;
        root html;
    }

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
        proxy_read_timeout 3s;
    }

    location = /status {
        stytch_status;
    }
--- init
StytchTest::wait_zone('keys_generation');
Test::More::is(StytchTest::http_get('/p/index.html',
                   Cookie => "stytch_session_jwt=$main::live->{session_jwt}"),
               200, "TEST 5: a valid JWT is accepted");
Test::More::is(StytchTest::http_get('/p/index.html',
                   Cookie => "stytch_session_jwt=not.a.jwt"),
               401, "TEST 5: a malformed one is rejected");
--- request
GET /status
--- response_headers
Content-Type: application/json
--- response_body_like chomp
^\{"zone":\{[^}]*\},"projects":\[\{"project_id":"project-test-[0-9a-f-]+","keys_generation":1,.*"local_accepts":1,"local_rejects":1,
