# Key sets that no worker should use are refused, with a clear log line,
# and hurt nothing: the API fallback answers meanwhile.  nginx serves them
# itself, in place of Stytch's JWKS endpoint.  (Huge and garbage tokens
# are rows of the table of refused tokens in t/020-jwt.t.)
use Test::Nginx::Socket 'no_plan';
use StytchTest;

use Crypt::PK::RSA;
use JSON::PP ();

no_shuffle();
check_accum_error_log();

our $session = create_session();

# a key set whose only key is 512-bit
our $weak = do {
    my $pk = Crypt::PK::RSA->new;
    $pk->generate_key(64);
    my $jwk = $pk->export_key_jwk('public', 1);
    $jwk->{kid} = 'jwk-test-weak';
    $jwk->{use} = 'sig';
    $jwk->{alg} = 'RS256';
    JSON::PP::encode_json({ keys => [$jwk] });
};

# 5 MB of keys
our $oversized = '{"keys":[' . ('{"kty":"RSA"},' x 400000) . '{}]}';

run_tests();

__DATA__

=== TEST 1: a key set whose only key is 512-bit is refused; the API answers meanwhile
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/fake;
--- config
    location /p/ {
        stytch_auth on;
        root html;
    }

    location /fake/ {
        root html;
    }

    location = /counters {
        proxy_pass_request_headers off;
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }
--- user_files eval
">>> fake/v1/sessions/jwks/$ENV{TEST_NGINX_STYTCH_PROJECT}
$::weak
"
--- init
StytchTest::reset_emulator();
--- more_headers eval
"Cookie: stytch_session_jwt=$::session->{session_jwt}"
--- request eval
["GET /p/index.html", "GET /counters"]
--- error_code eval
[200, 200]
--- response_body_like eval
["protected content", qr/"authenticate":1,/]
--- error_log eval
qr{\[error\] .*stytch: fetching the keys of project "[^"]+" from "[^"]+/fake/v1/sessions/jwks/[^"]+" failed: the document is refused: jwks_no_usable_key; no keys yet}
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 2: a 5 MB key set is refused once past 1 MB; the API answers meanwhile
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url http://127.0.0.1:$TEST_NGINX_SERVER_PORT/fake;
--- config
    location /p/ {
        stytch_auth on;
        root html;
    }

    location /fake/ {
        root html;
    }
--- user_files eval
">>> fake/v1/sessions/jwks/$ENV{TEST_NGINX_STYTCH_PROJECT}
$::oversized
"
--- more_headers eval
"Cookie: stytch_session_jwt=$::session->{session_jwt}"
--- request
GET /p/index.html
--- error_code: 200
--- response_body
protected content
--- error_log eval
qr{\[error\] .*stytch: fetching the keys of project "[^"]+" from "[^"]+/fake/v1/sessions/jwks/[^"]+" failed: the response exceeds 1048576 bytes; no keys yet}
--- no_error_log
[alert]
[crit]
[emerg]
