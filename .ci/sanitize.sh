#!/usr/bin/env bash
# Copyright (C) 2026 The ngx_http_stytch_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# sanitize: the module under AddressSanitizer and UBSan.
#
#   core    the core's GoogleTest suite under ASan + UBSan, a UBSan finding
#           fatal (make test-core-asan)
#   fuzz    each libFuzzer target for FUZZ_SECONDS (make fuzz)
#   nginx   NGINX SANITIZE_VERSION from its release tarball with the module
#           compiled in, all of it under ASan + UBSan (make sanitize-nginx:
#           build/sanitize/VERSION-static), and part of t/ against it
#           (SANITIZE_TESTS); fails on any sanitizer report of any nginx
#           process, master or worker, at any time, exit included.
#
#   .ci/sanitize.sh
#
# Sanitizer reports of the nginx processes: NGINX sends its stderr to the
# error log, but the runner removes servroot/logs before every block, so a
# report written while a block's nginx exits would be lost with it.  Each
# process writes its reports to a file of its own instead
# (log_path=DIR/report, files DIR/report.PID), in a directory per .t file
# that nothing removes; every file there is read, and any
# "AddressSanitizer", "LeakSanitizer" or "runtime error:" report in one
# fails the check, unless it is one of NGINX 1.22.1's own (KNOWN, below).
# The error logs left in servroot are read too.  t/ runs at info level (see
# debug-args below).
#
# Without the tarball (a clone without ../shared) the nginx part is skipped
# with a message, unless CI=true: in CI a missing tarball is a failure.
#
# ENVIRONMENT  NGINX_TARBALLS (default ../shared/nginx beside the tree);
# SANITIZE_VERSION (1.22.1); SANITIZE_TESTS (t/ files by number, default
# "020 060 063 066 073 080 082 093 095 098 100 101": 073 runs workers
# apart from the master, as another user; 082 the sign-out's API calls
# that end early; 093 to 101 the token source, cookies, the SDKs' verdicts,
# Connected Apps tokens and their introspection); SANITIZE_PARTS (default
# "core fuzz nginx");
# FUZZ_SECONDS (15); JOBS (make -j, 2); KEEP=1 keeps the scratch directory.
set -uo pipefail

NAME=sanitize
. "$(dirname "$0")/lib.sh"
lib_init

TARBALLS=${NGINX_TARBALLS:-$(cd "$TOP/.." && pwd)/shared/nginx}
VERSION=${SANITIZE_VERSION:-1.22.1}
TESTS=${SANITIZE_TESTS:-020 060 063 066 073 080 082 093 095 098 100 101}
PARTS=${SANITIZE_PARTS:-core fuzz nginx}
FUZZ_SECONDS=${FUZZ_SECONDS:-15}
JOBS=${JOBS:-2}
TARBALL=$TARBALLS/nginx-$VERSION.tar.gz
NGINX=$TOP/build/sanitize/$VERSION-static/objs/nginx
REPORTS=$WORK/reports

part() { [[ " $PARTS " == *" $1 "* ]]; }

# Stacks are printed for UBSan's findings too (its default prints none).
# LeakSanitizer stays on, in nginx too: what NGINX leaves to exit() is
# named below (init-cycle-pool, event-arrays), and a leak of the module's
# shows when a process exits.
export UBSAN_OPTIONS=print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1

# --- the core's tests ----------------------------------------------------------
if part core; then
    t0=$SECONDS
    if make --no-print-directory -C "$TOP" -j"$JOBS" test-core-asan \
            >"$WORK/core.log" 2>&1; then
        pass "core tests under ASan + UBSan: $(grep -E '^\[  PASSED  \]' "$WORK/core.log" | sed 's/^\[  PASSED  \] *//') ($((SECONDS - t0)) s)"
    else
        tail -60 "$WORK/core.log"
        fail "core tests under ASan + UBSan (see $WORK/core.log)"
    fi
fi

# --- fuzzing -------------------------------------------------------------------
if part fuzz; then
    t0=$SECONDS
    if make --no-print-directory -C "$TOP" -j"$JOBS" fuzz \
            FUZZ_SECONDS="$FUZZ_SECONDS" >"$WORK/fuzz.log" 2>&1; then
        pass "fuzz: $(grep -c '^== fuzz ' "$WORK/fuzz.log") targets, ${FUZZ_SECONDS} s each ($((SECONDS - t0)) s)"
    else
        tail -60 "$WORK/fuzz.log"
        fail "fuzz (see $WORK/fuzz.log)"
    fi
fi

# --- NGINX under ASan + UBSan, and t/ against it --------------------------------

# NGINX 1.22.1's own reports, which t/ meets whatever the module does: each
# is a name and a pattern matched against a finding's headline and stack
# (one line each, "#N FUNCTION FILE:LINE:COL", paths as in the report).  A
# finding that matches is counted and named, and does not fail the check.
# Any other report fails it.
#
# ngx_pstrdup      ngx_init_cycle copies the empty -g parameters with
#                  ngx_pstrdup(): memcpy(dst, NULL, 0), at every start.
# v2-alignment     with NGX_HAVE_NONALIGNED (x86), HTTP/2 reads and writes
#                  frame fields as uint16_t/uint32_t at any address.
# init-cycle-pool  main()'s init_cycle.pool, not freed when nginx returns
#                  from main() after a configuration error (must_die).
# event-arrays     the connection and event arrays that every process
#                  allocates once (ngx_event_process_init) and leaves to
#                  exit() to free.
# debug-args       at debug level: "http args"/"http exten" format an empty
#                  string, ngx_sprintf_str()'s memcpy(dst, NULL, 0).  UBSan
#                  reports a location once per process, so this one hides
#                  any later one of the module's at ngx_sprintf_str(): t/
#                  runs at info level (TEST_NGINX_LOG_LEVEL) for that reason.
KNOWN='
ngx_pstrdup     runtime error: null pointer passed as argument 2.*\n *#0 ngx_pstrdup [^\n]*/src/core/ngx_string\.c:.*\n *#1 ngx_init_cycle [^\n]*/src/core/ngx_cycle\.c:
v2-alignment    ^(?:[^\n]*/)?src/http/v2/ngx_http_v2[a-z_]*\.c:\d+:\d+: runtime error: (load of|store to) misaligned address
init-cycle-pool ^Direct leak .*\n *#0 .*\n *#1 ngx_memalign [^\n]*\n *#2 ngx_create_pool [^\n]*\n *#3 main [^\n]*/src/core/nginx\.c:\d+
event-arrays    ^(Direct|Indirect) leak .*\n *#0 .*\n *#1 ngx_alloc [^\n]*\n *#2 ngx_event_process_init [^\n]*/src/event/ngx_event\.c:
debug-args      runtime error: null pointer passed as argument 2.*\n *#0 ngx_sprintf_str .*\n *#1 ngx_vslprintf .*\n *#2 ngx_log_error_core .*\n *#3 ngx_http_process_request_uri '

# reports FILE...: reads the sanitizer reports in FILEs (report files and
# error logs); prints each distinct finding that KNOWN does not name (its
# headline, its stack, how many times, in which files) and a count of the
# known ones; returns 1 when there is any other finding, or a line of a
# sanitizer that the reader did not recognize as part of one.
reports() {
    [ $# -gt 0 ] || return 0
    KNOWN=$KNOWN TOP=$TOP SEEN=$WORK/findings perl - "$@" <<'PERL'
use strict; use warnings;
my @known = map { [split /\s+/, $_, 2] } grep { /\S/ } split /\n/, $ENV{KNOWN};
my (%count, %stack, %where, @order, %known, $stray);
for my $file (@ARGV) {
    open my $fh, '<', $file or next;
    my ($head, @frames, $more, $pre);
    my $flush = sub {
        return unless defined $head;
        my $sig = join "\n", $head, @frames;
        my ($name) = map { $_->[0] } grep { $sig =~ /$_->[1]/m } @known;
        if (defined $name) { $known{$name}++ }
        else {
            my $key = join "\n", $head, @frames[0 .. ($#frames < 9 ? $#frames : 9)];
            push @order, $key unless $count{$key}++;
            $stack{$key} //= join "\n", $head . ($pre // ''), @frames, ($more // ());
            $where{$key}{$file} = 1;
        }
        undef $head; @frames = (); undef $more; undef $pre;
    };
    while (my $l = <$fh>) {
        chomp $l;
        $l =~ s/^==\d+==//;
        if ($l =~ /runtime error:|^ERROR: AddressSanitizer|^(Direct|Indirect) leak of/) {
            $flush->();
            ($head = $l) =~ s/ (on|at) (address|pc) 0x[0-9a-f]+.*//;
            $head =~ s/ of \d+ byte\(s\) in \d+ object\(s\)//;
            $head =~ s/(misaligned address) 0x[0-9a-f]+/$1/;
        } elsif (defined $head && !defined $more && $l =~ /^\s+#(\d+) (?:0x[0-9a-f]+ in )?(.*?)(?: \(BuildId: \w+\))?$/) {
            push @frames, "    #$1 $2" if @frames < 16;
        } elsif (defined $head && @frames && !defined $more && $l =~ /^\s*$/) {
            $more = '';
        } elsif (defined $head && !@frames && $l =~ /^(READ|WRITE) of size/) {
            $pre = "\n$l";
        } elsif (defined $head && defined $more && $l !~ /^SUMMARY:/) {
            $l =~ s/#(\d+) 0x[0-9a-f]+ in /#$1 /;
            $l =~ s/ \(BuildId: \w+\)$//;
            $more .= "\n$l" if ($more =~ tr/\n//) < 30 && $l =~ /\S/;
        } elsif ($l =~ /^SUMMARY: |^ERROR: LeakSanitizer: detected memory leaks$/) {
            $flush->();
        } elsif ($l =~ /AddressSanitizer|LeakSanitizer|runtime error:/) {
            $flush->();
            $stray .= "$file: $l\n";
        }
    }
    $flush->();
}
my $top = $ENV{TOP};
# A finding printed already (SEEN, one key a line, \x01 for newlines) is
# named by its headline only.
my %seen;
if (open my $in, '<', $ENV{SEEN}) { chomp, $seen{$_} = 1 for <$in> }
open my $out, '>>', $ENV{SEEN} or die "$ENV{SEEN}: $!\n";
for my $key (@order) {
    (my $text = $stack{$key}) =~ s{\Q$top\E/}{}g;
    (my $line = $key) =~ tr/\n/\x01/;
    printf "--- %d report(s) in %d file(s), e.g. %s\n", $count{$key},
        scalar keys %{$where{$key}}, (sort keys %{$where{$key}})[0];
    if ($seen{$line}) { (my $h = $text) =~ s/\n.*//s; print "$h  (stack above)\n" }
    else { print "$text\n"; print $out "$line\n" }
}
print "--- lines of a sanitizer outside any report:\n$stray" if $stray;
print "    (NGINX's own, not failing: ",
      join(', ', map { "$_ x$known{$_}" } sort keys %known), ")\n" if %known;
exit(@order || $stray ? 1 : 0);
PERL
}

nginx_part() {
    local t0 f base dir status logs symbolizer san
    if [ ! -f "$TARBALL" ]; then
        if [ "${CI:-}" = true ]; then
            fail "nginx under ASan + UBSan: $TARBALL not found (CI=true: NGINX_TARBALLS must name the directory of NGINX's release tarballs)"
        else
            echo "SKIPPED nginx under ASan + UBSan: $TARBALL not found."
            echo "        To run it: NGINX_TARBALLS=/dir/with/nginx-$VERSION.tar.gz .ci/sanitize.sh"
            echo "        (or put the tarball in ../shared/nginx beside the tree)."
        fi
        return
    fi

    t0=$SECONDS
    if make --no-print-directory -C "$TOP" -j"$JOBS" \
            NGINX_TARBALLS="$TARBALLS" SANITIZE_VERSION="$VERSION" \
            sanitize-nginx >"$WORK/build.log" 2>&1; then
        pass "nginx $VERSION with the module (static), ASan + UBSan: built ($((SECONDS - t0)) s)"
    else
        tail -40 "$WORK/build.log"
        fail "nginx $VERSION with the module (static), ASan + UBSan: the build failed"
        return
    fi

    # Each nginx process's reports go to DIR/report.PID; the directory is
    # writable by a worker that runs as another user.  Leaks are looked for
    # at every exit, the master's and the workers'.
    mkdir -p "$REPORTS"
    chmod 1777 "$REPORTS"
    # Symbolized stacks: clang's runtime runs llvm-symbolizer, which clang's
    # packages install as llvm-symbolizer-N.
    symbolizer=$(command -v llvm-symbolizer \
                 || ls /usr/lib/llvm-*/bin/llvm-symbolizer 2>/dev/null | sort -V | tail -1)
    san=${symbolizer:+:external_symbolizer_path=$symbolizer}
    for n in $TESTS; do
        f=$(ls "$TOP"/t/"$n"-*.t 2>/dev/null | head -1)
        [ -n "$f" ] || { fail "t/$n-*.t: no such file"; continue; }
        base=$(basename "$f" .t)
        dir=$REPORTS/$base
        mkdir -p "$dir" && chmod 1777 "$dir"
        t0=$SECONDS
        (cd "$TOP" && \
            ASAN_OPTIONS="log_path=$dir/report:detect_leaks=1$san" \
            UBSAN_OPTIONS="log_path=$dir/report:print_stacktrace=1$san" \
            TEST_NGINX_LOG_LEVEL=${TEST_NGINX_LOG_LEVEL:-info} \
            TEST_NGINX_BINARY=$NGINX STYTCH_MODULE=static \
            TEST_NGINX_RANDOMIZE=1 TEST_NGINX_SERVROOT="$WORK/servroot-$base" \
            prove -I t/lib "t/$base.t") >"$WORK/prove-$base.log" 2>&1
        status=$?
        logs=$(ls "$WORK/servroot-$base"/logs/error.log 2>/dev/null)
        if [ "$status" -eq 0 ]; then
            pass "t/$base.t against it: $(grep -E '^Result:' "$WORK/prove-$base.log") ($((SECONDS - t0)) s)"
        else
            grep -E '^(t/.*(Failed|Dubious)|  Failed tests:|Failed [0-9]+/|#   Failed test)' \
                "$WORK/prove-$base.log" | head -10
            fail "t/$base.t against it: see $WORK/prove-$base.log"
        fi
        # shellcheck disable=SC2086
        check "t/$base.t: no sanitizer report from any nginx process ($(ls "$dir" | wc -l) report files)" \
            reports "$dir"/* $logs
    done
}

part nginx && nginx_part

lib_done
