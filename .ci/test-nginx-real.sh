#!/usr/bin/env bash
# Copyright (C) 2026 The ngx_http_stytch_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# test-nginx-real: t/ under openresty's Test::Nginx::Socket instead of
# t/lib's runner, against Debian's nginx and build/ngx_http_stytch_module.so
# (make builds it first).  The tarball is unpacked into build/test-nginx and
# its lib/ goes first on the include path, before t/lib (StytchTest.pm).
#
#   .ci/test-nginx-real.sh [--hup] [t/FILE.t ...]
#
#   --hup   TEST_NGINX_USE_HUP=1: nginx is reloaded with SIGHUP between
#           blocks instead of being started afresh, so the shared zone
#           (keys, refresh schedule, API-result cache, counters) lives on
#           from block to block; each file runs on its own, so that one
#           file's bail-out does not hide the others.
#
# ENVIRONMENT  TEST_NGINX_TARBALL (default ../shared/perl/test-nginx-*.tar.gz
# beside the tree); NGINX_BIN (default /usr/sbin/nginx); JOBS (prove -j,
# default 1: some blocks of t/ expect the keys loaded within a few hundred
# milliseconds of nginx starting, which a loaded machine may not give).

set -uo pipefail

NAME=test-nginx-real
. "$(dirname "$0")/lib.sh"
lib_init

HUP=0
files=()
for a in "$@"; do
    case $a in
        --hup) HUP=1 ;;
        *) files+=("$a") ;;
    esac
done
[ ${#files[@]} -gt 0 ] || files=($(cd "$TOP" && ls t/*.t))

tarball=${TEST_NGINX_TARBALL:-$(ls "$(cd "$TOP/.." && pwd)"/shared/perl/test-nginx-*.tar.gz 2>/dev/null | head -1)}
if [ ! -f "$tarball" ]; then
    skip "t/ under openresty's Test::Nginx: no Test::Nginx tarball (../shared/perl/test-nginx-*.tar.gz, or TEST_NGINX_TARBALL)" \
         "TEST_NGINX_TARBALL=/path/to/test-nginx.tar.gz .ci/test-nginx-real.sh"
    lib_done
    exit
fi

make --no-print-directory -C "$TOP" module >"$WORK/make.log" 2>&1 \
    || { tail -30 "$WORK/make.log"; die "make failed"; }

tn=$TOP/build/test-nginx
if [ ! -f "$tn/.unpacked" ] || [ "$tarball" -nt "$tn/.unpacked" ]; then
    rm -rf "$tn" && mkdir -p "$tn"
    tar -xzf "$tarball" -C "$tn" --strip-components=1 \
        || die "cannot unpack $tarball"
    touch "$tn/.unpacked"
fi
[ -f "$tn/lib/Test/Nginx/Socket.pm" ] || die "$tarball has no lib/Test/Nginx/Socket.pm"
echo "== openresty's Test::Nginx from $(basename "$tarball")"

# Random ports: openresty's runner takes 1984 without it (t/lib's runner
# picks a free port by default).
export TEST_NGINX_RANDOMIZE=1
export TEST_NGINX_BINARY=${NGINX_BIN:-/usr/sbin/nginx}
export STYTCH_MODULE=$TOP/build/ngx_http_stytch_module.so
cd "$TOP" || exit 1

# A block's "--- master_on" exists in t/lib's runner only: the real one
# ignores it and runs the block without a master, so the workers never
# switch user.  Files with such blocks run with TEST_NGINX_MASTER_PROCESS=on,
# which is what they ask for.
master_files=($(grep -l '^--- master_on' "${files[@]}"))
plain_files=($(grep -L '^--- master_on' "${files[@]}"))

if [ "$HUP" -eq 0 ]; then
    prove -j"${JOBS:-1}" -I "$tn/lib" -I t/lib "${plain_files[@]}" \
        2>&1 | tee "$WORK/prove.log" | grep -v '^WARNING: '
    check "t/ under openresty's Test::Nginx (${#plain_files[@]} files)" \
        grep -q '^Result: PASS' "$WORK/prove.log"
    if [ ${#master_files[@]} -gt 0 ]; then
        TEST_NGINX_MASTER_PROCESS=on \
            prove -I "$tn/lib" -I t/lib "${master_files[@]}" \
            2>&1 | tee "$WORK/prove-master.log" | grep -v '^WARNING: '
        check "${master_files[*]} under openresty's Test::Nginx, master on" \
            grep -q '^Result: PASS' "$WORK/prove-master.log"
    fi
else
    export TEST_NGINX_USE_HUP=1
    for f in "${files[@]}"; do
        log=$WORK/hup-$(basename "$f" .t).log
        if grep -q '^--- master_on' "$f"; then
            TEST_NGINX_MASTER_PROCESS=on prove -I "$tn/lib" -I t/lib "$f"
        else
            prove -I "$tn/lib" -I t/lib "$f"
        fi >"$log" 2>&1
        if grep -q '^Result: PASS' "$log"; then
            pass "$f with TEST_NGINX_USE_HUP=1"
        else
            fail "$f with TEST_NGINX_USE_HUP=1: $(grep -E '^  Failed tests?:|^Bailout' "$log" | tr -s ' ' | tr '\n' ' ')"
            grep -E "^#   Failed test '" "$log" | sed "s/ - .*//" | sort -u | head -5
        fi
    done
fi

lib_done
