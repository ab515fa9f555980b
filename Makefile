# ringtail — one top-level Makefile, out-of-tree build in $(BUILD).
#
#   make            build every program into $(BUILD)/bin
#   make check      deps, build, unit + bats + interop tests + fuzz smoke; ends "N passed, N failed"
#   make deps       install the Debian packages the build and tests need (idempotent)
#   make bench      block-import/dump vs promtool and VictoriaMetrics; tsdb-head ingestion
#                   vs Prometheus and VictoriaMetrics on one remote-write load
#   make run        the most complete demo that exists today
#   make install PREFIX=/usr/local
#   make check SANITIZE=1   the same under ASan + UBSan (build dir build-asan)

CC       ?= cc
PREFIX   ?= /usr/local
SANITIZE ?=
BUILD    ?= $(if $(SANITIZE),build-asan,build)

PKGS     := libbsd-overlay libpcre2-8 jansson libevent yaml-0.1 zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN     := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
            -Wmissing-prototypes -Wno-unused-parameter
OPT      := -O2 -g
ASAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SANFLAGS := $(if $(SANITIZE),$(ASAN))
CFLAGS   += -std=c17 -D_GNU_SOURCE $(OPT) $(WARN) $(SANFLAGS) -I. $(PKG_CFLAGS) -MMD -MP
LDLIBS   += $(PKG_LIBS) -lsnappy -lm
LDFLAGS  += $(SANFLAGS)

# Debian packages: build, tests, interop peers, bench.
DEB_PKGS := build-essential clang pkg-config libbsd-dev libpcre2-dev libjansson-dev libsnappy-dev libevent-dev libyaml-dev zlib1g-dev \
            libclang-rt-14-dev bats bats-assert bats-support jq prometheus time \
            victoria-metrics curl prometheus-node-exporter

LIB_SRCS  := $(sort $(wildcard lib/*/*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIBA      := $(BUILD)/libringtail.a
PROGS     := $(notdir $(wildcard cmd/*))
BINS      := $(PROGS:%=$(BUILD)/bin/%)
UNIT_SRCS := $(sort $(wildcard test/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:test/unit/%.c=$(BUILD)/test/%)
TOOL_SRCS := $(sort $(wildcard test/tools/*.c))
TOOL_BINS := $(TOOL_SRCS:test/tools/%.c=$(BUILD)/tools/%)
FUZZ_SRCS := $(sort $(wildcard test/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_SRCS:test/fuzz/%.c=$(BUILD)/fuzz/%)

.PHONY: all check deps unit tools bats fuzz bench run install clean
.DEFAULT_GOAL := all

all: $(BINS)

# Quiet by default; `make V=1` shows the commands.
Q := $(if $(V),,@)
$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(V),,echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(LIBA): $(LIB_OBJS)
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

# A program is every .c in its cmd/NAME folder, linked with the library.
define prog_rule
$(BUILD)/bin/$(1): $(patsubst %.c,$(BUILD)/%.o,$(wildcard cmd/$(1)/*.c)) $(LIBA)
	@mkdir -p $$(@D)
	@$$(if $$(V),,echo "  LD      $$@")
	$$(Q)$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach p,$(PROGS),$(eval $(call prog_rule,$(p))))

$(BUILD)/test/%: $(BUILD)/test/unit/%.o $(BUILD)/test/unit/unit.o $(LIBA)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Test and benchmark tools (data generators); never installed.
$(BUILD)/tools/%: $(BUILD)/test/tools/%.o $(LIBA)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Fuzz targets need clang's libFuzzer; they link the library sources directly
# so that everything is instrumented.
FUZZ_CFLAGS := -std=c17 -D_GNU_SOURCE -O1 -g -I. $(PKG_CFLAGS) \
               -fsanitize=fuzzer,address,undefined
$(BUILD)/fuzz/%: test/fuzz/%.c $(LIB_SRCS)
	@mkdir -p $(@D)
	@$(if $(V),,echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) -o $@ $< $(LIB_SRCS) $(PKG_LIBS) -lsnappy -lm

deps:
	@missing=$$(for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "deps: installing$$(echo $$missing | sed 's/^/ /')"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	fi

unit: $(UNIT_BINS)
tools: $(TOOL_BINS)
bats: $(BINS)
fuzz: $(FUZZ_BINS)

# check runs everything through test/run-tests, which prints the one-line summary.
check: deps
	@$(MAKE) --no-print-directory all unit tools fuzz
	@BUILD=$(BUILD) test/run-tests $(UNIT_BINS)

bench: deps all tools
	@BUILD=$(BUILD) contrib/bench/bench-blocks
	@BUILD=$(BUILD) contrib/bench/bench-ingest

run: deps all
	@BUILD=$(BUILD) contrib/demo/run

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin
	install -m 0644 share/man/man1/*.1 $(DESTDIR)$(PREFIX)/share/man/man1

clean:
	rm -rf build build-asan

-include $(LIB_OBJS:.o=.d) $(shell find $(BUILD) -name '*.d' 2>/dev/null)
