# sipkeep - build, test and benchmark.
#   make          build/sipkeep (installs missing Debian build packages first)
#   make check    unit tests (ASan+UBSan), fuzz smoke, end-to-end tests
#   make unit     unit tests only          make fuzz    fuzz smoke only
#   make e2e      end-to-end tests only    make bench   benchmarks (prints figures)
#   make e2e-asan, e2e-valgrind   the e2e runs against the ASan+UBSan daemon, under valgrind
#   make soak     soak with faults, DURATION=600 s (make check runs 120 s: soak-check)
#   make demo     narrated demo in a throw-away network-namespace lab (root, ~2 min)
#   make install  PREFIX=/usr/local DESTDIR=   make deb   build/sipkeep_*.deb
#   make packaging-check   lintian, systemd unit, man pages, OpenWrt init script
#   make cross    armhf + s390x unit tests under qemu-user, musl objects, -O1/-O2/-Os

CC       ?= cc
FUZZCC   ?= clang
BUILD    := build
VERSION  := 0.1.0

PKGS     := openssl yaml-0.1 libnetfilter_queue libcares
WARN     := -Wall -Wextra -Werror -Wshadow=local -Wimplicit-fallthrough=5 \
            -Wmissing-declarations -Werror=format-security -Wformat=2
# clang spells two of them without gcc's levels (CC=clang, clang-14, ...).
ifneq ($(findstring clang,$(notdir $(CC))),)
WARN     := $(patsubst -Wshadow=local,-Wshadow,$(patsubst -Wimplicit-fallthrough=5,-Wimplicit-fallthrough,$(WARN)))
endif
# LFS and 64-bit time_t: a 32-bit glibc build (armhf) must stat large inodes
# and outlive 2038; no-ops on 64-bit targets and on musl.  Every compile
# (objects, sanitizer, unit, fuzz, bench) goes through CSTD.  Also right
# where the libraries keep a 32-bit time_t (Debian 12 armhf): sipkeep hands
# no time_t-bearing struct to a library (resolve.c does not use ares_timeout).
LFS64    := -D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64
# instid.c syncs slow disks on a worker thread: -pthread on every compile
# and link (glibc 2.34+ and musl keep pthreads in libc, older glibc does not).
THREADS  := -pthread
CSTD     := -std=c11 -D_GNU_SOURCE $(LFS64) $(THREADS) -DSIPKEEP_VERSION='"$(VERSION)"' -Isrc
CFLAGS   ?= -O2 -g
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
LIBS      = $(PKG_LIBS) $(THREADS)

LIB_SRC  := $(filter-out src/main.c,$(shell find src -name '*.c' | sort))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
SAN_OBJ  := $(LIB_SRC:%.c=$(BUILD)/san/%.o)

UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
BENCH_SRC := $(sort $(wildcard tests/bench/bench_*.c))
BENCH_BIN := $(BENCH_SRC:tests/bench/%.c=$(BUILD)/bench/%)

SAN      := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_SECONDS ?= 20

.PHONY: all deps check-deps unit fuzz fuzz-build e2e e2e-asan e2e-valgrind check bench layers \
        clean install deb packaging-check
all: deps $(BUILD)/sipkeep

deps:
	@sh packaging/deps.sh build
check-deps:
	@sh packaging/deps.sh check

$(BUILD)/sipkeep: $(LIB_OBJ) $(BUILD)/obj/src/main.o
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) $(CPPFLAGS) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -c -o $@ $<

# Sanitizer objects for unit tests: same warnings, no optimisation surprises.
$(BUILD)/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -O1 -g $(SAN) $(PKG_CFLAGS) -MMD -MP -c -o $@ $<

# The daemon built from the sanitizer objects, for make e2e-asan.  Named
# sipkeep (in a directory of its own): scenarios find the daemon by name.
$(BUILD)/asan/sipkeep: $(SAN_OBJ) $(BUILD)/san/src/main.o
	@mkdir -p $(dir $@)
	$(CC) -O1 -g $(SAN) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(SAN_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -O1 -g $(SAN) $(PKG_CFLAGS) -Itests/unit -MMD -MP \
	    -o $@ $< $(SAN_OBJ) $(LIBS) -lcmocka $(UNIT_LDFLAGS_$*)
# Per-test link flags.  test_privdrop makes readdir fail (readdir64: what a
# 32-bit build with LFS64 calls).
UNIT_LDFLAGS_test_privdrop := -Wl,--wrap=readdir -Wl,--wrap=readdir64

# test_tmode_flow: tmode.c's logic without root, against link-time dummies
# of the NFQUEUE reader and the transparent reply socket (netifd's
# system-dummy.c habit, tests/unit/dummy_intercept.h): the sanitizer objects
# without nfqi.o and tproxy.o.
TMODE_DUMMY_OBJ := $(BUILD)/san/tests/unit/dummy_nfqi.o $(BUILD)/san/tests/unit/dummy_tproxy.o
$(BUILD)/tests/test_tmode_flow: tests/unit/test_tmode_flow.c $(TMODE_DUMMY_OBJ) $(SAN_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -O1 -g $(SAN) $(PKG_CFLAGS) -Itests/unit -MMD -MP -o $@ $< \
	    $(TMODE_DUMMY_OBJ) $(filter-out %/intercept/nfqi.o %/intercept/tproxy.o,$(SAN_OBJ)) \
	    $(LIBS) -lcmocka

# oom: the out-of-memory pass (libre's habit, tests/oom/test_oom.c).  The
# sanitizer objects linked with the allocators wrapped, so the test fails
# the Nth allocation, N = 0, 1, ... through config loading, router_new, a
# phone's REGISTER and the instance-id store: each must fail cleanly and
# LeakSanitizer must find no leak (after each N, and at exit).
OOM_WRAP := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=strndup
$(BUILD)/oom/test_oom: tests/oom/test_oom.c $(SAN_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -O1 -g $(SAN) $(PKG_CFLAGS) -Itests/unit -MMD -MP \
	    -o $@ $< $(SAN_OBJ) $(OOM_WRAP) $(LIBS) -lcmocka
.PHONY: oom
oom: check-deps $(BUILD)/oom/test_oom
	@ASAN_OPTIONS=detect_leaks=1 $(BUILD)/oom/test_oom

# libFuzzer targets link the library sources directly, instrumented by clang.
$(BUILD)/fuzz/%: tests/fuzz/%.c $(LIB_SRC)
	@mkdir -p $(dir $@)
	$(FUZZCC) $(CSTD) -Wall -Wextra -Werror -O1 -g -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=all $(PKG_CFLAGS) -o $@ $< $(LIB_SRC) $(LIBS)

$(BUILD)/bench/%: tests/bench/%.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(LIB_OBJ) $(LIBS)

unit: check-deps $(UNIT_BIN)
	@sh tests/run-unit.sh $(UNIT_BIN)

fuzz-build: check-deps $(FUZZ_BIN)
fuzz: fuzz-build
	@sh tests/run-fuzz.sh $(FUZZ_SECONDS) $(FUZZ_BIN)

# deb: t_30_deb_install.sh installs the package built from this tree.
# e2e: tests/e2e/run.sh runs the scenarios E2E_JOBS at a time (default 4: most
# of a scenario is waiting on timers and NAT expiry; each lab is named after
# its scenario's PID).  39 scenarios on 2 cores: 19 min one at a time, 5 with 4.
e2e: $(BUILD)/sipkeep deb
	@sh packaging/deps.sh e2e
	@sh tests/e2e/run.sh $(BUILD)/sipkeep

# e2e-asan: the e2e suite once more, against the ASan+UBSan daemon; any report
# (memory error, undefined behaviour, a leak at exit) fails its scenario, even
# when the daemon exits 0 (E2E_SAN=1: tests/e2e/run.sh and sk_stop look for the
# report files).  Every scenario that runs the daemon (E2E_JOBS at a time, as
# make e2e); skipped, as they never run this binary: t_00..t_03 (no sipkeep:
# the lab's baseline and reference client) and t_30 (installs and runs the
# .deb's normal build).  LAB_KILL_AFTER: the leak check at exit may take more
# than the lab's 5 s between SIGTERM and SIGKILL on a loaded machine.
E2E_ASAN_SKIP := t_00_direct_udp_fails t_01_baresip_outbound t_02_edge_tls_and_stun \
                 t_03_tcp_without_keepalives_fails t_30_deb_install
e2e-asan: $(BUILD)/asan/sipkeep
	@sh packaging/deps.sh e2e
	@E2E_SAN=1 E2E_SKIP="$(E2E_ASAN_SKIP)" LAB_KILL_AFTER=30 SK_STOP_GRACE=30 \
	    sh tests/e2e/run.sh $(BUILD)/asan/sipkeep

# e2e-valgrind: the normal daemon under valgrind through one short life
# (t_29_lifecycle_short: register over a TCP and a TLS flow, a call,
# de-register, register, status, SIGTERM); any memory error or a definite or
# indirect leak makes valgrind exit 1, which sk_stop turns into a failure.
VALGRIND := valgrind --leak-check=full --error-exitcode=1 \
            --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect
e2e-valgrind: $(BUILD)/sipkeep
	@sh packaging/deps.sh e2e
	@SK_WRAP="$(VALGRIND)" SK_START_TIMEOUT=60 SK_STOP_GRACE=60 LAB_KILL_AFTER=60 \
	    E2E_ONLY=t_29_lifecycle_short sh tests/e2e/run.sh $(BUILD)/sipkeep

# layers: the include order and file map of src/DESIGN.md (tests/layers.sh).
layers:
	@sh tests/layers.sh

check: layers all unit oom cross fuzz e2e e2e-asan e2e-valgrind packaging-check soak-check

# cross: the daemon and the unit tests built for armhf (32-bit) and s390x
# (big-endian) with Debian's cross compilers, the tests run under qemu-user
# (two named skips: what qemu-user does not emulate), and every src file
# compiled against musl (tests/cross.sh; target libraries unpacked into
# $(BUILD)/cross/<arch>/sysroot, not installed).  About 2 minutes on 2 cores.
.PHONY: cross
cross:
	@sh packaging/deps.sh cross
	@sh tests/cross.sh $(BUILD)

# Not `all`: installing must not call apt-get (deps.sh).
PREFIX  ?= /usr/local
install: $(BUILD)/sipkeep
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/man/man8 \
	    $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/doc/sipkeep
	install -m 0755 $(BUILD)/sipkeep $(DESTDIR)$(PREFIX)/sbin/sipkeep
	install -m 0644 packaging/man/sipkeep.8 $(DESTDIR)$(PREFIX)/share/man/man8/sipkeep.8
	install -m 0644 packaging/man/sipkeep.yaml.5 $(DESTDIR)$(PREFIX)/share/man/man5/sipkeep.yaml.5
	install -m 0644 config/sipkeep.yaml $(DESTDIR)$(PREFIX)/share/doc/sipkeep/sipkeep.yaml

# From a copy of the tree in build/deb-src/ with packaging/debian/ as debian/.
deb:
	@sh packaging/deps.sh pkg
	@sh packaging/deb.sh

packaging-check: deb
	@sh packaging/check.sh

# The README's first command: deps, build, then the narrated lab (tests/demo/demo.sh).
.PHONY: demo
demo: all
	@sh packaging/deps.sh e2e
	@bash tests/demo/demo.sh $(BUILD)/sipkeep

bench: all $(BENCH_BIN)
	@sh tests/bench/run.sh $(BUILD)/sipkeep $(BENCH_BIN)

# Soak with faults (tests/soak/soak.sh): 50 phones, calls from the wan side,
# a seeded fault schedule for DURATION seconds (SOAK_SEED=N picks another).
# soak-check is make check's 2-minute run (about 2.5 min with the warm-up).
DURATION ?= 600
.PHONY: soak soak-check
soak: all
	@sh packaging/deps.sh e2e
	@bash tests/soak/soak.sh $(BUILD)/sipkeep $(DURATION)
soak-check: all
	@sh packaging/deps.sh e2e
	@bash tests/soak/soak.sh $(BUILD)/sipkeep 120

clean:
	rm -rf $(BUILD)

# -type f: the cross sysroots under $(BUILD)/cross hold directories named *.d
-include $(shell find $(BUILD) -name '*.d' -type f 2>/dev/null)
