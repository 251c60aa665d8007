/* Per-step breakdown (see bench_steps.h). The trace file's lines are
 * "<step> <pid> <start_ns> <wall_ns> <cpu_ns> <children_cpu_ns>"; a line
 * with start 0 is a process-start mark (a program's main: the exec'd
 * supervisor's, the fork server's): its wall is an absolute time, turned
 * into the time since the step that spawned it began. */
#include "bench_steps.h"
#include "bench.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_STEPS 64

/* Which step spawned the process of a start mark. */
static const struct {
	const char *mark, *spawn;
} spawns[] = {{"supervisor:exec+dynamic_loading", "start:supervisor_spawn+first_half"},
	      {"supervisor:fork_server_start", "start:fork_server_spawn"}};
#define N_SPAWNS (sizeof(spawns) / sizeof(spawns[0]))

typedef struct {
	char name[64];
	double count, wall, cpu, children;
} step_sum;

struct bench_steps {
	char *path;
	int fd;
	step_sum steps[MAX_STEPS];
	size_t n;
};

bench_steps *bench_steps_open(const char *dir)
{
	bench_steps *s = calloc(1, sizeof(*s));
	if (!s || asprintf(&s->path, "%s/trace", dir) < 0) {
		free(s);
		return NULL;
	}
	s->fd = open(s->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (s->fd < 0) {
		bench_steps_free(s);
		return NULL;
	}
	setenv("SMARTVM_TRACE", s->path, 1);
	return s;
}

void bench_steps_free(bench_steps *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	free(s->path);
	free(s);
}

static step_sum *find(bench_steps *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->steps[i].name, name))
			return &s->steps[i];
	if (s->n == MAX_STEPS)
		return NULL;
	step_sum *n = &s->steps[s->n++];
	snprintf(n->name, sizeof(n->name), "%s", name);
	return n;
}

void bench_steps_add(bench_steps *s, const char *step, double wall_ms, double cpu_ms, double children_ms)
{
	step_sum *t = find(s, step);
	if (!t)
		return;
	t->count++;
	t->wall += wall_ms;
	t->cpu += cpu_ms;
	t->children += children_ms;
}

void bench_steps_reset(bench_steps *s)
{
	bench_steps_collect(s);
	memset(s->steps, 0, sizeof(s->steps));
	s->n = 0;
}

void bench_steps_discard(bench_steps *s)
{
	if (ftruncate(s->fd, 0) != 0)
		perror("bench: emptying the trace file");
}

void bench_steps_collect(bench_steps *s)
{
	FILE *f = fopen(s->path, "re");
	char line[256], name[64];
	int pid;
	long long start, wall, cpu, children, spawn_start[N_SPAWNS] = {0};
	int spawn_count[N_SPAWNS] = {0};
	/* A mark is written before its spawn step ends: find the steps first.
	 * Several spawns of a kind (#2's managers each start a fork server)
	 * cannot be told apart: their marks are left out. */
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %d %lld", name, &pid, &start) == 3)
			for (size_t i = 0; i < N_SPAWNS; i++)
				if (!strcmp(name, spawns[i].spawn)) {
					spawn_start[i] = start;
					spawn_count[i]++;
				}
	if (f)
		rewind(f);
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %d %lld %lld %lld %lld", name, &pid, &start, &wall, &cpu, &children) !=
		    6)
			continue;
		if (start == 0) { /* a process-start mark: wall is "now" */
			long long from = 0;
			for (size_t i = 0; i < N_SPAWNS; i++)
				if (!strcmp(name, spawns[i].mark) && spawn_count[i] == 1)
					from = spawn_start[i];
			if (!from)
				continue;
			wall -= from;
		}
		bench_steps_add(s, name, wall / 1e6, cpu / 1e6, children / 1e6);
	}
	if (f)
		fclose(f);
	bench_steps_discard(s);
}

bool bench_steps_unreaped_cpu(bench_steps *s, double *supervisor_ms, double *children_ms, double *server_ms)
{
	*supervisor_ms = *children_ms = *server_ms = 0;
	FILE *f = fopen(s->path, "re");
	char line[256], name[64];
	int pid;
	long long start, wall, cpu, children;
	bool found = false;
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %d %lld %lld %lld %lld", name, &pid, &start, &wall, &cpu, &children) !=
		    6)
			continue;
		if (!strcmp(name, "supervisor:process_total")) {
			*supervisor_ms += cpu / 1e6;
			*children_ms += children / 1e6;
			found = true;
		} else if (!strcmp(name, "supervisor:fork_server_request")) {
			*server_ms += cpu / 1e6;
		}
	}
	if (f)
		fclose(f);
	return found;
}

json_t *bench_steps_json(const bench_steps *s, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < s->n && n; i++) {
		const step_sum *t = &s->steps[i];
		json_array_append_new(a, json_pack("{s:s, s:f, s:f, s:f, s:f}", "step", t->name, "per_vm",
						   t->count / (double)n, "wall_ms", t->wall / (double)n,
						   "cpu_ms", t->cpu / (double)n, "children_cpu_ms",
						   t->children / (double)n));
	}
	return a;
}
