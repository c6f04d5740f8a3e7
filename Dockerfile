# Copyright (C) 2026 The ngx_http_stytch_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# The official NGINX image (nginx.org's packages, built --with-compat) with
# ngx_http_stytch_module loaded.  README, "nginx.org packages and the Docker
# image", says how it is made and what is tested; .ci/nginx-org.sh builds
# the module as the build stage does, without Docker.
#
#   docker build -t nginx-stytch .
#   docker build --build-arg NGINX_VERSION=1.26.3 -t nginx-stytch:1.26.3 .
#
# The Debian-based tags only (nginx:VERSION, nginx:VERSION-bookworm, ...);
# for nginx:*-alpine, see README.

ARG NGINX_VERSION=1.30.4

FROM nginx:${NGINX_VERSION} AS base

# --- build: the module against the exact source of the image's nginx -------
FROM base AS build

RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        build-essential ca-certificates curl \
        libpcre2-dev zlib1g-dev libssl-dev \
        libcurl4-openssl-dev libjansson-dev \
    && rm -rf /var/lib/apt/lists/*

# The version of the nginx in the image, not the one asked for: the module
# loads only into the version it was built against.
WORKDIR /usr/src
RUN version=$(nginx -v 2>&1 | sed -n 's|^nginx version: nginx/||p') \
    && test -n "$version" \
    && curl -fsSL -o nginx.tar.gz \
        "https://nginx.org/download/nginx-$version.tar.gz" \
    && mkdir nginx \
    && tar -xzf nginx.tar.gz -C nginx --strip-components=1

COPY . /usr/src/ngx_http_stytch_module

# --with-compat gives the module the binary interface of the image's
# nginx, which nginx.org builds --with-compat; --with-http_ssl_module lets
# it see TLS connections (the Secure attribute of the cookies it sets).
# The core's C++17 is compiled by NGINX's make with the image's GCC.
RUN cd nginx \
    && ./configure --with-compat --with-http_ssl_module --add-dynamic-module=/usr/src/ngx_http_stytch_module \
    && make modules \
    && /usr/src/ngx_http_stytch_module/scripts/runtime-packages \
        objs/ngx_http_stytch_module.so >/usr/src/runtime-packages

# --- the image ----------------------------------------------------------
FROM base

# The module's libraries that nginx.org's nginx does not need itself
# (libcurl and jansson), by the names of the image's Debian release.
COPY --from=build /usr/src/runtime-packages /tmp/runtime-packages
RUN apt-get update \
    && apt-get install -y --no-install-recommends $(cat /tmp/runtime-packages) \
    && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages

COPY --from=build /usr/src/nginx/objs/ngx_http_stytch_module.so \
     /usr/lib/nginx/modules/

# load_module belongs in the main context, before any block.
RUN sed -i '1i load_module modules/ngx_http_stytch_module.so;' /etc/nginx/nginx.conf \
    && nginx -t
