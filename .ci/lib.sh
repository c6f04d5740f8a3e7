# Copyright (C) 2026 The ngx_http_stytch_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# .ci/lib.sh: what the build and packaging tests share (sourced,
# not run): checks and their tally, free ports, the Stytch emulator, a
# scratch copy of the tree, an nginx under a private prefix.
#
# A test script sets NAME and calls, in this order:
#   lib_init                   scratch directory $WORK, cleanup on exit
#   check OK_COMMAND... / pass MSG / fail MSG / skip WHAT HOW
#   lib_done                   prints "NAME: N passed, N failed[, N skipped]",
#                              exit status

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PASSED=0
FAILED=0
SKIPPED=0
EMU_PID=
NGINX_PREFIXES=()
CLEANUPS=()
KEEP=${KEEP:-0}

pass() { PASSED=$((PASSED + 1)); printf 'ok    %s\n' "$*"; }
fail() { FAILED=$((FAILED + 1)); printf 'FAIL  %s\n' "$*"; }
die()  { printf '%s: %s\n' "$NAME" "$*" >&2; exit 1; }

# skip WHAT HOW: WHAT cannot run, for want of what a clone does not have
# beside it (../shared: the release tarballs); says so and HOW to run it.
# In CI (CI=true) that is a failure.
skip() {
    if [ "${CI:-}" = true ]; then
        fail "$1 (CI=true: it must run)"
    else
        SKIPPED=$((SKIPPED + 1))
        printf 'SKIP  %s\n      to run it: %s\n' "$1" "$2"
    fi
}

# check MESSAGE COMMAND...: pass when COMMAND succeeds.
check() {
    local msg=$1; shift
    if "$@"; then pass "$msg"; else fail "$msg"; return 1; fi
}

lib_init() {
    WORK=$(mktemp -d "/tmp/stytch-$NAME.XXXXXX")
    # nginx's workers may run as nobody: let them read what is here.
    chmod 755 "$WORK"
    trap lib_cleanup EXIT
    trap 'exit 130' INT TERM
}

lib_cleanup() {
    local status=$? p c
    for p in "${NGINX_PREFIXES[@]}"; do
        nginx_stop "$p"
    done
    emulator_stop
    for c in "${CLEANUPS[@]}"; do
        eval "$c" || true
    done
    if [ "$status" -eq 0 ] && [ "$FAILED" -eq 0 ] && [ "$KEEP" -eq 0 ]; then
        rm -rf "$WORK"
    else
        echo "$NAME: scratch directory kept: $WORK"
    fi
    exit "$status"
}

lib_done() {
    local skipped=
    [ "$SKIPPED" -eq 0 ] || skipped=", $SKIPPED skipped"
    echo "$NAME: $PASSED passed, $FAILED failed$skipped"
    [ "$FAILED" -eq 0 ]
}

# A port that nothing listens on or holds, as t/lib's runner picks them:
# a random one that can be bound.
free_port() {
    perl -MIO::Socket::INET -e '
        for (1 .. 1000) {
            my $p = 1985 + int rand 63550;
            my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1",
                LocalPort => $p, Proto => "tcp", ReuseAddr => 1) or next;
            close $s; print $p; exit 0;
        }
        exit 1;'
}

# copy_tree DEST: the tree's tracked and untracked files (not the ignored
# ones, so no build/), as they are in the working tree.
copy_tree() {
    mkdir -p "$1"
    if git -C "$TOP" rev-parse --git-dir >/dev/null 2>&1; then
        (cd "$TOP" && git ls-files -z -co --exclude-standard \
            | tar --null -T - -cf -) | tar -C "$1" -xf -
    else
        tar -C "$TOP" --exclude=./build --exclude='./t/servroot*' -cf - . \
            | tar -C "$1" -xf -
    fi
}

# json_field FIELD <JSON
json_field() {
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{
        const v=JSON.parse(s)[process.argv[1]];
        if (v===undefined) process.exit(1); process.stdout.write(String(v));})' "$1"
}

# emulator_start [--tls]: sets EMU_URL, EMU_PROJECT, EMU_SECRET and, with
# --tls, EMU_CERT (a copy that nginx's workers can read).
emulator_start() {
    local out=$WORK/emulator.out line i
    node "$TOP/emulator/stytch-emulator" --port 0 "$@" \
        >"$out" 2>"$WORK/emulator.err" &
    EMU_PID=$!
    for i in $(seq 150); do
        line=$(grep -m1 '^stytch-emulator listening on ' "$out" || true)
        [ -n "$line" ] && break
        kill -0 "$EMU_PID" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$line" ] || { cat "$out" "$WORK/emulator.err" >&2;
                        die "the emulator did not start"; }
    EMU_URL=$(sed -n 's/^stytch-emulator listening on \([^ ]*\) .*/\1/p' <<<"$line")
    EMU_PROJECT=$(sed -n 's/.* project_id=\([^ ]*\).*/\1/p' <<<"$line")
    EMU_SECRET=$(sed -n 's/.* secret=\([^ ]*\).*/\1/p' <<<"$line")
    EMU_CERT=
    line=$(grep -m1 '^certificate: ' "$out" || true)
    if [ -n "$line" ]; then
        EMU_CERT=$WORK/stytch-ca.pem
        cp "${line#certificate: }" "$EMU_CERT"
        chmod 644 "$EMU_CERT"
    fi
}

emulator_stop() {
    if [ -n "$EMU_PID" ]; then
        kill -TERM "$EMU_PID" 2>/dev/null
        wait "$EMU_PID" 2>/dev/null
        EMU_PID=
    fi
}

# emu METHOD PATH [JSON]: a control call; prints the reply.
emu() {
    local args=(-sS --max-time 10 -X "$1")
    [ -n "$EMU_CERT" ] && args+=(--cacert "$EMU_CERT")
    [ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' -d "$3")
    curl "${args[@]}" "$EMU_URL$2"
}

# nginx_start BINARY PREFIX [compiled-prefix]: starts nginx with
# PREFIX/conf/nginx.conf, which must write its pid to PREFIX/logs/nginx.pid;
# stopped on exit.  With compiled-prefix, nginx keeps the prefix it was
# built with (Debian's load_module snippets are relative to it), and the
# configuration must name PREFIX's files by absolute paths.
nginx_start() {
    local bin=$1 prefix=$2 args=()
    [ "${3:-}" = compiled-prefix ] || args=(-p "$prefix")
    args+=(-c "$prefix/conf/nginx.conf" -e "$prefix/logs/error.log")
    mkdir -p "$prefix/logs"
    "$bin" "${args[@]}" -t -q \
        || { cat "$prefix/logs/error.log" >&2; return 1; }
    "$bin" "${args[@]}" \
        || { cat "$prefix/logs/error.log" >&2; return 1; }
    NGINX_PREFIXES+=("$prefix")
}

nginx_stop() {
    local prefix=$1 pid i
    pid=$(cat "$prefix/logs/nginx.pid" 2>/dev/null) || return 0
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kill -QUIT "$pid" 2>/dev/null
    for i in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -TERM "$pid" 2>/dev/null
}

# nginx_workers PREFIX: the pids of the master's children, one a line.
nginx_workers() {
    local pid
    pid=$(cat "$1/logs/nginx.pid") || return 1
    pgrep -P "$pid" | sort
}

# wait_code URL CODE [CURL ARGS...]: up to 10 s for URL to answer CODE
# (the workers load the keys in the background: 503 until then).
wait_code() {
    local url=$1 want=$2 code i; shift 2
    for i in $(seq 100); do
        code=$(curl -s -o /dev/null -w '%{http_code}' "$@" "$url")
        [ "$code" = "$want" ] && return 0
        sleep 0.1
    done
    echo "$url answered $code, not $want" >&2
    return 1
}

# crashes LOG: the lines of an nginx error log that tell of a worker
# killed by a signal, or of an [alert] or [emerg].
crashes() {
    grep -E 'exited on signal|\[(alert|emerg)\]|segfault' "$1" || true
}
