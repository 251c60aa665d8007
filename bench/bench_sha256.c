/* SHA-256 throughput of the download verifier against sha256sum, on the same
 * file, in one run:
 *   1. the verifier's hash alone, fed 16 KiB at a time (CURL_MAX_WRITE_SIZE:
 *      what libcurl's write callback hands it), from a buffer in memory;
 *   2. the whole verifier sink (read the file, hash, write <dest>.part, fsync,
 *      rename) through sv_copy_verified, as "path" artifacts are installed;
 *   3. sha256sum FILE (coreutils), spawned with sv_run.
 * The file is read once beforehand so every pass starts from the page cache.
 * Usage: bench_sha256 [FILE [MIB]] (default /dev/shm/sv-bench-sha256, 512 MiB;
 * the file is created with pseudo-random bytes if missing and removed after). */
#include "images/verify.h"
#include "util/file.h"
#include "util/spawn.h"
#include <fcntl.h>
#include <smartvm/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int make_file(const char *path, size_t mib)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	static unsigned char buf[1 << 20];
	unsigned long long x = 88172645463325252ULL;
	for (size_t m = 0; m < mib; m++) {
		for (size_t i = 0; i < sizeof(buf); i += 8) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			memcpy(buf + i, &x, 8);
		}
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
			close(fd);
			return -1;
		}
	}
	return close(fd);
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/dev/shm/sv-bench-sha256";
	size_t mib = argc > 2 ? (size_t)atol(argv[2]) : 512;
	bool created = false;
	if (!sv_path_exists(path)) {
		if (make_file(path, mib) != 0) {
			perror(path);
			return 1;
		}
		created = true;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		perror(path);
		return 1;
	}
	size_t size = (size_t)st.st_size;
	const unsigned char *data = mmap(NULL, size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
	close(fd);
	if (data == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	double mibs = (double)size / (1024.0 * 1024.0);

	/* 1: the verifier's hash in 16 KiB chunks. */
	sv_sha256 h;
	char hex1[65], hex2[65];
	sv_sha256_init(&h);
	double t0 = now_s();
	for (size_t off = 0; off < size; off += 16384)
		sv_sha256_update(&h, data + off, size - off < 16384 ? size - off : 16384);
	sv_sha256_final_hex(&h, hex1);
	double t_hash = now_s() - t0;

	/* 2: the whole sink: read, hash, write .part, fsync, rename. */
	char dest[4096];
	snprintf(dest, sizeof(dest), "%s.copy", path);
	uint64_t copied = 0;
	t0 = now_s();
	int rc = sv_copy_verified(path, dest, hex1, (int64_t)size, hex2, &copied);
	double t_sink = now_s() - t0;
	unlink(dest);
	if (rc) {
		fprintf(stderr, "sink: %s\n", sv_last_error());
		return 1;
	}

	/* 3: sha256sum. */
	const char *args[] = { "sha256sum", path, NULL };
	int code = -1;
	char *out = NULL, *err = NULL;
	t0 = now_s();
	rc = sv_run(args, NULL, 600000, &code, &out, &err);
	double t_sum = now_s() - t0;
	if (rc || code != 0 || !out || strncmp(out, hex1, 64) != 0) {
		fprintf(stderr, "sha256sum failed or disagrees: %s\n", out ? out : sv_last_error());
		return 1;
	}

	printf("file: %s, %.0f MiB, sha256 %s\n", path, mibs, hex1);
	printf("verifier hash (16 KiB chunks, in memory): %7.3f s  %7.1f MiB/s\n", t_hash, mibs / t_hash);
	printf("verifier sink (read+hash+write+fsync):    %7.3f s  %7.1f MiB/s\n", t_sink, mibs / t_sink);
	printf("sha256sum (coreutils, process):           %7.3f s  %7.1f MiB/s\n", t_sum, mibs / t_sum);
	printf("verifier hash / sha256sum: %.2fx\n", t_sum / t_hash);
	free(out);
	free(err);
	munmap((void *)data, size);
	if (created)
		unlink(path);
	return 0;
}
