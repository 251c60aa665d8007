/* #4 Drive staging: a 1 GiB sparse image holding 64 MiB of data (64 pieces of
 * 1 MiB spread evenly), copied by smartvm's sv_copy_sparse (what drive staging
 * calls) vs `cp --sparse=always` and `cp --reflink=auto` of the same file,
 * interleaved, median of 5, page cache warm. On /dev/shm (where VM
 * directories live by default) and on /var/tmp (a disk filesystem).
 *
 * sv_copy_sparse fsyncs its copy and cp does not; on a disk filesystem that
 * is the difference that matters, so the JSON also carries "cp then fsync"
 * (cp, then this process fsyncs the copy) to tell it apart from the copying
 * itself. Every copy is checked to have the source's size and to hold about
 * the data, not the whole gigabyte, and removed. */
#include "bench.h"

#include "util/file.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#define ID "4"
#define NAME "drive staging"
#define RUNS 5
#define SIZE (1ull << 30)
#define DATA (64ull << 20)

enum { SV, CP_SPARSE, CP_REFLINK, CP_FSYNC, N_WAYS };

static const char *const way_names[N_WAYS] = {"sv_copy_sparse", "cp --sparse=always", "cp --reflink=auto",
					      "cp --sparse=always, then fsync"};

/* The copy must be complete and sparse; -1 otherwise. */
static int check_copy(const char *dst)
{
	struct stat st;
	if (stat(dst, &st) != 0 || (uint64_t)st.st_size != SIZE)
		return -1;
	/* Allocated blocks: the data, plus some slack for metadata. */
	return (uint64_t)st.st_blocks * 512 <= DATA + (DATA / 4) ? 0 : -1;
}

static double copy_once(int way, const char *src, const char *dst, const char **why)
{
	double t;
	if (way == SV) {
		double t0 = bench_now_ms();
		if (sv_copy_sparse(src, dst) != 0) {
			*why = sv_last_error();
			return -1;
		}
		t = bench_now_ms() - t0;
	} else {
		const char *argv[] = {"cp", way == CP_REFLINK ? "--reflink=auto" : "--sparse=always", src,
				      dst, NULL};
		double t0 = bench_now_ms();
		if (bench_run_timed(argv, 120000, why) < 0)
			return -1;
		if (way == CP_FSYNC) {
			int fd = open(dst, O_WRONLY | O_CLOEXEC);
			if (fd < 0 || fsync(fd) != 0) {
				*why = "fsync of cp's copy failed";
				if (fd >= 0)
					close(fd);
				return -1;
			}
			close(fd);
		}
		t = bench_now_ms() - t0;
	}
	if (check_copy(dst) != 0) {
		*why = "the copy is not the source's size or not sparse";
		unlink(dst);
		return -1;
	}
	unlink(dst);
	return t;
}

static const char *fs_type(const char *path)
{
	struct statfs sf;
	if (statfs(path, &sf) != 0)
		return "?";
	switch ((unsigned long)sf.f_type) {
	case 0x01021994:
		return "tmpfs";
	case 0xEF53:
		return "ext4";
	case 0x9123683E:
		return "btrfs";
	case 0x58465342:
		return "xfs";
	case 0x794c7630:
		return "overlayfs";
	}
	return "other";
}

static void on_filesystem(const bench_env *env, bench_report *rep, const char *parent)
{
	char name[64];
	snprintf(name, sizeof(name), "%s (%s, %s)", NAME, parent, fs_type(parent));
	char *dir = bench_mkdtemp(parent, "smartvm-bench-stage");
	char *src = dir ? sv_path_join(dir, "image.raw") : NULL;
	char *dst = dir ? sv_path_join(dir, "staged.raw") : NULL;
	if (!dst || bench_make_sparse(src, SIZE, DATA, 64) != 0 || bench_read_all(src) != 0) {
		bench_skip(rep, ID, name, "creating a 1 GiB sparse image in %s failed", parent);
		goto out;
	}
	int runs = env->quick ? 1 : RUNS;
	double t[N_WAYS][RUNS];
	/* Rotate the order every run so no copy always follows the same one. */
	for (int r = 0; r < runs; r++) {
		for (int k = 0; k < N_WAYS; k++) {
			int way = (k + r) % N_WAYS;
			const char *why = "";
			t[way][r] = copy_once(way, src, dst, &why);
			if (t[way][r] < 0) {
				bench_skip(rep, ID, name, "%s: %s", way_names[way], why);
				goto out;
			}
		}
	}
	double med[N_WAYS];
	json_t *detail = json_object();
	for (int w = 0; w < N_WAYS; w++) {
		med[w] = bench_median(t[w], (size_t)runs);
		json_object_set_new(detail, way_names[w], bench_stats_json(t[w], (size_t)runs));
	}
	json_t *detail2 = json_deep_copy(detail);
	char metric[96];
	snprintf(metric, sizeof(metric), "1 GiB sparse, 64 MiB data, median of %d", runs);
	for (int w = CP_SPARSE; w <= CP_REFLINK; w++)
		bench_add(rep, &(bench_row){.id = ID,
					    .benchmark = name,
					    .metric = metric,
					    .unit = "ms",
					    .value = med[SV],
					    .baseline = med[w],
					    .baseline_name = way_names[w],
					    .target = "<= 1.0x",
					    .target_met = med[SV] <= med[w],
					    .detail = w == CP_SPARSE ? detail : detail2});
out:
	bench_rm_rf(dir);
	free(dir);
	free(src);
	free(dst);
}

void bench_staging(const bench_env *env, bench_report *rep)
{
	if (!bench_have_program("cp")) {
		bench_skip(rep, ID, NAME, "cp is not installed");
		return;
	}
	on_filesystem(env, rep, "/dev/shm");
	on_filesystem(env, rep, "/var/tmp");
}
