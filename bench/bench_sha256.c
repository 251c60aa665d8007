/* #5 Image verification: SHA-256 of a 512 MiB file by smartvm's streaming
 * verifier (images/verify.h: the same sv_sha256 context and 128 KiB reads
 * that sv_copy_verified uses) vs `sha256sum`, median of 3, page cache warm
 * for both (the file is read once first), runs interleaved. The digests must
 * agree, or there is no figure. The file is on /var/tmp: 512 MiB of tmpfs
 * would be memory taken from everything else on the machine. */
#include "bench.h"

#include "util/file.h"
#include "util/spawn.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "images/verify.h"

#define ID "5"
#define NAME "image verification"
#define RUNS 3
#define SIZE (512ull << 20)
#define READ_SIZE (1 << 17) /* sv_copy_verified's buffer */

static int smartvm_sha256(const char *path, char hex[65])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	sv_sha256 h;
	char *buf = malloc(READ_SIZE);
	if (!buf || sv_sha256_init(&h) != 0) {
		free(buf);
		close(fd);
		return -1;
	}
	ssize_t n;
	while ((n = read(fd, buf, READ_SIZE)) > 0 || (n < 0 && errno == EINTR))
		if (n > 0)
			sv_sha256_update(&h, buf, (size_t)n);
	close(fd);
	free(buf);
	if (n < 0) {
		sv_sha256_free(&h);
		return -1;
	}
	sv_sha256_final_hex(&h, hex);
	return 0;
}

static double sha256sum_once(const char *path, char hex[65], const char **why)
{
	const char *argv[] = {"sha256sum", path, NULL};
	int code = 0;
	char *out = NULL, *err = NULL;
	double t0 = bench_now_ms();
	int rc = sv_run(argv, NULL, 120000, &code, &out, &err);
	double t = bench_now_ms() - t0;
	if (rc || code != 0 || !out || strlen(out) < 64) {
		*why = rc ? sv_last_error() : "sha256sum failed";
		t = -1;
	} else {
		memcpy(hex, out, 64);
		hex[64] = '\0';
	}
	free(out);
	free(err);
	return t;
}

void bench_sha256(const bench_env *env, bench_report *rep)
{
	if (!bench_have_program("sha256sum")) {
		bench_skip(rep, ID, NAME, "sha256sum is not installed");
		return;
	}
	char *dir = bench_mkdtemp("/var/tmp", "smartvm-bench-sha");
	char *file = dir ? sv_path_join(dir, "image.raw") : NULL;
	if (!file || bench_make_sparse(file, SIZE, SIZE, 1) != 0 || bench_read_all(file) != 0) {
		bench_skip(rep, ID, NAME, "creating a 512 MiB file in /var/tmp failed");
		goto out;
	}
	int runs = env->quick ? 1 : RUNS;
	double sv[RUNS], base[RUNS];
	for (int r = 0; r < runs; r++) {
		char a[65], b[65];
		const char *why = "";
		for (int k = 0; k < 2; k++) {
			if ((k + r) % 2 == 0) {
				double t0 = bench_now_ms();
				if (smartvm_sha256(file, a) != 0) {
					bench_skip(rep, ID, NAME, "hashing %s failed", file);
					goto out;
				}
				sv[r] = bench_now_ms() - t0;
			} else if ((base[r] = sha256sum_once(file, b, &why)) < 0) {
				bench_skip(rep, ID, NAME, "%s", why);
				goto out;
			}
		}
		if (strcmp(a, b)) {
			bench_skip(rep, ID, NAME, "the digests differ: smartvm %s, sha256sum %s", a, b);
			goto out;
		}
	}
	double s = bench_median(sv, (size_t)runs), b = bench_median(base, (size_t)runs);
	char metric[64];
	snprintf(metric, sizeof(metric), "SHA-256 of 512 MiB, median of %d", runs);
	bench_add(rep, &(bench_row){.id = ID,
				    .benchmark = NAME,
				    .metric = metric,
				    .unit = "ms",
				    .value = s,
				    .baseline = b,
				    .baseline_name = "sha256sum",
				    .target = "<= 1.05x",
				    .target_met = s <= 1.05 * b,
				    .detail = json_pack("{s:o, s:o, s:f}", "smartvm",
							bench_stats_json(sv, (size_t)runs), "sha256sum",
							bench_stats_json(base, (size_t)runs),
							"smartvm_mib_per_s", 512.0 / (s / 1e3))});
out:
	bench_rm_rf(dir);
	free(dir);
	free(file);
}
