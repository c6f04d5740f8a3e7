package StytchTest;

# Copyright (C) 2026 The ngx_http_stytch_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Project helper for t/*.t: starts the Stytch emulator once per test file,
# makes every block load the module, wraps the emulator's control API, and
# holds the helpers the test files share (requests to nginx, waits, HTTP/2,
# blocks made from a table).  Works with both t/lib's Test::Nginx::Socket
# and openresty's real one; it never imports a runner itself.

use strict;
use warnings;

use Carp qw( croak );
use Cwd qw( abs_path );
use File::Basename qw( dirname );
use File::Spec ();
use File::Temp qw( tempdir );
use HTTP::Tiny ();
use IO::Select ();
use IO::Socket::INET ();
use JSON::PP ();
use MIME::Base64 qw( encode_base64 );
use POSIX qw( :sys_wait_h );
use Time::HiRes qw( sleep time );

our $VERSION = '0.01';

our @EXPORT = qw(
    emulator emulator_raw emulator_url
    create_session expire_session mint_jwt set_policy set_org_policy
    rotate_keys retire_key list_keys fault clear_faults refuse counters
    reset_emulator requests revoke stytch_api jwks_json
    http_get http_request http_answer concurrent concurrent_get start_request start_get
    read_answers h2_get
    wait_until wait_status wait_keys wait_zone wait_policy nginx_status
    nginx_pid nginx_workers nginx_cmd stop_nginx free_port write_file log_lines
    own_nginx own_nginx_conf
    nginx_error_log
    table_blocks
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
    real_runner_loopback();
    start_emulator(tls => $flags{tls}) unless $flags{no_emulator} || $EmuPid;

    my $caller = caller;
    no strict 'refs';
    for my $name (@EXPORT) {
        *{"${caller}::$name"} = \&{"StytchTest::$name"};
    }
}

# ---------------------------------------------------------------- module

# The four stanzas most blocks share, which the preprocessor supplies to a
# block that does not write its own (see "Block defaults" in the POD).
our $ProjectConfig = <<'_EOC_';
    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;
_EOC_

our $ApiLocation = <<'_EOC_';
    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
    }
_EOC_

our $LogCheck = "[error]\n[alert]\n[crit]\n[emerg]\n";

our $PagePath = 'p/index.html';
our $PageText = "protected content\n";

# The names a "--- no_stytch_defaults" section takes, in the order the
# defaults are applied.
our @DefaultNames = qw( project api_location log_check page );

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
    # t/lib's runner refuses sections it does not know; the real one
    # ignores them.
    no warnings 'once';
    $Test::Nginx::Socket::ExtraSections{no_stytch_defaults} = 1;
    $add->(sub {
        my $block = shift;
        die $block->name . ": a \"--- table\" block that table_blocks() "
            . "did not expand\n" if exists $block->{table};
        apply_defaults($block);
        return if $Static;
        my $mc = $block->main_config;
        return if defined $mc && $mc =~ /^\s*load_module\b/m;
        $block->set_value('main_config',
                          "load_module $Module;\n" . (defined $mc ? $mc : ''));
    });
}

# default_wanted(BLOCK): the names of the defaults the block's
# "--- no_stytch_defaults" section does not leave out.
sub default_wanted {
    my $block = shift;
    my %want = map { $_ => 1 } @DefaultNames;
    return \%want unless exists $block->{no_stytch_defaults};
    my $list = $block->no_stytch_defaults;
    my @off = split /[\s,]+/, defined $list ? $list : '';
    @off = grep { $_ ne '' } @off;
    die $block->name . ": \"--- no_stytch_defaults\" names no default "
        . "(one or more of: all @DefaultNames)\n" unless @off;
    for my $name (@off) {
        if ($name eq 'all') {
            %want = ();
        } elsif (grep { $_ eq $name } @DefaultNames) {
            delete $want{$name};
        } else {
            die $block->name . ": \"--- no_stytch_defaults\" has an unknown "
                . "default \"$name\" (known: all @DefaultNames)\n";
        }
    }
    return \%want;
}

# user_files_have(FILES, PATH): whether the user_files value (the text of
# ">>> name" entries, or an array of [name, body, date]) writes PATH.
sub user_files_have {
    my ($files, $path) = @_;
    return 0 unless $files;
    if (ref $files eq 'ARRAY') {
        return scalar grep { ref $_ eq 'ARRAY' && $_->[0] eq $path } @$files;
    }
    for (split /\n/, $files) {
        return 1 if />>> (\S+)/ && $1 eq $path;
    }
    return 0;
}

# apply_defaults(BLOCK): gives the block the defaults it does not write
# itself and does not leave out (see "Block defaults" in the POD).
sub apply_defaults {
    my $block = shift;
    my $want = default_wanted($block);
    return if defined $block->must_die;
    my $http = $block->http_config;
    my $config = $block->config;
    my $conf = join "\n", grep { defined } $http, $config;

    if ($want->{project} && defined $config
        && $conf !~ /^\s*(?:stytch_project_id|stytch_secret|stytch_secret_file|stytch_api_url)\s/m)
    {
        $block->set_value('http_config',
                          $ProjectConfig . (defined $http ? $http : ''));
    }

    if ($want->{api_location} && defined $config
        && $conf !~ /^\s*location\b[^{\n]*\/_stytch_api\b/m
        && $conf !~ /^\s*stytch_api_location\s/m
        && $conf !~ /^\s*stytch_fallback\s+off\s*;/m)
    {
        $block->set_value('config', $ApiLocation . "\n" . $config);
    }

    if ($want->{log_check}
        && !defined $block->error_log && !defined $block->no_error_log)
    {
        $block->set_value('no_error_log', $LogCheck);
    }

    my $files = $block->user_files;
    if ($want->{page} && !user_files_have($files, $PagePath)) {
        if (ref $files eq 'ARRAY') {
            $block->set_value('user_files', [[$PagePath, $PageText], @$files]);
        } else {
            $block->set_value('user_files', ">>> $PagePath\n$PageText"
                                            . (defined $files ? $files : ''));
        }
    }
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

# openresty's Test::Nginx writes "listen PORT;", every address of the
# machine, and other nginx instances may run on it: after it writes a
# block's configuration, the listeners that name a port alone are bound to
# 127.0.0.1, as t/lib's runner binds them.
sub real_runner_loopback {
    return unless $INC{'Test/Nginx/Util.pm'};
    my $write = Test::Nginx::Util->can('write_config_file') or return;
    no warnings 'redefine';
    *Test::Nginx::Util::write_config_file = sub ($$$) {
        my @r = $write->(@_);
        no warnings 'once';
        my $file = $Test::Nginx::Util::ConfFile;
        my $conf = slurp($file);
        write_file($file, $conf)
            if $conf =~ s/^(\s*listen\s+)(\d+)(?=[\s;])/${1}127.0.0.1:$2/mg;
        return @r;
    };
}

# ---------------------------------------------------------------- emulator

sub start_emulator {
    my %opts = @_;
    my $script = "$RepoRoot/emulator/stytch-emulator";
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

my @OwnPrefixes;    # own_nginx()'s, whose nginx is stopped at exit

END {
    local $?;
    stop_nginx($_) for @OwnPrefixes;
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

# stytch_api(METHOD, PATH, BODY, [B2B]): a call to the emulator's Stytch
# API with the project's Basic credentials (the B2B project's with B2B).
# Returns the decoded reply (it has status_code); never dies on a 4xx.
sub stytch_api {
    my ($method, $path, $body, $b2b) = @_;
    my $auth = $b2b ? encode_base64("$EmuB2bProject:$EmuB2bSecret", '')
                    : encode_base64("$EmuProject:$EmuSecret", '');
    my $res = emulator_raw($method, $path, $body,
                           { Authorization => "Basic $auth" });
    my $d = decode_body($res);
    return ref $d eq 'HASH' ? $d : { status_code => $res->{status},
                                     body => $d };
}

# revoke(session_id => ...) / revoke(session_token => ...) /
# revoke(member_session_id => ..., [b2b => 1]): the Stytch API call, with
# the B2B project's credentials for B2B.
sub revoke {
    my %o = @_;
    my $b2b = delete $o{b2b};
    $b2b = 1 if exists $o{member_session_id};
    return stytch_api(POST => $b2b ? '/v1/b2b/sessions/revoke'
                                   : '/v1/sessions/revoke', \%o, $b2b);
}

# The project's key set as the emulator serves it (the text of the JSON);
# the emulator counts it as a JWKS fetch.
sub jwks_json {
    my $res = emulator_raw(GET => "/v1/sessions/jwks/$EmuProject");
    die "StytchTest: GET the JWKS -> $res->{status}\n" unless $res->{success};
    return $res->{content};
}

# ---------------------------------------------------------------- nginx

# The port http_get() and the helpers built on it talk to: the runner's
# server_port_for_client() unless a file that runs nginx itself sets it.
our $NginxPort;
# How long wait_status(), wait_keys() and wait_policy() keep trying.
our $WaitSeconds = 10;
# How long one request may take to be answered.
our $RequestSeconds = 10;

sub runner_call {
    my ($name, @args) = @_;
    for my $pkg (qw( Test::Nginx::Socket Test::Nginx::Util )) {
        my $f = $pkg->can($name) or next;
        return $f->(@args);
    }
    croak "StytchTest: the runner has no $name()";
}

sub nginx_port { $NginxPort || runner_call('server_port_for_client') }

sub request_text {
    my ($method, $path, @headers) = @_;
    croak "StytchTest: headers come in name => value pairs" if @headers % 2;
    my $req = "$method $path HTTP/1.0\r\nHost: localhost\r\n";
    while (my ($k, $v) = splice @headers, 0, 2) {
        $req .= "$k: $v\r\n";
    }
    return "$req\r\n";
}

# start_request(METHOD, PATH, HEADER => VALUE, ...): sends the request on
# a connection of its own and returns the connection (undef if nginx could
# not be reached), for read_answers().
sub start_request {
    my $req = request_text(@_);
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => nginx_port(),
                                  Proto => 'tcp', Timeout => 5)
        or return undef;
    binmode $s;
    return $s if defined syswrite($s, $req);
    close $s;
    return undef;
}

sub start_get { start_request('GET', @_) }

# read_answers(CONNECTIONS...): reads each connection's answer to its end
# (for at most $RequestSeconds in all) and closes it.  Returns one hash
# ref per connection, in order: {status (0: no answer), head, headers (by
# lower-case name; the last of a repeated one), body, raw}.
sub read_answers {
    my @socks = @_;
    my %buf;
    my $sel = IO::Select->new(grep { defined && defined fileno $_ } @socks);
    my $deadline = time + $RequestSeconds;
    while ($sel->count && time < $deadline) {
        for my $s ($sel->can_read($deadline - time)) {
            my $got = sysread($s, my $chunk, 65536);
            if (!$got) {
                $sel->remove($s);
                close $s;
                next;
            }
            $buf{"$s"} .= $chunk;
        }
    }
    close $_ for $sel->handles;

    return map {
        my $raw = defined $_ ? ($buf{"$_"} // '') : '';
        my ($head, $body) = split /\r\n\r\n/, $raw, 2;
        $head .= "\r\n" if defined $head && $head ne '';
        my ($status) = ($head // '') =~ m{^HTTP/1\.\d (\d{3})};
        my %h;
        for (split /\r\n/, $head // '') {
            $h{lc $1} = $2 if /^([^:\s]+):\s*(.*)$/;
        }
        { status => $status // 0, head => $head // '', headers => \%h,
          body => $body // '', raw => $raw };
    } @socks;
}

# concurrent([OPTIONS,] [METHOD, PATH, HEADER => VALUE, ...], ...): the
# requests, each on its own connection, all sent before any answer is
# read; returns their answers as read_answers() does.  With OPTIONS
# {close_first => SECONDS} the first request is sent 50 ms before the
# others, and its connection is closed SECONDS after the last one is sent,
# before its answer (a client that goes away): its answer is then empty.
sub concurrent {
    my %o = ref $_[0] eq 'HASH' ? %{ shift() } : ();
    my @socks;
    for my $r (@_) {
        push @socks, start_request(@$r);
        sleep 0.05 if $o{close_first} && @socks == 1;
    }
    if ($o{close_first}) {
        sleep $o{close_first};
        close $socks[0] if $socks[0];
    }
    return read_answers(@socks);
}

# concurrent_get(N, PATH, HEADER => VALUE, ...): N times the same GET,
# concurrently.
sub concurrent_get {
    my ($n, @get) = @_;
    return concurrent(([GET => @get]) x $n);
}

# http_request(METHOD, PATH, HEADER => VALUE, ...) and
# http_get(PATH, HEADER => VALUE, ...): one request on its own connection.
# In list context (status, head, body); in scalar context the status.
sub http_request {
    my ($r) = read_answers(start_request(@_));
    return wantarray ? ($r->{status}, $r->{head}, $r->{body}) : $r->{status};
}

sub http_get { http_request('GET', @_) }

# http_answer(METHOD, PATH, HEADER => VALUE, ...): one request; its answer
# as read_answers() gives it.
sub http_answer {
    my ($r) = read_answers(start_request(@_));
    return $r;
}

# wait_until(CODE): calls CODE until it returns true, for at most
# $WaitSeconds; returns whether it did.
sub wait_until {
    my ($cond) = @_;
    my $deadline = time + $WaitSeconds;
    until ($cond->()) {
        return 0 if time > $deadline;
        sleep 0.05;
    }
    return 1;
}

# wait_status(STATUS, PATH, HEADER => VALUE, ...): GETs PATH until it
# answers STATUS, for at most $WaitSeconds.  Returns the last status.
sub wait_status {
    my ($want, $path, @headers) = @_;
    my $deadline = time + $WaitSeconds;
    my $st;
    while (1) {
        $st = http_get($path, @headers);
        return $st if $st == $want || time > $deadline;
        sleep 0.05;
    }
}

# wait_keys([{b2b => 1},] PATH, HEADER => VALUE, ...): GETs PATH, with a
# JWT minted for this alone (of the B2B project with b2b) in
# "Authorization: Bearer" and the headers given, until it answers 200.  That JWT's session is unknown to the emulator, so only
# local verification admits it: the keys are in the zone (the first fetch
# is asynchronous).  PATH must admit any valid JWT.  The block's own
# tokens are not sent, so its first request is a fresh verification.
# Dies after $WaitSeconds.
sub wait_keys {
    my %o = ref $_[0] eq 'HASH' ? %{ shift() } : ();
    my ($path, @headers) = @_;
    my @auth = (Authorization => 'Bearer '
                                 . mint_jwt($o{b2b} ? (type => 'b2b') : ()));
    my $deadline = time + $WaitSeconds;
    my $st;
    while (time < $deadline) {
        $st = http_get($path, @auth, @headers);
        return $st if $st == 200;
        sleep 0.05;
    }
    die "StytchTest: $path still answers $st after ${WaitSeconds}s: "
        . "the keys were not loaded\n";
}

# nginx_status(PATH = '/status'): the decoded JSON of a stytch_status
# location.
sub nginx_status {
    my $path = shift // '/status';
    my ($st, $head, $body) = http_get($path);
    die "StytchTest: GET $path -> $st\n" unless $st == 200;
    return $Json->decode($body);
}

# wait_zone(FIELD, PATH = '/status'): waits until the stytch_status
# location shows FIELD > 0 for the first project: "keys_generation" (the
# keys are in the zone) or "policy_generation" (the RBAC policy is).  It
# sends no token, so it changes no counter.  Dies after $WaitSeconds.
sub wait_zone {
    my ($field, $path) = @_;
    my $deadline = time + $WaitSeconds;
    while (time < $deadline) {
        my $p = nginx_status($path)->{projects}[0];
        return if $p && ($p->{$field} // 0) > 0;
        sleep 0.05;
    }
    die "StytchTest: $field still 0 after ${WaitSeconds}s\n";
}

# wait_policy(PATH = '/status'): wait_zone('policy_generation', PATH), so
# that what follows is decided locally.
sub wait_policy { wait_zone('policy_generation', @_) }

# h2_get([OPTIONS,] PORT, PATH, N, HEADER => VALUE, ...): N concurrent
# HTTP/2 streams on one cleartext (h2c, prior knowledge) connection to
# PORT, each GET PATH?i=I with the headers.  Returns the statuses, sorted.
# With OPTIONS {cancel_first => MS} the first stream is cancelled
# (RST_STREAM) MS milliseconds after it is sent, and only the other
# streams' statuses are returned.  The client runs on the Node.js the
# emulator runs on.
my $H2Client;
sub h2_get {
    my %o = ref $_[0] eq 'HASH' ? %{ shift() } : ();
    my ($port, $path, $n, @headers) = @_;
    croak "StytchTest: headers come in name => value pairs" if @headers % 2;
    my %h;
    while (my ($k, $v) = splice @headers, 0, 2) {
        $h{lc $k} = $v;
    }
    if (!$H2Client) {
        my $dir = tempdir('stytch-h2-XXXXXX', TMPDIR => 1, CLEANUP => 1);
        $H2Client = "$dir/client.js";
        write_file($H2Client, <<'JS');
'use strict';
const http2 = require('node:http2');
const [port, path, n, headers, cancelFirst] = process.argv.slice(2);
const c = http2.connect(`http://127.0.0.1:${port}`);
c.on('error', (e) => { console.error(e.message); process.exit(1); });
const codes = [];
let first = 0;
if (Number(cancelFirst) > 0) {
  const s = c.request({ ...JSON.parse(headers), ':path': `${path}?i=0` });
  s.on('error', () => {});
  setTimeout(() => s.close(http2.constants.NGHTTP2_CANCEL), Number(cancelFirst));
  first = 1;
}
const want = Number(n) - first;
for (let i = first; i < Number(n); i++) {
  const req = c.request({ ...JSON.parse(headers), ':path': `${path}?i=${i}` });
  req.on('response', (h) => codes.push(h[':status']));
  req.resume();
  req.on('end', () => {
    if (codes.length === want) {
      console.log(codes.join(' '));
      c.close();
    }
  });
}
JS
    }
    open my $p, '-|', 'node', $H2Client, $port, $path, $n, $Json->encode(\%h),
                      $o{cancel_first} // 0
        or die "StytchTest: cannot run node: $!\n";
    my $out = do { local $/; <$p> } // '';
    close $p;
    return sort { $a <=> $b } split ' ', $out;
}

# nginx_pid(FILE = <servroot>/logs/nginx.pid): the master's pid.
sub nginx_pid {
    my $file = shift // runner_call('server_root') . '/logs/nginx.pid';
    open my $f, '<', $file or return undef;
    my $pid = <$f>;
    return defined $pid && $pid =~ /^(\d+)/ ? $1 : undef;
}

# nginx_workers(MASTER_PID): its children, the workers, sorted.
sub nginx_workers {
    my $master = shift;
    return sort { $a <=> $b }
           map { /(\d+)/ ? $1 : () } `ps -o pid= --ppid $master`;
}

# nginx_cmd(PREFIX, ARGS...): runs $TEST_NGINX_BINARY with PREFIX's
# conf/nginx.conf and logs/error.log (for files that run nginx themselves).
# Returns (exit status, output).
sub nginx_cmd {
    my ($prefix, @args) = @_;
    my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
    my @cmd = ($nginx, '-p', "$prefix/", '-c', 'conf/nginx.conf',
               '-e', 'logs/error.log', @args);
    my $pid = open my $p, '-|';
    die "StytchTest: fork: $!\n" unless defined $pid;
    if (!$pid) {
        open STDERR, '>&', \*STDOUT;
        exec @cmd or POSIX::_exit(127);
    }
    my $out = do { local $/; <$p> };
    close $p;
    return ($? >> 8, $out // '');
}

# stop_nginx(PREFIX): stops the nginx whose pid is in PREFIX's
# logs/nginx.pid, if it runs: QUIT, then KILL after 5 s.
sub stop_nginx {
    my $master = nginx_pid("$_[0]/logs/nginx.pid");
    return unless $master && kill 0, $master;
    kill 'QUIT', $master;
    my $deadline = time + 5;
    sleep 0.05 while kill(0, $master) && time < $deadline;
    kill 'KILL', $master if kill 0, $master;
}

# ---------------------------------------------------------------- own nginx

# For the files that drive nginx themselves (reloads, binary upgrades),
# which the test runner cannot do.  own_nginx(NAME): a scratch prefix with
# conf/, logs/ and the protected page html/p/index.html, and a free
# loopback port, which nginx_port() then gives.  The nginx started there
# (nginx_cmd(PREFIX)) is stopped at exit.  Returns (PREFIX, PORT).
sub own_nginx {
    my ($name) = @_;
    my $dir = tempdir("stytch-$name-XXXXXX", TMPDIR => 1, CLEANUP => 1);
    mkdir "$dir/$_" for qw( conf logs html html/p );
    write_file("$dir/html/p/index.html", $PageText);
    $NginxPort = free_port();
    push @OwnPrefixes, $dir;
    return ($dir, $NginxPort);
}

# own_nginx_conf(PREFIX, OPTION => VALUE, ...): writes PREFIX's
# conf/nginx.conf: the module (unless it is compiled in), a daemon master
# with "workers" (1) workers of "connections" (64) connections, the error
# log at "log" (info), the test project's directives and the text of
# "http" in http{}, and a server on own_nginx()'s port (with the "listen"
# parameters, if any) holding "server".
sub own_nginx_conf {
    my ($dir, %o) = @_;
    my $load = $Module ? "load_module $Module;" : '';
    my $workers = $o{workers} // 1;
    my $conns = $o{connections} // 64;
    my $log = $o{log} // 'info';
    my $http = $o{http} // '';
    my $server = $o{server} // '';
    my $listen = $o{listen} ? " $o{listen}" : '';
    write_file("$dir/conf/nginx.conf", <<"EOC");
$load
daemon on;
master_process on;
worker_processes $workers;
user root;
pid logs/nginx.pid;
error_log logs/error.log $log;
events { worker_connections $conns; }
http {
    access_log off;
    stytch_project_id $ENV{TEST_NGINX_STYTCH_PROJECT};
    stytch_secret $ENV{TEST_NGINX_STYTCH_SECRET};
    stytch_api_url $ENV{TEST_NGINX_STYTCH_URL};
$http
    server {
        listen 127.0.0.1:$NginxPort$listen;
$server
    }
}
EOC
}

# A TCP port nobody listens on at 127.0.0.1, for a second listener: below
# the kernel's ephemeral range, which the source ports of outgoing
# connections come from (one of those could take it before nginx binds it).
sub free_port {
    my $top = 32768;
    if (open my $f, '<', '/proc/sys/net/ipv4/ip_local_port_range') {
        ($top) = (<$f> // '') =~ /^(\d+)/;
        $top = 32768 unless $top && $top > 4000;
    }
    for (1 .. 1000) {
        my $port = 2000 + int(rand($top - 2000));
        my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                      LocalPort => $port, ReuseAddr => 1)
            or next;
        close $s;
        return $port;
    }
    die "StytchTest: no free port\n";
}

sub write_file {
    my ($path, $text) = @_;
    open my $f, '>', $path or die "StytchTest: $path: $!\n";
    binmode $f;
    print $f $text;
    close $f or die "StytchTest: $path: $!\n";
}

# nginx_error_log(): the text of the block's logs/error.log (the runner's
# server root), '' while there is none.
sub nginx_error_log {
    my $file = runner_call('server_root') . '/logs/error.log';
    return -e $file ? slurp($file) : '';
}

# log_lines(FILE, REGEX): the lines of FILE that match.
sub log_lines {
    my ($file, $re) = @_;
    open my $f, '<', $file or die "StytchTest: $file: $!\n";
    return grep { /$re/ } <$f>;
}

# ---------------------------------------------------------------- tables

# table_blocks(NAME, [COLUMNS], ROWS...): the block of the test file that
# has a "--- table: NAME" line is replaced, in place, by one copy per row,
# in which each {{COLUMN}} is that row's value (as text).  Call it before
# run_tests().
my $Spec;
sub table_blocks {
    my ($table, $columns, @rows) = @_;
    if (!defined $Spec) {
        no warnings 'once';
        my $data = \*main::DATA;
        local $/;
        $Spec = <$data>;
        die "StytchTest: the test file has no __DATA__\n" unless defined $Spec;
    }
    my @parts = split /^(?====)/m, $Spec;
    my $found;
    for my $part (@parts) {
        next unless $part =~ /^--- table:\s*(\S+)\s*\n/m && $1 eq $table;
        $found++;
        (my $template = $part) =~ s/^--- table:.*\n//m;
        my @copies;
        for my $row (@rows) {
            croak "StytchTest: table $table: a row of " . scalar(@$row)
                  . " values for " . scalar(@$columns) . " columns"
                if @$row != @$columns;
            my %v;
            @v{@$columns} = @$row;
            for (values %v) {
                croak "StytchTest: table $table: a value with a newline"
                    if /\n/;
            }
            (my $copy = $template) =~ s{\{\{(\w+)\}\}}{
                exists $v{$1} ? $v{$1}
                    : croak "StytchTest: table $table has no column $1"
            }ge;
            push @copies, $copy;
        }
        $part = join '', @copies;
    }
    croak "StytchTest: no block has \"--- table: $table\"" unless $found;
    $Spec = join '', @parts;
    Test::Base::spec_string($Spec);
}

1;
__END__

=head1 NAME

StytchTest - ngx_http_stytch_module's helper for t/*.t

=head1 SYNOPSIS

    use Test::Nginx::Socket 'no_plan';   # t/lib's or the real one
    use StytchTest;                      # or: use StytchTest 'tls';

    our $s = create_session(roles => ['admin']);
    run_tests();

    __DATA__

    === TEST 1: a valid JWT gets the file
    --- config
        location /p/ {
            stytch_auth on;
            root html;
        }
    --- init
    StytchTest::wait_keys('/p/index.html');
    --- request
    GET /p/index.html
    --- more_headers eval
    "Authorization: Bearer $main::s->{session_jwt}"
    --- response_body
    protected content

The block gets the project's settings, the API location, the page
F<p/index.html> and the error-log check from the preprocessor (see
L</Block defaults>).

=head1 DESCRIPTION

On import:

=over

=item * starts C<node emulator/stytch-emulator --port 0 --host 127.0.0.1>
(C<--tls> with the C<tls> flag) once per test file, waits for its ready
line, and sets C<TEST_NGINX_STYTCH_URL>, C<TEST_NGINX_STYTCH_PORT>,
C<TEST_NGINX_STYTCH_PROJECT>, C<TEST_NGINX_STYTCH_SECRET> (the consumer
project), C<TEST_NGINX_STYTCH_B2B_PROJECT>, C<TEST_NGINX_STYTCH_B2B_SECRET>
(the B2B project) and, with C<tls>, C<TEST_NGINX_STYTCH_CERT>.  A Stytch
project is one vertical: B2B blocks use the B2B project.  The emulator is
stopped in C<END> and on INT/TERM/HUP.  The C<no_emulator> flag skips it.

=item * adds a block preprocessor (through whichever Test::Nginx::Socket
is loaded; C<use> it before StytchTest).  It gives a block the stanzas
most blocks share, unless the block writes its own or leaves them out (see
L</Block defaults>), and C<load_module $STYTCH_MODULE;> (default
F<E<lt>repoE<gt>/build/ngx_http_stytch_module.so>, made absolute) in front
of the block's C<main_config>, unless that already has a C<load_module>
line; with C<STYTCH_MODULE=static> (a binary built with C<--add-module>)
not that.  It also refuses a block that still has a C<--- table>
line (see L</table_blocks>).

=back

Every function below is exported into the test file.  The code of
C<--- init> and C<eval> sections runs in another package (the runner's, or
Test::Base::Filter), so there they are called as C<StytchTest::name(...)>
and the test file's values are read as C<$main::name>.

=head2 Block defaults

Four stanzas are the same in most blocks; the preprocessor supplies each
to a block that does not write it, so that a block shows what it tests.
Each has a name, for C<--- no_stytch_defaults>:

=over

=item C<project>

The consumer project of the emulator, at the start of C<--- http_config>
(C<$StytchTest::ProjectConfig>):

    stytch_project_id $TEST_NGINX_STYTCH_PROJECT;
    stytch_secret $TEST_NGINX_STYTCH_SECRET;
    stytch_api_url $TEST_NGINX_STYTCH_URL;

Not given when the block's C<http_config> or C<config> has a line
starting with C<stytch_project_id>, C<stytch_secret>,
C<stytch_secret_file> or C<stytch_api_url> (at any level, in any
C<server>): such a block writes all its project settings itself.

=item C<api_location>

The location the API fallback and C<stytch_logout> call, at the start of
C<--- config> (C<$StytchTest::ApiLocation>):

    location /_stytch_api/ {
        internal;
        proxy_pass $TEST_NGINX_STYTCH_URL/;
    }

Not given when the block's C<http_config> or C<config> has a C<location>
line naming C</_stytch_api> (with any modifier, in any C<server>; a block
that wants other proxy settings, C<proxy_read_timeout 1s;> say, writes
the whole location), a C<stytch_api_location> directive, or a
C<stytch_fallback off;> directive (at any level: a block that turns the
fallback off shows that it runs without the API location; one that needs
the location all the same writes it).

=item C<log_check>

C<--- no_error_log> with C<[error]>, C<[alert]>, C<[crit]> and
C<[emerg]> (C<$StytchTest::LogCheck>).  Not given when the block has a
C<--- no_error_log> or a C<--- error_log> section of its own: a block that
expects lines in the log lists, in its own C<no_error_log>, the levels
that must not appear.

=item C<page>

The file F<html/p/index.html> with C<protected content> and a newline
(C<$StytchTest::PagePath>, C<$StytchTest::PageText>), written before the
block's own C<--- user_files>, which it may have or not.  Not given when
the block's C<user_files> (text or, from C<eval>, an array of
C<[name, body, date]>) writes F<p/index.html> itself.

=back

No default is given to a block with C<--- must_die> (a configuration
error is tested with the configuration as written), and neither
C<project> nor C<api_location> to a block without C<--- config> (it runs
the previous block's configuration).

A block leaves out defaults it would be given by naming them in a
C<--- no_stytch_defaults> section, separated by blanks or commas; C<all>
leaves out the four.  An unknown name, or none, fails the block.

    === TEST 25: no API location in a server without protected locations
    --- no_stytch_defaults: api_location
    --- config
    ...

The preprocessor registers the section with t/lib's runner (which refuses
sections it does not know); openresty's runner ignores sections it does
not know, and the defaults, added through C<add_block_preprocessor> and
C<set_value>, are the same there.  The defaults use only
C<$TEST_NGINX_*> variables, which both runners expand.

=head2 The emulator

C<emulator(METHOD, PATH, BODY)> (decoded JSON, dies unless 2xx),
C<emulator_raw> (HTTP::Tiny-style response hash), C<emulator_url>,
C<create_session(%opts)>, C<expire_session($id)>, C<mint_jwt(%opts)> (the
JWT string), C<set_policy(%opts)>, C<set_org_policy(%opts)>,
C<rotate_keys()>, C<retire_key($kid)>, C<list_keys()>, C<fault(%opts)>,
C<clear_faults()>, C<refuse($ms)>, C<counters()> (calls per endpoint, as
a hash), C<reset_emulator(%opts)>,
C<requests(endpoint =E<gt> ..., limit =E<gt> ...)> (array ref).
C<create_session(type =E<gt> 'b2b')>, B2B C<mint_jwt> and
C<set_org_policy> reach the B2B project unless a C<project_id> is given.

C<stytch_api(METHOD, PATH, BODY, [B2B])>: a call to the emulator's Stytch
API with the project's Basic credentials (the B2B project's when B2B is
true); returns the decoded reply (it has C<status_code>) and does not die
on a 4xx.  C<revoke(session_id =E<gt> ...)> (or C<session_token>, or
C<member_session_id> or C<b2b =E<gt> 1> for B2B) is that call to
C<sessions/revoke>.  C<jwks_json()>: the consumer project's key set as the
emulator serves it, as text (the emulator counts it as a JWKS fetch).

Over TLS without IO::Socket::SSL the control calls go through C<curl
--cacert>.

=head2 Requests to nginx

They go to 127.0.0.1 on C<$StytchTest::NginxPort>, or the runner's
C<server_port_for_client()> when that is not set (files that run nginx
themselves set it).  Headers are C<Name =E<gt> value> pairs, sent in that
order; each request is C<HTTP/1.0> with C<Host: localhost> on its own
connection.  An answer not received within C<$StytchTest::RequestSeconds>
(10) has status 0.

=over

=item C<http_get(PATH, HEADERS...)>, C<http_request(METHOD, PATH, HEADERS...)>

One request.  In list context C<(status, head, body)> (the head is the
status line and the header lines, each with its CRLF); in scalar context
the status.

=item C<http_answer(METHOD, PATH, HEADERS...)>

One request; its answer as a hash ref, as C<concurrent> gives it.

=item C<concurrent([OPTIONS,] [METHOD, PATH, HEADERS...], ...)>

The requests, each on its own connection, all sent before any answer is
read.  Returns one hash ref per request, in order:
C<{status, head, headers, body, raw}> (C<headers> by lower-case name).  With C<{close_first =E<gt> SECONDS}> the
first request goes 50 ms before the others and its connection is closed
SECONDS after the last is sent, before its answer: a client that goes
away.

=item C<concurrent_get(N, PATH, HEADERS...)>

N times the same GET, concurrently.

=item C<start_request(METHOD, PATH, HEADERS...)>, C<start_get(PATH, HEADERS...)>, C<read_answers(CONNECTIONS...)>

Send a request now and read its answer later (a request that waits while
others are made): C<start_*> returns the connection, C<read_answers>
returns the answers as C<concurrent> does.

=item C<h2_get([OPTIONS,] PORT, PATH, N, HEADERS...)>

N concurrent HTTP/2 streams on one cleartext connection (prior knowledge)
to PORT, stream I asking for C<PATH?i=I>.  Returns the statuses, sorted.
With C<{cancel_first =E<gt> MS}> the first stream is cancelled
(RST_STREAM) MS milliseconds after it is sent, and the other streams'
statuses are returned.  The client is a small script run by the Node.js
the emulator runs on.

=back

=head2 Waiting

Each gives up after C<$StytchTest::WaitSeconds> (10).

=over

=item C<wait_keys([{b2b =E<gt> 1},] PATH, HEADERS...)>

GETs PATH with a JWT minted for this alone (in C<Authorization: Bearer>,
plus the headers given; a member's of the B2B project with C<b2b>) until
it answers 200.  The emulator does not know
that JWT's session, so only local verification admits it: when this
returns, the keys are in the zone.  PATH must admit any valid JWT (no
permission).  The block's own tokens are not sent, so its first request is
still a fresh verification.  Dies on timeout.

=item C<wait_zone(FIELD, PATH = '/status')>

Reads the block's C<stytch_status> location until FIELD of the first
project is above 0: C<keys_generation> (the keys are in the zone) or
C<policy_generation> (the RBAC policy is).  It sends no token, so it
changes no counter; use it where PATH-based waiting would (counters, the
API-result cache, a location with permissions).  Dies on timeout.
C<wait_policy(PATH)> is C<wait_zone('policy_generation', PATH)>.

=item C<nginx_status(PATH = '/status')>

The decoded JSON of a C<stytch_status> location.

=item C<wait_status(STATUS, PATH, HEADERS...)>

GETs PATH until it answers STATUS; returns the last status (check it).

=item C<wait_until(CODE)>

Calls CODE until it returns true; returns whether it did (check it).

=back

=head2 nginx processes

C<nginx_pid(FILE)> (default: the runner's F<logs/nginx.pid>),
C<nginx_workers(MASTER_PID)> (its children, sorted),
C<nginx_cmd(PREFIX, ARGS...)> (runs C<$TEST_NGINX_BINARY -p PREFIX/ -c
conf/nginx.conf -e logs/error.log ARGS>; returns the exit status and the
output), C<stop_nginx(PREFIX)> (QUIT, then KILL after 5 s, the nginx of
PREFIX's F<logs/nginx.pid>), C<free_port()> (a loopback TCP port nobody listens on),
C<write_file(PATH, TEXT)>, C<log_lines(FILE, REGEX)> (the matching lines),
C<nginx_error_log()> (the text of the block's F<logs/error.log>, for an
C<init> that checks what a request logged).

=head2 table_blocks

    table_blocks(NAME => [COLUMNS], ROWS...);
    run_tests();

For cases that differ only in their data (the token, say): the block of
the test file that has a C<--- table: NAME> line is a template; it is
replaced, where it stands, by one block per row, in which each
C<{{COLUMN}}> is that row's value, as text (a value cannot hold a
newline).  Put C<{{name}}> in the block's title so that each case reports
under its own name.  Call it before C<run_tests()>, once per table.

    table_blocks(refused => [qw(name token status error)],
        ['not a JWT',         'not.a.jwt', 401, 'token_malformed'],
        ['a wrong audience',  $Wrong_aud,  401, 'claim_audience_mismatch'],
    );

    __DATA__

    === TEST 7: refused locally: {{name}}
    --- table: refused
    ...
    --- more_headers
    Authorization: Bearer {{token}}
    --- error_code: {{status}}
    --- response_headers
    X-Error: {{error}}

=cut
