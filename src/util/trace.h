/* Per-step timing of a VM's lifecycle, for the benchmarks (bench #1 prints
 * the breakdown; see README "Performance"). Off unless SMARTVM_TRACE is the
 * absolute path of an existing regular file (opened append-only, never through a link, never
 * created); then every traced step of every smartvm process that inherits
 * the variable (the orchestrator, the supervisor) appends one line:
 *
 *   <step> <pid> <start_ns> <wall_ns> <cpu_ns> <children_cpu_ns>
 *
 * start and wall on CLOCK_MONOTONIC (comparable across processes), cpu the
 * calling thread's, children_cpu what the process reaped meanwhile (the
 * supervisor's first half). Off, a step costs one load and a
 * branch. Step names have no spaces. */
#ifndef SV_UTIL_TRACE_H
#define SV_UTIL_TRACE_H

#include <stdbool.h>

typedef struct {
	bool on;
	long long start_ns, cpu_ns, children_ns;
} sv_trace_span;

/* Starts timing a step (a no-op when tracing is off). */
void sv_trace_begin(sv_trace_span *s);
/* Ends it: appends the step's line. */
void sv_trace_end(sv_trace_span *s, const char *step);
/* For a program's main(): a step from the process's creation to now, with
 * the CPU it has used so far (for the supervisor: fork, exec and dynamic
 * loading). start_ns is 0: the reader pairs it with the spawner's step. */
void sv_trace_process_start(const char *step);
/* For a process no smartvm process reaps (a supervisor forked by the fork
 * server, which the kernel reaps): a line with the whole process's CPU so
 * far (all threads) and what it reaped (its VMM), wall 0, so that a reader
 * can charge them to the VM. */
void sv_trace_process_total(const char *step);
/* In a child forked from a single-threaded process whose environment was
 * then replaced (the fork server's supervisors): forget the inherited trace
 * file and open the one SMARTVM_TRACE names now. */
void sv_trace_reopen(void);

#endif
