#!/usr/bin/env bash
# Copyright (C) 2026 The ngx_http_stytch_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# rebuild-while-serving: `make` never harms an nginx that has the module
# loaded.  In a scratch copy of the tree: a second `make` does nothing; then,
# while an nginx with build/ngx_http_stytch_module.so loaded answers a
# steady stream of requests, a source file changes and `make` rebuilds the
# module.  Every request must be answered 200, no worker may die or be
# replaced, the module must be a new file (a rename, not a rewrite of the
# mapped one), and after `nginx -s reload` the new module serves.
#
#   .ci/rebuild-while-serving.sh     (NGINX_BIN, default /usr/sbin/nginx)
set -uo pipefail

NAME=rebuild-while-serving
. "$(dirname "$0")/lib.sh"
lib_init

NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
SRC=$WORK/src
SO=$SRC/build/ngx_http_stytch_module.so

copy_tree "$SRC"

echo "== make in a copy of the tree ($SRC)"
make -C "$SRC" module >"$WORK/make1.log" 2>&1 \
    || { tail -30 "$WORK/make1.log"; die "the first make failed"; }
inode1=$(stat -c %i "$SO")

# --- nothing changed: nothing is done -------------------------------------
make --no-print-directory -C "$SRC" module >"$WORK/make2.log" 2>&1
check "a second make does nothing ($(head -1 "$WORK/make2.log"))" \
    test "$(cat "$WORK/make2.log")" = "make: Nothing to be done for 'module'."
check "make -q: everything is up to date" \
    make -q --no-print-directory -C "$SRC" module
check "the module is the same file (inode $inode1)" \
    test "$(stat -c %i "$SO")" = "$inode1"

# --- an nginx that serves with the module ---------------------------------
emulator_start
port=$(free_port) || die "no free port"
prefix=$WORK/nginx
mkdir -p "$prefix/conf" "$prefix/html/p"
echo "protected content" >"$prefix/html/p/index.html"
cat >"$prefix/conf/nginx.conf" <<EOF
load_module $SO;
worker_processes 2;
error_log logs/error.log info;
pid logs/nginx.pid;
events { worker_connections 256; }
http {
    access_log off;
    stytch_project_id $EMU_PROJECT;
    stytch_secret $EMU_SECRET;
    stytch_api_url $EMU_URL;
    server {
        listen 127.0.0.1:$port;
        location /p/ {
            stytch_auth on;
            root html;
        }
        location /_stytch_api/ {
            internal;
            proxy_pass $EMU_URL/;
        }
    }
}
EOF
chmod -R a+rX "$prefix"
nginx_start "$NGINX_BIN" "$prefix" || die "nginx did not start"

jwt=$(emu POST /emulator/sessions '{}' | json_field session_jwt) \
    || die "the emulator made no session"
url=http://127.0.0.1:$port/p/index.html
wait_code "$url" 200 -b "stytch_session_jwt=$jwt" || die "nginx does not serve"
workers_before=$(nginx_workers "$prefix")

# Two clients, each at most 20000 requests or until the stop file appears.
client() {
    local i
    for i in $(seq 20000); do
        [ -f "$WORK/stop" ] && break
        curl -s -o /dev/null -w '%{http_code}\n' --max-time 5 \
            -b "stytch_session_jwt=$jwt" "$url"
    done >"$WORK/client$1.codes"
}
client 1 & c1=$!
client 2 & c2=$!
sleep 1

# --- a source change, and make while nginx serves -------------------------
# New code near the start of the module's text moves all that follows, so
# that a module rewritten in place would run changed code at once.
cat >>"$SRC/src/ngx_http_stytch_module.c" <<'EOF'

ngx_int_t ngx_http_stytch_rebuild_mark(void);

ngx_int_t
ngx_http_stytch_rebuild_mark(void)
{
    return NGX_DECLINED;
}
EOF
echo "== make after a source change, while nginx serves"
make -C "$SRC" module >"$WORK/make3.log" 2>&1
status=$?
sleep 2
touch "$WORK/stop"
wait "$c1" "$c2"

check "make after the change succeeded" test "$status" -eq 0
inode2=$(stat -c %i "$SO")
check "the module was replaced by a new file (inode $inode1 -> $inode2)" \
    test "$inode2" != "$inode1"
check "the new module has the change" \
    grep -q ngx_http_stytch_rebuild_mark "$SO"

total=$(cat "$WORK"/client*.codes | wc -l)
bad=$(cat "$WORK"/client*.codes | grep -vc '^200$')
check "every request during the build was answered 200 ($total requests, $bad others)" \
    test "$total" -gt 0 -a "$bad" -eq 0
check "the same workers serve (none died or was replaced)" \
    test "$(nginx_workers "$prefix")" = "$workers_before"
errs=$(crashes "$prefix/logs/error.log")
check "no worker exited on a signal, no alert${errs:+: $(head -2 <<<"$errs")}" \
    test -z "$errs"

# --- reload, then the new module -----------------------------------------
# A reload keeps the module that is loaded (the dynamic linker finds it open
# under the same path); starting nginx again, or its binary upgrade (USR2,
# then QUIT to the old master), loads the new file.
master=$(cat "$prefix/logs/nginx.pid")
"$NGINX_BIN" -p "$prefix" -c conf/nginx.conf -e "$prefix/logs/error.log" \
    -s reload
sleep 1
check "after a reload nginx serves" \
    wait_code "$url" 200 -b "stytch_session_jwt=$jwt"

kill -USR2 "$master"
for _ in $(seq 100); do
    [ -f "$prefix/logs/nginx.pid.oldbin" ] \
        && [ "$(cat "$prefix/logs/nginx.pid" 2>/dev/null)" != "$master" ] \
        && break
    sleep 0.1
done
kill -QUIT "$master"
for _ in $(seq 100); do
    kill -0 "$master" 2>/dev/null || break
    sleep 0.1
done
sleep 0.5
maps=
for w in $(nginx_workers "$prefix"); do
    maps+=$(awk '/ngx_http_stytch_module\.so/ {print $5}' "/proc/$w/maps" \
            | sort -u)$'\n'
done
check "after a binary upgrade the workers map the new module only" \
    test "$(sort -u <<<"$maps" | grep .)" = "$inode2"
check "after a binary upgrade the new module serves" \
    wait_code "$url" 200 -b "stytch_session_jwt=$jwt"
errs=$(crashes "$prefix/logs/error.log")
check "no crash after the reload and the upgrade" test -z "$errs"

lib_done
