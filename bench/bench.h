/* What every benchmark shares: where the programs under test are, clocks and
 * CPU time, medians, scratch files, and the report the driver prints as one
 * table and writes as JSON.
 *
 * Benchmarks are not tests: they never fail on a timing. A benchmark that
 * lacks something it needs (root, qemu, an image) records a skip with the
 * reason instead of figures. Every figure that has a baseline was measured
 * against that baseline in the same run, interleaved where the runs are
 * short, because only ratios travel between machines. Targets are reported,
 * never asserted. Each benchmark runs in a process of its own (bench_main.c),
 * so peak-RSS figures and namespaces don't leak from one into the next. */
#ifndef SV_BENCH_H
#define SV_BENCH_H

#include <jansson.h>
#include <math.h>
#include <smartvm/error.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct {
	const char *fake_firecracker; /* NULL when the tests (and so the fake) were not built */
	const char *supervisor;
	const char *smartvm_cli;
	const char *source_root;
	bool quick; /* smaller counts: a smoke run, not figures */
} bench_env;

/* Rows and skips of one benchmark process, as JSON (sent to the driver). */
typedef struct {
	json_t *rows;
	json_t *skipped;
	json_t *steps; /* per-step breakdowns: [{"id", "benchmark", "steps": [...]}] */
} bench_report;

typedef struct {
	const char *id;		   /* the number, "1".."6" */
	const char *benchmark;	   /* "control plane", ... */
	const char *metric;	   /* "wall per lifecycle (median)" */
	const char *unit;	   /* "ms", "VMs/s", "KiB", "s" */
	double value;		   /* smartvm's figure */
	double baseline;	   /* NAN = no baseline */
	const char *baseline_name; /* "raw HTTP client", "cp --sparse=always" */
	const char *target;	   /* NULL = no target; e.g. "<= 1.2x" */
	int target_met;		   /* -1 = no target, 0 = missed, 1 = met */
	json_t *detail;		   /* optional, stolen: extra figures for the JSON */
} bench_row;

void bench_add(bench_report *r, const bench_row *row);
/* A per-step breakdown (bench_steps.h), stolen; printed as a table of its own. */
void bench_add_steps(bench_report *r, const char *id, const char *benchmark, json_t *steps);
void bench_skip(bench_report *r, const char *id, const char *benchmark, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The benchmarks (one file each). */
typedef void bench_fn(const bench_env *env, bench_report *rep);
bench_fn bench_control_plane, bench_launch, bench_memory, bench_staging, bench_sha256, bench_boot;
bench_fn bench_agent; /* issue 12 */
bench_fn bench_clone; /* issue 16 */
bench_fn bench_net;   /* issue 14 */
bench_fn bench_oci;   /* issue 13 */

/* Clocks: monotonic wall time and this process's (or its reaped children's)
 * user+system CPU time, both in milliseconds. */
double bench_now_ms(void);
double bench_cpu_ms(int who); /* RUSAGE_SELF / RUSAGE_CHILDREN */

double bench_median(const double *v, size_t n);
double bench_mean(const double *v, size_t n);
/* {"median":..., "mean":..., "min":..., "max":..., "n":...} */
json_t *bench_stats_json(const double *v, size_t n);

/* A fresh private directory under parent (malloc'd path); NULL on failure. */
char *bench_mkdtemp(const char *parent, const char *prefix);
/* Removes a directory tree made by the benchmarks (never crosses mounts). */
void bench_rm_rf(const char *path);

/* A sparse file of `size` bytes holding `data_bytes` of non-zero pseudo-random
 * data in `chunks` equal pieces spread evenly across it. 0 or -1 (errno). */
int bench_make_sparse(const char *path, uint64_t size, uint64_t data_bytes, unsigned chunks);
/* Reads a file to the end (warms the page cache). 0 or -1. */
int bench_read_all(const char *path);

/* A file holding text (0644); 0 or -1. */
int bench_write_text(const char *path, const char *text);

/* Runs argv (no shell; argv[0] found through PATH) to completion and returns
 * its wall time in ms, or a negative number if it could not run or failed;
 * *why (may be NULL) then gets a static description. */
double bench_run_timed(const char *const *argv, int timeout_ms, const char **why);

/* True if argv[0] names a program found through PATH. */
bool bench_have_program(const char *name);

/* VmHWM / VmRSS of this process in KiB, from /proc/self/status (-1 if unknown). */
long bench_vm_hwm_kib(void);
long bench_vm_rss_kib(void);

#endif
