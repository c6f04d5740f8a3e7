# The minimal test file of README's "Testing your own configuration",
# run as the README says: extracted into a directory of its own and
# proved there with this tree's t/lib, in a child perl.  Plain
# Test::More: this file does not use the runner itself.
use strict;
use warnings;
use Test::More;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Spec;
use File::Temp qw(tempdir);

my $root = abs_path(File::Spec->catdir(dirname(abs_path(__FILE__)), '..'));
my $lib = "$root/t/lib";

open my $in, '<', "$root/README.md" or die "README.md: $!\n";
my $readme = do { local $/; <$in> };
close $in;

my ($section) = $readme =~ /^## Testing your own configuration\n(.*?)^## /ms;
ok(defined $section, 'README has the section');
my ($file) = ($section // '') =~ /^```perl\n(.*?)^```\n/ms;
ok(defined $file, 'the section has a perl block');
like($file // '', qr/^run_tests\(\);$/m, 'the block is a test file');
like($section // '', qr/prove -I \S+\/t\/lib my-site\.t/,
     'the section says how to prove it');

my $dir = tempdir('readme-test-XXXXXX', TMPDIR => 1, CLEANUP => 1);
open my $out, '>', "$dir/my-site.t" or die "$dir/my-site.t: $!\n";
print $out $file // '';
close $out;

# as a user runs it: from the directory of the file, with t/lib
my $cmd = "cd '$dir' && prove -I '$lib' my-site.t 2>&1";
my $output = `$cmd`;
my $status = $?;

is($status, 0, 'the README example passes') or diag($output);
like($output, qr/^Result: PASS/m, 'prove reports PASS');
like($output, qr/Tests=(\d+)/, 'it ran tests');
my ($n) = $output =~ /Tests=(\d+)/;
cmp_ok($n // 0, '>=', 4, 'both blocks ran');

done_testing();
