SHELL := /bin/bash
# Copyright (C) 2026 The ngx_http_stytch_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# ngx_http_stytch_module
#
#   make            build build/ngx_http_stytch_module.so against Debian's
#                   nginx-dev tree (or NGINX_SRC=/path/to/nginx-x.y.z)
#   make test       unit tests, emulator tests, the t/ suite, part of it
#                   against a static NGINX built from the 1.22.1 tarball,
#                   and the browser walk-through (headless Chromium)
#   make demo       nginx + the module + the Stytch emulator, walked through
#   make install    the module, its load_module snippet and the link that
#                   enables it, laid out as Debian's module packages are
#   make deb        build/deb/libnginx-mod-http-stytch_*.deb
#   make upstream   NGINX and the module from every tarball in
#                   NGINX_TARBALLS, dynamic and static
#   make bench      wrk against unprotected and protected locations
#   make bench-callgrind  instructions per request, nginx under callgrind
#   make fuzz       each fuzz target for FUZZ_SECONDS (default 60)
#   make soak       load with known answers through reloads, a binary upgrade,
#                   killed workers, key rotation and Stytch's outages for
#                   SOAK_SECONDS (default 120), after its own self-test
#   make sanitize   the core's tests, the fuzz targets briefly, and part of t/
#                   against NGINX 1.22.1 and the module under ASan + UBSan
#
# Nothing is rebuilt when nothing changed, and the module is replaced by a
# rename, never written in place: a running nginx maps the old file, and
# rewriting its pages under it kills the workers.

NGINX_SRC   ?= /usr/share/nginx/src
NGINX_BIN   ?= /usr/sbin/nginx
BUILD       := $(CURDIR)/build
MODULE_NAME := ngx_http_stytch_module
MODULE_SO   := $(BUILD)/$(MODULE_NAME).so
NGINX_BUILD := $(BUILD)/nginx

CXX         ?= g++
CXXFLAGS    ?= -O2 -g
CORE_CXXFLAGS := -std=c++17 -fPIC -Wall -Wextra -Werror $(CXXFLAGS)

# The flags Debian builds its nginx and modules with, so that the module
# loads into /usr/sbin/nginx.
NGX_CC_OPT  ?= -g -O2 -fstack-protector-strong -Wformat \
               -Werror=format-security -fPIC -Wdate-time -D_FORTIFY_SOURCE=2
NGX_LD_OPT  ?= -Wl,-z,relro -Wl,-z,now -fPIC

GLUE_SRCS := $(wildcard src/*.c src/*.h) config

.DELETE_ON_ERROR:

.PHONY: all module deps test test-core test-emulator test-nginx test-static \
        test-browser demo demo-serve bench bench-callgrind fuzz clean install \
        install-module uninstall deb upstream sanitize sanitize-nginx

all: module

# --- packages ----------------------------------------------------------------

# One stamp per set of scripts/install-deps; a new list re-runs the check.
# INSTALL_DEPS=no (package builds, scratch copies) only records the stamps.
INSTALL_DEPS ?= yes
DEPS_SETS    := build test deb demo bench fuzz browser
$(foreach s,$(DEPS_SETS),$(eval DEPS_$(s) := $(BUILD)/.deps-$(s)))

# the npm lockfiles too: install-deps runs npm ci when one changes
$(BUILD)/.deps-%: scripts/install-deps scripts/demo-npm/package-lock.json \
                  emulator/test/clients/package-lock.json
	$(if $(filter no,$(INSTALL_DEPS)),,scripts/install-deps $*)
	@mkdir -p $(@D) && touch $@

deps: $(DEPS_build)

include src/core/core.mk

# Order-only: a new package list does not rebuild what was built.
$(CORE_OBJS): | $(DEPS_build)
$(CORE_TEST_OBJS) $(CORE_ASAN_OBJS): | $(DEPS_test)
$(FUZZ_LIB_OBJS) $(FUZZ_BINS) $(CORE_ASAN_OBJS): | $(DEPS_fuzz)
$(CORE_BENCH): | $(DEPS_bench)
test-core test-core-asan: | $(DEPS_test)
test-core-asan: | $(DEPS_fuzz)
fuzz: | $(DEPS_fuzz)
bench-core: | $(DEPS_bench)

# --- the module against NGINX_SRC -------------------------------------------

# configure is run again when what it was given changes: the tree, the
# flags, the compiler, or the tree's version (a Debian update of nginx-dev).
NGINX_ID      := $(NGINX_SRC) $(NGX_CC_OPT) $(NGX_LD_OPT) $(CC)
NGINX_ID_FILE := $(BUILD)/.nginx-id
ifneq ($(file <$(NGINX_ID_FILE)),$(NGINX_ID))
$(shell mkdir -p $(BUILD))
$(file >$(NGINX_ID_FILE),$(NGINX_ID))
endif

NGINX_CONFIGURED := $(NGINX_BUILD)/objs/Makefile

module: $(MODULE_SO)

# NGINX's configure writes into the tree it runs in, so it runs in a copy.
$(NGINX_CONFIGURED): config $(NGINX_ID_FILE) \
                     $(wildcard $(NGINX_SRC)/src/core/nginx.h) | $(DEPS_build)
	rm -rf $(NGINX_BUILD)
	mkdir -p $(NGINX_BUILD)
	cp -a $(NGINX_SRC)/. $(NGINX_BUILD)/
	cd $(NGINX_BUILD) && \
	    if [ -f conf_flags ]; then . ./conf_flags; \
	    else NGX_CONF_FLAGS=(--with-compat --with-threads \
	                         --with-http_ssl_module); fi; \
	    STYTCH_CORE_LIB=$(CORE_LIB) ./configure "$${NGX_CONF_FLAGS[@]}" \
	        --with-cc-opt="$(NGX_CC_OPT)" --with-ld-opt="$(NGX_LD_OPT)" \
	        --add-dynamic-module=$(CURDIR) >configure.log 2>&1 \
	    || { tail -30 configure.log; rm -f $@; exit 1; }

# NGINX's objs/Makefile knows neither the core library nor the glue's
# headers other than those config lists: a changed header recompiles the
# glue, and the module is always relinked here.  The result is renamed
# over the old file, which a running nginx may have mapped.
$(MODULE_SO): $(NGINX_CONFIGURED) $(CORE_LIB) $(GLUE_SRCS)
	$(if $(filter %.h,$?),rm -f $(NGINX_BUILD)/objs/addon/src/*.o)
	rm -f $(NGINX_BUILD)/objs/$(MODULE_NAME).so
	$(MAKE) -C $(NGINX_BUILD) -f objs/Makefile modules
	cp $(NGINX_BUILD)/objs/$(MODULE_NAME).so $@.tmp
	mv -f $@.tmp $@

# --- install, as Debian lays out its libnginx-mod-* packages ----------------

PREFIX                ?= /usr
SYSCONFDIR            ?= /etc
MODULES_DIR           ?= $(PREFIX)/lib/nginx/modules
MODULES_AVAILABLE_DIR ?= $(PREFIX)/share/nginx/modules-available
MODULES_ENABLED_DIR   ?= $(SYSCONFDIR)/nginx/modules-enabled
MODULE_CONF           := mod-http-stytch.conf
MODULE_PRIORITY       ?= 50
DESTDIR               ?=

# The .so and its load_module snippet; what a package ships.
install-module: $(MODULE_SO)
	install -d $(DESTDIR)$(MODULES_DIR) $(DESTDIR)$(MODULES_AVAILABLE_DIR)
	install -m 644 $(MODULE_SO) $(DESTDIR)$(MODULES_DIR)/.$(MODULE_NAME).so.tmp
	mv -f $(DESTDIR)$(MODULES_DIR)/.$(MODULE_NAME).so.tmp \
	    $(DESTDIR)$(MODULES_DIR)/$(MODULE_NAME).so
	echo "load_module $(MODULES_DIR)/$(MODULE_NAME).so;" \
	    >$(DESTDIR)$(MODULES_AVAILABLE_DIR)/$(MODULE_CONF)
	chmod 644 $(DESTDIR)$(MODULES_AVAILABLE_DIR)/$(MODULE_CONF)

# ... and the link that a package's postinst would make.
install: install-module
	install -d $(DESTDIR)$(MODULES_ENABLED_DIR)
	ln -sfn $(MODULES_AVAILABLE_DIR)/$(MODULE_CONF) \
	    $(DESTDIR)$(MODULES_ENABLED_DIR)/$(MODULE_PRIORITY)-$(MODULE_CONF)

uninstall:
	rm -f $(DESTDIR)$(MODULES_ENABLED_DIR)/$(MODULE_PRIORITY)-$(MODULE_CONF) \
	    $(DESTDIR)$(MODULES_AVAILABLE_DIR)/$(MODULE_CONF) \
	    $(DESTDIR)$(MODULES_DIR)/$(MODULE_NAME).so

# --- the Debian package -----------------------------------------------------

DEB_BUILD   := $(BUILD)/deb
DEB_PKG     := libnginx-mod-http-stytch
DEB_VERSION := $(if $(wildcard debian/changelog),$(shell \
                 sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog))
DEB_ARCH    := $(shell dpkg --print-architecture 2>/dev/null)
DEB_FILE    := $(DEB_BUILD)/$(DEB_PKG)_$(DEB_VERSION)_$(DEB_ARCH).deb
DEB_SRCS    := $(shell find src $(wildcard debian) -type f) config Makefile

deb: $(DEB_FILE)

# dpkg-buildpackage writes beside the tree it builds, so it builds a copy.
$(DEB_FILE): $(DEB_SRCS) | $(DEPS_deb)
	rm -rf $(DEB_BUILD)
	mkdir -p $(DEB_BUILD)/$(DEB_PKG)
	tar -C $(CURDIR) --exclude=./build --exclude=./.git \
	    --exclude='./t/servroot*' -cf - . | tar -C $(DEB_BUILD)/$(DEB_PKG) -xf -
	cd $(DEB_BUILD)/$(DEB_PKG) && dpkg-buildpackage -b --no-sign \
	    >$(DEB_BUILD)/build.log 2>&1 \
	    || { tail -40 $(DEB_BUILD)/build.log; exit 1; }
	@ls $(DEB_FILE)

# --- upstream NGINX trees: build/upstream/ID-{dynamic,static} -------------

# Release tarballs: NGINX's nginx-VERSION.tar.gz (ID: VERSION) and the
# forks' angie-VERSION.tar.gz and freenginx-VERSION.tar.gz (ID: the name
# without .tar.gz), each with one top directory; CI has them in
# ../shared/nginx.
SHARED            ?= $(abspath $(CURDIR)/../shared)
NGINX_TARBALLS    ?= $(SHARED)/nginx
UPSTREAM          := $(BUILD)/upstream
UPSTREAM_FORKS    := angie freenginx
UPSTREAM_VERSIONS ?= $(patsubst $(NGINX_TARBALLS)/nginx-%.tar.gz,%,\
                       $(wildcard $(NGINX_TARBALLS)/nginx-*.tar.gz)) \
                     $(foreach f,$(UPSTREAM_FORKS),\
                       $(patsubst $(NGINX_TARBALLS)/%.tar.gz,%,\
                         $(wildcard $(NGINX_TARBALLS)/$(f)-*.tar.gz)))
UPSTREAM_BUILDS   := $(foreach v,$(UPSTREAM_VERSIONS),\
                       $(UPSTREAM)/$(v)-dynamic/built $(UPSTREAM)/$(v)-static/built)

# Debian's set of modules, less those t/ never uses (mail, stream, the
# dynamic modules with their own libraries).  --with-debug compiles the
# glue's debug logging too, which is where warnings hide.
UPSTREAM_CONF_FLAGS ?= --with-compat --with-debug --with-threads \
    --with-pcre-jit --with-http_ssl_module --with-http_v2_module \
    --with-http_dav_module --with-http_auth_request_module \
    --with-http_realip_module --with-http_stub_status_module \
    --with-http_slice_module --with-http_sub_module \
    --with-http_addition_module --with-http_gunzip_module

upstream: $(UPSTREAM_BUILDS)
ifeq ($(UPSTREAM_BUILDS),)
	@echo "SKIPPED upstream: no release tarball in $(NGINX_TARBALLS)."
	@echo "        To run it: make upstream NGINX_TARBALLS=/dir/with/the/tarballs"
	@$(if $(filter true,$(CI)),echo "CI=true: the tarballs must be there" >&2; exit 1)
endif

# ID-MODE: the mode, the ID, the ID's tarball, the binary NGINX's make
# writes (Angie's is objs/angie).
upstream_mode    = $(lastword $(subst -, ,$(1)))
upstream_id      = $(patsubst %-$(call upstream_mode,$(1)),%,$(1))
upstream_tarball = $(NGINX_TARBALLS)/$(if $(filter \
                     $(addsuffix -%,$(UPSTREAM_FORKS)),$(1)),$(1),nginx-$(1)).tar.gz
upstream_binary  = objs/$(if $(filter angie-%,$(1)),angie,nginx)

$(NGINX_TARBALLS)/%.tar.gz:
	@echo "$@: not found; NGINX_TARBALLS (or SHARED) must name the" \
	      "directory that holds NGINX's release tarballs" >&2; exit 1

# The static build lets NGINX's make compile the core with $CC (what an
# --add-module user gets); the dynamic one links the core library, as
# `make` does.  Each is configured once per tree.
.SECONDEXPANSION:
$(UPSTREAM)/%/objs/Makefile: \
        $$(call upstream_tarball,$$(call upstream_id,$$*)) \
        config | $(DEPS_build)
	rm -rf $(UPSTREAM)/$*
	mkdir -p $(UPSTREAM)/$*
	tar -xzf $< -C $(UPSTREAM)/$* --strip-components=1
	cd $(UPSTREAM)/$* && \
	    $(if $(filter static,$(call upstream_mode,$*)), \
	        env -u STYTCH_CORE_LIB ./configure --add-module=$(CURDIR), \
	        STYTCH_CORE_LIB=$(CORE_LIB) ./configure \
	            --add-dynamic-module=$(CURDIR)) \
	        $(UPSTREAM_CONF_FLAGS) \
	        --with-cc-opt="$(NGX_CC_OPT)" --with-ld-opt="$(NGX_LD_OPT)" \
	        >configure.log 2>&1 \
	    || { tail -30 configure.log; rm -f $@; exit 1; }

# Kept, although a pattern rule makes them on the way to `built`.
.PRECIOUS: $(UPSTREAM)/%/objs/Makefile $(UPSTREAM)/%/built

# `built` stands for objs/nginx or objs/angie (and objs/*.so), compiled with NGINX's
# -Werror and with no "warning:" anywhere in the logs (the linker's and
# configure's too).
$(UPSTREAM)/%/built: $(UPSTREAM)/%/objs/Makefile $(CORE_LIB) $(GLUE_SRCS) \
                     $(CORE_SRCS) $(wildcard src/core/*.h)
	$(if $(filter %.h,$?),find $(UPSTREAM)/$*/objs/addon -name '*.o' -delete)
	rm -f $(UPSTREAM)/$*/objs/$(MODULE_NAME).so
	$(MAKE) -C $(UPSTREAM)/$* -f objs/Makefile >$(UPSTREAM)/$*/build.log 2>&1 \
	    || { grep -E -B2 -A6 'error:' $(UPSTREAM)/$*/build.log | head -60; \
	         tail -20 $(UPSTREAM)/$*/build.log; exit 1; }
	@if grep -E -n '(warning|error):' $(UPSTREAM)/$*/configure.log \
	        $(UPSTREAM)/$*/build.log; then \
	    echo "$*: warnings in the build (see $(UPSTREAM)/$*/build.log)"; \
	    exit 1; fi
	@echo "built $(UPSTREAM)/$*/$(call upstream_binary,$*)" \
	    "$(if $(filter dynamic,$(call upstream_mode,$*)),and $(MODULE_NAME).so)"
	@touch $@

# --- NGINX and the module under AddressSanitizer and UBSan --------------------

# build/sanitize/VERSION-static: the tarball's NGINX with the module compiled
# in (--add-module), NGINX, the glue and the core all with ASan and UBSan,
# the configure arguments of `make upstream`.
#
# clang, not GCC: GCC's UBSan runtime is a library apart from its ASan
# runtime, and with both, UBSan's reports ignore log_path (its
# __sanitizer_set_report_path binds to libasan's) and go to stderr, which
# NGINX points at an error log that t/'s runner removes before each block.
# clang's one runtime writes every report to log_path.  clang 14's default
# C++ is C++14, so the core is not left to NGINX's make ($CC): it is
# core.mk's CORE_SAN_LIB (the objects of test-core-asan), linked as the
# dynamic build links CORE_LIB.
#
# UBSan is left recoverable in NGINX and the glue (clang's default, said
# explicitly): one run of t/ reports every finding with its stack, and
# .ci/sanitize.sh fails on any report.  In the core it is fatal,
# as in test-core-asan, whose objects these are.  configure and make run
# without LeakSanitizer: configure's test programs do not all free what
# they allocate.
SANITIZE_VERSION      ?= 1.22.1
SANITIZE_FUZZ_SECONDS ?= 15
SANITIZE_CC           ?= clang
SANITIZE_BUILD        := $(BUILD)/sanitize
SANITIZE_NGINX        := $(SANITIZE_BUILD)/$(SANITIZE_VERSION)-static
SANITIZE_CC_OPT       ?= $(SAN_FLAGS) -fsanitize-recover=undefined
SANITIZE_LD_OPT       ?= $(SAN_FLAGS) -fsanitize-link-c++-runtime -lstdc++

sanitize-nginx: $(SANITIZE_NGINX)/built

$(SANITIZE_BUILD)/%/objs/Makefile: \
        $$(call upstream_tarball,$$(call upstream_id,$$*)) \
        config | $(DEPS_build) $(DEPS_fuzz)
	rm -rf $(SANITIZE_BUILD)/$*
	mkdir -p $(SANITIZE_BUILD)/$*
	tar -xzf $< -C $(SANITIZE_BUILD)/$* --strip-components=1
	cd $(SANITIZE_BUILD)/$* && ASAN_OPTIONS=detect_leaks=0 \
	    STYTCH_CORE_LIB=$(CORE_SAN_LIB) ./configure \
	        --with-cc=$(SANITIZE_CC) --add-module=$(CURDIR) \
	        $(UPSTREAM_CONF_FLAGS) \
	        --with-cc-opt="$(SANITIZE_CC_OPT)" \
	        --with-ld-opt="$(SANITIZE_LD_OPT)" >configure.log 2>&1 \
	    || { tail -30 configure.log; rm -f $@; exit 1; }

.PRECIOUS: $(SANITIZE_BUILD)/%/objs/Makefile $(SANITIZE_BUILD)/%/built

$(SANITIZE_BUILD)/%/built: $(SANITIZE_BUILD)/%/objs/Makefile $(CORE_SAN_LIB) \
                           $(GLUE_SRCS)
	rm -f $(SANITIZE_BUILD)/$*/objs/nginx
	ASAN_OPTIONS=detect_leaks=0 \
	    $(MAKE) -C $(SANITIZE_BUILD)/$* -f objs/Makefile \
	    >$(SANITIZE_BUILD)/$*/build.log 2>&1 \
	    || { grep -E -B2 -A6 'error:' $(SANITIZE_BUILD)/$*/build.log | head -60; \
	         tail -20 $(SANITIZE_BUILD)/$*/build.log; exit 1; }
	@echo "built $(SANITIZE_BUILD)/$*/objs/nginx (ASan, UBSan)"
	@touch $@

# The core's tests under ASan and UBSan, each fuzz target briefly, and t/
# (part of it) against that NGINX, failing on any sanitizer report.
sanitize: | $(DEPS_test) $(DEPS_fuzz)
	NGINX_TARBALLS=$(NGINX_TARBALLS) SANITIZE_VERSION=$(SANITIZE_VERSION) \
	    FUZZ_SECONDS=$(SANITIZE_FUZZ_SECONDS) .ci/sanitize.sh

# --- tests ---------------------------------------------------------------------

test: module test-core test-emulator test-nginx test-static test-browser \
      | $(DEPS_test)
	@echo "make test: passed$(if $(TEST_SKIPPED),; SKIPPED: $(strip $(TEST_SKIPPED)) (see above))"

test-emulator: | $(DEPS_test)
	node --test emulator/test/

test-nginx: module | $(DEPS_test)
	TEST_NGINX_BINARY=$(NGINX_BIN) STYTCH_MODULE=$(MODULE_SO) \
	    prove -I t/lib -r t/

# The module compiled into NGINX (--add-module), where the module list's
# order, not load_module's, places its body filter.  The .t files that
# write load_module themselves (050, 051) cannot run against such a
# binary; all the others do.
STATIC_VERSION ?= 1.22.1
STATIC_NGINX   := $(UPSTREAM)/$(STATIC_VERSION)-static
STATIC_TESTS   ?= $(shell grep -L load_module t/*.t)

STATIC_TARBALL := $(NGINX_TARBALLS)/nginx-$(STATIC_VERSION).tar.gz

# A clone with no tarball beside it (no ../shared) skips this part and
# says how to run it; in CI (CI=true) the tarball must be there.
ifeq ($(wildcard $(STATIC_TARBALL))$(filter true,$(CI)),)
TEST_SKIPPED += test-static
test-static:
	@echo "SKIPPED test-static: $(STATIC_TARBALL) not found."
	@echo "        To run it: make test-static NGINX_TARBALLS=/dir/with/nginx-$(STATIC_VERSION).tar.gz"
	@echo "        (or put the tarball in ../shared/nginx beside the tree);"
	@echo "        NGINX's release tarballs: https://nginx.org/download/"
else
test-static: $(STATIC_NGINX)/built | $(DEPS_test)
	TEST_NGINX_BINARY=$(STATIC_NGINX)/objs/nginx STYTCH_MODULE=static \
	    prove -I t/lib $(STATIC_TESTS)
endif

test-browser: module | $(DEPS_browser)
	scripts/test-browser

demo: module | $(DEPS_demo)
	scripts/demo

demo-serve: module | $(DEPS_demo)
	scripts/demo --serve

bench: module | $(DEPS_bench)
	scripts/bench

# Instructions per request under callgrind: steady on a busy machine.
bench-callgrind: module | $(DEPS_bench)
	scripts/bench-callgrind

clean:
	rm -rf $(BUILD) t/servroot t/servroot_*

# --- the chaos and soak run -----------------------------------------------------

# soak/soak: nginx with several workers and the module, the emulator, HTTP/1.1
# and HTTP/2 clients, faults on a schedule, every answer judged; exits 1 on a
# wrong answer, a crash, an alert or growth.  soak/selftest first: the oracle's
# unit tests and runs with a wrong answer planted, which must fail.
SOAK_SECONDS ?= 120

.PHONY: soak soak-selftest

soak: module soak-selftest | $(DEPS_demo)
	NGINX_BIN=$(NGINX_BIN) SOAK_MODULE=$(MODULE_SO) SOAK_SECONDS=$(SOAK_SECONDS) \
	    soak/soak

soak-selftest: module | $(DEPS_demo)
	NGINX_BIN=$(NGINX_BIN) SOAK_MODULE=$(MODULE_SO) soak/selftest
