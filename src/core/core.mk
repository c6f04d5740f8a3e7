# Copyright (C) 2026 The ngx_http_stytch_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# The C++ core: included by the top-level Makefile, which defines BUILD,
# CXX and CORE_CXXFLAGS.  Paths are relative to the repository root.
#
#   $(CORE_LIB)   the static library the module links (with
#                 -lssl -lcrypto -ljansson -lstdc++)
#   test-core     GoogleTest suite
#   test-core-asan  the same under ASan + UBSan (clang); $(CORE_SAN_LIB),
#                 the core with them, for make sanitize-nginx
#   fuzz          one libFuzzer target per parser, FUZZ_SECONDS each
#   bench-core    Google Benchmark: verify vs raw RSA verify
#   core-fixtures regenerate src/core/test/fixtures (new keys, same tokens)

CORE_DIR      := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
CORE_BUILD    := $(BUILD)/core
CORE_LIB      := $(CORE_BUILD)/libstytch_core.a
CORE_LIBS     := -lssl -lcrypto -ljansson
CORE_SRCS     := $(wildcard $(CORE_DIR)/*.cc)
CORE_OBJS     := $(patsubst $(CORE_DIR)/%.cc,$(CORE_BUILD)/obj/%.o,$(CORE_SRCS))
CORE_CPPFLAGS := -I$(CORE_DIR) -MMD -MP
# Same hardening as Debian's nginx build; the core ends up in its process.
CORE_HARDEN   := -fstack-protector-strong -D_FORTIFY_SOURCE=2
# The core is linked into the module's shared object and is not an API of
# it: hidden, its symbols are not exported and its calls to itself do not
# go through the PLT.
CORE_VISIBILITY := -fvisibility=hidden -fvisibility-inlines-hidden

CORE_TEST_SRCS := $(wildcard $(CORE_DIR)/test/*.cc)
CORE_TEST_OBJS := $(patsubst $(CORE_DIR)/test/%.cc,$(CORE_BUILD)/test/%.o,$(CORE_TEST_SRCS))
CORE_TESTS     := $(CORE_BUILD)/core_tests
CORE_FIXTURES  := $(CURDIR)/$(CORE_DIR)/test/fixtures

CORE_BENCH     := $(CORE_BUILD)/core_bench

FUZZ_SECONDS  ?= 60
FUZZ_CXX      ?= clang++
FUZZ_BUILD    := $(BUILD)/fuzz
FUZZ_FLAGS    := -std=c++17 -g -O1 -fno-omit-frame-pointer \
                 -fsanitize=fuzzer,address,undefined \
                 -fno-sanitize-recover=all
FUZZ_TARGETS  := $(patsubst $(CORE_DIR)/fuzz/%.cc,%,$(wildcard $(CORE_DIR)/fuzz/*.cc))
FUZZ_BINS     := $(addprefix $(FUZZ_BUILD)/,$(FUZZ_TARGETS))
FUZZ_LIB_OBJS := $(patsubst $(CORE_DIR)/%.cc,$(FUZZ_BUILD)/obj/%.o,$(CORE_SRCS))

.PHONY: core-lib test-core test-core-asan fuzz fuzz-build bench-core core-fixtures

core-lib: $(CORE_LIB)

$(CORE_BUILD)/obj/%.o: $(CORE_DIR)/%.cc
	@mkdir -p $(@D)
	$(CXX) $(CORE_CXXFLAGS) $(CORE_HARDEN) $(CORE_VISIBILITY) $(CORE_CPPFLAGS) \
	    -c $< -o $@

$(CORE_LIB): $(CORE_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

# --- tests -----------------------------------------------------------------

$(CORE_BUILD)/test/%.o: $(CORE_DIR)/test/%.cc
	@mkdir -p $(@D)
	$(CXX) $(CORE_CXXFLAGS) $(CORE_CPPFLAGS) \
	    -DSTYTCH_FIXTURES_DIR='"$(CORE_FIXTURES)"' -c $< -o $@

$(CORE_TESTS): $(CORE_TEST_OBJS) $(CORE_LIB)
	$(CXX) -o $@ $(CORE_TEST_OBJS) $(CORE_LIB) $(CORE_LIBS) \
	    -lgtest -lgtest_main -pthread

test-core: $(CORE_TESTS)
	$(CORE_TESTS) --gtest_brief=1

# The same suite under AddressSanitizer and UBSan, for leaks and misuse; a
# UBSan finding is fatal.  clang, as for the fuzz targets: it compiles this
# in half GCC's time.  The core's objects are also CORE_SAN_LIB, the library
# that `make sanitize-nginx` links into NGINX, which clang builds too (see
# the Makefile): there a UBSan finding in the core ends the worker, after
# its report.
CORE_ASAN_CXX   ?= $(FUZZ_CXX)
CORE_ASAN_BUILD := $(BUILD)/core-asan
SAN_FLAGS       := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined
CORE_ASAN_FLAGS := -std=c++17 -fPIC -Wall -Wextra -Werror $(SAN_FLAGS) \
                   -fno-sanitize-recover=all
CORE_ASAN_OBJS  := $(patsubst $(CORE_DIR)/%.cc,$(CORE_ASAN_BUILD)/obj/%.o,$(CORE_SRCS) $(CORE_TEST_SRCS))
CORE_SAN_LIB    := $(CORE_ASAN_BUILD)/libstytch_core.a

$(CORE_ASAN_BUILD)/obj/%.o: $(CORE_DIR)/%.cc
	@mkdir -p $(@D)
	$(CORE_ASAN_CXX) $(CORE_ASAN_FLAGS) $(CORE_CPPFLAGS) \
	    -DSTYTCH_FIXTURES_DIR='"$(CORE_FIXTURES)"' -c $< -o $@

$(CORE_SAN_LIB): $(filter-out $(CORE_ASAN_BUILD)/obj/test/%,$(CORE_ASAN_OBJS))
	rm -f $@
	ar rcs $@ $^

$(CORE_ASAN_BUILD)/core_tests: $(CORE_ASAN_OBJS)
	$(CORE_ASAN_CXX) $(CORE_ASAN_FLAGS) -o $@ $^ $(CORE_LIBS) -lgtest -lgtest_main -pthread

test-core-asan: $(CORE_ASAN_BUILD)/core_tests
	$(CORE_ASAN_BUILD)/core_tests --gtest_brief=1

# --- fuzzing -----------------------------------------------------------------

$(FUZZ_BUILD)/obj/%.o: $(CORE_DIR)/%.cc
	@mkdir -p $(@D)
	$(FUZZ_CXX) $(FUZZ_FLAGS) $(CORE_CPPFLAGS) \
	    -DSTYTCH_FIXTURES_DIR='"$(CORE_FIXTURES)"' -c $< -o $@

$(FUZZ_BUILD)/obj/fuzz/%.o: $(CORE_DIR)/fuzz/%.cc
	@mkdir -p $(@D)
	$(FUZZ_CXX) $(FUZZ_FLAGS) $(CORE_CPPFLAGS) \
	    -DSTYTCH_FIXTURES_DIR='"$(CORE_FIXTURES)"' -c $< -o $@

$(FUZZ_BUILD)/%: $(FUZZ_BUILD)/obj/fuzz/%.o $(FUZZ_LIB_OBJS)
	$(FUZZ_CXX) $(FUZZ_FLAGS) -o $@ $^ $(CORE_LIBS)

# Keep the objects between runs; make would delete them as intermediates.
.PRECIOUS: $(FUZZ_BUILD)/obj/%.o $(FUZZ_BUILD)/obj/fuzz/%.o

fuzz-build: $(FUZZ_BINS)

# Each target runs on a scratch copy of its committed seeds, so new corpus
# entries never dirty the tree.  Any crash, leak or sanitizer report makes
# libFuzzer exit non-zero, which fails the target.
fuzz: $(FUZZ_BINS)
	@set -e; for t in $(FUZZ_TARGETS); do \
	    rm -rf $(FUZZ_BUILD)/corpus/$$t; mkdir -p $(FUZZ_BUILD)/corpus/$$t; \
	    if [ -d $(CORE_DIR)/fuzz/corpus/$$t ]; then \
	        cp -r $(CORE_DIR)/fuzz/corpus/$$t/. $(FUZZ_BUILD)/corpus/$$t/; fi; \
	    echo "== fuzz $$t for $(FUZZ_SECONDS)s"; \
	    (cd $(FUZZ_BUILD) && ./$$t -max_total_time=$(FUZZ_SECONDS) \
	        -print_final_stats=1 -max_len=65536 corpus/$$t \
	        >$(FUZZ_BUILD)/$$t.log 2>&1) \
	    || { tail -50 $(FUZZ_BUILD)/$$t.log; echo "fuzz: $$t FAILED"; exit 1; }; \
	    grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|Done)' \
	        $(FUZZ_BUILD)/$$t.log | tr '\n' ' '; echo; \
	done

# --- benchmark ---------------------------------------------------------------

$(CORE_BUILD)/bench/%.o: $(CORE_DIR)/bench/%.cc
	@mkdir -p $(@D)
	$(CXX) $(CORE_CXXFLAGS) $(CORE_CPPFLAGS) \
	    -DSTYTCH_FIXTURES_DIR='"$(CORE_FIXTURES)"' -c $< -o $@

$(CORE_BENCH): $(patsubst $(CORE_DIR)/bench/%.cc,$(CORE_BUILD)/bench/%.o,$(wildcard $(CORE_DIR)/bench/*.cc)) $(CORE_LIB)
	$(CXX) -o $@ $(filter %.o,$^) $(CORE_LIB) $(CORE_LIBS) \
	    -lbenchmark -lbenchmark_main -pthread

bench-core: $(CORE_BENCH)
	$(CORE_BENCH) --benchmark_min_time=1

core-fixtures:
	scripts/gen-core-fixtures --new-keys $(CORE_DIR)/test/fixtures

-include $(CORE_OBJS:.o=.d) $(CORE_TEST_OBJS:.o=.d) \
    $(FUZZ_LIB_OBJS:.o=.d) $(CORE_ASAN_OBJS:.o=.d) $(wildcard $(CORE_BUILD)/bench/*.d) \
    $(wildcard $(FUZZ_BUILD)/obj/fuzz/*.d)
