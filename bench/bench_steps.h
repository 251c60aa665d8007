/* The per-step breakdown of a lifecycle (issue 16): libsmartvm and the
 * supervisor append one line per step to the file SMARTVM_TRACE names
 * (src/util/trace.h); this collects them per lifecycle and sums them per
 * step, in the order the steps first happened. The benchmark's own timings
 * of public calls (create, pause, ...) are added the same way. */
#ifndef SV_BENCH_STEPS_H
#define SV_BENCH_STEPS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct bench_steps bench_steps;

/* Creates <dir>/trace and points SMARTVM_TRACE at it (before any smartvm
 * call of this process: the library opens it once). NULL on failure. */
bench_steps *bench_steps_open(const char *dir);
void bench_steps_free(bench_steps *s);

/* Drops what was traced so far (warm-up lifecycles, another variant). */
void bench_steps_reset(bench_steps *s);
/* Empties the trace file without counting it (a baseline's lifecycle). */
void bench_steps_discard(bench_steps *s);
/* One step timed by the benchmark itself, in ms. */
void bench_steps_add(bench_steps *s, const char *step, double wall_ms, double cpu_ms, double children_ms);
/* Reads and empties the trace file: the steps of one lifecycle. */
void bench_steps_collect(bench_steps *s);

/* The CPU, in ms, of the processes no one of ours reaps, from the trace file
 * so far (not emptied): supervisors forked by the fork server (their own,
 * and their children's: the VMM) and the server's work for each request.
 * False when the trace holds none (the exec path: those supervisors are our
 * zombies, measured at the reaping). */
bool bench_steps_unreaped_cpu(bench_steps *s, double *supervisor_ms, double *children_ms, double *server_ms);

/* [{"step", "per_vm", "wall_ms", "cpu_ms", "children_cpu_ms"}], means over
 * n lifecycles; per_vm is how often the step ran per lifecycle. */
json_t *bench_steps_json(const bench_steps *s, size_t n);

#endif
