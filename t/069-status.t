# stytch_status in Prometheus' text exposition format, by argument or by a
# scraper's Accept header: counters as _total counters with a project
# label, the key set's age and generation, the zone's use, the API's
# latency as a histogram.  JSON stays the default.
use Test::Nginx::Socket 'no_plan';
use StytchTest;

no_shuffle();

our $live = create_session();
our $expired = mint_jwt(session_id => $live->{session_id}, iat => time() - 3600);

run_tests();

__DATA__

=== TEST 1: ?format=prometheus: the metrics, after one API call
--- config
    location = /metrics {
        stytch_status;
    }

    location /p/ {
        stytch_auth on;
        root html;
    }
--- more_headers eval
"Cookie: stytch_session_jwt=$::expired"
--- request eval
["GET /p/index.html", "GET /metrics?format=prometheus"]
--- error_code eval
[200, 200]
--- response_headers eval
["", "Content-Type: text/plain; version=0.0.4; charset=utf-8"]
--- response_body_like eval
["protected content",
 qr{(?sx)
    \# \s TYPE \s stytch_api_calls_total \s counter \n
    stytch_api_calls_total\{project="project-test-[0-9a-f-]+"\} \s 1 \n
    .* stytch_keys_generation\{project="[^"]+"\} \s 1 \n
    .* stytch_keys_age_seconds\{project="[^"]+"\} \s \d+ \n
    .* stytch_credentials\{project="[^"]+",state="(accepted|unknown)"\} \s 1 \n
    .* \# \s TYPE \s stytch_api_duration_seconds \s histogram \n
    stytch_api_duration_seconds_bucket\{project="[^"]+",le="0.005"\} \s [01] \n
    .* stytch_api_duration_seconds_bucket\{project="[^"]+",le="\+Inf"\} \s 1 \n
    stytch_api_duration_seconds_sum\{project="[^"]+"\} \s \d+\.\d{3} \n
    stytch_api_duration_seconds_count\{project="[^"]+"\} \s 1 \n
 }]



=== TEST 2: a scraper's Accept header asks for the text format; a browser's and none get JSON
--- http_config
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
    stytch_fallback off;
--- config
    location = /metrics {
        stytch_status;
    }

    location /p/ {
        stytch_auth on;
        root html;
    }
--- more_headers eval
["Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
 "Accept: text/html,application/xhtml+xml,*/*;q=0.8", ""]
--- request eval
["GET /metrics", "GET /metrics", "GET /metrics"]
--- response_body_like eval
[qr/^# HELP stytch_zone_size_bytes .*\nstytch_zone_free_bytes \d+\n/s,
 qr/^\{"zone":\{"size":\d+,"free":\d+,/, qr/^\{"zone":/]
