/* smartvm-bench: runs the benchmarks, prints one table, writes the JSON.
 *
 *   smartvm-bench [--json PATH] [--only 1,3,...] [--quick]
 *
 * Each benchmark runs in a forked process of its own, so one benchmark's peak
 * RSS, network namespace, child processes or crash can't touch the next; the
 * child sends its rows back as JSON over a pipe. The driver itself never
 * fails on a figure: it exits non-zero only when it could not run at all
 * (bad arguments, the JSON file not writable). The table is Markdown, so the
 * README can carry it as printed. */
#include "bench.h"

#include "util/spawn.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef BENCH_FAKE_FIRECRACKER
#define BENCH_FAKE_FIRECRACKER ""
#endif

/* No benchmark should come near this; the boot benchmark (20 TCG boots) is
 * the longest at a few minutes. */
#define BENCH_PROCESS_TIMEOUT_MS (30 * 60 * 1000)

typedef struct {
	const char *id;
	const char *name;
	bench_fn *fn;
} bench_entry;

static const bench_entry benches[] = {
    {"1", "control plane", bench_control_plane},
    {"2", "launch throughput", bench_launch},
    {"3", "memory", bench_memory},
    {"4", "drive staging", bench_staging},
    {"5", "image verification", bench_sha256},
    {"6", "real boot", bench_boot},
    {"12", "guest agent", bench_agent},
    {"13", "OCI runtime", bench_oci},
    {"14", "networking", bench_net},
    {"16", "snapshot clones", bench_clone},
};
#define N_BENCHES (sizeof(benches) / sizeof(benches[0]))

static void usage(FILE *to)
{
	fprintf(to, "usage: smartvm-bench [--json PATH] [--only 1,3,...] [--quick]\n"
		    "  --json PATH  also write the results as JSON to PATH\n"
		    "  --only LIST  run only these benchmarks (1 control plane, 2 launch throughput,\n"
		    "               3 memory, 4 drive staging, 5 image verification, 6 real boot,\n"
		    "               12 guest agent, 14 networking, 16 snapshot clones)\n"
		    "  --quick      small counts: checks that everything runs; the figures mean little\n");
}

static bool selected(const char *only, const char *id)
{
	if (!only)
		return true;
	char *copy = strdup(only);
	bool yes = false;
	for (char *save = NULL, *t = strtok_r(copy, ",", &save); t && !yes; t = strtok_r(NULL, ",", &save))
		yes = !strcmp(t, id);
	free(copy);
	return yes;
}

/* Reads everything the child writes until EOF or the deadline. */
static char *read_child(int fd, long long deadline_ms)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	while (buf) {
		int left = (int)(deadline_ms - sv_now_ms());
		if (left <= 0)
			break;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, left) <= 0)
			continue;
		if (len + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (buf)
		buf[len] = '\0';
	return buf;
}

static void run_one(const bench_entry *b, const bench_env *env, bench_report *all)
{
	fprintf(stderr, "bench: #%s %s ...\n", b->id, b->name);
	double t0 = bench_now_ms();
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) != 0) {
		bench_skip(all, b->id, b->name, "could not create a pipe: %s", strerror(errno));
		return;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		bench_skip(all, b->id, b->name, "could not fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return;
	}
	if (pid == 0) {
		close(fds[0]);
		bench_report rep = {json_array(), json_array(), json_array()};
		b->fn(env, &rep);
		json_t *o = json_pack("{s:o, s:o, s:o}", "rows", rep.rows, "skipped", rep.skipped, "steps",
				      rep.steps);
		char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
		size_t len = text ? strlen(text) : 0, off = 0;
		while (off < len) {
			ssize_t n = write(fds[1], text + off, len - off);
			if (n <= 0)
				break;
			off += (size_t)n;
		}
		fflush(NULL);
		_exit(text ? 0 : 1);
	}
	close(fds[1]);
	char *text = read_child(fds[0], sv_now_ms() + BENCH_PROCESS_TIMEOUT_MS);
	close(fds[0]);
	int status = 0;
	if (sv_reap(pid, 1000, &status) != 0) {
		kill(pid, SIGKILL);
		sv_reap(pid, 5000, &status);
	}
	json_t *o = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	if (!o) {
		bench_skip(all, b->id, b->name, "the benchmark process ended without results (%s)",
			   sv_describe_wait_status(status));
		return;
	}
	json_array_extend(all->rows, json_object_get(o, "rows"));
	json_array_extend(all->skipped, json_object_get(o, "skipped"));
	json_array_extend(all->steps, json_object_get(o, "steps"));
	json_decref(o);
	fprintf(stderr, "bench: #%s %s done in %.1f s\n", b->id, b->name, (bench_now_ms() - t0) / 1e3);
}

/* Three significant digits without exponents. */
static void fmt_num(char *out, size_t size, double v)
{
	double a = fabs(v);
	if (!isfinite(v))
		snprintf(out, size, "-");
	else if (a >= 100)
		snprintf(out, size, "%.0f", v);
	else if (a >= 10)
		snprintf(out, size, "%.1f", v);
	else if (a >= 1)
		snprintf(out, size, "%.2f", v);
	else
		snprintf(out, size, "%.3f", v);
}

static double num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

#define N_COLS 8

static void print_table(json_t *rows, json_t *skipped)
{
	static const char *const head[N_COLS] = {"#",	     "benchmark", "metric", "smartvm",
						 "baseline", "ratio",	  "target", "met"};
	size_t n = json_array_size(rows);
	char(*cells)[N_COLS][160] = calloc(n + 1, sizeof(*cells));
	if (!cells)
		return;
	size_t width[N_COLS];
	for (int c = 0; c < N_COLS; c++) {
		snprintf(cells[0][c], sizeof(cells[0][c]), "%s", head[c]);
		width[c] = strlen(head[c]);
	}
	for (size_t i = 0; i < n; i++) {
		json_t *r = json_array_get(rows, i);
		char v[32], b[32], q[32];
		fmt_num(v, sizeof(v), num(r, "smartvm"));
		fmt_num(b, sizeof(b), num(r, "baseline"));
		fmt_num(q, sizeof(q), num(r, "ratio"));
		char(*row)[160] = cells[i + 1];
		snprintf(row[0], 160, "%s", str(r, "id"));
		snprintf(row[1], 160, "%s", str(r, "benchmark"));
		snprintf(row[2], 160, "%s", str(r, "metric"));
		snprintf(row[3], 160, "%s %s", v, str(r, "unit"));
		if (isfinite(num(r, "baseline")))
			snprintf(row[4], 160, "%s %s (%s)", b, str(r, "unit"), str(r, "baseline_name"));
		else
			snprintf(row[4], 160, "-");
		snprintf(row[5], 160, "%s%s", q, isfinite(num(r, "ratio")) ? "x" : "");
		snprintf(row[6], 160, "%s", *str(r, "target") ? str(r, "target") : "-");
		json_t *met = json_object_get(r, "target_met");
		snprintf(row[7], 160, "%s", json_is_true(met) ? "yes" : json_is_false(met) ? "**no**" : "-");
		for (int c = 0; c < N_COLS; c++)
			width[c] = strlen(row[c]) > width[c] ? strlen(row[c]) : width[c];
	}
	for (size_t i = 0; i <= n; i++) {
		printf("|");
		for (int c = 0; c < N_COLS; c++)
			printf(" %-*s |", (int)width[c], cells[i][c]);
		printf("\n");
		if (i == 0) {
			printf("|");
			for (int c = 0; c < N_COLS; c++) {
				printf("-");
				for (size_t k = 0; k < width[c]; k++)
					printf("-");
				printf("-|");
			}
			printf("\n");
		}
	}
	free(cells);
	size_t j;
	json_t *s;
	json_array_foreach(skipped, j, s)
	    printf("\nskipped #%s %s: %s", str(s, "id"), str(s, "benchmark"), str(s, "reason"));
	if (json_array_size(skipped))
		printf("\n");
}

/* Each breakdown as a Markdown table: mean per VM of every step. Steps
 * nest (a call's total holds the library's steps inside it), so the
 * columns are not meant to be summed. */
static void print_steps(json_t *all)
{
	size_t i, j;
	json_t *b, *st;
	json_array_foreach(all, i, b)
	{
		printf("\nper-step breakdown, #%s %s (mean per VM; steps nest, see README):\n\n",
		       str(b, "id"), str(b, "benchmark"));
		printf("| %-40s | %6s | %9s | %9s | %13s |\n", "step", "per VM", "wall ms", "CPU ms",
		       "children CPU");
		printf("|%s|%s|%s|%s|%s|\n", "------------------------------------------", "--------",
		       "-----------", "-----------", "---------------");
		json_array_foreach(json_object_get(b, "steps"), j, st)
		{
			char w[32], c[32], k[32], n[32];
			fmt_num(n, sizeof(n), num(st, "per_vm"));
			fmt_num(w, sizeof(w), num(st, "wall_ms"));
			fmt_num(c, sizeof(c), num(st, "cpu_ms"));
			fmt_num(k, sizeof(k), num(st, "children_cpu_ms"));
			printf("| %-40s | %6s | %9s | %9s | %13s |\n", str(st, "step"), n, w, c, k);
		}
	}
}

static json_t *machine_json(void)
{
	struct utsname u;
	uname(&u);
	char model[256] = "unknown";
	FILE *f = fopen("/proc/cpuinfo", "re");
	char line[512];
	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
			snprintf(model, sizeof(model), "%s", strchr(line, ':') + 2);
			model[strcspn(model, "\n")] = '\0';
			break;
		}
	}
	if (f)
		fclose(f);
	return json_pack("{s:s, s:s, s:I, s:s}", "kernel", u.release, "machine", u.machine, "cpus",
			 (json_int_t)sysconf(_SC_NPROCESSORS_ONLN), "cpu_model", model);
}

int main(int argc, char **argv)
{
	const char *json_path = NULL, *only = NULL;
	bench_env env = {
	    .fake_firecracker = *BENCH_FAKE_FIRECRACKER ? BENCH_FAKE_FIRECRACKER : NULL,
	    .supervisor = BENCH_SUPERVISOR,
	    .smartvm_cli = BENCH_SMARTVM_CLI,
	    .source_root = BENCH_SOURCE_ROOT,
	};
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json") && i + 1 < argc)
			json_path = argv[++i];
		else if (!strcmp(argv[i], "--only") && i + 1 < argc)
			only = argv[++i];
		else if (!strcmp(argv[i], "--quick"))
			env.quick = true;
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	/* The library finds the supervisor next to the running program; ours is
	 * in the build tree's root. The fake's guest powers off at once. */
	setenv("SMARTVM_SUPERVISOR", env.supervisor, 1);
	setenv("FAKE_FC_POWEROFF_DELAY_MS", "0", 1);
	unsetenv("FAKE_FC_RECORD_DIR");

	time_t now = time(NULL);
	char when[32];
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	bench_report all = {json_array(), json_array(), json_array()};
	for (size_t i = 0; i < N_BENCHES; i++)
		if (selected(only, benches[i].id))
			run_one(&benches[i], &env, &all);

	printf("\n");
	print_table(all.rows, all.skipped);
	print_steps(all.steps);
	int rc = 0;
	if (json_path) {
		json_t *doc = json_pack("{s:s, s:o, s:b, s:O, s:O, s:O}", "generated_at", when, "machine",
					machine_json(), "quick", env.quick, "results", all.rows, "skipped",
					all.skipped, "steps", all.steps);
		if (!doc || json_dump_file(doc, json_path, JSON_INDENT(2)) != 0) {
			fprintf(stderr, "smartvm-bench: writing %s failed\n", json_path);
			rc = 1;
		} else {
			fprintf(stderr, "bench: results written to %s\n", json_path);
		}
		json_decref(doc);
	}
	json_decref(all.rows);
	json_decref(all.skipped);
	json_decref(all.steps);
	return rc;
}
