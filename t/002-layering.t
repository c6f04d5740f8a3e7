# The glue files are layered and call one way, from the top down, as
# src/ngx_http_stytch_module.h lists them: a file calls no function that a
# file above it defines.  Read from the sources, so the list cannot rot.
use strict;
use warnings;

use Test::More;
use File::Basename qw( dirname );
use File::Spec ();

my $src = File::Spec->catdir(dirname(__FILE__), '..', 'src');

sub slurp {
    my $f = shift;
    open my $in, '<', $f or die "$f: $!";
    local $/;
    return <$in>;
}

# the order of the header's opening comment
my $header = slurp("$src/ngx_http_stytch_module.h");
my @order = $header =~ /^ \*   (ngx_http_stytch_\w+\.c)\s/mg;
ok(@order >= 10, 'the header lists the glue files in their order') or diag("@order");

my %rank;
@rank{@order} = 0 .. $#order;

my @files = sort map { (File::Spec->splitpath($_))[2] } glob("$src/*.c");
is_deeply([sort @order], \@files, 'every glue file is listed, and only those');

# the functions each file defines for the others (not static)
my %owner;
for my $f (@files) {
    my $text = slurp("$src/$f");
    while ($text =~ /^(?!static\b)[A-Za-z_][\w \*]*\n(ngx_http_stytch_\w+)\(/mg) {
        $owner{$1} = $f;
    }
}
ok(keys %owner > 20, 'the exported functions are found (' . scalar(keys %owner) . ')');

for my $f (@files) {
    my $text = slurp("$src/$f");
    $text =~ s{/\*.*?\*/}{}gs;
    my %bad;
    while ($text =~ /\b(ngx_http_stytch_\w+)\s*\(/g) {
        my $callee = $1;
        my $def = $owner{$callee} or next;
        next if $def eq $f;
        $bad{"$callee ($def)"} = 1 if $rank{$def} < $rank{$f};
    }
    ok(!%bad, "$f calls no file above it")
        or diag(join "\n", sort keys %bad);
}

done_testing();
