#!/usr/bin/env bash
# Copyright (C) 2026 The ngx_http_stytch_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# nginx-org: the module for nginx.org's packages and the official Docker
# image, whose nginx is built --with-compat, as the Dockerfile makes it;
# without Docker (the Dockerfile itself is not built here).
#
#   package  NGINX VERSION from its release tarball, configured as
#            nginx.org's Debian package is (pkg-oss: debian/Makefile's
#            BASE_CONFIGURE_ARGS, the paths it writes to redirected into
#            build/; --with-cc-opt and --with-ld-opt from dpkg-buildflags
#            with the package's hardening=+all and appended flags): the
#            nginx of nginx:VERSION (build/nginx-org/VERSION-package)
#   module   the module alone, against a clean copy of the same source:
#            ./configure with the Dockerfile's arguments (--with-compat
#            --with-http_ssl_module --add-dynamic-module), make modules;
#            the core compiled by NGINX's make with $CC, as in the image
#            (build/nginx-org/VERSION-module)
#   load     that .so loads into the package's nginx; the smoke files of
#            t/ (SMOKE) run against the two; over TLS, a refreshed
#            session cookie is Secure
#   image    scripts/runtime-packages names the Debian packages of the
#            .so's libraries (libcurl, jansson), all installed here; the
#            Dockerfile builds the module with the same arguments and
#            installs what that script names
#
#   .ci/nginx-org.sh
#
# ENVIRONMENT  NGINX_TARBALLS (default ../shared/nginx beside the tree);
# NGINX_ORG_VERSION (default: the Dockerfile's NGINX_VERSION); JOBS (make
# -j, default 2); SMOKE (t/ files by number, default "000 020 060 061
# 080"); KEEP=1 keeps the scratch directory.  The package's build is
# reused when its configure arguments are the same; the module is built
# afresh.
set -uo pipefail

NAME=nginx-org
. "$(dirname "$0")/lib.sh"
lib_init

TARBALLS=${NGINX_TARBALLS:-$(cd "$TOP/.." && pwd)/shared/nginx}
DOCKERFILE=$TOP/Dockerfile
VERSION=${NGINX_ORG_VERSION:-$(sed -n 's/^ARG NGINX_VERSION=//p' "$DOCKERFILE")}
JOBS=${JOBS:-2}
SMOKE=${SMOKE:-000 020 060 061 080}
TARBALL=$TARBALLS/nginx-$VERSION.tar.gz
OUT=$TOP/build/nginx-org
PKG=$OUT/$VERSION-package
MOD=$OUT/$VERSION-module
SO=$MOD/objs/ngx_http_stytch_module.so

# The module's configure arguments: the Dockerfile's.
MODULE_ARGS=(--with-compat --with-http_ssl_module)

[ -n "$VERSION" ] || die "no ARG NGINX_VERSION= in $DOCKERFILE"
if [ ! -f "$TARBALL" ]; then
    skip "nginx.org's build of NGINX $VERSION and the module against it: $TARBALL not found" \
         "NGINX_TARBALLS=/dir/with/nginx-$VERSION.tar.gz .ci/nginx-org.sh"
    lib_done
    exit
fi

# nginx.org's Debian package (pkg-oss debian/Makefile, BASE_CONFIGURE_ARGS),
# less the paths nginx writes to, which go to $PKG/run.
RUN=$PKG/run
PACKAGE_ARGS=(
    --prefix=/etc/nginx
    --sbin-path=/usr/sbin/nginx
    --modules-path=/usr/lib/nginx/modules
    --conf-path=/etc/nginx/nginx.conf
    --error-log-path=$RUN/error.log
    --http-log-path=$RUN/access.log
    --pid-path=$RUN/nginx.pid
    --lock-path=$RUN/nginx.lock
    --http-client-body-temp-path=$RUN/client_temp
    --http-proxy-temp-path=$RUN/proxy_temp
    --http-fastcgi-temp-path=$RUN/fastcgi_temp
    --http-uwsgi-temp-path=$RUN/uwsgi_temp
    --http-scgi-temp-path=$RUN/scgi_temp
    --user=nginx
    --group=nginx
    --with-compat
    --with-file-aio
    --with-threads
    --with-http_addition_module
    --with-http_auth_request_module
    --with-http_dav_module
    --with-http_flv_module
    --with-http_gunzip_module
    --with-http_gzip_static_module
    --with-http_mp4_module
    --with-http_random_index_module
    --with-http_realip_module
    --with-http_secure_link_module
    --with-http_slice_module
    --with-http_ssl_module
    --with-http_stub_status_module
    --with-http_sub_module
    --with-http_v2_module
    --with-http_v3_module
    --with-mail
    --with-mail_ssl_module
    --with-stream
    --with-stream_realip_module
    --with-stream_ssl_module
    --with-stream_ssl_preread_module
)

# Their compiler and linker flags: debian/nginx.rules.in's, through
# dpkg-buildflags, as the package's build gets them.
buildflag() {
    DEB_BUILD_MAINT_OPTIONS=hardening=+all \
    DEB_CFLAGS_MAINT_APPEND="-Wp,-D_FORTIFY_SOURCE=2 -fPIC" \
    DEB_LDFLAGS_MAINT_APPEND="-Wl,--as-needed -pie" \
        dpkg-buildflags --get "$1"
}
command -v dpkg-buildflags >/dev/null \
    || die "dpkg-buildflags not found (dpkg-dev: scripts/install-deps deb)"
CC_OPT=$(cd "$TOP" && buildflag CFLAGS)
LD_OPT=$(buildflag LDFLAGS)
echo "== NGINX $VERSION as nginx.org packages it: --with-cc-opt='$CC_OPT' --with-ld-opt='$LD_OPT'"

# unpack DIR: a clean copy of the tarball's tree in DIR.
unpack() {
    rm -rf "$1" && mkdir -p "$1" \
        && tar -xzf "$TARBALL" -C "$1" --strip-components=1
}

# --- package: nginx.org's nginx ---------------------------------------------
t0=$SECONDS
id="${PACKAGE_ARGS[*]} --with-cc-opt=$CC_OPT --with-ld-opt=$LD_OPT $(stat -c %Y "$TARBALL")"
if [ -x "$PKG/objs/nginx" ] && [ "$(cat "$PKG/.id" 2>/dev/null)" = "$id" ]; then
    pass "nginx $VERSION, nginx.org's configure arguments: built before ($PKG)"
elif unpack "$PKG" && mkdir -p "$RUN" \
        && (cd "$PKG" && ./configure "${PACKAGE_ARGS[@]}" \
                --with-cc-opt="$CC_OPT" --with-ld-opt="$LD_OPT" \
                >configure.log 2>&1 \
            && make -j"$JOBS" >build.log 2>&1); then
    printf '%s' "$id" >"$PKG/.id"
    pass "nginx $VERSION, nginx.org's configure arguments: built ($((SECONDS - t0)) s)"
else
    tail -30 "$PKG/configure.log" "$PKG/build.log" 2>/dev/null
    fail "nginx $VERSION, nginx.org's configure arguments: the build failed (see $PKG)"
    lib_done
    exit
fi
BIN=$PKG/objs/nginx
check "its nginx -V has --with-compat and nginx.org's modules" \
    bash -c '"$1" -V 2>&1 | grep -q -- "--with-compat .*--with-http_v3_module .*--with-stream "' _ "$BIN"

# --- module: the Dockerfile's build stage -------------------------------------
t0=$SECONDS
if unpack "$MOD" \
        && (cd "$MOD" && env -u STYTCH_CORE_LIB ./configure "${MODULE_ARGS[@]}" \
                --add-dynamic-module="$TOP" >configure.log 2>&1 \
            && make -j"$JOBS" modules >build.log 2>&1); then
    pass "the module alone: ./configure ${MODULE_ARGS[*]} --add-dynamic-module, make modules ($((SECONDS - t0)) s)"
else
    grep -E -B2 -A6 'error:' "$MOD/build.log" 2>/dev/null | head -40
    tail -20 "$MOD/configure.log" "$MOD/build.log" 2>/dev/null
    fail "the module alone: the build failed (see $MOD)"
    lib_done
    exit
fi
w=$(grep -E '(warning|error):' "$MOD/configure.log" "$MOD/build.log")
check "no warning in its build${w:+: $(head -3 <<<"$w")}" test -z "$w"

# --- load: into the package's nginx, then t/ ------------------------------------
prefix=$WORK/load
mkdir -p "$prefix/conf" "$prefix/logs"
# The package's nginx runs its workers as "nginx", a user this machine
# need not have: as root, they run as root here.
user_line=
[ "$(id -u)" -eq 0 ] && user_line="user root;"
cat >"$prefix/conf/nginx.conf" <<EOF
load_module $SO;
$user_line
error_log $prefix/logs/error.log info;
events { }
EOF
out=$("$BIN" -p "$prefix" -c "$prefix/conf/nginx.conf" -e "$prefix/logs/error.log" -t 2>&1)
check "the .so loads into the package's nginx (nginx -t)" \
    grep -q 'test is successful' <<<"$out" || echo "$out"

files=$(for n in $SMOKE; do ls "$TOP"/t/"$n"-*.t; done)
t0=$SECONDS
(cd "$TOP" && TEST_NGINX_BINARY=$BIN STYTCH_MODULE=$SO \
    prove -I t/lib ${files//$TOP\//}) >"$WORK/prove.log" 2>&1
status=$?
result=$(grep -E '^(Files=|Result:)' "$WORK/prove.log" | tr '\n' ' ')
if [ "$status" -eq 0 ]; then
    pass "t/ ($(wc -w <<<"$files") files) against the two: ${result}($((SECONDS - t0)) s)"
else
    grep -E '^(t/.*(Failed|Dubious)|  Failed tests:|Failed [0-9]+/)' "$WORK/prove.log" | head -10
    fail "t/ against the two: see $WORK/prove.log"
fi

# Over TLS: the cookie of a session that the API refreshed is Secure (the
# module sees TLS connections only when built --with-http_ssl_module).
emulator_start
port=$(free_port) || die "no free port"
prefix=$WORK/tls
mkdir -p "$prefix/conf" "$prefix/logs" "$prefix/site" "$prefix/tls"
echo "the protected site" >"$prefix/site/index.html"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -keyout "$prefix/tls/key.pem" -out "$prefix/tls/cert.pem" 2>/dev/null \
    || die "openssl made no certificate"
chmod -R a+rX "$prefix"
cat >"$prefix/conf/nginx.conf" <<EOF
load_module $SO;
$user_line
pid $prefix/logs/nginx.pid;
error_log $prefix/logs/error.log info;
events { worker_connections 64; }
http {
    access_log $prefix/logs/access.log;
    stytch_project_id $EMU_PROJECT;
    stytch_secret $EMU_SECRET;
    stytch_api_url $EMU_URL;
    server {
        listen 127.0.0.1:$port ssl;
        ssl_certificate $prefix/tls/cert.pem;
        ssl_certificate_key $prefix/tls/key.pem;
        location /_stytch_api/ {
            internal;
            proxy_pass $EMU_URL/;
        }
        location / {
            stytch_auth on;
            root $prefix/site;
        }
    }
}
EOF
if ! nginx_start "$BIN" "$prefix"; then
    fail "the package's nginx starts with the module and a TLS server"
else
    session=$(emu POST /emulator/sessions '{"roles":["stytch_user"]}')
    sid=$(json_field session_id <<<"$session")
    jwt=$(emu POST /emulator/jwt "{\"session_id\":\"$sid\"}" | json_field jwt)
    expired=$(emu POST /emulator/jwt \
              "{\"session_id\":\"$sid\",\"iat\":$(( $(date +%s) - 3600 ))}" \
              | json_field jwt)
    check "over TLS, a JWT: 200" \
        wait_code "https://127.0.0.1:$port/" 200 -k -b "stytch_session_jwt=$jwt"
    out=$(curl -s -k --max-time 10 -D - -o /dev/null \
               -b "stytch_session_jwt=$expired" "https://127.0.0.1:$port/")
    check "over TLS, an expired JWT: 200 through the API, the new JWT's cookie Secure" \
        bash -c 'grep -q "^HTTP/1.1 200" <<<"$1" &&
                 grep -qiE "^Set-Cookie: stytch_session_jwt=eyJ[^;]*;.*; Secure" <<<"$1"' _ "$out" \
        || grep -i '^Set-Cookie' <<<"$out"
    nginx_stop "$prefix"
    c=$(crashes "$prefix/logs/error.log")
    check "no crash or alert in the error log${c:+: $c}" test -z "$c"
fi
emulator_stop

# --- image: the runtime libraries and the Dockerfile ------------------------------
pkgs=$("$TOP/scripts/runtime-packages" "$SO")
check "scripts/runtime-packages names libcurl's and jansson's packages: $(echo $pkgs)" \
    bash -c 'grep -qE "^libcurl4(t64)?$" <<<"$1" && grep -qx libjansson4 <<<"$1"' _ "$pkgs"
missing=$(for p in $pkgs; do
              dpkg-query -W -f='${db:Status-Status}\n' "$p" 2>/dev/null \
                  | grep -qx installed || echo "$p"
          done)
check "each of them is installed here${missing:+: not $missing}" test -z "$missing"
check "the Dockerfile's build stage configures the module as this step does" \
    grep -qF -- "./configure ${MODULE_ARGS[*]} --add-dynamic-module=" "$DOCKERFILE"
check "the Dockerfile's build stage runs make modules and scripts/runtime-packages" \
    bash -c 'grep -q "make modules" "$1" && grep -q "scripts/runtime-packages" "$1"' _ "$DOCKERFILE"
check "the Dockerfile's image installs what scripts/runtime-packages names and loads the module" \
    bash -c 'grep -qF "\$(cat /tmp/runtime-packages)" "$1" &&
             grep -q "load_module modules/ngx_http_stytch_module.so;" "$1"' _ "$DOCKERFILE"

lib_done
