SHELL := /bin/bash
# ngx_http_stytch_module
#
#   make            build build/ngx_http_stytch_module.so against Debian's
#                   nginx-dev tree (or NGINX_SRC=/path/to/nginx-x.y.z)
#   make test       unit tests, emulator tests, the t/ suite and the browser
#                   walk-through (make test-browser: headless Chromium)
#   make demo       nginx + the module + the Stytch emulator, walked through
#   make bench      wrk against unprotected and protected locations
#   make fuzz       each fuzz target for FUZZ_SECONDS (default 60)

NGINX_SRC   ?= /usr/share/nginx/src
NGINX_BIN   ?= /usr/sbin/nginx
BUILD       := $(CURDIR)/build
MODULE_SO   := $(BUILD)/ngx_http_stytch_module.so
NGINX_BUILD := $(BUILD)/nginx
DEPS_STAMP  := $(BUILD)/.deps

CXX         ?= g++
CXXFLAGS    ?= -O2 -g
CORE_CXXFLAGS := -std=c++17 -fPIC -Wall -Wextra -Werror $(CXXFLAGS)

# The flags Debian builds its nginx and modules with, so that the module
# loads into /usr/sbin/nginx.
NGX_CC_OPT  ?= -g -O2 -fstack-protector-strong -Wformat \
               -Werror=format-security -fPIC -Wdate-time -D_FORTIFY_SOURCE=2
NGX_LD_OPT  ?= -Wl,-z,relro -Wl,-z,now -fPIC

GLUE_SRCS := $(wildcard src/*.c src/*.h) config

.PHONY: all module deps test test-core test-emulator test-nginx demo \
        demo-serve bench fuzz clean test-browser

all: module

deps: $(DEPS_STAMP)

$(DEPS_STAMP): scripts/install-deps
	scripts/install-deps
	@mkdir -p $(BUILD) && touch $@

include src/core/core.mk

# the core's own targets need the packages too
test-core test-core-asan fuzz bench-core: deps

module: $(MODULE_SO)

# NGINX's configure writes into the tree it runs in, so it runs in a copy.
$(NGINX_BUILD)/Makefile: $(DEPS_STAMP) config
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
	    || { tail -30 configure.log; exit 1; }

$(MODULE_SO): $(NGINX_BUILD)/Makefile $(CORE_LIB) $(GLUE_SRCS)
	rm -f $(NGINX_BUILD)/objs/ngx_http_stytch_module.so
	$(MAKE) -C $(NGINX_BUILD) -f objs/Makefile modules
	cp $(NGINX_BUILD)/objs/ngx_http_stytch_module.so $@

test: deps module test-core test-emulator test-nginx test-browser

test-emulator: deps
	node --test scripts/test/

test-nginx: deps module
	TEST_NGINX_BINARY=$(NGINX_BIN) STYTCH_MODULE=$(MODULE_SO) \
	    prove -I t/lib -r t/

test-browser: deps module
	scripts/install-deps browser
	scripts/test-browser

demo: deps module
	scripts/demo

demo-serve: deps module
	scripts/demo --serve

bench: deps module
	scripts/bench

clean:
	rm -rf $(BUILD) t/servroot
