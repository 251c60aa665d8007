# Thin wrapper around Meson. `make check` and `make demo` set up a fresh
# Debian 12 machine themselves (apt-get, as root) before building.

BUILD      ?= build
ASAN_BUILD ?= build-asan
RELEASE_BUILD ?= build-release
INSTALL_BUILD ?= build-install
FUZZ_BUILD ?= build-fuzz
ANALYZE_BUILD ?= build-analyze
ANALYZE_LTO_BUILD ?= build-analyze-lto
PREFIX     ?= /usr/local
MESON_TEST  = meson test --print-errorlogs --num-processes 2

# Every Debian package the build, the tests and the demo need.
DEB_PACKAGES = gcc pkg-config meson ninja-build \
	libcurl4-openssl-dev libjansson-dev libssl-dev libarchive-dev libxml2-dev libmnl-dev libnftnl-dev libnftables-dev \
	libcmocka-dev libmicrohttpd-dev \
	nftables iproute2 qemu-system-x86 busybox-static cpio e2fsprogs util-linux \
	wireguard-go wireguard-tools containernetworking-plugins podman runc containerd \
	clang libclang-rt-14-dev \
	abigail-tools doxygen

# apt-get that waits for another apt/dpkg to let go of its locks.
APT_GET = $(CURDIR)/.ci/apt-get-wait

.PHONY: all deps check test test-asan analyze fuzz install demo bench soak format clean abi-baseline docs

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD)/build.ninja:
	meson setup $(BUILD) --prefix=$(PREFIX)

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false \
		-Dc_args=-fno-sanitize-recover=all -Dbuildtype=debug

# Installs only what is missing; needs root (CI and the README's set-up run as root).
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(APT_GET) update && $(APT_GET) install -y --no-install-recommends $$missing; \
	fi

test: all
	$(MESON_TEST) -C $(BUILD)

test-asan: $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(MESON_TEST) -C $(ASAN_BUILD)

check: deps
	$(MAKE) test
	$(MAKE) docs
	BUILD=$(BUILD) .ci/check-install
	$(MAKE) test-asan
	$(MAKE) analyze

# The API reference from the public headers' comments (Doxygen), into
# $(BUILD)/docs/html; a warning fails it. The man pages are built with
# everything else (`make`), from the CLI's own help.
docs: $(BUILD)/build.ninja
	ninja -C $(BUILD) docs

# gcc's static analyzer (-fanalyzer) on everything but the tests, twice: each
# file on its own, then the whole library at its LTO link (paths across
# files). From scratch each time, as a finding is printed only when its file
# is compiled. Fails on any finding that .ci/analyzer-suppressions does not
# list with its reason.
$(ANALYZE_BUILD)/build.ninja:
	meson setup $(ANALYZE_BUILD) -Dtests=false -Dbuildtype=debug -Dwerror=false -Dc_args=-fanalyzer

$(ANALYZE_LTO_BUILD)/build.ninja:
	meson setup $(ANALYZE_LTO_BUILD) -Dtests=false -Dbuildtype=debug -Dwerror=false -Db_lto=true \
		-Ddefault_library=shared -Dc_args=-fanalyzer -Dc_link_args=-fanalyzer

analyze: $(ANALYZE_BUILD)/build.ninja $(ANALYZE_LTO_BUILD)/build.ninja
	ninja -C $(ANALYZE_BUILD) -t clean >/dev/null
	ninja -C $(ANALYZE_LTO_BUILD) -t clean >/dev/null
	@ninja -C $(ANALYZE_BUILD) > $(ANALYZE_BUILD)/analyzer.log 2>&1; rc=$$?; cat $(ANALYZE_BUILD)/analyzer.log; \
		[ $$rc -eq 0 ] || exit $$rc
	@meson compile -C $(ANALYZE_LTO_BUILD) smartvm:shared_library > $(ANALYZE_LTO_BUILD)/analyzer.log 2>&1; \
		rc=$$?; cat $(ANALYZE_LTO_BUILD)/analyzer.log; [ $$rc -eq 0 ] || exit $$rc
	cat $(ANALYZE_BUILD)/analyzer.log $(ANALYZE_LTO_BUILD)/analyzer.log | .ci/analyzer-check .ci/analyzer-suppressions

# From a tree of its own, without the tests and without fault injection (a
# tree with it installs nothing; README, "Testing"). PREFIX applies even when
# that tree was set up with another one: the prefix is compiled in (where the
# library finds its helper programs), so the tree is reconfigured and rebuilt
# before installing. DESTDIR is honoured.
$(INSTALL_BUILD)/build.ninja:
	meson setup $(INSTALL_BUILD) --prefix=$(PREFIX) -Dtests=false -Dfault_injection=disabled

install: $(INSTALL_BUILD)/build.ninja
	meson configure $(INSTALL_BUILD) --prefix=$(PREFIX)
	ninja -C $(INSTALL_BUILD)
	meson install -C $(INSTALL_BUILD)

# Records the ABI of the library just built as abi/<soname>.abi, the one the
# abi_compatible test compares with (abi/README.md: when to do this).
abi-baseline: all
	abi/check-abi record $(BUILD)/libsmartvm.so include abi

# Fuzzing (fuzz/README.md): every harness, one after the other, for
# FUZZ_SECONDS each, built with clang's libFuzzer, ASan and UBSan. New inputs
# go to $(FUZZ_BUILD)/corpus/NAME, crashes to $(FUZZ_BUILD)/artifacts; the
# committed corpus fuzz/corpus/NAME seeds each run and is never written.
# FUZZ_TARGETS=name picks harnesses. Fails if any harness found something.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= $(notdir $(wildcard fuzz/corpus/*))
FUZZ_FLAGS   ?= -timeout=25 -rss_limit_mb=2048 -close_fd_mask=3 -print_final_stats=1

$(FUZZ_BUILD)/build.ninja:
	CC=clang meson setup $(FUZZ_BUILD) -Dfuzzing=true -Dtests=false -Db_sanitize=address,undefined \
		-Db_lundef=false -Dwerror=false -Dc_args='-fsanitize=fuzzer-no-link -fno-sanitize-recover=all'

fuzz: deps $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD)
	@mkdir -p $(FUZZ_BUILD)/artifacts
	@failed=""; for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_BUILD)/corpus/$$t; \
		echo "== fuzz_$$t: $(FUZZ_SECONDS) s"; \
		$(FUZZ_BUILD)/fuzz/fuzz_$$t $(FUZZ_BUILD)/corpus/$$t fuzz/corpus/$$t -max_total_time=$(FUZZ_SECONDS) \
			-artifact_prefix=$(FUZZ_BUILD)/artifacts/$$t- $(FUZZ_FLAGS) || failed="$$failed $$t"; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: findings in:$$failed (inputs in $(FUZZ_BUILD)/artifacts)"; exit 1; fi

# The demo: build the minimal guest image and run commands in real VMs
# (QEMU microvm; TCG here, as /dev/kvm is a nested PVM hypervisor). The network
# check runs inside a private network namespace (unshare --net), so the
# bridge, TAP and NAT rules it creates never touch the host's real network.
SMARTVM     = $(BUILD)/smartvm
DEMO_SUBNET = 172.30.0.0/24
DEMO_GW     = 172.30.0.1

demo: deps all
	@echo
	@echo "== 1/3 smartvm image build-minimal: Debian cloud kernel (apt-get download), busybox, smartvm-init"
	$(SMARTVM) image build-minimal
	@echo
	@echo "== 2/3 boot a VM from the image and run 'uname -a' in it (only the command's output is printed)"
	$(SMARTVM) run --image minimal --vmm qemu -- uname -a
	@echo
	@echo "== 3/3 networking, inside a private network namespace: the VM gets an address on $(DEMO_SUBNET)"
	@echo "       from smartvm's bridge and pings the gateway $(DEMO_GW)"
	unshare --net sh -c 'ip link set lo up && exec $(SMARTVM) run --image minimal --vmm qemu --net \
		--subnet $(DEMO_SUBNET) -- sh -c "ip -4 -o addr show eth0; ping -c 3 -W 5 $(DEMO_GW)"'
	@echo
	@echo "== demo finished: each VM booted, ran its command, powered off and was cleaned up"

# Benchmarks: a release build (tests included: the fake Firecracker lives
# there; -O3 warnings in library code must not stop a benchmark run), then
# one run of every benchmark. Prints one table and writes
# bench/results.json. Benchmarks that lack root, qemu or an image say so and
# are skipped; timings never fail the target.
$(RELEASE_BUILD)/build.ninja:
	meson setup $(RELEASE_BUILD) -Dbuildtype=release -Dwerror=false

bench: deps $(RELEASE_BUILD)/build.ninja
	ninja -C $(RELEASE_BUILD)
	$(RELEASE_BUILD)/bench/smartvm-bench --json $(CURDIR)/bench/results.json

# The soak (issue 10): 4 processes race run / pause / snapshot / stop / kill
# / SIGKILL / gc on shared VM ids for SOAK_SECONDS, against the fake
# Firecracker and QEMU (SOAK_VMM=fake or qemu for one), then nothing may be
# left. Prints each operation's count and the leftovers.
SOAK_SECONDS ?= 600
SOAK_VMM ?=
soak: all
	SOAK_SECONDS=$(SOAK_SECONDS) meson test -C $(BUILD) --benchmark --suite soak --verbose \
		$(if $(SOAK_VMM),soak_$(SOAK_VMM))

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(RELEASE_BUILD) $(INSTALL_BUILD) $(FUZZ_BUILD) $(ANALYZE_BUILD) $(ANALYZE_LTO_BUILD)
