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
	nftables iproute2 qemu-system-x86 busybox-static cpio

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

demo: deps
	@echo "make demo arrives with the QEMU backend (issue: Real VMs); see README.md" >&2
	@exit 2

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
