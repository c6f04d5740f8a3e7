package Test::Nginx::Socket;

# Copyright (C) 2026 The ngx_http_stytch_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# A small, self-contained runner for the data-driven test format of
# openresty's Test::Nginx::Socket (test-nginx), built on Debian's Test::Base.
# See the POD at the end for what is supported and how it differs.

use strict;
use warnings;
use v5.10.1;

use Test::Base -base;

our $VERSION = '0.29_stytch1';

use POSIX qw( :sys_wait_h SIGQUIT SIGKILL SIGTERM );
use Time::HiRes qw( sleep time );
use IO::Socket::INET ();
use IO::Select ();
use File::Path qw( make_path remove_tree );
use File::Spec ();
use File::Temp qw( tempfile );
use File::Basename qw( dirname );
use List::Util qw( shuffle min );
use Errno qw( EAGAIN EWOULDBLOCK EINTR );
use Encode ();
use Carp qw( croak );
use Test::LongString ();

our @EXPORT = qw(
    run_tests run_test repeat_each config_preamble worker_connections
    master_process_enabled no_long_string workers master_on master_off
    log_level no_shuffle no_root_location server_name server_addr
    server_root html_dir server_port server_port_for_client timeout
    check_accum_error_log add_block_preprocessor bail_out
    add_cleanup_handler env_to_nginx is_str
    $ServerPort $ServerPortForClient $ServRoot $ServerRoot $LogLevel
    $NginxBinary $RepeatEach $NoLongString $ServerAddr $ServerName
);

# --------------------------------------------------------------------------
# Global settings (same names, environment variables and defaults as
# Test::Nginx::Util)
# --------------------------------------------------------------------------

our $NginxBinary         = $ENV{TEST_NGINX_BINARY} || 'nginx';
our $Workers             = 1;
our $WorkerConnections   = 64;
our $LogLevel            = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
our $MasterProcessEnabled = $ENV{TEST_NGINX_MASTER_PROCESS} || 'off';
our $DaemonEnabled       = 'on';
# Ports (see ENVIRONMENT in the POD): a random free port on 127.0.0.1 and
# a server root of its own, t/servroot_PORT, unless a port is given
# (TEST_NGINX_PORT, TEST_NGINX_SERVER_PORT) or TEST_NGINX_RANDOMIZE=0 asks
# for the fixed 1984 and t/servroot that the real runner uses by default.
our $FixedPort           = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT};
our $Randomize           = defined $ENV{TEST_NGINX_RANDOMIZE}
                           && $ENV{TEST_NGINX_RANDOMIZE} ne ''
                           ? $ENV{TEST_NGINX_RANDOMIZE} : !$FixedPort;
$Randomize = 0 if $Randomize eq '0';
our $ServerPort          = $FixedPort || 1984;
our $ServerPortForClient = $ENV{TEST_NGINX_CLIENT_PORT} || $ServerPort || 1984;
our $ServerAddr          = '127.0.0.1';
our $ServerName          = 'localhost';
our $NoRootLocation      = 0;
our $NoShuffle           = $ENV{TEST_NGINX_NO_SHUFFLE} || 0;
our $Timeout             = $ENV{TEST_NGINX_TIMEOUT} || 3;
our $TestNginxSleep      = $ENV{TEST_NGINX_SLEEP} || 0.015;
our $CheckAccumErrLog    = $ENV{TEST_NGINX_CHECK_ACCUM_ERR_LOG};
our $LoadModules         = $ENV{TEST_NGINX_LOAD_MODULES};
our $Verbose             = $ENV{TEST_NGINX_VERBOSE};
our $WorkerUser          = $ENV{TEST_NGINX_WORKER_USER};
our $RepeatEach          = 1;
our $NoLongString;
our $ConfigPreamble      = '';
our @BlockPreprocessors;
our @CleanupHandlers;
our @EnvToNginx;
our $NginxVersion;
our $NginxRawVersion;
our $ErrLogFilePos = 0;
our @ExtraErrLogLines;      # startup stderr for --- must_die blocks
our $PrevConfig;
our $MainPid = $$;

if ($Randomize) {
    $ServerPort = gen_rand_port(1000)
        or die "Cannot find an available listening port number\n";
    $ServerPortForClient = $ServerPort;
}

our $ServRoot;
# A server root of the runner's own choosing (t/servroot_PORT) goes when
# the file passes; one that is named, or t/servroot, or that of a file that
# failed, stays for inspection.
our $RemoveServRoot = 0;
{
    my $tdir = -d 't' ? 't' : dirname($0);
    my $base = $Randomize ? "servroot_$ServerPort" : 'servroot';
    $ServRoot = $ENV{TEST_NGINX_SERVROOT}
                || File::Spec->rel2abs(File::Spec->catdir($tdir, $base));
    $RemoveServRoot = $Randomize && !$ENV{TEST_NGINX_SERVROOT};
}
our $ServerRoot = $ServRoot;
$ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;

our $LogDir     = File::Spec->catfile($ServRoot, 'logs');
our $ErrLogFile = File::Spec->catfile($LogDir, 'error.log');
our $AccLogFile = File::Spec->catfile($LogDir, 'access.log');
our $HtmlDir    = File::Spec->catfile($ServRoot, 'html');
our $ConfDir    = File::Spec->catfile($ServRoot, 'conf');
our $ConfFile   = File::Spec->catfile($ConfDir, 'nginx.conf');
our $PidFile    = File::Spec->catfile($LogDir, 'nginx.pid');

# --------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------

# Sections this runner implements.  Everything real Test::Nginx::Socket
# knows but this runner does not implement is in %Unsupported; anything
# else is a typo and fails the test file.
our %KnownSections = map { $_ => 1 } qw(
    config http_config main_config post_main_config
    request request_eval raw_request raw_request_middle_delay
    pipelined_requests more_headers server_addr_for_client shutdown
    error_code error_code_like
    response_body response_body_eval response_body_like
    response_body_unlike response_body_filters charset
    response_headers response_headers_like
    raw_response_headers_like raw_response_headers_unlike
    error_log no_error_log grep_error_log grep_error_log_out
    access_log no_access_log
    must_die user_files init timeout wait abort ignore_response
    skip_nginx skip_nginx2 skip_eval todo no_check_leak log_level
    server_name
    ONLY SKIP LAST FIRST
    workers master_on master_off
);

# Sections of the real Test::Nginx::Socket this runner does not implement.
our %Unsupported = map { $_ => 1 } qw(
    stap stap_out stap_out_like stap_out_unlike
    tcp_listen tcp_reply tcp_query tcp_query_len tcp_reply_delay
    tcp_shutdown tcp_shutdown_delay tcp_no_close
    udp_listen udp_reply udp_query udp_reply_delay
    http2 http3 http09 curl curl_error curl_options curl_protocol
    quic_max_idle_timeout skip_openssl skip_slave todo_nginx
    shutdown_error_log no_shutdown_error_log reload_fails
    error_log_file
);

# Extra section names a project's block preprocessor consumes.
our %ExtraSections;

sub check_sections ($) {
    my $block = shift;
    my $name = $block->name;
    for my $sec (@{ $block->{_section_order}[0] || [] }) {
        next if $KnownSections{$sec} || $ExtraSections{$sec};
        if ($Unsupported{$sec}) {
            die "$name - section '--- $sec' is not supported by the "
                . "t/lib Test::Nginx::Socket runner\n";
        }
        die "$name - unknown section '--- $sec'\n";
    }
}

# --------------------------------------------------------------------------
# Exported configuration functions
# --------------------------------------------------------------------------

# A free port below the kernel's ephemeral range, which the source ports of
# outgoing connections come from: one of those could take a port between
# its choice and nginx's bind(), and each block starts nginx again.
sub gen_rand_port {
    my ($tries) = @_;
    my $top = 32768;
    if (open my $f, '<', '/proc/sys/net/ipv4/ip_local_port_range') {
        ($top) = (<$f> // '') =~ /^(\d+)/;
        $top = 32768 unless $top && $top > 4000;
    }
    for (1 .. ($tries || 1000)) {
        my $port = int(rand($top - 1985)) + 1985;
        my $sock = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                         LocalPort => $port,
                                         Proto => 'tcp', ReuseAddr => 1);
        if ($sock) { close $sock; return $port }
    }
    return undef;
}

sub no_long_string () { $NoLongString = 1 }
sub no_shuffle () { $NoShuffle = 1 }
sub no_root_location () { $NoRootLocation = 1 }
sub check_accum_error_log () { $CheckAccumErrLog = 1 }
sub master_on () { $MasterProcessEnabled = 'on' }
sub master_off () { $MasterProcessEnabled = 'off' }
sub config_preamble ($) { $ConfigPreamble = shift }
sub html_dir () { $HtmlDir }
sub server_root () { $ServRoot }
sub add_block_preprocessor (&) { unshift @BlockPreprocessors, shift }
sub add_cleanup_handler ($) { unshift @CleanupHandlers, shift }

sub master_process_enabled (@) {
    if (@_) { $MasterProcessEnabled = shift() ? 'on' : 'off' }
    else { return $MasterProcessEnabled }
}

sub _getset { my ($ref, @a) = @_; $$ref = shift @a if @a; $$ref }
sub repeat_each (@)        { _getset(\$RepeatEach, @_) }
sub workers (@)            { _getset(\$Workers, @_) }
sub worker_connections (@) { _getset(\$WorkerConnections, @_) }
sub log_level (@)          { _getset(\$LogLevel, @_) }
sub server_name (@)        { _getset(\$ServerName, @_) }
sub server_addr (@)        { _getset(\$ServerAddr, @_) }
sub server_port (@)        { _getset(\$ServerPort, @_) }
sub server_port_for_client (@) { _getset(\$ServerPortForClient, @_) }
sub timeout (@)            { _getset(\$Timeout, @_) }

sub env_to_nginx (@) {
    croak "env_to_nginx: no arguments specified" unless @_;
    for my $v (@_) {
        if ($v !~ /^[A-Za-z_]/ || $v =~ /\n/) {
            croak "env_to_nginx: bad argument value: $v\n";
        }
        push @EnvToNginx, $v;
    }
}

sub bail_out (@) {
    cleanup();
    Test::More::BAIL_OUT(join '', @_);
}

sub is_str (@) {
    my ($got, $expected, $desc) = @_;
    if (ref $expected && ref $expected eq 'Regexp') {
        return Test::More::like($got, $expected, $desc);
    }
    return Test::More::is($got, $expected, $desc) if $NoLongString;
    return Test::LongString::is_string($got, $expected, $desc);
}

# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

sub parse_time ($) {
    my $tm = shift;
    if (defined $tm) {
        if ($tm =~ s/([^_a-zA-Z])ms$/$1/) { $tm = $tm / 1000 }
        else { $tm =~ s/([^_a-zA-Z])s$/$1/ }
    }
    return $tm;
}

sub fmt_str ($) {
    my $str = shift;
    chomp $str;
    $str =~ s/"/\\"/g;
    $str =~ s/\r/\\r/g;
    $str =~ s/\n/\\n/g;
    $str;
}

sub trim_str ($) {
    my $s = shift;
    return undef if !defined $s;
    $s =~ s/^\s+|\s+$//g;
    $s =~ s/\n/ /gs;
    $s =~ s/\s{2,}/ /gs;
    $s;
}

sub can_run ($) {
    my $cmd = shift;
    if ($cmd =~ m{/}) {
        return (-f $cmd && -x $cmd) ? $cmd : undef;
    }
    for my $dir (split /:/, $ENV{PATH} // '') {
        next if $dir eq '';
        my $abs = File::Spec->catfile($dir, $cmd);
        return $abs if -f $abs && -x $abs;
    }
    return undef;
}

sub get_canon_version (@) { sprintf "%d.%03d%03d", $_[0], $_[1], $_[2] }

sub get_nginx_version () {
    my $bin = can_run($NginxBinary);
    return undef unless $bin;
    my $out = `'$bin' -V 2>&1`;
    if (defined $out && $out =~ m{(?:nginx|openresty)[^/]*/(\d+)\.(\d+)\.(\d+)}s) {
        $NginxRawVersion = "$1.$2.$3";
        return get_canon_version($1, $2, $3);
    }
    return undef;
}

sub expand_env_in_text ($$) {
    my ($text, $name) = @_;
    return undef if !defined $text;
    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        if (!defined $ENV{$1}) {
            die "$name - No environment $1 defined.\n";
        }
        $ENV{$1};
    }eg;
    return $text;
}

sub is_running ($) {
    my $pid = shift;
    return 0 unless $pid;
    return 0 unless kill 0, $pid;
    # a daemonized nginx is reparented; its zombie may linger until init
    # reaps it, so a zombie counts as gone
    if (open my $st, '<', "/proc/$pid/stat") {
        my $line = <$st> // '';
        close $st;
        return 0 if $line =~ /^\d+ \(.*\) Z /s;
    }
    return 1;
}

sub read_pid () {
    open my $in, '<', $PidFile or return undef;
    my $pid = do { local $/; <$in> };
    close $in;
    return undef unless defined $pid;
    $pid =~ s/\s+//g;
    return $pid =~ /^\d+$/ ? $pid : undef;
}

sub read_file_tail ($$) {
    my ($file, $n) = @_;
    open my $in, '<', $file or return '';
    my @lines = <$in>;
    close $in;
    @lines = @lines[-$n .. -1] if @lines > $n;
    return join '', @lines;
}

# --------------------------------------------------------------------------
# nginx process management
# --------------------------------------------------------------------------

our $NginxPid;        # pid of the running (daemonized) nginx

sub stop_nginx () {
    my $pid = $NginxPid // read_pid();
    undef $NginxPid;
    return unless $pid && is_running($pid);

    kill SIGQUIT, $pid;
    my $deadline = time + $Timeout;
    while (time < $deadline && is_running($pid)) {
        waitpid($pid, WNOHANG);
        sleep 0.02;
    }
    if (is_running($pid)) {
        warn "WARNING: nginx $pid did not exit on QUIT; sending TERM\n";
        kill SIGTERM, $pid;
        $deadline = time + 2;
        while (time < $deadline && is_running($pid)) {
            waitpid($pid, WNOHANG);
            sleep 0.02;
        }
    }
    if (is_running($pid)) {
        warn "WARNING: killing nginx $pid with SIGKILL\n";
        # daemonized nginx is a session (and process group) leader
        kill SIGKILL, -$pid if getpgrp($pid) == $pid;
        kill SIGKILL, $pid;
        sleep 0.05;
        waitpid($pid, WNOHANG);
    }
    unlink $PidFile if -f $PidFile && !is_running($pid);
}

sub cleanup () {
    return if $$ != $MainPid;
    for my $hdl (@CleanupHandlers) { eval { $hdl->() } }
    stop_nginx();
}

# On INT/TERM/HUP stop nginx and exit through END blocks (so helpers such
# as StytchTest can stop their own processes too).
{
    my %num = (HUP => 1, INT => 2, TERM => 15);
    for my $sig (keys %num) {
        $SIG{$sig} = sub {
            cleanup();
            exit 128 + $num{$sig};
        };
    }
}

END {
    if ($$ == $MainPid) {
        local $?;
        cleanup();
        my $tb = Test::More->builder;
        if ($RemoveServRoot && -d $ServRoot) {
            if ($tb->is_passing && $tb->current_test > 0) {
                remove_tree($ServRoot);
            } else {
                $tb->diag("server root kept: $ServRoot");
            }
        }
    }
}

sub setup_server_root () {
    if (-d $ServRoot) {
        remove_tree($ConfDir, $HtmlDir, $LogDir, glob("$ServRoot/*_temp"),
                    glob("$ServRoot/*_cache"));
    }
    for my $d ($ServRoot, $LogDir, $HtmlDir, $ConfDir) {
        next if -d $d;
        make_path($d) or die "Failed to mkdir $d: $!\n";
    }
    my $index = "$HtmlDir/index.html";
    open my $out, '>', $index or die "Can't open $index for writing: $!\n";
    print $out '<html><head><title>It works!</title></head><body>It works!</body></html>';
    close $out;
}

sub write_user_files ($) {
    my $block = shift;
    my $name = $block->name;
    my $files = $block->user_files;
    return unless $files;

    if (!ref $files) {
        my $raw = $files;
        open my $in, '<', \$raw;
        $files = [];
        my ($fname, $body, $date);
        while (<$in>) {
            if (/>>> (\S+)(?:\s+(.+))?/) {
                push @$files, [$fname, $body, $date] if $fname;
                ($fname, $date) = ($1, $2);
                undef $body;
            } else {
                $body .= $_;
            }
        }
        push @$files, [$fname, $body, $date] if $fname;
    } elsif (ref $files ne 'ARRAY') {
        die "$name - wrong value type for --- user_files: ", ref $files, "\n";
    }

    for my $file (@$files) {
        my ($fname, $body, $date) = @$file;
        $body //= '';
        my $path = $fname =~ m{^/} ? $fname : "$HtmlDir/$fname";
        if ($path =~ m{(.*)/}) {
            make_path($1) unless -d $1;
        }
        $body = expand_env_in_text($body, $name);
        open my $out, '>', $path or die "$name - Cannot open $path for writing: $!\n";
        binmode $out;
        print $out $body;
        close $out;
        if ($date) {
            system("TZ=GMT touch -t '$date' '$path'") == 0
                or die "$name - failed to set the date of $path\n";
        }
    }
}

sub write_config_file ($$) {
    my ($block, $config) = @_;
    my $name = $block->name;

    my $http_config = expand_env_in_text($block->http_config, $name) // '';
    my $main_config = $block->main_config // '';
    if ($LoadModules) {
        $main_config .= join ' ', map { "load_module $_;" }
                        grep { $_ } split /\s+/, $LoadModules;
    }
    $main_config = expand_env_in_text($main_config, $name);
    my $post_main_config = expand_env_in_text($block->post_main_config, $name)
                           // '';
    my $server_name = $block->server_name // $ServerName;
    $config //= '';

    my $workers = defined $block->workers ? $block->workers : $Workers;
    $workers =~ s/^\s+|\s+$//g;
    my $master = $MasterProcessEnabled;
    $master = 'on' if defined $block->master_on;
    $master = 'off' if defined $block->master_off;

    open my $out, '>', $ConfFile or die "Can't open $ConfFile for writing: $!\n";
    print $out <<_EOC_;
worker_processes  $workers;
daemon $DaemonEnabled;
master_process $master;
error_log $ErrLogFile $LogLevel;
pid       $PidFile;
env MOCKEAGAIN_VERBOSE;
env MOCKEAGAIN;
env MOCKEAGAIN_WRITE_TIMEOUT_PATTERN;
env LD_PRELOAD;
env LD_LIBRARY_PATH;
env DYLD_INSERT_LIBRARIES;
env DYLD_FORCE_FLAT_NAMESPACE;
_EOC_
    for my $v (@EnvToNginx) {
        my $q = $v =~ /\s/ ? "'$v'" : $v;
        print $out "env $q;\n";
    }
    print $out <<_EOC_;

$main_config

http {
    access_log $AccLogFile;

    default_type text/plain;
    keepalive_timeout  68;

$http_config

    server {
        listen          $ServerAddr:$ServerPort;
        server_name     '$server_name';

        client_max_body_size 30M;

        # Begin preamble config...
$ConfigPreamble
        # End preamble config...

        # Begin test case config...
$config
        # End test case config.

_EOC_
    if (!$NoRootLocation) {
        print $out <<_EOC_;
        location / {
            root $HtmlDir;
            index index.html index.htm;
        }
_EOC_
    }
    print $out <<_EOC_;
    }
}

$post_main_config

events {
    accept_mutex off;

    worker_connections  $WorkerConnections;
}
env ASAN_OPTIONS;
env MOCKNOEAGAIN_VERBOSE;
env MOCKNOEAGAIN;
_EOC_
    if (defined $WorkerUser) {
        print $out "user $WorkerUser;\n";
    } elsif ($> == 0) {
        print $out "user root;\n";
    }
    close $out;
}

# Runs the nginx command line (which daemonizes), returns
# ($status, $stderr_text).  $status is -1 if it could not be executed or
# did not return in time.
sub run_nginx_cmd () {
    my $bin = can_run($NginxBinary);
    return (-1, "cannot find the nginx executable \"$NginxBinary\"\n")
        unless $bin;
    my @cmd = ($bin, '-p', "$ServRoot/", '-c', $ConfFile);
    # Startup errors go to the compiled-in error log, which is stderr on
    # Debian; -e (nginx >= 1.19.5) sends them to logs/error.log as well.
    if (defined $NginxVersion && $NginxVersion >= 1.019005) {
        push @cmd, '-e', $ErrLogFile;
    }
    my ($efh, $efile) = tempfile('ngx-stderr-XXXXXX', TMPDIR => 1, UNLINK => 1);
    my $pid = fork();
    if (!defined $pid) {
        return (-1, "fork failed: $!\n");
    }
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', '/dev/null';
        open STDERR, '>&', $efh;
        exec @cmd or POSIX::_exit(127);
    }
    my $deadline = time + ($Timeout > 10 ? $Timeout : 10);
    my $status;
    while (1) {
        my $r = waitpid($pid, WNOHANG);
        if ($r == $pid) { $status = $?; last }
        if (time > $deadline) {
            kill SIGKILL, $pid;
            waitpid($pid, 0);
            $status = -1;
            last;
        }
        sleep 0.01;
    }
    my $err = read_file_tail($efile, 50);
    close $efh;
    unlink $efile;
    if ($status != -1 && ($status >> 8) == 127 && $err eq '') {
        $err = "failed to execute @cmd\n";
        $status = -1;
    }
    return ($status, $err, "@cmd");
}

sub wait_for_nginx () {
    my $deadline = time + ($Timeout > 5 ? $Timeout : 5);
    my $pid;
    while (time < $deadline) {
        $pid //= read_pid();
        if ($pid) {
            if (!is_running($pid)) {
                return (0, $pid);
            }
            my $sock = IO::Socket::INET->new(PeerAddr => $ServerAddr,
                                             PeerPort => $ServerPortForClient,
                                             Proto => 'tcp', Timeout => 1);
            if ($sock) { close $sock; return (1, $pid) }
        }
        sleep 0.01;
    }
    return (0, $pid);
}

# --------------------------------------------------------------------------
# Running the blocks
# --------------------------------------------------------------------------

sub run_tests () {
    $NginxVersion = get_nginx_version();
    $ENV{TEST_NGINX_SERVER_PORT} = $ServerPort;

    my @blocks = Test::Base::blocks();
    # --- FIRST: start from this block
    for my $i (reverse 0 .. $#blocks) {
        if (defined $blocks[$i]->FIRST) {
            @blocks = @blocks[$i .. $#blocks];
            last;
        }
    }
    @blocks = shuffle @blocks unless $NoShuffle;

    for my $block (@blocks) {
        for my $hdl (@BlockPreprocessors) {
            $hdl->($block);
        }
        $block->set_value("name", $0 . " " . $block->name);
        check_sections($block);
        run_test($block);
    }
    cleanup();
}

sub run_test ($) {
    my $block = shift;
    return if defined $block->SKIP;
    my $name = $block->name;

    my ($should_skip, $tests_to_skip, $skip_reason);
    if (defined(my $skip_eval = $block->skip_eval)) {
        if ($skip_eval =~ m{^\s*(\d+)\s*:\s*(.*)}s) {
            $tests_to_skip = $1;
            $skip_reason = "skip_eval";
            $should_skip = eval $2;
            die "$name - skip_eval - failed to eval \"$2\": $@" if $@;
        } else {
            die "$name - Invalid --- skip_eval spec: $skip_eval\n";
        }
    }
    if (defined(my $skip_nginx = $block->skip_nginx)) {
        if ($skip_nginx =~ m{^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)
                             (?:\s*:\s*(.*))?\s*$}x) {
            $tests_to_skip = $1;
            my ($op, $ver) = ($2, get_canon_version($3, $4, $5));
            $skip_reason = $6 || "nginx version $op $3.$4.$5";
            if ((!defined $NginxVersion && $op =~ /^</)
                || (defined $NginxVersion && eval "$NginxVersion $op $ver")) {
                $should_skip = 1;
            }
        } else {
            die "$name - Invalid --- skip_nginx spec: $skip_nginx\n";
        }
    } elsif (defined(my $s2 = $block->skip_nginx2)) {
        if ($s2 =~ m{^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)\s*(or|and)\s*
                      ([<>]=?)\s*(\d+)\.(\d+)\.(\d+)(?:\s*:\s*(.*))?\s*$}x) {
            $tests_to_skip = $1;
            my ($opa, $vera) = ($2, get_canon_version($3, $4, $5));
            my $opx = $6;
            my ($opb, $verb) = ($7, get_canon_version($8, $9, $10));
            $skip_reason = $11;
            if (!defined $NginxVersion) {
                $should_skip = 1;
            } else {
                my $a = eval "$NginxVersion $opa $vera";
                my $b = eval "$NginxVersion $opb $verb";
                $should_skip = 1 if $opx eq 'or' ? ($a || $b) : ($a && $b);
            }
        } else {
            die "$name - Invalid --- skip_nginx2 spec: $s2\n";
        }
    }
    $skip_reason //= "various reasons";

    my ($should_todo, $todo_reason);
    if (defined(my $todo = $block->todo)) {
        if ($todo =~ m{^\s*(\d+)\s*:\s*(.*)}s) {
            ($should_todo, $tests_to_skip, $todo_reason) = (1, $1, $2);
        } else {
            die "$name - Invalid --- todo spec: $todo\n";
        }
    }

    if ($should_skip && defined $tests_to_skip) {
        for (1 .. $RepeatEach) {
            SKIP: { Test::More::skip("$name - $skip_reason", $tests_to_skip) }
        }
        return;
    }

    local $LogLevel = $LogLevel;
    if ($block->log_level) {
        ($LogLevel = $block->log_level) =~ s/^\s+|\s+$//g;
    }

    my $config = $block->config;
    if (!defined $config) {
        if (!defined $PrevConfig) {
            Test::More::fail("$name - No '--- config' section specified and "
                             . "could not get previous one");
            return;
        }
        $config = $PrevConfig;
    } else {
        $config = expand_env_in_text($config, $name);
    }
    $PrevConfig = $config;

    stop_nginx();
    setup_server_root();
    write_user_files($block);
    write_config_file($block, $config);

    my $must_die = $block->must_die;

    if (defined $must_die) {
        for my $i (0 .. $RepeatEach - 1) {
            $ErrLogFilePos = 0;
            unlink $ErrLogFile;
            my ($status, $stderr, $cmd) = run_nginx_cmd();
            @ExtraErrLogLines = split /^/m, $stderr;
            my $exit_code = $status == -1 ? undef : $status >> 8;
            if ($status == -1) {
                Test::More::fail("$name - failed to execute the nginx command line: $stderr");
            } elsif ($status & 128) {
                Test::More::fail("$name - nginx core dumped");
            } elsif ($must_die =~ /^\s*(\d+)\s*$/) {
                Test::More::is($1, $exit_code, "$name - die with the expected exit code");
            } else {
                Test::More::isnt($status, 0, "$name - die as expected");
            }
            check_error_log($block, undef, 0, $i, 0);
            @ExtraErrLogLines = ();
            if ($status == 0) {
                warn "WARNING: $name - nginx must die but it does not; killing it\n";
                wait_for_nginx();
                stop_nginx();
            }
        }
        return;
    }

    my ($status, $stderr, $cmd) = run_nginx_cmd();
    my ($ok, $pid);
    ($ok, $pid) = wait_for_nginx() if $status == 0;
    $NginxPid = $pid if $pid && is_running($pid);
    if ($status != 0 || !$ok) {
        my $why = $status != 0
            ? "exited with status " . ($status == -1 ? -1 : $status >> 8)
            : "is not listening on $ServerAddr:$ServerPortForClient";
        Test::More::fail("$name - nginx failed to start: \"$cmd\" $why");
        Test::More::diag("nginx stderr:\n$stderr") if $stderr ne '';
        Test::More::diag("tail of $ErrLogFile:\n"
                         . read_file_tail($ErrLogFile, 30));
        stop_nginx();
        return;
    }
    sleep $TestNginxSleep;

    if (defined $block->init) {
        eval $block->init;
        if ($@) {
            Test::More::fail("$name - init failed: $@");
            stop_nginx();
            return;
        }
    }

    $ErrLogFilePos = 0;
    for my $i (0 .. $RepeatEach - 1) {
        write_user_files($block) if $i > 0;
        if ($should_todo) {
            my $tb = Test::More->builder;
            $tb->todo_start("$name - $todo_reason");
            eval { run_test_helper($block, $i) };
            my $err = $@;
            $tb->todo_end;
            die $err if $err;
        } else {
            run_test_helper($block, $i);
        }
    }

    stop_nginx();
}

# --------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------

sub parse_more_headers ($) {
    my $in = shift;
    my $out = '';
    my $is_chunked;
    for my $header (split /\n+/, $in) {
        next if $header =~ /^\s*\#/;
        my ($key, $val) = split /:\s*/, $header, 2;
        $val //= '';
        $is_chunked = 1 if lc($key) eq 'transfer-encoding' && $val eq 'chunked';
        $out .= "$key: $val\r\n";
    }
    return ($out, $is_chunked);
}

sub build_request ($$$$$) {
    my ($name, $more_headers, $is_chunked, $conn, $request) = @_;
    open my $in, '<', \$request;
    my $first = <$in>;
    die "$name - Request line should be non-empty\n" if !$first;
    my ($meth, $url, $ver);
    if ($first =~ /^\s*(\S+) *(?:(\S+) *)?(?:(\S+) *)?\s*$/) {
        ($meth, $url, $ver) = ($1, $2 // '/', $3 // 'HTTP/1.1');
    } else {
        die "$name - Request line is not valid. Should be 'meth [url [version]]' but got \"$first\".\n";
    }
    my $content = do { local $/; <$in> } // '';
    close $in;

    my $len_header = '';
    if (!$is_chunked && $content ne ''
        && $more_headers !~ /(?:^|\n)Content-Length:/)
    {
        $content =~ s/^\s+|\s+$//gs;
        $len_header = "Content-Length: " . length($content) . "\r\n";
    }
    $more_headers =~ s/(?<!\r)\n/\r\n/gs;
    my $headers = '';
    $headers .= "Host: $ServerName\r\n" if $more_headers !~ /(?:^|\n)Host:/msi;
    $headers .= "Connection: $conn\r\n"
        if $more_headers !~ /(?:^|\n)Connection/msi;
    $headers .= "$more_headers$len_header\r\n";
    return "$meth $url $ver\r\n$headers$content";
}

# Returns a list of requests; each request is a list of packets
# ({value => ..., delay_before => ...}).
sub get_req_from_block ($) {
    my $block = shift;
    my $name = $block->name;
    my @req_list;

    if (defined $block->raw_request) {
        my $raw = $block->raw_request;
        if (ref $raw && ref $raw eq 'ARRAY') {
            push @req_list, [map { ref $_ ? $_ : { value => $_ } } @$raw];
        } else {
            push @req_list, [{ value => $raw }];
        }
        return \@req_list;
    }

    my $request;
    if (defined $block->request_eval) {
        Test::More::diag("$name - request_eval DEPRECATED. Use request eval instead.");
        $request = eval $block->request_eval;
        warn $@ if $@;
    } else {
        $request = $block->request;
        if (defined $request && !ref $request) {
            while ($request =~ s/^\s*\#[^\n]+\s+|^\s+//gs) { }
        }
    }
    my $more_headers = $block->more_headers // '';

    my $hdr_for = sub {
        my $i = shift;
        if (ref $more_headers eq 'ARRAY') {
            my $h = $more_headers->[$i];
            die "$name - --- more_headers lacks data for request $i\n"
                unless defined $h;
            return parse_more_headers($h);
        }
        return parse_more_headers($more_headers);
    };

    if (defined $block->pipelined_requests) {
        my $reqs = $block->pipelined_requests;
        die "$name - invalid entries in --- pipelined_requests\n"
            if !ref $reqs || ref $reqs ne 'ARRAY';
        my $prq = '';
        for my $i (0 .. $#$reqs) {
            my ($hdr, $chunked) = $hdr_for->($i);
            $prq .= build_request($name, $hdr, $chunked,
                                  $i == $#$reqs ? 'close' : 'keep-alive',
                                  $reqs->[$i]);
        }
        push @req_list, [{ value => $prq }];
        return \@req_list;
    }

    die "$name - request empty\n" if !defined $request;

    if (!ref $request) {
        my ($hdr, $chunked) = $hdr_for->(0);
        push @req_list, [{ value => build_request($name, $hdr, $chunked,
                                                  'close', $request) }];
    } elsif (ref $request eq 'ARRAY') {
        my $i = 0;
        for my $one (@$request) {
            my ($hdr, $chunked) = $hdr_for->($i);
            if (!ref $one) {
                push @req_list, [{ value => build_request($name, $hdr,
                                                 $chunked, 'close', $one) }];
            } elsif (ref $one eq 'ARRAY') {
                # a request as a series of packets: the headers are
                # inserted after the request line of the first packet
                my @packets = map { ref $_ ? { %$_ } : { value => $_ } } @$one;
                my $whole = join '', map { $_->{value} } @packets;
                my $built = build_request($name, $hdr, $chunked, 'close',
                                          $whole);
                # keep the packet boundaries of the body part
                my $extra = length($built) - length($whole);
                $packets[0]{value} = substr($built, 0,
                                     length($packets[0]{value}) + $extra);
                my $off = length $packets[0]{value};
                for my $p (@packets[1 .. $#packets]) {
                    $p->{value} = substr($built, $off, length $p->{value});
                    $off += length $p->{value};
                }
                $packets[-1]{value} .= substr($built, $off) if $off < length $built;
                push @req_list, \@packets;
            } else {
                die "$name - Invalid syntax. $one should be a string or an array of packets.\n";
            }
            $i++;
        }
    } else {
        die "$name - invalid --- request: MUST be string or array of requests\n";
    }
    return \@req_list;
}

sub send_request ($$$$) {
    my ($packets, $middle_delay, $timeout, $block) = @_;
    my $name = $block->name;
    my @bits = @$packets;
    my $head_req = (join '', map { $_->{value} } @bits) =~ /^\s*HEAD\s+/ ? 1 : 0;

    my $server_addr = $block->server_addr_for_client // $ServerAddr;
    my $sock;
    for my $tries (1 .. 50) {
        $sock = IO::Socket::INET->new(PeerAddr => $server_addr,
                                      PeerPort => $ServerPortForClient,
                                      Proto => 'tcp', Timeout => $timeout);
        last if $sock;
        my $wait = ($TestNginxSleep + $TestNginxSleep * $tries) * $tries / 2;
        $wait = 1 if $wait > 1;
        last if $tries == 50;
        sleep $wait;
    }
    if (!$sock) {
        # (the real runner calls no_ending here; we keep the failing exit code)
        Test::More::fail("$name - Can't connect to $server_addr:$ServerPortForClient: $! (aborted)");
        return (undef, $head_req);
    }
    $sock->blocking(0);

    my $resp = '';
    my $first = shift @bits;
    my $wbuf = $first->{value};
    my $woff = 0;
    my $writing = 1;
    my $sel = IO::Select->new($sock);

    while (1) {
        my ($r, $w) = IO::Select->select($sel, $writing ? $sel : undef,
                                         undef, $timeout);
        if (!$r && !$w) {
            next if $! == EINTR;
            close $sock;
            if (!defined $block->abort) {
                # (the real runner calls no_ending here; we keep the failing exit code)
                Test::More::fail("ERROR: client socket timed out - $name");
            }
            return ($resp, $head_req);
        }
        if ($w && @$w) {
            my $rest = length($wbuf) - $woff;
            if ($rest > 0) {
                my $n = syswrite($sock, $wbuf, $rest, $woff);
                if (!defined $n) {
                    if ($! != EAGAIN && $! != EWOULDBLOCK) {
                        warn "WARNING: $name - write failed: $!\n";
                        $resp ||= "write failed: $!";
                        $writing = 0;
                    }
                } else {
                    $woff += $n;
                }
            }
            if ($writing && $woff >= length $wbuf) {
                my $next = shift @bits;
                if (!defined $next) {
                    $writing = 0;
                    my $shutdown = $block->shutdown;
                    if (defined $shutdown) {
                        $shutdown = 1 if $shutdown =~ /^\s*$/s;
                        shutdown($sock, $shutdown);
                    }
                } else {
                    my $delay = $next->{delay_before} // $middle_delay;
                    sleep $delay if $delay;
                    ($wbuf, $woff) = ($next->{value}, 0);
                }
            }
        }
        if ($r && @$r) {
            my $buf;
            my $n = sysread($sock, $buf, 4096);
            if (!defined $n) {
                next if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
                warn "WARNING: $name - HTTP response read failure: $!\n"
                    unless $resp ne '';
                last;
            }
            last if $n == 0;
            $resp .= $buf;
        }
    }
    close $sock;
    return ($resp, $head_req);
}

# A minimal stand-in for HTTP::Response.
package Test::Nginx::Socket::Response {
    sub new { my ($c, %a) = @_; bless { headers => [], %a }, $c }
    sub code { $_[0]{code} }
    sub content { my $s = shift; $s->{content} = shift if @_; $s->{content} }
    sub header {
        my ($s, $key) = @_;
        my $k = lc $key;
        $k =~ tr/_/-/ unless $k =~ /^:/;
        my @v = map { $_->[1] } grep { lc($_->[0]) eq $k } @{ $s->{headers} };
        return undef unless @v;
        return join ', ', @v;
    }
}

sub parse_response ($$$) {
    my ($name, $raw, $head_req) = @_;
    my $left;
    my $raw_headers = '';
    $raw_headers = $1 if $raw =~ /(.*?\r\n)\r\n/s;

    my ($head, $body) = split /\r?\n\r?\n/, $raw, 2;
    $body //= '';
    my $res = Test::Nginx::Socket::Response->new(content => $body);
    my @lines = split /\r?\n/, $head // '';
    my $status = shift @lines // '';
    if ($status =~ m{^HTTP/\d+(?:\.\d+)?\s+(\d+)}) {
        $res->{code} = $1;
    }
    for my $l (@lines) {
        if ($l =~ /^\s+(.*)/ && @{ $res->{headers} }) {
            $res->{headers}[-1][1] .= " $1";
        } elsif ($l =~ /^([^:\s]+)\s*:\s*(.*?)\s*$/) {
            push @{ $res->{headers} }, [$1, $2];
        }
    }
    my $code = $res->code;
    return ($res, $raw_headers) if $code && ($code == 304 || $code == 101);

    my $enc = $res->header('Transfer-Encoding');
    my $len = $res->header('Content-Length');

    if ($head_req) {
        # no body in the response to HEAD; the rest belongs to the next
        # (pipelined) response
        $left = $body if $body ne '';
        $res->content('');
    } elsif (defined $enc && $enc eq 'chunked') {
        my $decoded = '';
        while (1) {
            if ($body =~ /\G 0 [\ \t]* \r\n \r\n /gcsx) {
                $left = $1 if $body =~ /\G (.+) /gcsx;
                last;
            }
            if ($body =~ m{\G [\ \t]* ([A-Fa-f0-9]+) [^\r\n]* \r\n }gcsx) {
                my $size = hex($1);
                my $pos = pos($body);
                if (length($body) - $pos < $size) {
                    # (the real runner calls no_ending here; we keep the failing exit code)
                    Test::More::fail("$name - invalid chunked data received "
                                     . "(not enough octets for the data section)");
                    return;
                }
                $decoded .= substr($body, $pos, $size);
                pos($body) = $pos + $size;
                if ($body !~ /\G\r\n/gcs) {
                    # (the real runner calls no_ending here; we keep the failing exit code)
                    Test::More::fail("$name - invalid chunked data received (expected CRLF).");
                    return;
                }
            } elsif ($body =~ /\G.+/gcs) {
                # (the real runner calls no_ending here; we keep the failing exit code)
                Test::More::fail("$name - invalid chunked body received: $&");
                return;
            } else {
                # (the real runner calls no_ending here; we keep the failing exit code)
                Test::More::fail("$name - no last chunk found - $body");
                return;
            }
        }
        $res->content($decoded);
    } elsif (defined $len && $len =~ /^\d+$/) {
        if (length $body < $len) {
            warn "WARNING: $name - response body truncated: $len expected, "
                 . "but got " . length($body) . "\n";
        } elsif (length $body > $len) {
            $left = substr $body, $len;
            $res->content(substr $body, 0, $len);
        }
    }
    return ($res, $raw_headers, $left);
}

# --------------------------------------------------------------------------
# Checks (each produces the same number of tests as the real runner)
# --------------------------------------------------------------------------

sub get_indexed_value ($$$$) {
    my ($name, $value, $req_idx, $need_array) = @_;
    if ($need_array) {
        return $value->[$req_idx] if ref $value && ref $value eq 'ARRAY';
        die "$name - You asked for many requests, the expected results "
            . "should be arrays as well.\n";
    }
    if (ref $value && ref $value eq 'ARRAY') {
        return $value->[0];
    }
    return $value;
}

sub run_test_helper ($$) {
    my ($block, $repeated_req_idx) = @_;
    my $name = $block->name;

    my $r_req_list = get_req_from_block($block);
    die "$name - request empty\n" if !@$r_req_list;

    my $timeout = parse_time($block->timeout);
    $timeout = $Timeout if !defined $timeout;

    my ($res, $n, $need_array);
    my $req_idx = 0;
    for my $one_req (@$r_req_list) {
        my ($raw_resp, $head_req) = send_request($one_req,
            parse_time($block->raw_request_middle_delay), $timeout, $block);

        if ($block->pipelined_requests) {
            $n = @{ $block->pipelined_requests };
            $need_array = 1;
        } else {
            $need_array = @$r_req_list > 1;
        }

      again:
        $raw_resp //= '';
        my ($raw_headers, $left);
        if (!defined $block->ignore_response) {
            ($res, $raw_headers, $left) = parse_response($name, $raw_resp,
                                                         $head_req);
        }
        if (!$n) {
            if (defined $left && $left ne '') {
                (my $l = $left) =~ s/([\0-\037\200-\377])/sprintf('\x{%02x}',ord $1)/eg;
                warn "WARNING: $name - unexpected extra bytes after last "
                     . "chunk in response: \"$l\"\n";
            }
        } else {
            $raw_resp = $left;
            $n--;
        }

        if (!defined $block->ignore_response) {
            check_error_code($block, $res, $req_idx, $need_array);
            check_raw_response_headers($block, $raw_headers, $req_idx,
                                       $need_array);
            check_response_headers($block, $res, $raw_headers, $req_idx,
                                   $need_array);
            transform_response_body($block, $res, $req_idx);
            check_response_body($block, $res, $req_idx, $repeated_req_idx,
                                $need_array);
        }

        if ($n || $req_idx < @$r_req_list - 1) {
            sleep parse_time($block->wait) if $block->wait;
            check_error_log($block, $res, 0, $repeated_req_idx, $need_array);
            check_access_log($block, $repeated_req_idx)
                if !defined $block->ignore_response;
        }
        $req_idx++;
        goto again if $n;
    }

    sleep parse_time($block->wait) if $block->wait;
    check_error_log($block, $res, 0, $repeated_req_idx, $need_array);
    check_access_log($block, $repeated_req_idx)
        if !defined $block->ignore_response;
}

sub check_error_code ($$$$) {
    my ($block, $res, $req_idx, $need_array) = @_;
    my $name = $block->name;
    my $got = ($res && $res->code) || '';
    if (defined $block->error_code_like) {
        my $val = get_indexed_value($name, $block->error_code_like, $req_idx,
                                    $need_array);
        Test::More::like($got, qr/$val/sm, "$name - status code ok");
    } elsif (defined $block->error_code) {
        my $val = get_indexed_value($name, $block->error_code, $req_idx,
                                    $need_array);
        $val =~ s/^\s+|\s+$//g if defined $val && !ref $val;
        Test::More::is($got, $val, "$name - status code ok");
    } else {
        Test::More::is($got, 200, "$name - status code ok");
    }
}

sub check_raw_response_headers ($$$$) {
    my ($block, $raw_headers, $req_idx, $need_array) = @_;
    my $name = $block->name;
    $raw_headers //= '';
    if (defined $block->raw_response_headers_like) {
        my $exp = get_indexed_value($name, $block->raw_response_headers_like,
                                    $req_idx, $need_array);
        Test::More::like($raw_headers, qr/$exp/s, "$name - raw resp headers like");
    }
    if (defined $block->raw_response_headers_unlike) {
        my $exp = get_indexed_value($name, $block->raw_response_headers_unlike,
                                    $req_idx, $need_array);
        Test::More::unlike($raw_headers, qr/$exp/s, "$name - raw resp headers unlike");
    }
}

# Returns [name, value-or-undef] pairs, in order.
sub parse_headers_list ($) {
    my $s = shift;
    my @out;
    for (split /\n/, $s // '') {
        s/^\s+|\s+$//g;
        next if $_ eq '';
        if (s/^!\s*//) {
            push @out, [$_, undef];
        } else {
            my ($key, $val) = split /\s*:\s*/, $_, 2;
            push @out, [$key, $val // ''];
        }
    }
    return @out;
}

sub check_response_headers ($$$$$) {
    my ($block, $res, $raw_headers, $req_idx, $need_array) = @_;
    my $name = $block->name;
    $raw_headers //= '';
    if (defined $block->response_headers) {
        my @h = parse_headers_list(get_indexed_value($name,
                     $block->response_headers, $req_idx, $need_array));
        for my $kv (@h) {
            my ($key, $val) = @$kv;
            if (!defined $val) {
                Test::More::unlike($raw_headers, qr/^\s*\Q$key\E\s*:/msi,
                    "$name - header $key not present in the raw headers");
                next;
            }
            $val =~ s/\$ServerPort\b/$ServerPort/g;
            $val =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
            my $actual = $res ? $res->header($key) : undef;
            $actual //= '';
            Test::More::is($actual, $val, "$name - header $key ok");
        }
    } elsif (defined $block->response_headers_like) {
        my @h = parse_headers_list(get_indexed_value($name,
                     $block->response_headers_like, $req_idx, $need_array));
        for my $kv (@h) {
            my ($key, $val) = @$kv;
            $val //= '';
            my $actual = $res ? $res->header($key) : undef;
            $actual //= '';
            Test::More::like($actual, qr/^$val$/, "$name - header $key like ok");
        }
    }
}

sub transform_response_body ($$$) {
    my ($block, $res, $req_idx) = @_;
    return unless $res && defined $res->content;
    my $filters = $block->response_body_filters;
    return unless defined $filters;
    my $name = $block->name;
    if (!ref $filters) {
        $filters =~ s/^\s+|\s+$//gs;
        $filters = [split /\s+/, $filters];
    } elsif (ref $filters ne 'ARRAY') {
        $filters = [$filters];
    }
    if (ref $filters->[0] eq 'ARRAY') {
        $filters = $filters->[$req_idx]
            or die "$name - the --- response_body_filters array does not "
                   . "match the request $req_idx\n";
    }
    my $content = $res->content;
    for my $f (@$filters) {
        if (ref $f eq 'CODE') { $content = $f->($content); next }
        if    ($f eq 'md5_hex')  { require Digest::MD5; $content = Digest::MD5::md5_hex($content) }
        elsif ($f eq 'sha1_hex') { require Digest::SHA; $content = Digest::SHA::sha1_hex($content) }
        elsif ($f eq 'uc')       { $content = uc $content }
        elsif ($f eq 'lc')       { $content = lc $content }
        elsif ($f eq 'ucfirst')  { $content = ucfirst $content }
        elsif ($f eq 'lcfirst')  { $content = lcfirst $content }
        elsif ($f eq 'length')   { $content = length $content }
        else { die "$name - unknown filter \"$f\" in --- response_body_filters\n" }
    }
    $res->content($content);
}

sub check_response_body ($$$$$) {
    my ($block, $res, $req_idx, $repeated_req_idx, $need_array) = @_;
    my $name = $block->name;
    my $content = $res ? $res->content : undef;

    if (defined $block->response_body || defined $block->response_body_eval) {
        my $expected;
        if ($block->response_body_eval) {
            Test::More::diag("$name - response_body_eval is DEPRECATED. Use response_body eval instead.");
            $expected = eval get_indexed_value($name, $block->response_body_eval,
                                               $req_idx, $need_array);
            warn $@ if $@;
        } else {
            $expected = get_indexed_value($name, $block->response_body,
                                          $req_idx, $need_array);
        }
        if ($block->charset && defined $expected) {
            Encode::from_to($expected, 'UTF-8', $block->charset);
        }
        if (defined $expected && !ref $expected) {
            $expected =~ s/\$ServerPort\b/$ServerPort/g;
            $expected =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
        }
        my $desc = "$name - response_body - response is expected "
                   . "(repeated req $repeated_req_idx, req $req_idx)";
        if (ref $expected) {
            Test::More::like($content, $expected,
                "$name - response_body - like (repeated req $repeated_req_idx, req $req_idx)");
        } elsif ($NoLongString) {
            Test::More::is($content, $expected, $desc);
        } else {
            Test::LongString::is_string($content, $expected, $desc);
        }
    } elsif (defined $block->response_body_like
             || defined $block->response_body_unlike)
    {
        my ($pats, $type) = defined $block->response_body_like
            ? ($block->response_body_like, 'like')
            : ($block->response_body_unlike, 'unlike');
        my $pat = get_indexed_value($name, $pats, $req_idx, $need_array);
        if (!ref $pat) {
            $pat =~ s/\$ServerPort\b/$ServerPort/g;
            $pat =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
        }
        my $summary = trim_str($content) // '';
        my $desc = "$name - response_body_$type - response is expected ($summary)";
        if ($type eq 'like') {
            Test::More::like($content, qr/$pat/s, $desc);
        } else {
            Test::More::unlike($content, qr/$pat/s, $desc);
        }
    }
}

sub error_log_data () {
    sleep $TestNginxSleep * 3;
    my @lines;
    if (open my $in, '<', $ErrLogFile) {
        seek $in, $ErrLogFilePos, 0 if !$CheckAccumErrLog && $ErrLogFilePos > 0;
        @lines = <$in>;
        $ErrLogFilePos = tell($in) if !$CheckAccumErrLog;
        close $in;
    }
    if (@ExtraErrLogLines) {
        my %seen = map { $_ => 1 } @lines;
        push @lines, grep { !$seen{$_} } @ExtraErrLogLines;
    }
    return \@lines;
}

sub access_log_data () {
    sleep $TestNginxSleep * 3;
    open my $in, '<', $AccLogFile or return [];
    my @lines = <$in>;
    close $in;
    return \@lines;
}

sub _pat_list ($) {
    my $pats = shift;
    if (!ref $pats) {
        chomp $pats;
        return [split /\n+/, $pats];
    }
    return [$pats] if ref $pats eq 'Regexp';
    return [@$pats];
}

sub _match ($$) {
    my ($line, $pat) = @_;
    return ref $pat ? $line =~ /$pat/ : $line =~ /\Q$pat\E/;
}

sub _check_log_patterns {
    my ($name, $what, $file, $pos, $neg, $lines, $idx) = @_;
    if (defined $pos) {
        my $pats = _pat_list($pos);
        for my $line (@$lines) {
            for my $pat (@$pats) {
                next if !defined $pat;
                if (_match($line, $pat)) {
                    Test::More::pass("$name - pattern \"$pat\" matches a line in $file (req $idx)");
                    undef $pat;
                }
            }
        }
        for my $pat (@$pats) {
            next if !defined $pat;
            Test::More::fail("$name - pattern \"$pat\" should match a line in $file (req $idx)");
        }
    }
    if (defined $neg) {
        my $pats = _pat_list($neg);
        my %found;
        for my $i (0 .. $#$lines) {
            my $line = $lines->[$i];
            for my $pat (@$pats) {
                next if !defined $pat;
                if (_match($line, $pat)) {
                    if ($found{$pat}++) { }
                    my @more = @$lines[$i + 1 .. min($i + 9, $#$lines)];
                    Test::More::fail("$name - pattern \"" . fmt_str($pat)
                        . "\" should not match any line in $file but matches line \""
                        . fmt_str($line) . "\" (req $idx)\n" . join '', @more);
                }
            }
        }
        for my $pat (@$pats) {
            next if !defined $pat || $found{$pat};
            Test::More::pass("$name - pattern \"" . fmt_str($pat)
                             . "\" does not match a line in $file (req $idx)");
        }
    }
}

sub _value_contains {
    my ($val, $pat) = @_;
    return 0 unless defined $val;
    return $val =~ /\Q$pat\E/ if !ref $val || ref $val eq 'Regexp';
    if (ref $val eq 'ARRAY') {
        for (@$val) { return 1 if _value_contains($_, $pat) }
    }
    return 0;
}

sub check_error_log ($$$$$) {
    my ($block, $res, $dry_run, $repeated_req_idx, $need_array) = @_;
    my $name = $block->name;
    my $lines;

    my $grep_pats = $block->grep_error_log;
    my $grep_pat;
    if (defined $grep_pats) {
        $grep_pat = ref $grep_pats eq 'ARRAY'
                    ? $grep_pats->[$repeated_req_idx] : $grep_pats;
    } elsif (defined $block->grep_error_log_out) {
        die "$name - No --- grep_error_log defined but --- grep_error_log_out is defined\n";
    }
    if (defined $grep_pat) {
        my $expected = $block->grep_error_log_out;
        die "$name - No --- grep_error_log_out defined but --- grep_error_log is defined\n"
            if !defined $expected;
        $expected = $expected->[$repeated_req_idx] if ref $expected eq 'ARRAY';
        $lines ||= error_log_data();
        my $matched = '';
        for my $line (@$lines) {
            if (ref $grep_pat ? $line =~ /$grep_pat/ : $line =~ /\Q$grep_pat\E/) {
                $matched .= "$&\n" if $& !~ /\n/;
            }
        }
        my $desc = "$name - grep_error_log_out (req $repeated_req_idx)";
        if (ref $expected eq 'Regexp') {
            Test::More::like($matched, $expected, $desc);
        } elsif ($NoLongString) {
            Test::More::is($matched, $expected, $desc);
        } else {
            Test::LongString::is_string($matched, $expected, $desc);
        }
    }

    my %check = (alert => 1, crit => 1, emerg => 1);
    for my $sec (scalar($block->error_log), scalar($block->no_error_log)) {
        for my $lvl (keys %check) {
            delete $check{$lvl} if _value_contains($sec, "[$lvl");
        }
    }

    if (defined $block->error_log || defined $block->no_error_log) {
        $lines ||= error_log_data();
        _check_log_patterns($name, 'error_log', 'error.log',
                            scalar($block->error_log),
                            scalar($block->no_error_log), $lines,
                            $repeated_req_idx);
    }

    $lines ||= error_log_data();
    for my $lvl (sort keys %check) {
        for my $line (@$lines) {
            warn "WARNING: $name - " . fmt_str($line) . "\n"
                if $line =~ /\[$lvl\]/;
        }
    }
    for my $line (@$lines) {
        if ($line =~ /\bAssertion .*?failed\b/) {
            # (the real runner calls no_ending here; we keep the failing exit code)
            chomp(my $l = $line);
            Test::More::fail("$name - $l");
        }
    }
}

sub check_access_log ($$) {
    my ($block, $repeated_req_idx) = @_;
    return unless defined $block->access_log || defined $block->no_access_log;
    _check_log_patterns($block->name, 'access_log', 'access.log',
                        scalar($block->access_log),
                        scalar($block->no_access_log),
                        access_log_data(), $repeated_req_idx);
}

1;
__END__

=encoding utf-8

=head1 NAME

Test::Nginx::Socket - a small Test::Base runner for test-nginx's data-driven
format (ngx_http_stytch_module's t/lib copy)

=head1 SYNOPSIS

    use Test::Nginx::Socket 'no_plan';
    # or:  use Test::Nginx::Socket;
    #      plan tests => repeat_each() * blocks() * 2;
    use StytchTest;

    no_shuffle();
    run_tests();

    __DATA__

    === TEST 1: a file
    --- config
        location /t { stytch_auth off; }
    --- user_files
    >>> t
    hello
    --- request
    GET /t
    --- response_body
    hello
    --- no_error_log
    [error]

Run it with C<prove -I t/lib -r t/>; the same files run under openresty's
test-nginx with C<prove -I /path/to/test-nginx/lib -I t/lib t/>.

=head1 DESCRIPTION

Test::Nginx is not packaged for Debian, so this is a re-implementation of
the parts of L<Test::Nginx::Socket> (test-nginx 0.29) that the module's
tests use, on Debian's L<Test::Base>.  Section names, their meaning, the
generated F<nginx.conf>, defaults, environment variables and the tests each
check produces follow the real one.

Per block: the server root, F<t/servroot_PORT> (under the current
directory's F<t/>, or next to the .t file when there is no F<t/>;
F<t/servroot> with a fixed port; C<TEST_NGINX_SERVROOT> overrides), is
recreated, C<user_files> are written into F<html/>, F<conf/nginx.conf> is
written (C<daemon on>, C<master_process off>, C<worker_processes 1>,
C<error_log logs/error.log debug>, C<events { accept_mutex off;
worker_connections 64; }>, C<http { access_log ...; default_type
text/plain; keepalive_timeout 68; ... server { listen 127.0.0.1:PORT; server_name
'localhost'; client_max_body_size 30M; ... location / { root html; ... } }
}>), C<$TEST_NGINX_*> variables in C<config>, C<http_config>,
C<main_config>, C<post_main_config> and C<user_files> are expanded, nginx
(C<$TEST_NGINX_BINARY> or C<nginx> in C<PATH>) is started with
C<-p servroot/ -c conf/nginx.conf>, the runner waits until it listens, runs
C<init>, sends the request(s) over a raw socket (C<Host: localhost>,
C<Connection: close>, C<Content-Length> added for a body), checks the
response and the lines the block added to F<logs/error.log>, and stops
nginx (QUIT, then TERM, then KILL, waiting for the pid to go away).  nginx
is also stopped in an C<END> block and on INT/TERM/HUP.

=head1 EXPORTS

C<run_tests>, C<run_test>, C<repeat_each>, C<no_shuffle>, C<master_on>,
C<master_off>, C<master_process_enabled>, C<workers>,
C<worker_connections>, C<log_level>, C<no_long_string>,
C<no_root_location>, C<add_block_preprocessor>, C<add_cleanup_handler>,
C<env_to_nginx>, C<server_name>, C<server_addr>, C<html_dir>,
C<server_root>, C<server_port>, C<server_port_for_client>, C<timeout>,
C<config_preamble>, C<bail_out>, C<check_accum_error_log>, C<is_str>,
and the variables C<$ServerPort>, C<$ServerPortForClient>, C<$ServRoot>,
C<$ServerRoot>, C<$LogLevel>, C<$NginxBinary>, C<$RepeatEach>,
C<$NoLongString>, C<$ServerAddr>, C<$ServerName>.  Through L<Test::Base>:
C<plan>, C<blocks>, C<is>, C<ok>, C<like>, C<diag>, ... and the import
forms C<use Test::Nginx::Socket 'no_plan';>,
C<< use Test::Nginx::Socket tests => N; >> and
C<use Test::Nginx::Socket;> followed by C<plan tests =E<gt> ...>.

=head1 SECTIONS

Configuration: C<config>, C<http_config>, C<main_config>,
C<post_main_config>, C<user_files> (C<< >>> name [date] >>> lines),
C<server_name>, C<log_level>, C<init> (Perl code evaluated after nginx
started, before the requests).

Requests: C<request> (C<METHOD [URI [VERSION]]> then an optional body;
with C<eval>, an array ref sends several requests, each over its own
connection, and an element that is itself an array ref is sent as
packets), C<request_eval> (deprecated form), C<more_headers> (string or
array ref, one per request), C<raw_request> (string or array of packets),
C<raw_request_middle_delay>, C<pipelined_requests> (array ref, one
connection), C<timeout> (C<3>, C<500ms>, C<2s>; default 3s or
C<TEST_NGINX_TIMEOUT>), C<abort> (a timeout is not a failure), C<wait>
(sleep before checking the logs), C<shutdown>, C<server_addr_for_client>.

Checks (one test each): C<error_code> (default 200), C<error_code_like>,
C<response_body>, C<response_body_eval>, C<response_body_like>,
C<response_body_unlike>, C<response_body_filters>, C<charset>,
C<response_headers> (C<Name: value>; C<!Name> for absence: one test per
line), C<response_headers_like> (one per line, anchored), 
C<raw_response_headers_like>, C<raw_response_headers_unlike>,
C<error_log>, C<no_error_log> (lines, or with C<eval> a C<qr//> or an
array of strings and C<qr//>s: one test per pattern),
C<grep_error_log> + C<grep_error_log_out> (one test), C<access_log>,
C<no_access_log>, C<ignore_response>, C<must_die> (nginx must fail to start:
one test, then the C<error_log>/C<no_error_log> checks against
F<logs/error.log> plus nginx's stderr; a number checks the exit code).

Flow: C<ONLY>, C<SKIP>, C<LAST> (Test::Base), C<FIRST>, C<skip_nginx>
(C<N: E<lt> 1.21.0 [: reason]>), C<skip_nginx2>, C<skip_eval>
(C<N: perl-expr>), C<todo> (C<N: reason>), C<no_check_leak> (accepted,
no effect).

An unknown section dies with its name; a section of the real runner this
one does not implement (stap, tcp_*, udp_*, http2, http3, curl, ...) dies
too.  A project's block preprocessor may register extra section names in
C<%Test::Nginx::Socket::ExtraSections>.

Multiple requests (an array in C<request eval>, or C<pipelined_requests>)
require the check sections (C<error_code>, C<response_body>, ...) to be
arrays, one element per request, as in the real runner.  As in the real
runner, C<error_log>/C<no_error_log> are checked after each request, each
time against the lines logged since the previous check.

=head1 DIFFERENCES FROM THE REAL Test::Nginx::Socket

=over

=item * Unknown sections fail (the real runner ignores them).

=item * nginx listens on 127.0.0.1 and, by default, on a random free port
(see L</PORTS>); the real runner listens on every address, on 1984 unless
C<TEST_NGINX_RANDOMIZE> is set.

=item * nginx is started for every block and stopped at its end; the real
one leaves it running until the next block or the end.  The real runner's
"reuse the previous nginx when a block has no C<--- config>" becomes
"reuse the previous block's config".

=item * A nginx that fails to start produces one failing test with its
stderr and the tail of the error log (the real runner bails out).  A
failing C<init> is one failing test (the real runner bails out).

=item * nginx is started with C<-e logs/error.log> (nginx E<gt>= 1.19.5), and
C<must_die> blocks also match C<error_log> against nginx's stderr.  The
real runner only reads F<logs/error.log>, where startup errors land only
if the nginx binary's compiled-in error log is C<logs/error.log>
(OpenResty); with Debian's nginx (C<--error-log-path=stderr>) a
C<must_die> block's C<error_log> check fails under the real runner.

=item * C<!Name> in C<response_headers> is matched case-insensitively (the
real runner's check is case-sensitive), and headers are checked in the
order written (the real runner iterates a hash).

=item * Per-block C<workers>, C<master_on>, C<master_off> and C<FIRST> are
extensions of this runner; the real runner has only the global functions
(and Test::Base has no C<FIRST>), so do not rely on them in files that must
also pass under the real one.  The exported C<$ServerRoot> is also ours
only.

=item * Not implemented: HUP reload mode, valgrind, stap, check-leak and
benchmark modes, HTTP/2 and HTTP/3 (curl), the embedded TCP/UDP servers,
C<skip_openssl>, C<skip_slave>, C<todo_nginx>, C<shutdown_error_log>,
C<add_response_body_check>, C<use_hup>, C<no_nginx_manager>.

=item * The response parser is built in (no HTTP::Response).

=item * Where the real runner calls C<< Test::Builder->no_ending(1) >> after
a failure (client timeouts, bad chunked data, ...), this one does not, so
the test file's exit code reflects the failure.

=back

=head1 PORTS

nginx listens on C<$ServerAddr> (127.0.0.1), never on every address, and
by default on a random port that was free when the test file started,
with a server root of its own, F<t/servroot_PORT>: suites that run at
once (C<prove -j>, several trees, another nginx on the machine) never meet.
That server root is removed at the end of a file whose tests all passed,
and kept, with a C<# server root kept:> line, when one failed.  A fixed
port: C<TEST_NGINX_PORT> (or C<TEST_NGINX_SERVER_PORT>) names it, or
C<TEST_NGINX_RANDOMIZE=0> asks for 1984; the server root is then
F<t/servroot> and is kept.  C<TEST_NGINX_RANDOMIZE=1> picks a random port
even when one is named.  Blocks reach the port as C<$TEST_NGINX_SERVER_PORT>,
which the runner sets to the port it uses.

The real runner listens on C<$ServerPort> alone (every address) and on
1984 unless C<TEST_NGINX_RANDOMIZE> is set.

=head1 ENVIRONMENT

C<TEST_NGINX_BINARY>, C<TEST_NGINX_PORT>/C<TEST_NGINX_SERVER_PORT>,
C<TEST_NGINX_CLIENT_PORT>, C<TEST_NGINX_SERVROOT>, C<TEST_NGINX_RANDOMIZE>
(see L</PORTS>), C<TEST_NGINX_TIMEOUT>, C<TEST_NGINX_LOG_LEVEL>,
C<TEST_NGINX_MASTER_PROCESS>, C<TEST_NGINX_NO_SHUFFLE>,
C<TEST_NGINX_SLEEP>, C<TEST_NGINX_CHECK_ACCUM_ERR_LOG>,
C<TEST_NGINX_LOAD_MODULES>, C<TEST_NGINX_WORKER_USER>.

=cut
