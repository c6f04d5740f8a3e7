# Where the module's verdict is the one Stytch's SDKs give (stytch-node's
# sessions.authenticateJwt and m2m.authenticateToken), against the
# emulator: a permission the token's roles lack is put to the API, whose
# live roles decide (unless stytch_rbac_local_final); stytch_max_token_age
# leaves M2M tokens alone; a JWT signed with a key Stytch took up right
# after the last key fetch gets in, while forged kids stay cheap; and the
# cases README's "Where the module and the SDKs part" decides: an expired
# JWT sent with another session's token, a future iat, typ
# application/jwt.
use Test::Nginx::Socket 'no_plan';
use StytchTest;

use Time::HiRes ();

no_shuffle();
check_accum_error_log();

# roles at Stytch that the JWT does not carry
our $noroles = create_session(omit_roles => \1, roles => ['stytch_user', 'admin']);
# a role granted after the JWT was minted
our $later = create_session(roles => ['stytch_user']);
our $later_jwt = $later->{session_jwt};
emulator(POST => "/emulator/sessions/$later->{session_id}/roles",
         { roles => ['stytch_user', 'admin'] });
# never granted
our $plain = create_session(roles => ['stytch_user']);

our $one = create_session();
our $two = create_session();
our $one_expired = mint_jwt(session_id => $one->{session_id},
                          iat => time() - 900, lifetime => 300);

# N JWTs of a session, signed by a key Stytch never had, each under a
# kid of its own.
sub main::forged {
    my ($n) = @_;
    return map {
        StytchTest::mint_jwt(session_id => $main::one->{session_id},
            key => 'rogue',
            header => { kid => sprintf('jwk-test-%08x-forged', int rand 2**32) })
    } 1 .. $n;
}

our $Counters = <<'_EOC_';
    location = /counters {
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }

    location = /status {
        stytch_status;
    }
_EOC_

run_tests();

__DATA__

=== TEST 1: a JWT without roles, whose session's roles at Stytch grant the permission: 200, one API call per token and check
--- http_config
    stytch_policy_refresh 1s;
--- config eval
<<'_EOC_' . $::Counters
    location /p/ {
        stytch_auth on;
        stytch_require_permission documents delete;
        root html;
        add_header X-Err "$stytch_auth_error" always;
    }
_EOC_
--- init
StytchTest::wait_policy();
StytchTest::reset_emulator();
--- more_headers eval
["Cookie: stytch_session_jwt=$::noroles->{session_jwt}",
 "Cookie: stytch_session_jwt=$::noroles->{session_jwt}",
 ""]
--- request eval
["GET /p/index.html", "GET /p/index.html", "GET /counters"]
--- error_code eval
[200, 200, 200]
--- response_body_like eval
["protected content", "protected content", qr/"authenticate":1,/]
--- error_log eval
qr/\[info\] .*no role of the token grants "delete" on "documents": permission_denied, asking the API/



=== TEST 2: a role granted at Stytch after the JWT was minted: 200; a role never granted: the API's 403, remembered
--- http_config
    stytch_policy_refresh 1s;
--- config eval
<<'_EOC_' . $::Counters
    location /p/ {
        stytch_auth on;
        stytch_require_permission documents delete;
        # a refusal is remembered for 1 s by default: a slow run (the
        # sanitizers) could see it forgotten between the two requests
        stytch_api_cache_valid 5s 30s;
        root html;
        add_header X-Err "$stytch_auth_error" always;
    }
_EOC_
--- init
StytchTest::wait_policy();
StytchTest::reset_emulator();
--- more_headers eval
["Cookie: stytch_session_jwt=$::later_jwt",
 "Cookie: stytch_session_jwt=$::plain->{session_jwt}",
 "Cookie: stytch_session_jwt=$::plain->{session_jwt}",
 ""]
--- request eval
["GET /p/index.html", "GET /p/index.html", "GET /p/index.html", "GET /counters"]
--- error_code eval
[200, 403, 403, 200]
--- response_headers eval
["X-Err: ", "WWW-Authenticate: Bearer error=\"insufficient_scope\"\nX-Err: api_forbidden", "X-Err: api_forbidden", ""]
--- response_body_like eval
["protected content", "403 Forbidden", "403 Forbidden", qr/"authenticate":2,/]



=== TEST 3: stytch_rbac_local_final on: the token's roles decide, the API is not asked
--- http_config
    stytch_policy_refresh 1s;
--- config eval
<<'_EOC_' . $::Counters
    location /p/ {
        stytch_auth on;
        stytch_rbac_local_final on;
        stytch_require_permission documents delete;
        root html;
        add_header X-Err "$stytch_auth_error" always;
    }
_EOC_
--- init
StytchTest::wait_policy();
StytchTest::reset_emulator();
--- more_headers eval
["Cookie: stytch_session_jwt=$::later_jwt", ""]
--- request eval
["GET /p/index.html", "GET /counters"]
--- error_code eval
[403, 200]
--- response_headers eval
["X-Err: permission_denied", ""]
--- response_body_like eval
["403 Forbidden", qr/"authenticate":0,/]



=== TEST 4: the API cannot be asked about a denied permission: the local denial stands, 403
--- http_config
    stytch_policy_refresh 1s;
--- config eval
<<'_EOC_' . $::Counters
    location /p/ {
        stytch_auth on;
        stytch_require_permission documents delete;
        root html;
        add_header X-Err "$stytch_auth_error" always;
    }
_EOC_
--- init
StytchTest::wait_policy();
StytchTest::fault(endpoint => 'authenticate', status => 503);
--- more_headers eval
"Cookie: stytch_session_jwt=$::later_jwt"
--- request
GET /p/index.html
--- error_code: 403
--- response_headers
X-Err: permission_denied
--- error_log eval
qr/\[info\] .*api_unavailable: the policy's denial stands/



=== TEST 5: stytch_max_token_age concerns session JWTs: a 3-minute-old M2M token passes a 2m limit, as m2m.authenticateToken lets it
--- config eval
<<'_EOC_' . $::Counters
    location /p/ {
        stytch_auth on;
        stytch_accept_m2m on;
        stytch_max_token_age 2m;
        root html;
    }
_EOC_
--- init
StytchTest::clear_faults();
StytchTest::reset_emulator();
--- more_headers eval
["Authorization: Bearer " . StytchTest::emulator(POST => '/emulator/m2m/token',
                                                 { iat => time() - 180 })->{access_token},
 ""]
--- request eval
["GET /p/index.html", "GET /counters"]
--- error_code eval
[200, 200]
--- response_body_like eval
["protected content", qr/"authenticate":0,/]



=== TEST 6: keys rotated right after a fetch, a long cooldown: the new key's JWT gets in, through the API, which brings one key fetch; 300 forged kids cost at most 4 API calls and no fetch
--- http_config
    stytch_jwks_cooldown 1h;
--- config eval
<<'_EOC_' . $::Counters
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Source "$stytch_auth_source" always;
    }
_EOC_
--- init
StytchTest::wait_keys('/p/index.html');
StytchTest::reset_emulator();
StytchTest::rotate_keys();
my $new1 = StytchTest::mint_jwt(session_id => $::two->{session_id});
my ($status, $head) = StytchTest::http_get('/p/index.html', Cookie => "stytch_session_jwt=$new1");
Test::More::is($status, 200, "TEST 6: the new key's JWT, within the cooldown: 200");
Test::More::like($head, qr/^X-Source: api\r$/m, "TEST 6: the API decided it");
Test::More::ok(StytchTest::wait_until(sub { StytchTest::counters()->{jwks} >= 1 }),
               "TEST 6: the API's acceptance brought a key fetch");
Time::HiRes::sleep(0.5);
my $new2 = StytchTest::mint_jwt(session_id => $::one->{session_id});
StytchTest::wait_until(sub {
    (StytchTest::http_get('/p/index.html', Cookie => "stytch_session_jwt=$new2"))[1]
        =~ /^X-Source: (?:jwt|cache)\r$/m });
($status, $head) = StytchTest::http_get('/p/index.html', Cookie => "stytch_session_jwt=$new2");
Test::More::is($status, 200, "TEST 6: another JWT of the new key: 200");
Test::More::like($head, qr/^X-Source: (?:jwt|cache)\r$/m, "TEST 6: verified locally, with the fetched key");
my $before = StytchTest::counters();
my @answers;
push @answers, StytchTest::concurrent(map { [GET => '/p/index.html', Cookie => "stytch_session_jwt=$_"] }
                                      main::forged(50))
    for 1 .. 6;
Test::More::is(scalar(grep { $_->{status} == 401 } @answers), 300, "TEST 6: 300 forged kids, 300 answers 401");
my $after = StytchTest::counters();
Test::More::diag(sprintf "TEST 6: 300 forged kids: %d API calls; %d key fetches since the rotation",
                 $after->{authenticate} - $before->{authenticate}, $after->{jwks});
Test::More::cmp_ok($after->{authenticate} - $before->{authenticate}, '<=', 4,
                   "TEST 6: the forged kids cost at most 4 API calls");
Test::More::is($after->{jwks}, 1, "TEST 6: one key fetch in all since the rotation");
--- request
GET /counters
--- response_body_like: ^(?=.*"jwks":1,)



=== TEST 7: an expired JWT with the session token of another session: the token decides, and the identity is its session's alone
--- config
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Session "$stytch_session_id" always;
        add_header X-User "$stytch_user_id" always;
    }
--- more_headers eval
"Cookie: stytch_session_jwt=$::one_expired; stytch_session=$::two->{session_token}"
--- request
GET /p/index.html
--- error_code: 200
--- response_headers eval
"X-Session: $::two->{session_id}\nX-User: $::two->{user_id}"



=== TEST 8: iat in the future: not trusted locally, the API decides (it accepts a live session)
--- config eval
<<'_EOC_' . $::Counters
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Source "$stytch_auth_source" always;
    }
_EOC_
--- init
StytchTest::reset_emulator();
--- more_headers eval
["Cookie: stytch_session_jwt=" . StytchTest::mint_jwt(session_id => $::one->{session_id},
                                                      iat => time() + 600),
 ""]
--- request eval
["GET /p/index.html", "GET /counters"]
--- error_code eval
[200, 200]
--- response_headers eval
["X-Source: api", ""]
--- response_body_like eval
["protected content", qr/"authenticate":1,/]
--- error_log eval
qr/\[info\] .*claim_not_yet_valid, asking the API/



=== TEST 9: typ "application/jwt" or absent is taken as jose takes it, locally
--- config eval
<<'_EOC_' . $::Counters
    location /p/ {
        stytch_auth on;
        root html;
    }
_EOC_
--- init
StytchTest::reset_emulator();
--- more_headers eval
["Cookie: stytch_session_jwt=" . StytchTest::mint_jwt(session_id => $::one->{session_id},
                                                      header => { typ => 'application/jwt' }),
 "Cookie: stytch_session_jwt=" . StytchTest::mint_jwt(session_id => $::one->{session_id},
                                                      header => { typ => 'Application/JWT' }),
 "Cookie: stytch_session_jwt=" . StytchTest::mint_jwt(session_id => $::one->{session_id},
                                                      header => { typ => undef }),
 "Cookie: stytch_session_jwt=" . StytchTest::mint_jwt(session_id => $::one->{session_id},
                                                      header => { typ => 'at+jwt' }),
 ""]
--- request eval
["GET /p/index.html", "GET /p/index.html", "GET /p/index.html", "GET /p/index.html", "GET /counters"]
--- error_code eval
[200, 200, 200, 401, 200]
--- response_body_like eval
["protected content", "protected content", "protected content", "401", qr/"authenticate":0,/]



=== TEST 10: an unknown 4xx answer to a permission check is what the SDK surfaces as a failed authentication: 401
--- http_config
    stytch_policy_refresh 1s;
--- config eval
<<'_EOC_' . $::Counters
    location /p/ {
        stytch_auth on;
        stytch_require_permission documents delete;
        root html;
        add_header X-Err "$stytch_auth_error" always;
    }
_EOC_
--- init
StytchTest::wait_policy();
StytchTest::fault(endpoint => 'authenticate', status => 400,
                  body => '{"status_code":400,"request_id":"request-id-test-1","error_type":"some_new_error","error_message":"new"}');
--- more_headers eval
"Cookie: stytch_session_jwt=$::plain->{session_jwt}"
--- request
GET /p/index.html
--- error_code: 401
--- response_headers
X-Err: api_session_not_found
--- error_log eval
qr/\[info\] .*no role of the token grants "delete" on "documents"/
