package StytchTest;

# Project helper for t/*.t: starts the Stytch emulator once per test file,
# makes every block load the module, and wraps the emulator's control API.
# Works with both t/lib's Test::Nginx::Socket and openresty's real one; it
# never imports a runner itself.

use strict;
use warnings;

use Carp qw( croak );
use Cwd qw( abs_path );
use File::Basename qw( dirname );
use File::Spec ();
use File::Temp qw( tempdir );
use HTTP::Tiny ();
use JSON::PP ();
use MIME::Base64 qw( encode_base64 );
use POSIX qw( :sys_wait_h );
use Time::HiRes qw( sleep time );

our $VERSION = '0.01';

our @EXPORT = qw(
    emulator emulator_raw emulator_url
    create_session expire_session mint_jwt set_policy set_org_policy
    rotate_keys retire_key list_keys fault clear_faults refuse counters
    reset_emulator requests revoke
);

our $RepoRoot = abs_path(File::Spec->catdir(dirname(abs_path(__FILE__)),
                                            '..', '..'));
# STYTCH_MODULE=static: the nginx binary has the module compiled in
# (--add-module), so no block gets a load_module line.
our $Static = ($ENV{STYTCH_MODULE} || '') eq 'static';
our $Module = $Static ? undef : File::Spec->rel2abs($ENV{STYTCH_MODULE}
              || "$RepoRoot/build/ngx_http_stytch_module.so");

our ($EmuPid, $EmuUrl, $EmuPort, $EmuProject, $EmuSecret, $EmuCert, $EmuDir);
our ($EmuB2bProject, $EmuB2bSecret);
our $StartedBy;     # pid of the process that started the emulator
our $StartTimeout = $ENV{STYTCH_EMULATOR_START_TIMEOUT} || 15;
my $Json = JSON::PP->new->utf8->canonical->allow_nonref;
my $PreprocessorInstalled;

sub import {
    my ($class, @args) = @_;
    my %flags = map { $_ => 1 } @args;
    for (keys %flags) {
        croak "StytchTest: unknown import flag '$_' (known: tls, no_emulator)"
            unless /^(?:tls|no_emulator)$/;
    }

    install_preprocessor();
    real_runner_startup_log();
    start_emulator(tls => $flags{tls}) unless $flags{no_emulator} || $EmuPid;

    my $caller = caller;
    no strict 'refs';
    for my $name (@EXPORT) {
        *{"${caller}::$name"} = \&{"StytchTest::$name"};
    }
}

# ---------------------------------------------------------------- module

sub install_preprocessor {
    return if $PreprocessorInstalled++;
    my $add = Test::Nginx::Socket->can('add_block_preprocessor');
    if (!$add) {
        # The .t file should "use Test::Nginx::Socket" first; load (not
        # import) whichever one is first in @INC.
        require Test::Nginx::Socket;
        $add = Test::Nginx::Socket->can('add_block_preprocessor')
            or die "StytchTest: Test::Nginx::Socket has no add_block_preprocessor\n";
    }
    $add->(sub {
        my $block = shift;
        return if $Static;
        my $mc = $block->main_config;
        return if defined $mc && $mc =~ /^\s*load_module\b/m;
        $block->set_value('main_config',
                          "load_module $Module;\n" . (defined $mc ? $mc : ''));
    });
}

# Under openresty's Test::Nginx (it has Test::Nginx::Util; t/lib's runner
# has not) nginx is started as "$NginxBinary -p ... -c ...", so with a
# binary whose compiled-in error log is stderr (Debian's) a --- must_die
# block's startup [emerg] never reaches logs/error.log.  Point the runner
# at a tiny wrapper that adds "-e <servroot>/logs/error.log" (nginx >=
# 1.19.5), as t/lib's runner does itself.
my $WrapDir;
sub real_runner_startup_log {
    return unless $INC{'Test/Nginx/Util.pm'};
    no warnings 'once';
    my $bin = $Test::Nginx::Util::NginxBinary;
    my $log = $Test::Nginx::Util::ErrLogFile;
    return unless defined $bin && defined $log;
    my $v = `$bin -V 2>&1`;
    return unless $v =~ m{nginx/(\d+)\.(\d+)\.(\d+)}
                  && sprintf('%d%03d%03d', $1, $2, $3) >= 1019005;
    $WrapDir = tempdir('stytch-nginx-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my $wrap = "$WrapDir/nginx";
    open my $o, '>', $wrap or die "StytchTest: $wrap: $!\n";
    (my $qb = $bin) =~ s/'/'\\''/g;
    (my $ql = $log) =~ s/'/'\\''/g;
    print $o "#!/bin/sh\nexec '$qb' -e '$ql' \"\$@\"\n";
    close $o;
    chmod 0755, $wrap;
    $Test::Nginx::Util::NginxBinary = $wrap;
}

# ---------------------------------------------------------------- emulator

sub start_emulator {
    my %opts = @_;
    my $script = "$RepoRoot/scripts/stytch-emulator";
    die "StytchTest: $script not found\n" unless -f $script;

    $EmuDir = tempdir('stytch-emulator-t-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my $out = "$EmuDir/stdout";
    my $err = "$EmuDir/stderr";
    my @cmd = ('node', $script, '--port', '0', '--host', '127.0.0.1');
    push @cmd, '--tls' if $opts{tls};

    my $pid = fork();
    die "StytchTest: fork failed: $!\n" unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $out or POSIX::_exit(126);
        open STDERR, '>', $err or POSIX::_exit(126);
        exec @cmd or POSIX::_exit(127);
    }
    $EmuPid = $pid;
    $StartedBy = $$;

    my $deadline = time + $StartTimeout;
    my ($ready, $cert);
    while (time < $deadline) {
        if (open my $in, '<', $out) {
            while (my $line = <$in>) {
                $cert = $1 if $line =~ /^certificate:\s*(\S+)/;
                if ($line =~ m{^stytch-emulator listening on (https?://([^\s:/]+|\[[^\]]+\]):(\d+))\s+project_id=(\S+)\s+secret=(\S+)}) {
                    $ready = 1;
                    ($EmuUrl, $EmuPort, $EmuProject, $EmuSecret) = ($1, $3, $4, $5);
                    ($EmuB2bProject, $EmuB2bSecret) = ($1, $2)
                        if $line =~ /\sb2b_project_id=(\S+)\s+b2b_secret=(\S+)/;
                    last;
                }
            }
            close $in;
        }
        last if $ready;
        if (waitpid($pid, WNOHANG) == $pid) {
            undef $EmuPid;
            die "StytchTest: the emulator exited (status $?) before it was ready:\n"
                . slurp($err) . slurp($out);
        }
        sleep 0.02;
    }
    if (!$ready) {
        stop_emulator();
        die "StytchTest: the emulator was not ready within ${StartTimeout}s:\n"
            . slurp($err) . slurp($out);
    }
    $EmuCert = $cert;

    $ENV{TEST_NGINX_STYTCH_URL}     = $EmuUrl;
    $ENV{TEST_NGINX_STYTCH_PORT}    = $EmuPort;
    $ENV{TEST_NGINX_STYTCH_PROJECT} = $EmuProject;
    $ENV{TEST_NGINX_STYTCH_SECRET}  = $EmuSecret;
    $ENV{TEST_NGINX_STYTCH_B2B_PROJECT} = $EmuB2bProject;
    $ENV{TEST_NGINX_STYTCH_B2B_SECRET}  = $EmuB2bSecret;
    if (defined $cert) {
        $ENV{TEST_NGINX_STYTCH_CERT} = $cert;
    } else {
        delete $ENV{TEST_NGINX_STYTCH_CERT};
    }
    return $EmuUrl;
}

sub slurp {
    my $f = shift;
    open my $in, '<', $f or return '';
    local $/;
    my $s = <$in>;
    return defined $s ? $s : '';
}

sub stop_emulator {
    return unless $EmuPid && $StartedBy && $$ == $StartedBy;
    my $pid = $EmuPid;
    undef $EmuPid;
    kill 'TERM', $pid;
    my $deadline = time + 5;
    while (time < $deadline) {
        return if waitpid($pid, WNOHANG) != 0;
        sleep 0.02;
    }
    kill 'KILL', $pid;
    waitpid($pid, 0);
}

# Stop the emulator on INT/TERM/HUP even if the runner does not install
# handlers (the real Test::Nginx does not): chain to any existing handler.
for my $sig (qw(INT TERM HUP)) {
    my $prev = $SIG{$sig};
    my %num = (HUP => 1, INT => 2, TERM => 15);
    $SIG{$sig} = sub {
        stop_emulator();
        $prev->(@_) if ref $prev eq 'CODE';
        exit 128 + $num{$sig};
    };
}

END {
    local $?;
    stop_emulator();
}

# ---------------------------------------------------------------- HTTP

sub emulator_url { $EmuUrl }

# Low level: returns {status, content, headers, success}.
sub emulator_raw {
    my ($method, $path, $body, $headers) = @_;
    die "StytchTest: the emulator is not running\n" unless $EmuUrl;
    my $url = $EmuUrl . $path;
    my %h = (%{ $headers || {} });
    my $content;
    if (defined $body) {
        $content = ref $body ? $Json->encode($body) : $body;
        $h{'Content-Type'} ||= 'application/json';
    }

    if ($url =~ /^https:/ && !HTTP::Tiny->can_ssl) {
        return curl_request($method, $url, $content, \%h);
    }
    my %args = (timeout => 10);
    if ($url =~ /^https:/ && $EmuCert) {
        $args{verify_SSL} = 1;
        $args{SSL_options} = { SSL_ca_file => $EmuCert };
    }
    my $ua = HTTP::Tiny->new(%args);
    return $ua->request($method, $url, {
        headers => \%h,
        (defined $content ? (content => $content) : ()),
    });
}

# HTTPS without IO::Socket::SSL: use curl.
sub curl_request {
    my ($method, $url, $content, $h) = @_;
    my @cmd = ('curl', '-sS', '-X', $method, '--max-time', '10',
               '-o', "$EmuDir/curl.body", '-w', '%{http_code}');
    push @cmd, '--cacert', $EmuCert if $EmuCert;
    push @cmd, '-H', "$_: $h->{$_}" for sort keys %$h;
    if (defined $content) {
        open my $o, '>', "$EmuDir/curl.req" or die $!;
        binmode $o;
        print $o $content;
        close $o;
        push @cmd, '--data-binary', "\@$EmuDir/curl.req";
    }
    push @cmd, $url;
    open my $p, '-|', @cmd or die "StytchTest: cannot run curl: $!\n";
    my $code = do { local $/; <$p> };
    close $p;
    $code = 599 unless defined $code && $code =~ /^\d{3}$/ && $code ne '000';
    return { status => $code, success => ($code =~ /^2/ ? 1 : 0),
             content => slurp("$EmuDir/curl.body"), headers => {} };
}

sub decode_body {
    my $res = shift;
    my $c = $res->{content};
    return undef if !defined $c || $c eq '';
    my $d = eval { $Json->decode($c) };
    return defined $d ? $d : $c;
}

# emulator(METHOD, PATH, BODY): the decoded JSON reply; dies unless 2xx.
sub emulator {
    my ($method, $path, $body) = @_;
    my $res = emulator_raw($method, $path, $body);
    if (!$res->{success}) {
        die "StytchTest: $method $path -> $res->{status}: "
            . (defined $res->{content} ? $res->{content} : '') . "\n";
    }
    return decode_body($res);
}

sub _body { my %o = @_; return \%o }

sub create_session  { emulator(POST => '/emulator/sessions', _body(@_)) }
sub expire_session  {
    my $id = shift;
    emulator(POST => "/emulator/sessions/$id/expire", {});
}
sub mint_jwt        { emulator(POST => '/emulator/jwt', _body(@_))->{jwt} }
sub set_policy      { emulator(POST => '/emulator/policy', _body(@_)) }
sub set_org_policy  { emulator(POST => '/emulator/org-policy', _body(@_)) }
sub rotate_keys     { emulator(POST => '/emulator/keys/rotate', {}) }
sub retire_key      { emulator(POST => '/emulator/keys/retire', { kid => shift }) }
sub list_keys       { emulator(GET => '/emulator/keys') }
sub fault           { emulator(POST => '/emulator/faults', _body(@_)) }
sub clear_faults    { emulator(DELETE => '/emulator/faults') }
sub refuse          { emulator(POST => '/emulator/refuse', { ms => shift }) }
sub counters        { emulator(GET => '/emulator/counters') }
sub reset_emulator  { emulator(POST => '/emulator/reset', _body(@_)) }

sub requests {
    my %o = @_;
    my @q;
    for my $k (qw(endpoint limit)) {
        next unless defined $o{$k};
        (my $v = $o{$k}) =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord $1)/eg;
        push @q, "$k=$v";
    }
    my $r = emulator(GET => '/emulator/requests' . (@q ? '?' . join('&', @q) : ''));
    return ref $r eq 'HASH' ? ($r->{requests} || []) : [];
}

# revoke(session_id => ...) / revoke(session_token => ...) /
# revoke(member_session_id => ..., [b2b => 1]): the Stytch API call with
# Basic auth (the B2B project's for B2B).  Returns the decoded reply (it
# has status_code); never dies on a 4xx.
sub revoke {
    my %o = @_;
    my $b2b = delete $o{b2b};
    $b2b = 1 if exists $o{member_session_id};
    my $path = $b2b ? '/v1/b2b/sessions/revoke' : '/v1/sessions/revoke';
    my $auth = $b2b ? encode_base64("$EmuB2bProject:$EmuB2bSecret", '')
                    : encode_base64("$EmuProject:$EmuSecret", '');
    my $res = emulator_raw(POST => $path, \%o,
                           { Authorization => "Basic $auth" });
    my $d = decode_body($res);
    return ref $d eq 'HASH' ? $d : { status_code => $res->{status},
                                     body => $d };
}

1;
__END__

=head1 NAME

StytchTest - ngx_http_stytch_module's helper for t/*.t

=head1 SYNOPSIS

    use Test::Nginx::Socket 'no_plan';   # t/lib's or the real one
    use StytchTest;                      # or: use StytchTest 'tls';

    my $s = create_session(type => 'consumer', roles => ['admin']);
    ...

=head1 DESCRIPTION

On import:

=over

=item * starts C<node scripts/stytch-emulator --port 0 --host 127.0.0.1>
(C<--tls> with the C<tls> flag) once per test file, waits for its ready
line, and sets C<TEST_NGINX_STYTCH_URL>, C<TEST_NGINX_STYTCH_PORT>,
C<TEST_NGINX_STYTCH_PROJECT>, C<TEST_NGINX_STYTCH_SECRET> (the consumer
project), C<TEST_NGINX_STYTCH_B2B_PROJECT>, C<TEST_NGINX_STYTCH_B2B_SECRET>
(the B2B project) and, with C<tls>, C<TEST_NGINX_STYTCH_CERT>.  A Stytch
project is one vertical: B2B blocks use the B2B project.  The emulator is stopped in C<END> and
on INT/TERM/HUP.  The C<no_emulator> flag skips it.

=item * adds a block preprocessor (through whichever Test::Nginx::Socket
is loaded; C<use> it before StytchTest) that prepends
C<load_module $STYTCH_MODULE;> (default
F<E<lt>repoE<gt>/build/ngx_http_stytch_module.so>, made absolute) to each
block's C<main_config>, unless that already has a C<load_module> line.
With C<STYTCH_MODULE=static> (a binary built with C<--add-module>) no
block gets one.

=back

Functions (exported): C<emulator(METHOD, PATH, BODY)> (decoded JSON, dies
unless 2xx; C<create_session(type =E<gt> 'b2b')>, B2B C<mint_jwt> and
C<set_org_policy> reach the B2B project unless a C<project_id> is given), C<emulator_raw> (HTTP::Tiny-style response hash),
C<emulator_url>, C<create_session(%opts)>, C<expire_session($id)>,
C<mint_jwt(%opts)> (the JWT string), C<set_policy(%opts)>,
C<set_org_policy(%opts)>, C<rotate_keys()>, C<retire_key($kid)>,
C<list_keys()>, C<fault(%opts)>, C<clear_faults()>, C<refuse($ms)>,
C<counters()>, C<reset_emulator(%opts)>,
C<requests(endpoint =E<gt> ..., limit =E<gt> ...)> (array ref),
C<revoke(session_id =E<gt> ...)> (Basic auth; C<member_session_id> or
C<b2b =E<gt> 1> for B2B; returns the reply, does not die on 4xx).

Over TLS without IO::Socket::SSL the control calls go through C<curl
--cacert>.

=cut
