package StytchHostile;

# Copyright (C) 2026 The ngx_http_stytch_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# A hostile "Stytch" on loopback, for the tests of what the module does
# with answers that Stytch never gives: /drip answers 200 with a chunked
# body of one byte every 100 ms, forever; any other path answers 200 and
# 300 KB of a 10 MB body, then sends nothing more and never closes.  Its
# port is in $ENV{TEST_NGINX_FAKE_PORT}; it is killed when the test ends.

use strict;
use warnings;

use IO::Socket::INET ();
use POSIX ();
use Time::HiRes ();

my $Pid;

sub start {
    my $l = IO::Socket::INET->new(Listen => 64, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, ReuseAddr => 1) or die $!;
    my $port = $l->sockport;
    $Pid = fork() // die "fork: $!";
    if ($Pid == 0) {
        POSIX::setpgid(0, 0);
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        $SIG{CHLD} = 'IGNORE';
        $SIG{ALRM} = sub { POSIX::_exit(0) };
        alarm 300;
        while (my $c = $l->accept) {
            next if fork();
            my $req = '';
            while ($req !~ /\r\n\r\n/) {
                sysread($c, $req, 4096, length $req) or POSIX::_exit(0);
            }
            if ($req =~ m{^\S+ /drip}) {
                syswrite($c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             . "Transfer-Encoding: chunked\r\n\r\n");
                while (1) {
                    syswrite($c, "1\r\n \r\n") or POSIX::_exit(0);
                    Time::HiRes::sleep(0.1);
                }
            }
            syswrite($c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         . "Content-Length: 10485760\r\n\r\n{\"x\":\"");
            syswrite($c, 'a' x 4096) for 1 .. 75;
            sleep 3600;
            POSIX::_exit(0);
        }
        POSIX::_exit(0);
    }
    close $l;
    $ENV{TEST_NGINX_FAKE_PORT} = $port;
    return $port;
}

END {
    local $?;
    if ($Pid) {
        kill 'KILL', -$Pid;
        waitpid($Pid, 0);
    }
}

1;
