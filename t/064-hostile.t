# Hostile input gets a clear answer and hurts nothing: huge and garbage
# tokens, and key sets or policies that no worker should use.
use Test::Nginx::Socket 'no_plan';
use StytchTest;

no_shuffle();
check_accum_error_log();

our $HttpConfig = <<'_EOC_';
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
    large_client_header_buffers 4 64k;
_EOC_

our $Config = <<'_EOC_';
    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
    }

    location = /counters {
        proxy_pass_request_headers off;
        proxy_pass $TEST_NGINX_STYTCH_URL/emulator/counters;
    }

    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Error $stytch_auth_error always;
    }
_EOC_

our $Files = <<'_EOC_';
>>> p/index.html
protected content
_EOC_

my $seg = join '', map { ('A' .. 'Z', 'a' .. 'z', '0' .. '9', '-', '_')[rand 64] } 1 .. 20000;
our $huge = "eyJhbGciOiJSUzI1NiJ9.$seg.$seg";
our $garbage = join '.', map { join '', map { ('A' .. 'Z', 'a' .. 'z')[rand 52] } 1 .. 3000 } 1 .. 3;

our $session = create_session();

# key sets served by nginx itself in place of Stytch's
use Crypt::PK::RSA;
our $weak = do {
    my $pk = Crypt::PK::RSA->new;
    $pk->generate_key(64);
    my $jwk = $pk->export_key_jwk('public', 1);
    $jwk->{kid} = 'jwk-test-weak';
    $jwk->{use} = 'sig';
    $jwk->{alg} = 'RS256';
    JSON::PP::encode_json({ keys => [$jwk] });
};
our $Fake = <<'_EOC_';
    location /fake/ {
        root html;
    }
_EOC_
our $JwksPath = "fake/v1/sessions/jwks/$ENV{TEST_NGINX_STYTCH_PROJECT}";

run_tests();

__DATA__

=== TEST 1: a 40 KB token: 401, no API call
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- user_files eval: $::Files
--- init
StytchTest::reset_emulator();
--- more_headers eval
"Authorization: Bearer $::huge"
--- request eval
["GET /p/index.html", "GET /counters"]
--- error_code eval
[401, 200]
--- response_headers eval
["X-Error: token_too_large\nWWW-Authenticate: Bearer realm=\"stytch\", error=\"invalid_token\"", ""]
--- response_body_like eval
["401", qr/"authenticate":0,/]
--- no_error_log
[error]
[alert]



=== TEST 2: three segments of garbage: 401, no API call
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- user_files eval: $::Files
--- init
StytchTest::reset_emulator();
--- more_headers eval
"Cookie: stytch_session_jwt=$::garbage"
--- request eval
["GET /p/index.html", "GET /counters"]
--- error_code eval
[401, 200]
--- response_body_like eval
["401", qr/"authenticate":0,/]
--- no_error_log
[alert]



=== TEST 3: a key set whose only key is 512-bit is refused; the API answers meanwhile
--- http_config eval: $::HttpConfig =~ s{stytch_api_url [^;]+;}{stytch_api_url http://127.0.0.1:\$TEST_NGINX_SERVER_PORT/fake;}r
--- config eval: $::Config . $::Fake
--- user_files eval: $::Files . ">>> $::JwksPath\n$::weak\n"
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
--- error_log
the document is refused: jwks_no_usable_key; no keys yet



=== TEST 4: a 5 MB key set is refused without being kept
--- http_config eval: $::HttpConfig =~ s{stytch_api_url [^;]+;}{stytch_api_url http://127.0.0.1:\$TEST_NGINX_SERVER_PORT/fake;}r
--- config eval: $::Config . $::Fake
--- user_files eval: $::Files . ">>> $::JwksPath\n" . ('{"keys":[' . ('{"kty":"RSA"},' x 400000) . '{}]}') . "\n"
--- more_headers eval
"Cookie: stytch_session_jwt=$::session->{session_jwt}"
--- request
GET /p/index.html
--- error_code: 200
--- error_log
the response exceeds 1048576 bytes; no keys yet
