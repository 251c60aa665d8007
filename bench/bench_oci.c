/* #13 The OCI runtime (podman, QEMU TCG), each figure against a baseline
 * measured in the same run:
 *
 *  - `podman run --rm --network none IMG true` with smartvm-oci as the
 *    runtime vs `smartvm run --image minimal -- true` (the same VM size and
 *    kernel): the OCI path's own overhead (podman, conmon, the rootfs image,
 *    the container process). Target <= 1.2x. The same podman command with
 *    runc is the second baseline (namespaces, no VM), reported without a
 *    target. Interleaved runs, medians;
 *  - rootfs directory -> VM root disk (oci_rootfs_build: sizing walk +
 *    `mkfs.ext4 -d` into a sparse file) per 100 MiB of tree, vs `cp -a` of
 *    the same tree (writing the bytes once), interleaved.
 *
 * IMG is a busybox tree imported offline (`podman import`) into a podman
 * store under the benchmark's directory (vfs, cgroupfs, no events, the
 * --ulimit values these hosts need: see test_oci_podman.c). smartvm-oci runs
 * with its default --root (podman's cleanup would not get a --root passed as
 * a runtime flag). Skips without root, podman, runc or QEMU, or when the
 * minimal image cannot be had. */
#include "bench.h"

#include "oci_rootfs.h"
#include "util/file.h"
#include "util/spawn.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ID "13"
#define NAME "OCI runtime (podman, QEMU TCG)"
#define RUN_TIMEOUT_MS 600000
#define IMAGE "localhost/smartvm-bench-oci:1"
#define MIB (1024.0 * 1024.0)
#define TREE_FILES 1600
#define TREE_FILE_BYTES (64 * 1024) /* 1600 x 64 KiB = 100 MiB */

typedef struct {
	char *dir, *data, *runtime_dir, *tree;
	char *store, *run_root, *tmp, *data_flag, *data_dir_flag, *runtime_dir_flag;
	char why[1024];
} ctx;

static char *join(const char *a, const char *b) { return sv_path_join(a, b); }

/* argv without a shell; false (why filled) on failure. */
static bool run_ok(ctx *c, const char *const *argv)
{
	const char *why = NULL;
	if (bench_run_timed(argv, RUN_TIMEOUT_MS, &why) >= 0)
		return true;
	snprintf(c->why, sizeof(c->why), "%s", why);
	return false;
}

/* podman with its storage under the benchmark's directory, the runtime
 * (smartvm-oci or runc), then args; timed; < 0 on failure (why filled). */
static double podman(ctx *c, bool smartvm, const char *const *args)
{
	const char *argv[64] = {"podman",    "--root",		 c->store,   "--runroot",
				c->run_root, "--tmpdir",	 c->tmp,     "--storage-driver",
				"vfs",	     "--cgroup-manager", "cgroupfs", "--events-backend",
				"none",	     "--runtime"};
	size_t n = 14;
	if (smartvm) {
		const char *rt[] = {BENCH_SMARTVM_OCI, "--runtime-flag", c->data_flag, "--runtime-flag",
				    "vmm=qemu",	       "--runtime-flag", "accel=tcg"};
		for (size_t i = 0; i < sizeof(rt) / sizeof(*rt); i++)
			argv[n++] = rt[i];
	} else {
		argv[n++] = "runc";
	}
	for (size_t i = 0; args[i] && n < 63; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	const char *why = NULL;
	double ms = bench_run_timed(argv, RUN_TIMEOUT_MS, &why);
	if (ms < 0)
		snprintf(c->why, sizeof(c->why), "%s", why);
	return ms;
}

static double podman_run_true(ctx *c, bool smartvm)
{
	const char *args[] = {
	    "run", "--rm", "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
	    IMAGE, "true", NULL};
	return podman(c, smartvm, args);
}

static double smartvm_run_true(ctx *c, const bench_env *env)
{
	const char *argv[] = {env->smartvm_cli,
			      "run",
			      c->data_dir_flag,
			      c->runtime_dir_flag,
			      "--image",
			      "minimal",
			      "--vmm",
			      "qemu",
			      "--accel",
			      "tcg",
			      "--",
			      "true",
			      NULL};
	const char *why = NULL;
	double ms = bench_run_timed(argv, RUN_TIMEOUT_MS, &why);
	if (ms < 0)
		snprintf(c->why, sizeof(c->why), "%s", why);
	return ms;
}

/* The minimal image in c->data, the busybox tree, imported into podman. */
static bool prepare(ctx *c, const bench_env *env)
{
	const char *cache = getenv("SMARTVM_TEST_IMAGE_DIR");
	if (!cache || !*cache)
		cache = "/var/tmp/smartvm-test-images";
	const char *image[] = {env->smartvm_cli, "image", "build-minimal", "--cache-dir", cache,
			       c->data_dir_flag, NULL};
	if (!run_ok(c, image))
		return false;
	char *rootfs = join(c->dir, "image-rootfs"), *bin = join(rootfs, "bin"), *bb = join(bin, "busybox"),
	     *tar = join(c->dir, "image.tar");
	bool ok = false;
	if (mkdir(rootfs, 0755) < 0 || mkdir(bin, 0755) < 0) {
		snprintf(c->why, sizeof(c->why), "mkdir %s: %s", bin, strerror(errno));
		goto out;
	}
	const char *cp[] = {"cp", "/bin/busybox", bb, NULL};
	if (!run_ok(c, cp))
		goto out;
	static const char *const applets[] = {"sh", "true", NULL};
	for (size_t i = 0; applets[i]; i++) {
		char *link = join(bin, applets[i]);
		int rc = symlink("busybox", link);
		free(link);
		if (rc < 0) {
			snprintf(c->why, sizeof(c->why), "symlink: %s", strerror(errno));
			goto out;
		}
	}
	const char *tar_argv[] = {"tar", "-C", rootfs, "-cf", tar, ".", NULL};
	const char *import[] = {"import", tar, IMAGE, NULL};
	ok = run_ok(c, tar_argv) && podman(c, false, import) >= 0;
out:
	free(rootfs);
	free(bin);
	free(bb);
	free(tar);
	return ok;
}

/* 100 MiB of incompressible files in 16 directories, plus nothing else:
 * the bytes mkfs.ext4 -d and cp -a both have to write. Returns its bytes,
 * or 0 (why filled). */
static double make_tree(ctx *c)
{
	if (mkdir(c->tree, 0755) < 0) {
		snprintf(c->why, sizeof(c->why), "mkdir %s: %s", c->tree, strerror(errno));
		return 0;
	}
	unsigned char *buf = malloc(TREE_FILE_BYTES);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	double total = 0;
	for (int i = 0; buf && i < TREE_FILES; i++) {
		char sub[32], name[64];
		snprintf(sub, sizeof(sub), "d%02d", i % 16);
		char *subdir = join(c->tree, sub);
		if (i < 16)
			mkdir(subdir, 0755);
		snprintf(name, sizeof(name), "f%04d", i);
		char *path = join(subdir, name);
		for (size_t k = 0; k < TREE_FILE_BYTES; k += 8) { /* xorshift: no compression, no holes */
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			memcpy(buf + k, &x, 8);
		}
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		bool ok = fd >= 0 && write(fd, buf, TREE_FILE_BYTES) == TREE_FILE_BYTES;
		if (fd >= 0)
			close(fd);
		free(path);
		free(subdir);
		if (!ok) {
			snprintf(c->why, sizeof(c->why), "writing the tree: %s", strerror(errno));
			free(buf);
			return 0;
		}
		total += TREE_FILE_BYTES;
	}
	free(buf);
	return total;
}

/* ms of oci_rootfs_build of the tree into c->dir, or < 0. */
static double rootfs_build_ms(ctx *c, int dirfd)
{
	unlinkat(dirfd, "root.ext4", 0);
	double t0 = bench_now_ms();
	int rc = oci_rootfs_build(dirfd, c->dir, "root.ext4", c->tree, NULL);
	double t = bench_now_ms() - t0;
	unlinkat(dirfd, "root.ext4", 0);
	if (rc < 0) {
		snprintf(c->why, sizeof(c->why), "oci_rootfs_build: %s", sv_last_error());
		return -1;
	}
	return t;
}

static double cp_ms(ctx *c)
{
	char *dst = join(c->dir, "tree-copy");
	bench_rm_rf(dst);
	const char *argv[] = {"cp", "-a", c->tree, dst, NULL};
	const char *why = NULL;
	double t = bench_run_timed(argv, RUN_TIMEOUT_MS, &why);
	if (t < 0)
		snprintf(c->why, sizeof(c->why), "%s", why);
	bench_rm_rf(dst);
	free(dst);
	return t;
}

static void measure_rootfs(const bench_env *env, bench_report *rep, ctx *c)
{
	const char *name = "OCI rootfs -> VM root disk";
	double bytes = make_tree(c);
	int dirfd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (bytes <= 0 || dirfd < 0) {
		bench_skip(rep, ID, name, "%s", bytes <= 0 ? c->why : strerror(errno));
		if (dirfd >= 0)
			close(dirfd);
		return;
	}
	int runs = env->quick ? 1 : 5;
	double build[8], copy[8];
	/* Warm-up: the tree in the page cache for both. */
	if (cp_ms(c) < 0 || rootfs_build_ms(c, dirfd) < 0) {
		bench_skip(rep, ID, name, "%s", c->why);
		close(dirfd);
		return;
	}
	double per100 = 100 * MIB / bytes;
	for (int i = 0; i < runs; i++) {
		build[i] = rootfs_build_ms(c, dirfd) * per100;
		copy[i] = cp_ms(c) * per100;
		if (build[i] < 0 || copy[i] < 0) {
			bench_skip(rep, ID, name, "%s", c->why);
			close(dirfd);
			return;
		}
	}
	close(dirfd);
	json_t *detail =
	    json_pack("{s:o, s:o, s:f}", "build_ms_per_100mib", bench_stats_json(build, (size_t)runs),
		      "cp_ms_per_100mib", bench_stats_json(copy, (size_t)runs), "tree_mib", bytes / MIB);
	bench_add(rep,
		  &(bench_row){.id = ID,
			       .benchmark = name,
			       .metric = "rootfs dir -> ext4 (mkfs.ext4 -d) per 100 MiB of tree (median)",
			       .unit = "ms",
			       .value = bench_median(build, (size_t)runs),
			       .baseline = bench_median(copy, (size_t)runs),
			       .baseline_name = "cp -a of the same tree",
			       .target_met = -1,
			       .detail = detail});
}

static void measure_podman(const bench_env *env, bench_report *rep, ctx *c)
{
	int runs = env->quick ? 1 : 5;
	double oci[8], runc[8], plain[8];
	/* Warm-up of each path (podman's first run sets up its store). */
	if (podman_run_true(c, false) < 0 || podman_run_true(c, true) < 0 || smartvm_run_true(c, env) < 0) {
		bench_skip(rep, ID, NAME, "%s", c->why);
		return;
	}
	for (int i = 0; i < runs; i++) {
		oci[i] = podman_run_true(c, true);
		runc[i] = podman_run_true(c, false);
		plain[i] = smartvm_run_true(c, env);
		if (oci[i] < 0 || runc[i] < 0 || plain[i] < 0) {
			bench_skip(rep, ID, NAME, "%s", c->why);
			return;
		}
	}
	double oci_med = bench_median(oci, (size_t)runs), plain_med = bench_median(plain, (size_t)runs);
	json_t *detail = json_pack(
	    "{s:o, s:o, s:o}", "podman_smartvm_oci", bench_stats_json(oci, (size_t)runs), "podman_runc",
	    bench_stats_json(runc, (size_t)runs), "smartvm_run", bench_stats_json(plain, (size_t)runs));
	bench_add(rep, &(bench_row){.id = ID,
				    .benchmark = NAME,
				    .metric = "podman run --rm true with smartvm-oci vs smartvm run (median)",
				    .unit = "ms",
				    .value = oci_med,
				    .baseline = plain_med,
				    .baseline_name = "smartvm run --image minimal -- true",
				    .target = "<= 1.2x",
				    .target_met = oci_med <= 1.2 * plain_med,
				    .detail = detail});
	bench_add(rep, &(bench_row){.id = ID,
				    .benchmark = NAME,
				    .metric = "podman run --rm true with smartvm-oci vs runc (median)",
				    .unit = "ms",
				    .value = oci_med,
				    .baseline = bench_median(runc, (size_t)runs),
				    .baseline_name = "the same podman run with runc",
				    .target_met = -1});
}

static void ctx_free(ctx *c)
{
	if (c->store) { /* podman's own record of the image, then its files */
		const char *rmi[] = {"rmi", "-a", "-f", NULL};
		podman(c, false, rmi);
	}
	if (c->dir)
		bench_rm_rf(c->dir);
	free(c->dir);
	free(c->data);
	free(c->runtime_dir);
	free(c->tree);
	free(c->store);
	free(c->run_root);
	free(c->tmp);
	free(c->data_flag);
	free(c->data_dir_flag);
	free(c->runtime_dir_flag);
}

void bench_oci(const bench_env *env, bench_report *rep)
{
	if (geteuid() != 0) {
		bench_skip(rep, ID, NAME, "needs root (podman with smartvm-oci, QEMU)");
		return;
	}
	ctx c = {0};
	c.dir = bench_mkdtemp("/var/tmp", "smartvm-bench-oci");
	if (!c.dir) {
		bench_skip(rep, ID, NAME, "could not make a directory under /var/tmp: %s", strerror(errno));
		return;
	}
	c.tree = join(c.dir, "tree");
	/* The rootfs figure needs only mkfs.ext4 (e2fsprogs, always there). */
	measure_rootfs(env, rep, &c);
	if (!bench_have_program("podman") || !bench_have_program("runc"))
		bench_skip(rep, ID, NAME, "podman or runc is not installed (make deps installs them)");
	else if (!bench_have_program("qemu-system-x86_64"))
		bench_skip(rep, ID, NAME, "qemu-system-x86_64 is not installed");
	else if (access(BENCH_SMARTVM_OCI, X_OK) != 0)
		bench_skip(rep, ID, NAME, "smartvm-oci is not built (%s)", BENCH_SMARTVM_OCI);
	else {
		c.data = join(c.dir, "data");
		c.runtime_dir = join(c.dir, "run");
		c.store = join(c.dir, "podman-store");
		c.run_root = join(c.dir, "podman-run");
		c.tmp = join(c.dir, "podman-tmp");
		if (asprintf(&c.data_flag, "data-dir=%s", c.data) < 0 ||
		    asprintf(&c.data_dir_flag, "--data-dir=%s", c.data) < 0 ||
		    asprintf(&c.runtime_dir_flag, "--runtime-dir=%s", c.runtime_dir) < 0 ||
		    mkdir(c.data, 0700) < 0 || mkdir(c.runtime_dir, 0700) < 0)
			bench_skip(rep, ID, NAME, "setting up: %s", strerror(errno));
		else if (!prepare(&c, env))
			bench_skip(rep, ID, NAME, "%s", c.why);
		else
			measure_podman(env, rep, &c);
	}
	ctx_free(&c);
}
