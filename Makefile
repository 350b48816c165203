# rdms -- top-level entry points (see README.md).
#
#   make          build build/rdms and build/rdmsd
#   make run      install what is needed, build, run rdmsd in the foreground,
#                 serving this host's xrdp/X2Go, or a demonstration lab when
#                 none runs (scripts/run.sh; scripts/demo-lab.sh stop ends it)
#   make check    install what is needed, build, run every test
#   make bench    print the benchmark figures
#   make bench-fleet  the fleet broker's figures (100 hosts in network namespaces)
#   make bench-fleet-pg  the same with two brokers on PostgreSQL, and a broker killed
#   make soak     rdmsd under 1,000 connections for 10 minutes (SOAK_SECONDS)
#   make bench-events  the session-events figures (bench/events.sh)
#   make bench-ntlm  the Negotiate/NTLM figures (bench/ntlm.sh)
#   make fuzz     run every libFuzzer target for 30 s (fuzz-long: an hour each)
#   make install  install programs, man pages, unit, PAM file, default config,
#                 the Cockpit page (cockpit/rdms)
#
# `make run` and `make check` need root on Debian 12: they apt-get install
# the build dependencies and the real servers and clients the tests drive.

BUILD      ?= build
ASAN_BUILD ?= build-asan
MESON      ?= meson
NINJA      ?= ninja

# Build dependencies, then what the tests run for real.  gxmessage is also
# what a host needs at run time: SendMessage's dialog (README); xclip reads
# the dialog's text back in tests/e2e/test_message_e2e.py.
BUILD_DEPS = meson ninja-build pkg-config gcc libc6-dev \
	libxml2-dev libmicrohttpd-dev libgnutls28-dev nettle-dev libpam0g-dev libsqlite3-dev \
	libcurl4-openssl-dev libssl-dev openssl libpq-dev libkrb5-dev gss-ntlmssp
# postgresql-15: the store conformance suite and the fleet lab start their own
# server from it (tests/unit/pg_server.c), as an unprivileged account; haproxy:
# the load balancer in front of two brokers, faketime: a host and a broker with
# clocks 10 minutes wrong (tests/e2e/test_fleet_ha_pg.py).
TEST_DEPS = postgresql-15 haproxy faketime clang libclang-rt-14-dev valgrind python3 procps iproute2 curl sqlite3 passwd systemd \
	xrdp xorgxrdp tigervnc-standalone-server tigervnc-tools xvfb freerdp2-x11 \
	x11-utils x11-xserver-utils xauth twm xdotool xprintidle gxmessage xclip \
	wsl uuid-runtime xsltproc python3-winrm python3-requests-ntlm python3-gssapi sblim-wbemcli \
	cockpit-ws cockpit-bridge cockpit-system chromium chromium-driver python3-selenium
# The X2Go server behind its own sshd and its client (tests/e2e/x2go_lab.sh).
# Installed without failing `deps`: where they cannot be had, the X2Go e2e
# test reports itself skipped instead.
X2GO_TEST_DEPS = x2goserver x2goserver-xsession openssh-server openssh-client \
	pyhoca-cli python3-x2go nxproxy
# What `make bench`, `make bench-fleet` and `make soak` drive rdmsd with
# (bench/wsman_bench.sh, bench/fleet.sh, bench/soak.sh).
BENCH_DEPS = wrk curl sqlite3 passwd iproute2

.PHONY: all build asan deps run check unit valgrind e2e fuzz fuzz-long bench bench-events bench-fleet bench-fleet-pg bench-ntlm soak \
	install lint clean

all: build

$(BUILD)/build.ninja:
	$(MESON) setup $(BUILD) --buildtype=debugoptimized

$(ASAN_BUILD)/build.ninja:
	$(MESON) setup $(ASAN_BUILD) --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false

build: $(BUILD)/build.ninja
	$(NINJA) -C $(BUILD)

asan: $(ASAN_BUILD)/build.ninja
	$(NINJA) -C $(ASAN_BUILD)

# Installs only what is missing, so a second run is quick.
deps:
	@missing=$$(for p in $(BUILD_DEPS) $(TEST_DEPS) $(BENCH_DEPS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends $$missing >/dev/null || exit 1; \
	fi
	@missing=$$(for p in $(X2GO_TEST_DEPS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends $$missing; } >/dev/null || \
			echo "deps: X2Go packages unavailable; its e2e test will be skipped"; \
	fi

run: deps build
	bash scripts/run.sh

check: deps build asan
	bash tests/run_all.sh

unit: asan
	$(MESON) test -C $(ASAN_BUILD) --suite unit --print-errorlogs

valgrind: build
	$(MESON) test -C $(BUILD) --suite unit --setup valgrind --print-errorlogs

e2e: build
	bash tests/e2e/run.sh

# fuzz/run.sh builds the targets itself (clang, ASan+UBSan) in build-fuzz.
fuzz:
	bash fuzz/run.sh

fuzz-long:
	bash fuzz/run.sh 3600

bench: deps build
	bash bench/run.sh

# Not part of bench: a few minutes, root; then the real xrdp lab's part.
bench-events: deps build
	BUILD=$(BUILD) bash bench/events.sh
	BUILD=$(BUILD) bash bench/events.sh xrdp
# Not part of bench: some 3 minutes, root (bench/ntlm.sh: handshakes, and Get
# encrypted and with Basic, taking turns).
bench-ntlm: deps build
	BUILD=$(BUILD) bash bench/ntlm.sh
# Not part of bench: it builds the fleet lab (root; FLEET_BENCH_HOSTS, 100
# by default, hosts in network namespaces) and takes some 8 minutes.
bench-fleet: deps build
	BUILD=$(BUILD) bash bench/fleet.sh
# The same on PostgreSQL 15 with two brokers behind haproxy, plus the kill -9
# figures and WAL per idle day (some 15 minutes).
bench-fleet-pg: deps build
	FLEET_BENCH_STORE=postgresql BUILD=$(BUILD) bash bench/fleet.sh

# Not part of bench: it takes SOAK_SECONDS (600) and needs root.
soak: deps build
	BUILD=$(BUILD) bash bench/soak.sh

install: build
	$(MESON) install -C $(BUILD)

# Both must be clean (.clang-tidy says which checks are off, and why).
lint: build
	cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,performance,portability \
		--inline-suppr -D_GNU_SOURCE -Isrc -I$(BUILD) src
	clang-tidy -p $(BUILD) --quiet $$(git ls-files 'src/*.c')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
