# Thin wrapper around Meson. `make check` and `make demo` set up a fresh
# Debian 12 machine themselves (apt-get, as root) before building.

BUILD      ?= build
ASAN_BUILD ?= build-asan
RELEASE_BUILD ?= build-release
PREFIX     ?= /usr/local
MESON_TEST  = meson test --print-errorlogs --num-processes 2

# Every Debian package the build, the tests and the demo need.
DEB_PACKAGES = gcc pkg-config meson ninja-build \
	libcurl4-openssl-dev libjansson-dev libssl-dev libarchive-dev libxml2-dev libmnl-dev \
	libcmocka-dev libmicrohttpd-dev \
	nftables iproute2 qemu-system-x86 busybox-static cpio e2fsprogs util-linux

.PHONY: all deps check test test-asan install demo bench format clean

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
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi

test: all
	$(MESON_TEST) -C $(BUILD)

test-asan: $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(MESON_TEST) -C $(ASAN_BUILD)

check: deps
	$(MAKE) test
	$(MAKE) test-asan

install: all
	meson install -C $(BUILD)

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

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(RELEASE_BUILD)
