# The workers run as another user than the master that reads the
# configuration: what only the workers read is checked again in them, at
# start, and reported at error level naming the directive.
# before the runner reads it
BEGIN { $ENV{TEST_NGINX_WORKER_USER} = 'nobody nogroup' }

use Test::Nginx::Socket 'no_plan';
use StytchTest;

use File::Temp qw( tempdir );

# workers apart from the master: per-block master_on is t/lib's only
master_on();

# a CA file that only root can read
our $dir = tempdir('stytch-ca-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;
$ENV{TEST_NGINX_PRIVATE_CA} = "$dir/ca.pem";
open my $f, '>', "$dir/ca.pem" or die $!;
print $f "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n";
close $f;
chmod 0600, "$dir/ca.pem";

run_tests();

__DATA__

=== TEST 1: a CA file that the workers cannot read: one error line at start, naming the directive
--- config
    location /p/ {
        stytch_auth on;
        stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
        stytch_api_url $TEST_NGINX_STYTCH_URL;
        stytch_fallback off;
        stytch_ssl_trusted_certificate $TEST_NGINX_PRIVATE_CA;
        root html;
    }
--- request
GET /p/index.html
--- error_code: 401
--- error_log eval
qr/\[error\] .*"stytch_ssl_trusted_certificate" "\S+\/ca\.pem" cannot be read by the worker processes/
--- grep_error_log eval: qr/\[error\] .*/
--- grep_error_log_out eval
qr/\A\[error\] [^\n]*"stytch_ssl_trusted_certificate" [^\n]* cannot be read by the worker processes[^\n]*\n\z/
--- no_error_log
[alert]
[crit]
[emerg]
