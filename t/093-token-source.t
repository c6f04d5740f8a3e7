# stytch_token: the token taken from a variable (a query argument, for
# WebSocket and EventSource clients), as auth_jwt's "token=" does.  Where
# it is set it is the only source: neither the Authorization header nor
# the cookies are read.  Its value is taken as a Bearer token is: a JWT or
# an opaque session token as its shape says, the same size limit, M2M
# tokens at m2m locations.
use Test::Nginx::Socket 'no_plan';
use StytchTest;

no_shuffle();
no_root_location();

our $s = create_session();
our $jwt = $s->{session_jwt};
our $opaque = $s->{session_token};
our $other = create_session()->{session_jwt};
our $huge = join '.', 'eyJhbGciOiJSUzI1NiJ9', 'a' x 17000, 'b';
our $m2m = StytchTest::emulator(POST => '/emulator/m2m/token',
                                { scopes => ['read:users'] })->{access_token};

run_tests();

__DATA__

=== TEST 1: a JWT in the query argument named by stytch_token is verified locally
--- config
    location /p/ {
        stytch_auth on;
        stytch_token $arg_access_token;
        root html;
        add_header X-Source $stytch_auth_source always;
        add_header X-Session $stytch_session_id always;
    }
--- init
StytchTest::wait_keys('/p/index.html?access_token=' . StytchTest::mint_jwt());
--- request eval
"GET /p/index.html?access_token=$::jwt"
--- error_code: 200
--- response_headers eval
["X-Source: jwt", "X-Session: $::s->{session_id}"]
--- response_body
protected content



=== TEST 2: with stytch_token set, a valid Bearer header is not read
--- config
    location /p/ {
        stytch_auth on;
        stytch_token $arg_access_token;
        root html;
    }
--- more_headers eval
"Authorization: Bearer $::jwt"
--- request
GET /p/index.html
--- error_code: 401



=== TEST 3: with stytch_token set, the session cookies are not read
--- config
    location /p/ {
        stytch_auth on;
        stytch_token $arg_access_token;
        root html;
    }
--- more_headers eval
"Cookie: stytch_session_jwt=$::jwt; stytch_session=$::opaque"
--- request
GET /p/index.html
--- error_code: 401



=== TEST 4: the variable wins over a Bearer header of another session
--- http_config
    stytch_token $arg_access_token;
--- config
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Session $stytch_session_id always;
    }
--- more_headers eval
"Authorization: Bearer $::other"
--- request eval
"GET /p/index.html?access_token=$::jwt"
--- error_code: 200
--- response_headers eval
"X-Session: $::s->{session_id}"



=== TEST 5: an opaque session token in the variable goes to the API, as a Bearer one does
--- config
    location /p/ {
        stytch_auth on;
        stytch_token $arg_access_token;
        root html;
        add_header X-Source $stytch_auth_source always;
    }
--- request eval
"GET /p/index.html?access_token=$::opaque"
--- error_code: 200
--- response_headers
X-Source: api



=== TEST 6: a token over the size limit is refused, as in the header
--- config
    large_client_header_buffers 4 64k;

    location /p/ {
        stytch_auth on;
        stytch_token $http_x_token;
        root html;
        add_header X-Error $stytch_auth_error always;
    }
--- more_headers eval
"X-Token: $::huge"
--- request
GET /p/index.html
--- error_code: 401
--- response_headers
X-Error: token_too_large



=== TEST 7: an M2M token in the variable at an m2m location
--- config
    location /p/ {
        stytch_auth m2m;
        stytch_token $arg_access_token;
        root html;
        add_header X-Client $stytch_client_id always;
    }
--- init
StytchTest::wait_keys('/p/index.html?access_token=' . $::m2m);
--- request eval
"GET /p/index.html?access_token=$::m2m"
--- error_code: 200
--- response_headers_like
X-Client: \S+



=== TEST 8: an empty variable is no token: 401
--- config
    location /p/ {
        stytch_auth on;
        stytch_token $arg_access_token;
        root html;
    }
--- request
GET /p/index.html?access_token=
--- error_code: 401
--- response_headers_like
WWW-Authenticate: Bearer realm=".*"$



=== TEST 9: stytch_token takes one argument
--- config
    location /p/ {
        stytch_auth on;
        stytch_token;
        root html;
    }
--- must_die
--- error_log
invalid number of arguments in "stytch_token" directive
--- no_error_log
[alert]
[crit]
