# What Stytch's SDKs expose of a session, as variables: its authentication
# factors (types, delivery methods, SSO connections, the latest
# authentication), its last access and its attributes, from a JWT verified
# locally and from the API's answer alike; and a location that wants an SSO
# factor used in the last ten minutes.
use Test::Nginx::Socket 'no_plan';
use StytchTest;
use POSIX qw( strftime );

no_shuffle();

our $now = time;
our $s = create_session(
    attributes => { ip_address => '203.0.113.9', user_agent => 'Test-Agent/1.0' },
    factors => [
        { type => 'sso', protocol => 'saml', connection_id => 'saml-connection-test-0001',
          last_authenticated_at => $now - 120 },
        { type => 'magic_link', last_authenticated_at => $now - 1200 },
    ]);
our $old = create_session(factors => [ { type => 'magic_link', last_authenticated_at => $now - 3600 } ]);
our $sso_at = strftime('%Y-%m-%dT%H:%M:%SZ', gmtime($now - 120));

run_tests();

__DATA__

=== TEST 1: the factors and attributes of a JWT verified locally, and of the API's answer for the session token
--- config
    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Source $stytch_auth_source always;
        add_header X-Factors $stytch_auth_factors always;
        add_header X-Delivery $stytch_auth_delivery_methods always;
        add_header X-SSO $stytch_sso_connection_ids always;
        add_header X-Last $stytch_last_authenticated_at always;
        add_header X-Age $stytch_auth_age always;
        add_header X-Within-600 $stytch_authenticated_within_600 always;
        add_header X-Within-60 $stytch_authenticated_within_60 always;
        add_header X-IP $stytch_session_ip_address always;
        add_header X-UA $stytch_session_user_agent always;
        add_header X-Kind $stytch_token_kind always;
    }
--- init
StytchTest::wait_keys('/p/index.html');
--- more_headers eval
["Authorization: Bearer $::s->{session_jwt}", "Cookie: stytch_session=$::s->{session_token}"]
--- request eval
["GET /p/index.html", "GET /p/index.html"]
--- error_code eval
[200, 200]
--- response_headers_like eval
[map { "X-Source: $_\nX-Factors: sso,magic_link\nX-Delivery: sso_saml,email\nX-SSO: saml-connection-test-0001\n"
       . "X-Last: \Q$::sso_at\E\nX-Age: 1[1-5]\\d\nX-Within-600: 1\nX-Within-60: 0\n"
       . "X-IP: 203\\.0\\.113\\.9\nX-UA: Test-Agent/1\\.0\nX-Kind: session" } ("jwt", "api")]



=== TEST 2: a location that wants an SSO factor authenticated in the last 10 minutes
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
    stytch_fallback off;

    map $stytch_auth_factors $stytch_has_sso {
        ~(^|,)sso(,|$)  1;
        default         0;
    }
--- config
    location /admin/ {
        stytch_auth on;
        stytch_require $stytch_has_sso $stytch_authenticated_within_600;
        root html;
    }

    location = /status {
        stytch_status;
    }
--- user_files
>>> admin/index.html
admin content
--- init
StytchTest::wait_zone('keys_generation');
--- more_headers eval
["Authorization: Bearer $::s->{session_jwt}", "Authorization: Bearer $::old->{session_jwt}"]
--- request eval
["GET /admin/index.html", "GET /admin/index.html"]
--- error_code eval
[200, 403]
