# The glue's layout, read from the sources so that it cannot rot:
#  - src/ngx_http_stytch.h lists the glue files in their layer order, and
#    its sections declare each file's functions in that same order;
#  - a file calls no function that a file above it defines;
#  - the request context is written by ngx_http_stytch_handler.c alone;
#  - ngx_http_stytch_request.c and ngx_http_stytch_response.c never name
#    the request context.
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

sub code {
    my $text = slurp(shift);
    $text =~ s{/\*.*?\*/}{}gs;
    $text =~ s{"(?:[^"\\\n]|\\.)*"}{""}g;
    return $text;
}

# the order of the header's opening comment
my $header = slurp("$src/ngx_http_stytch.h");
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

# the header's sections: one per file that exports functions, in the
# listed order, each declaring only what its file defines
my @sections;
my %declared;
{
    my $current;
    for my $line (split /\n/, $header) {
        if ($line =~ m{^/\* (ngx_http_stytch_\w+\.c) \*/$}) {
            $current = $1;
            push @sections, $current;
            next;
        }
        next unless $current;
        while ($line =~ /\b(ngx_http_stytch_\w+)\(/g) {
            my $fn = $1;
            next if $line =~ /^#define/ || $line =~ /\(\*/;
            $declared{$fn} //= $current;
        }
    }
}
my @listed_sections = grep { my $f = $_; grep { $_ eq $f } @sections } @order;
is_deeply(\@sections, \@listed_sections,
          "the header's sections follow the layer order")
    or diag("sections: @sections");

my %exporting = map { $_ => 1 } values %owner;
is_deeply([sort grep { $_ ne 'ngx_http_stytch_module.c' } keys %exporting],
          [sort grep { $_ ne 'ngx_http_stytch_module.c' } @sections],
          'every file that exports functions has its section');

my @misplaced = map { "$_ declared under $declared{$_}, defined in " . ($owner{$_} // 'no file') }
                grep { ($owner{$_} // '') ne $declared{$_} } sort keys %declared;
ok(!@misplaced, "each section declares its own file's functions")
    or diag(join "\n", @misplaced);

my @undeclared = grep { !$declared{$_} } sort keys %owner;
ok(!@undeclared, 'every exported function is declared in the header')
    or diag(join "\n", @undeclared);

# calls go down only
for my $f (@files) {
    my $text = code("$src/$f");
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

# the request context is written by the request path alone: elsewhere, a
# pointer to it is read, never written through, taken apart or handed on
my $assign = qr/(?:[^=!<>]=(?!=)|\+\+|--|[-+*\/|&^]=|<<=|>>=)/;
for my $f (grep { $_ ne 'ngx_http_stytch_handler.c' } @files) {
    my $text = code("$src/$f");
    my @names = $text =~ /ngx_http_stytch_ctx_t\s+\*\s*(\w+)/g;
    my @bad;
    for my $n (@names) {
        push @bad, $1 while $text =~ /(\b\Q$n\E->[\w.\[\]>-]*?\s*$assign)/g;
        push @bad, $1 while $text =~ /(&\s*\Q$n\E->\w+)/g;
        push @bad, $1 while $text =~ /(\w+\(\s*\Q$n\E\s*[,)])/g;
    }
    ok(!@bad, "$f writes no field of the request context")
        or diag(join "\n", @bad);
}

# what a request carries and the answers know nothing of the path
for my $f (qw( ngx_http_stytch_request.c ngx_http_stytch_response.c )) {
    my $text = code("$src/$f");
    my @bad = $text =~ /(ngx_http_stytch_ctx_t|ngx_http_stytch_get_ctx|\bctx\b)/g;
    ok(!@bad, "$f never names the request context") or diag("@bad");
}

# the rules above do find what they look for
{
    my $probe = "ngx_http_stytch_ctx_t *ctx;\nctx->status = 1;\n";
    ok($probe =~ /(\bctx->[\w.\[\]>-]*?\s*$assign)/, 'the assignment rule finds an assignment');
    ok("x = ctx->status == 1;" !~ /(\bctx->[\w.\[\]>-]*?\s*$assign)/, 'and not a comparison');
}

done_testing();
