#!/usr/bin/env bash
# Copyright (C) 2026 The ngx_http_stytch_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# deb: the Debian package, for real.  make deb; the package's metadata
# (nginx's exact ABI and the libraries in Depends, Debian's file layout);
# apt-get installs it into the machine's nginx; README's example
# configuration, pointed at the Stytch emulator, loads the module through
# /etc/nginx/modules-enabled and answers 401 without a token, 200 with a
# JWT minted by the emulator, and takes an expired JWT through the API
# location; then remove and purge leave none of the package's files.
#
#   .ci/deb.sh        (as root: it installs and removes the package)
#
# If the package is installed when this starts, it is purged first, and it
# is not put back.
set -uo pipefail

NAME=deb
. "$(dirname "$0")/lib.sh"
lib_init

PKG=libnginx-mod-http-stytch
SO=/usr/lib/nginx/modules/ngx_http_stytch_module.so
AVAILABLE=/usr/share/nginx/modules-available/mod-http-stytch.conf
ENABLED=/etc/nginx/modules-enabled/50-mod-http-stytch.conf
NGINX_BIN=/usr/sbin/nginx
export DEBIAN_FRONTEND=noninteractive

[ "$(id -u)" -eq 0 ] || die "must run as root (it installs the package)"

echo "== make deb"
make --no-print-directory -C "$TOP" deb >"$WORK/make-deb.log" 2>&1 \
    || { tail -40 "$WORK/make-deb.log"; die "make deb failed"; }
DEB=$(ls "$TOP"/build/deb/${PKG}_*_"$(dpkg --print-architecture)".deb)
[ -f "$DEB" ] || die "make deb made no package"
echo "   $DEB"

# --- what the package says -------------------------------------------------
depends=$(dpkg-deb -f "$DEB" Depends)
abi=$(sed -n 's/^nginx:abi=//p' /usr/share/nginx/src/debian/libnginx-mod.abisubstvars)
check "Depends names nginx's ABI ($abi)" \
    grep -qE "(^|, )$abi(,|$)" <<<"$depends"
for lib in libcurl4 libjansson4 libssl3 libc6; do
    check "Depends names $lib (dpkg-shlibdeps)" \
        grep -qE "(^|, )$lib( |,|$)" <<<"$depends"
done
check "Recommends nginx" test "$(dpkg-deb -f "$DEB" Recommends)" = nginx
contents=$(dpkg-deb -c "$DEB" | awk '{print $NF}')
check "ships the module in /usr/lib/nginx/modules" \
    grep -qx ".$SO" <<<"$contents"
check "ships its load_module snippet in modules-available" \
    grep -qx ".$AVAILABLE" <<<"$contents"
check "ships nothing in /etc (postinst enables the module)" \
    bash -c '! grep -q "^\./etc/" <<<"$1"' _ "$contents"
check "ships its copyright file, BSD-2-Clause (debian/copyright)" \
    bash -c 'dpkg-deb --fsys-tarfile "$1" \
        | tar -xO ./usr/share/doc/libnginx-mod-http-stytch/copyright \
        | grep -qx "License: BSD-2-Clause"' _ "$DEB"
check "the snippet loads the module, as Debian's do" \
    test "$(dpkg-deb --fsys-tarfile "$DEB" | tar -xO ".$AVAILABLE")" \
         = "load_module modules/ngx_http_stytch_module.so;"

# --- install ---------------------------------------------------------------
if dpkg-query -W -f='${db:Status-Status}' "$PKG" 2>/dev/null \
        | grep -qvx not-installed; then
    echo "   $PKG was installed: purging it first"
    apt-get purge -y -qq "$PKG" >/dev/null
fi
CLEANUPS+=("dpkg-query -W $PKG >/dev/null 2>&1 && apt-get purge -y -qq $PKG >/dev/null")

apt-get install -y -qq --no-install-recommends "$DEB" >"$WORK/install.log" 2>&1
check "apt-get installs the package" \
    test "$(dpkg-query -W -f='${db:Status-Status}' "$PKG")" = installed \
    || cat "$WORK/install.log"
files=$(dpkg -L "$PKG" | while read -r f; do [ -f "$f" ] && echo "$f"; done)
check "the module is in place" test -f "$SO"
check "postinst enabled it ($ENABLED -> $AVAILABLE)" \
    test "$(readlink "$ENABLED")" = "$AVAILABLE"

# --- README's example, against the emulator --------------------------------
emulator_start --tls
emu_port=${EMU_URL##*:}
app_port=$(free_port) || die "no free port"
port=$(free_port) || die "no free port"
prefix=$WORK/nginx
mkdir -p "$prefix/conf" "$prefix/logs" "$prefix/site" "$prefix/tls"
echo "the protected site" >"$prefix/site/index.html"
echo "sign in here" >"$prefix/site/login.html"
printf '%s' "$EMU_SECRET" >"$prefix/conf/stytch-secret"
chmod 600 "$prefix/conf/stytch-secret"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=www.example.com \
    -keyout "$prefix/tls/key.pem" -out "$prefix/tls/cert.pem" 2>/dev/null \
    || die "openssl made no certificate"

# The example as README shows it ...
awk '/^## Example configuration/ { on = 1 }
     on && /^```nginx/ { inblock = 1; next }
     inblock && /^```/ { exit }
     inblock { print }' "$TOP/README.md" >"$WORK/readme.conf"
check "README has an example configuration" test -s "$WORK/readme.conf"
check "README's load_module names the file the package installs" \
    grep -qx "load_module $SO;" "$WORK/readme.conf"

# ... with the module loaded as /etc/nginx/nginx.conf loads Debian's, and
# the machine's names, ports and files replaced by the test's.
{
    echo "pid $prefix/logs/nginx.pid;"
    echo "error_log $prefix/logs/error.log info;"
    sed -e "s|^load_module $SO;|include /etc/nginx/modules-enabled/*.conf;|" \
        -e "s|^http {|http {\n    access_log $prefix/logs/access.log;|" \
        -e "s|^\( *stytch_project_id\) [^;]*;|\1 $EMU_PROJECT;\n    stytch_api_url $EMU_URL;\n    stytch_ssl_trusted_certificate $EMU_CERT;|" \
        -e "s|/etc/nginx/stytch-secret|$prefix/conf/stytch-secret|" \
        -e "s|server 127.0.0.1:3000;|server 127.0.0.1:$app_port;|" \
        -e "s|listen 443 ssl;|listen 127.0.0.1:$port ssl;|" \
        -e "s|/etc/nginx/tls/www.example.com.pem|$prefix/tls/cert.pem|" \
        -e "s|/etc/nginx/tls/www.example.com.key|$prefix/tls/key.pem|" \
        -e "s|root /var/www/site;|root $prefix/site;|" \
        -e "s|proxy_pass https://test.stytch.com/;|proxy_pass https://localhost:$emu_port/;|" \
        -e "s|proxy_ssl_trusted_certificate /etc/ssl/certs/ca-certificates.crt;|proxy_ssl_trusted_certificate $EMU_CERT;|" \
        "$WORK/readme.conf"
} >"$prefix/conf/nginx.conf"
left=$(grep -nE 'test\.stytch\.com|/etc/nginx/tls|/var/www|:3000|listen 443' \
       "$prefix/conf/nginx.conf")
check "every machine-specific line of the example was replaced${left:+: $left}" \
    test -z "$left"
chmod -R a+rX "$prefix/site" "$prefix/tls" "$prefix/conf"
chmod 600 "$prefix/conf/stytch-secret" "$prefix/tls/key.pem"

# The application: it answers with the request headers it was sent.
node -e '
require("http").createServer((req, res) => {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify(req.headers, null, 2) + "\n");
}).listen(Number(process.argv[1]), "127.0.0.1");
' "$app_port" >"$WORK/app.log" 2>&1 &
CLEANUPS+=("kill $! 2>/dev/null")

if ! nginx_start "$NGINX_BIN" "$prefix" compiled-prefix; then
    fail "nginx starts with README's example and the packaged module"
else
    pass "nginx starts with README's example and the packaged module"
    base=https://127.0.0.1:$port
    c=(curl -s -k --max-time 10)

    session=$(emu POST /emulator/sessions '{"roles":["stytch_user"]}')
    user=$(json_field user_id <<<"$session")
    sid=$(json_field session_id <<<"$session")
    jwt=$(emu POST /emulator/jwt "{\"session_id\":\"$sid\"}" | json_field jwt)
    expired=$(emu POST /emulator/jwt \
              "{\"session_id\":\"$sid\",\"iat\":$(( $(date +%s) - 3600 ))}" \
              | json_field jwt)

    check "a JWT minted by the emulator: 200 from the static site" \
        wait_code "$base/" 200 -k -b "stytch_session_jwt=$jwt"
    out=$("${c[@]}" -D - "$base/")
    check "no token: 401" grep -q '^HTTP/1.1 401' <<<"$out"
    check "no token: WWW-Authenticate: Bearer realm=..." \
        grep -qi '^WWW-Authenticate: Bearer realm=' <<<"$out"
    check "no token, a browser: 302 to /login.html, brought back to /" \
        test "$("${c[@]}" -o /dev/null -w '%{http_code} %{redirect_url}' \
                -H 'Accept: text/html' "$base/")" = "302 $base/login.html?return_to=%2F"
    check "the JWT as a Bearer token: 200" \
        test "$("${c[@]}" -o /dev/null -w '%{http_code}' \
                -H "Authorization: Bearer $jwt" "$base/")" = 200
    check "the application is told the user ($user)" \
        grep -q "\"x-user-id\": \"$user\"" \
            <<<"$("${c[@]}" -b "stytch_session_jwt=$jwt" "$base/app/")"
    out=$("${c[@]}" -D - -o /dev/null -b "stytch_session_jwt=$expired" "$base/")
    check "an expired JWT: 200 through the API location, with a new JWT" \
        bash -c 'grep -q "^HTTP/1.1 200" <<<"$1" &&
                 grep -qi "^Set-Cookie: stytch_session_jwt=eyJ" <<<"$1"' _ "$out"
    check "stytch_status answers" \
        test "$("${c[@]}" -o /dev/null -w '%{http_code}' "$base/stytch_status")" = 200
    nginx_stop "$prefix"
    sleep 0.5
    errs=$(crashes "$prefix/logs/error.log")
    check "no crash or alert in the error log${errs:+: $(head -2 <<<"$errs")}" \
        test -z "$errs"
fi

# --- remove, purge -----------------------------------------------------------
apt-get remove -y -qq "$PKG" >"$WORK/remove.log" 2>&1
check "apt-get remove" \
    test "$(dpkg-query -W -f='${db:Status-Status}' "$PKG")" = config-files
left=$(for f in $files; do [ -e "$f" ] && echo "$f"; done)
check "remove leaves none of the package's files${left:+: $left}" test -z "$left"
check "remove disables the module (no modules-enabled/*.conf for it)" \
    bash -c '! grep -ls ngx_http_stytch_module /etc/nginx/modules-enabled/*.conf'
apt-get purge -y -qq "$PKG" >"$WORK/purge.log" 2>&1
check "apt-get purge: the package is gone" \
    bash -c "! dpkg-query -W -f='\${db:Status-Status}' $PKG 2>/dev/null | grep -q ."
check "purge leaves no link in modules-enabled" \
    bash -c "! ls /etc/nginx/modules-enabled/ | grep -q stytch"

lib_done
