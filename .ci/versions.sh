#!/usr/bin/env bash
# Copyright (C) 2026 The ngx_http_stytch_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# versions: the module against every supported NGINX.  Debian's nginx-dev
# (a fresh `make` in a scratch copy of the tree), and each release tarball
# in NGINX_TARBALLS, NGINX's (nginx-VERSION.tar.gz) and the forks' (Angie's
# angie-VERSION.tar.gz, freenginx's freenginx-VERSION.tar.gz), built twice
# by `make upstream` (build/upstream/ID-dynamic: nginx and the module as
# --add-dynamic-module; ID-static: the module compiled in with
# --add-module; ID is VERSION for NGINX, the tarball's name for a fork),
# each with NGINX's -Werror and no "warning:" in its logs.  Then t/
# against each build: the smoke files (SMOKE) everywhere, and the whole of
# t/ against NGINX's newest version (dynamic; static: every file that does
# not write load_module itself).  Debian's build gets the whole of t/ from
# `make test`.  Each NGINX is built once; a later run reuses what is built.
#
#   .ci/versions.sh
#
# ENVIRONMENT  NGINX_TARBALLS (default ../shared/nginx beside the tree);
# JOBS (make -j, default 2); PARALLEL (t/ runs at once, default 2); SMOKE
# (default "000 020 060 061 080").
set -uo pipefail

NAME=versions
. "$(dirname "$0")/lib.sh"
lib_init

TARBALLS=${NGINX_TARBALLS:-$(cd "$TOP/.." && pwd)/shared/nginx}
JOBS=${JOBS:-2}
PARALLEL=${PARALLEL:-2}
SMOKE=${SMOKE:-000 020 060 061 080}
UP=$TOP/build/upstream

nginx_versions=$(ls "$TARBALLS"/nginx-*.tar.gz 2>/dev/null \
                 | sed 's|.*/nginx-\(.*\)\.tar\.gz$|\1|' | sort -V)
forks=$(ls "$TARBALLS"/angie-*.tar.gz "$TARBALLS"/freenginx-*.tar.gz \
             2>/dev/null | sed 's|.*/\(.*\)\.tar\.gz$|\1|' | sort -V)
versions=$(echo $nginx_versions $forks)
newest=$(tail -1 <<<"$nginx_versions")
if [ -n "$versions" ]; then
    echo "== NGINX $(echo $nginx_versions), forks $(echo ${forks:-none}) from $TARBALLS; newest NGINX $newest"
else
    echo "== no release tarball in $TARBALLS: Debian's nginx-dev only"
fi

t0=$SECONDS
# --- Debian's nginx-dev: a fresh build, its log free of warnings ----------
copy_tree "$WORK/debian"
if make --no-print-directory -C "$WORK/debian" module \
        >"$WORK/debian.log" 2>&1; then
    w=$(grep -E '(warning|error):' "$WORK/debian.log" \
        "$WORK/debian/build/nginx/configure.log")
    check "Debian's nginx-dev $(/usr/sbin/nginx -v 2>&1 | sed 's|.*/||'): built, no warning${w:+: $(head -3 <<<"$w")}" \
        test -z "$w"
else
    tail -30 "$WORK/debian.log"
    fail "Debian's nginx-dev: the build failed"
fi
echo "   ($((SECONDS - t0)) s)"

# --- upstream: every version, dynamic and static ---------------------------
if [ -z "$versions" ]; then
    skip "the release tarballs' builds and t/ against them: no tarball in $TARBALLS" \
         "NGINX_TARBALLS=/dir/with/the/tarballs .ci/versions.sh"
    lib_done
    exit
fi
t0=$SECONDS
make --no-print-directory -C "$TOP" -j"$JOBS" NGINX_TARBALLS="$TARBALLS" \
    upstream >"$WORK/upstream.log" 2>&1
make_status=$?
# A build is good when its stamp is up to date (make -q) after the run.
built() {
    make -q --no-print-directory -C "$TOP" NGINX_TARBALLS="$TARBALLS" \
        "$UP/$1/built" 2>/dev/null
}
# name ID[-MODE]: "nginx 1.26.3", "angie 1.12.1", "freenginx 1.27.1"
name() {
    case $1 in
        [0-9]*) echo "nginx ${1//-/ }" ;;
        *)      echo "${1//-/ }" ;;
    esac
}
good=()
for v in $versions; do
    for mode in dynamic static; do
        if built "$v-$mode"; then
            pass "$(name "$v") $mode: built, no warning"
            good+=("$v-$mode")
        else
            fail "$(name "$v") $mode: see $UP/$v-$mode/build.log"
        fi
    done
done
[ "$make_status" -eq 0 ] || tail -40 "$WORK/upstream.log"
echo "   ($((SECONDS - t0)) s, make -j$JOBS)"

# --- t/ against each build ---------------------------------------------------
smoke_files=$(for n in $SMOKE; do ls "$TOP"/t/"$n"-*.t; done)
all_files=$(ls "$TOP"/t/*.t)
static_files=$(grep -L load_module "$TOP"/t/*.t)

# One line per run: LABEL BINARY MODULE FILES...
runs=$WORK/runs
: >"$runs"
for b in "${good[@]}"; do
    v=${b%-*} mode=${b##*-}
    bin=$UP/$b/objs/nginx
    [ -x "$bin" ] || bin=$UP/$b/objs/angie      # Angie's binary
    if [ "$mode" = dynamic ]; then
        mod=$UP/$b/objs/ngx_http_stytch_module.so
        files=$smoke_files; [ "$v" = "$newest" ] && files=$all_files
    else
        mod=static
        files=$smoke_files; [ "$v" = "$newest" ] && files=$static_files
    fi
    echo "$b $bin $mod" $files >>"$runs"
done

run_one() {
    local label=$1 bin=$2 mod=$3; shift 3
    local start=$SECONDS
    (cd "$TOP" && TEST_NGINX_BINARY=$bin STYTCH_MODULE=$mod \
        prove -I t/lib "${@#$TOP/}") >"$WORK/prove-$label.log" 2>&1
    echo "$? $label $((SECONDS - start)) $#" >"$WORK/prove-$label.status"
}
export -f run_one
export WORK TOP

t0=$SECONDS
xargs -P "$PARALLEL" -L 1 bash -c 'run_one "$@"' _ <"$runs"
while read -r label _; do
    read -r status _ secs nfiles <"$WORK/prove-$label.status"
    result=$(grep -E '^(Files=|Result:)' "$WORK/prove-$label.log" | tr '\n' ' ')
    if [ "$status" -eq 0 ]; then
        pass "t/ ($nfiles files) against $(name "$label"): ${result}(${secs} s)"
    else
        grep -E '^(t/.*(Failed|Dubious)|  Failed tests:|Failed [0-9]+/)' \
            "$WORK/prove-$label.log" | head -10
        fail "t/ ($nfiles files) against $(name "$label"): see $WORK/prove-$label.log"
    fi
done <"$runs"
echo "   ($((SECONDS - t0)) s, $PARALLEL at once)"

lib_done
