/* The benchmarks' shared helpers (see bench.h): clocks, statistics, scratch
 * files, timed runs of baseline programs, and report rows.
 *
 * Baseline programs run through sv_run with an argument vector, never a
 * shell, and their wall time includes their exec, as a user's would. Nothing
 * here judges a figure: rows carry the target and whether it was met, and the
 * driver prints them. */
#include "bench.h"

#include "util/file.h"
#include "util/spawn.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

double bench_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

double bench_cpu_ms(int who)
{
	struct rusage ru;
	if (getrusage(who, &ru) != 0)
		return NAN;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double bench_median(const double *v, size_t n)
{
	if (n == 0)
		return NAN;
	double *s = malloc(n * sizeof(*s));
	if (!s)
		return NAN;
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	double m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	free(s);
	return m;
}

double bench_mean(const double *v, size_t n)
{
	if (n == 0)
		return NAN;
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	return sum / (double)n;
}

json_t *bench_stats_json(const double *v, size_t n)
{
	double lo = n ? v[0] : NAN, hi = n ? v[0] : NAN;
	for (size_t i = 1; i < n; i++) {
		lo = v[i] < lo ? v[i] : lo;
		hi = v[i] > hi ? v[i] : hi;
	}
	return json_pack("{s:f, s:f, s:f, s:f, s:I}", "median", bench_median(v, n), "mean", bench_mean(v, n),
			 "min", lo, "max", hi, "n", (json_int_t)n);
}

/* JSON has no NaN: absent figures are null. */
static json_t *number_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

void bench_add(bench_report *r, const bench_row *row)
{
	double ratio = isfinite(row->value) && isfinite(row->baseline) && row->baseline != 0
			   ? row->value / row->baseline
			   : NAN;
	json_t *o =
	    json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:s?, s:o, s:s?, s:o}", "id", row->id, "benchmark",
		      row->benchmark, "metric", row->metric, "unit", row->unit, "smartvm",
		      number_or_null(row->value), "baseline", number_or_null(row->baseline), "baseline_name",
		      row->baseline_name, "ratio", number_or_null(ratio), "target", row->target, "target_met",
		      row->target_met < 0 ? json_null() : json_boolean(row->target_met));
	if (o && row->detail)
		json_object_set(o, "detail", row->detail);
	json_decref(row->detail);
	if (o)
		json_array_append_new(r->rows, o);
}

void bench_add_steps(bench_report *r, const char *id, const char *benchmark, json_t *steps)
{
	if (steps)
		json_array_append_new(
		    r->steps, json_pack("{s:s, s:s, s:o}", "id", id, "benchmark", benchmark, "steps", steps));
}

void bench_skip(bench_report *r, const char *id, const char *benchmark, const char *fmt, ...)
{
	char reason[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	json_array_append_new(
	    r->skipped, json_pack("{s:s, s:s, s:s}", "id", id, "benchmark", benchmark, "reason", reason));
}

char *bench_mkdtemp(const char *parent, const char *prefix)
{
	char *path = NULL;
	if (asprintf(&path, "%s/%s.XXXXXX", parent, prefix) < 0)
		return NULL;
	if (!mkdtemp(path)) {
		free(path);
		return NULL;
	}
	return path;
}

void bench_rm_rf(const char *path)
{
	if (path && sv_rm_rf(path) != 0)
		fprintf(stderr, "bench: removing %s failed\n", path);
}

/* xorshift64*: fast, non-zero bytes that no filesystem can compress or
 * detect as holes. */
static void fill_random(unsigned char *buf, size_t len, uint64_t *state)
{
	for (size_t i = 0; i + 8 <= len; i += 8) {
		uint64_t x = *state;
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		*state = x;
		uint64_t v = (x * 0x2545F4914F6CDD1DULL) | 0x0101010101010101ULL;
		memcpy(buf + i, &v, 8);
	}
}

int bench_make_sparse(const char *path, uint64_t size, uint64_t data_bytes, unsigned chunks)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	int rc = ftruncate(fd, (off_t)size);
	uint64_t chunk = chunks ? data_bytes / chunks : 0;
	uint64_t stride = chunks ? size / chunks : 0;
	size_t bufsize = 1 << 20;
	unsigned char *buf = malloc(bufsize);
	uint64_t state = 0x9E3779B97F4A7C15ULL ^ (uint64_t)size;
	if (!buf)
		rc = -1;
	for (unsigned c = 0; rc == 0 && c < chunks; c++) {
		uint64_t off = (uint64_t)c * stride, left = chunk;
		while (rc == 0 && left > 0) {
			size_t n = left < bufsize ? (size_t)left : bufsize;
			fill_random(buf, n, &state);
			if (pwrite(fd, buf, n, (off_t)off) != (ssize_t)n)
				rc = -1;
			off += n;
			left -= n;
		}
	}
	free(buf);
	int e = errno;
	if (close(fd) != 0)
		rc = -1;
	if (rc)
		unlink(path);
	errno = e;
	return rc;
}

int bench_read_all(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	static char buf[1 << 20];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	close(fd);
	return n < 0 ? -1 : 0;
}

int bench_write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	size_t len = strlen(text);
	int rc = write(fd, text, len) == (ssize_t)len ? 0 : -1;
	return close(fd) == 0 ? rc : -1;
}

double bench_run_timed(const char *const *argv, int timeout_ms, const char **why)
{
	int code = 0;
	char *err = NULL;
	double t0 = bench_now_ms();
	int rc = sv_run(argv, NULL, timeout_ms, &code, NULL, &err);
	double t = bench_now_ms() - t0;
	if (rc || code != 0) {
		static __thread char msg[512];
		snprintf(msg, sizeof(msg), "%s %s: %s", argv[0], rc ? "could not run" : "failed",
			 rc ? sv_last_error() : (err && *err ? err : "non-zero exit"));
		if (why)
			*why = msg;
		free(err);
		return -1;
	}
	free(err);
	return t;
}

bool bench_have_program(const char *name)
{
	const char *path = getenv("PATH");
	char *copy = strdup(path ? path : "/usr/bin:/bin");
	bool found = false;
	for (char *save = NULL, *dir = strtok_r(copy, ":", &save); dir && !found;
	     dir = strtok_r(NULL, ":", &save)) {
		char *full = sv_path_join(dir, name);
		found = full && access(full, X_OK) == 0;
		free(full);
	}
	free(copy);
	return found;
}

static long status_kib(const char *key)
{
	FILE *f = fopen("/proc/self/status", "re");
	if (!f)
		return -1;
	char line[256];
	long v = -1;
	size_t klen = strlen(key);
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			v = strtol(line + klen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

long bench_vm_hwm_kib(void) { return status_kib("VmHWM"); }
long bench_vm_rss_kib(void) { return status_kib("VmRSS"); }
