# The API fallback across requests: one call for many concurrent requests
# with the same token, a refreshed JWT that then verifies locally, strict
# mode, and the counters of stytch_status.
use Test::Nginx::Socket 'no_plan';
use StytchTest;
use IO::Select;
use IO::Socket::INET;

no_shuffle();

our $HttpConfig = <<'_EOC_';
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
_EOC_

our $Config = <<'_EOC_';
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

    location /p/ {
        stytch_auth on;
        root html;
        add_header X-Source $stytch_auth_source always;
    }

    location /strict/ {
        stytch_auth strict;
        root html;
        add_header X-Source $stytch_auth_source always;
    }
_EOC_

our $Files = <<'_EOC_';
>>> p/index.html
protected content
>>> strict/index.html
strictly protected content
_EOC_

our $live = create_session();
our $expired = mint_jwt(session_id => $live->{session_id},
                        iat => time() - 3600);

# Sends each request on its own connection, all before reading any answer,
# and returns the raw answers.
sub main::concurrent {
    my ($n, $request) = @_;
    my @socks;
    for (1 .. $n) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => server_port(),
                                      Proto => 'tcp')
            or die "connect: $!";
        print $s $request;
        push @socks, $s;
    }
    my %buf;
    my $sel = IO::Select->new(@socks);
    my $deadline = time() + 10;
    while ($sel->count && time() < $deadline) {
        for my $s ($sel->can_read(1)) {
            my $n = sysread($s, my $chunk, 65536);
            if (!$n) {
                $sel->remove($s);
                close $s;
                next;
            }
            $buf{"$s"} .= $chunk;
        }
    }
    return map { $buf{"$_"} // '' } @socks;
}

sub main::get {
    my ($path, $cookie) = @_;
    my ($raw) = main::concurrent(1, "GET $path HTTP/1.0\r\nHost: localhost\r\n"
                                    . ($cookie ? "Cookie: $cookie\r\n" : "")
                                    . "\r\n");
    my ($head, $body) = split /\r\n\r\n/, $raw, 2;
    my ($status) = $head =~ m{^HTTP/1\.\d (\d+)};
    return ($status // 0, $head // '', $body // '');
}

run_tests();

__DATA__

=== TEST 1: 50 concurrent requests with one expired JWT make exactly one API call
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- user_files eval: $::Files
--- init
StytchTest::reset_emulator();
StytchTest::fault(endpoint => 'authenticate', latency_ms => 300);
my @answers = main::concurrent(50,
    "GET /p/index.html HTTP/1.0\r\nHost: localhost\r\n"
    . "Cookie: stytch_session_jwt=$main::expired\r\n\r\n");
my $ok = grep { m{^HTTP/1\.\d 200 .*protected content}s } @answers;
Test::More::is($ok, 50, "all 50 concurrent requests answered 200");
StytchTest::clear_faults();
--- request eval
["GET /counters", "GET /status"]
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/"authenticate":1,/, qr/"api_calls":1,.*"api_joins":49[,}]/]



=== TEST 2: the refreshed JWT of the Set-Cookie then verifies locally
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- user_files eval: $::Files
--- init
StytchTest::reset_emulator();
my ($status, $head) = main::get('/p/index.html',
                                "stytch_session_jwt=$main::expired");
Test::More::is($status, 200, "the expired JWT is refreshed by the API");
my ($jwt) = $head =~ /^Set-Cookie: stytch_session_jwt=([^;\r\n]+)/mi;
Test::More::ok($jwt && $jwt ne $main::expired, "a new JWT is set");
Test::More::like($head, qr/^X-Source: api\r?$/m, "answered by the API");
my ($status2, $head2) = main::get('/p/index.html', "stytch_session_jwt=$jwt");
Test::More::is($status2, 200, "the new JWT is accepted");
Test::More::like($head2, qr/^X-Source: jwt\r?$/m, "verified locally");
Test::More::unlike($head2, qr/^Set-Cookie/mi, "no cookie to refresh");
--- request
GET /counters
--- response_body_like chomp
"authenticate":1,



=== TEST 3: strict mode asks the API even for a valid JWT
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- user_files eval: $::Files
--- init
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



=== TEST 4: strict mode still refuses a forged JWT without asking
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- user_files eval: $::Files
--- init
StytchTest::reset_emulator();
--- more_headers eval
"Cookie: stytch_session_jwt=" . StytchTest::mint_jwt(session_id => $::live->{session_id}, key => 'rogue', header => { kid => StytchTest::list_keys()->{signing} })
--- request eval
["GET /strict/index.html", "GET /counters"]
--- error_code eval
[401, 200]
--- response_body_like eval
["401", qr/"authenticate":0,/]



=== TEST 5: stytch_status counts local accepts and rejects
--- http_config eval: $::HttpConfig
--- config eval: $::Config
--- user_files eval: $::Files
--- init
for (1 .. 3) {
    my ($status) = main::get('/p/index.html', "stytch_session_jwt=$main::live->{session_jwt}");
    last if $status == 200;
    select(undef, undef, undef, 0.2);
}
main::get('/p/index.html', "stytch_session_jwt=not.a.jwt");
--- request
GET /status
--- response_headers
Content-Type: application/json
--- response_body_like chomp
^\{"zone":\{[^}]*\},"projects":\[\{"project_id":"project-test-[0-9a-f-]+","keys_generation":1,.*"local_accepts":1,"local_rejects":1,
