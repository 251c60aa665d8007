/* Per-step timing for the benchmarks (see trace.h). The file is opened once
 * per process; every line goes out in one write() on an O_APPEND fd, so lines
 * from concurrent processes and threads never interleave. */
#include "util/trace.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int trace_fd = -1;
static pthread_once_t trace_once = PTHREAD_ONCE_INIT;

static void open_trace(void)
{
	const char *path = getenv("SMARTVM_TRACE");
	/* Absolute only: supervisors run from "/", so a relative name would
	 * split one breakdown between two files. */
	if (!path || path[0] != '/')
		return;
	int fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	struct stat st;
	if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		fd = -1;
	}
	trace_fd = fd;
}

static bool trace_on(void)
{
	pthread_once(&trace_once, open_trace);
	return trace_fd >= 0;
}

static long long clock_ns(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long children_cpu_ns(void)
{
	struct rusage ru;
	getrusage(RUSAGE_CHILDREN, &ru);
	return ((long long)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
	       ((long long)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
}

static void emit(const char *step, long long start, long long wall, long long cpu, long long children)
{
	char line[256];
	int n = snprintf(line, sizeof(line), "%s %d %lld %lld %lld %lld\n", step, (int)getpid(), start, wall,
			 cpu, children);
	if (n > 0 && (size_t)n < sizeof(line) && write(trace_fd, line, (size_t)n) < 0)
		return; /* a benchmark aid: a lost line is a gap in the breakdown, nothing more */
}

void sv_trace_begin(sv_trace_span *s)
{
	s->on = trace_on();
	if (!s->on)
		return;
	s->start_ns = clock_ns(CLOCK_MONOTONIC);
	s->cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	s->children_ns = children_cpu_ns();
}

void sv_trace_end(sv_trace_span *s, const char *step)
{
	if (!s->on)
		return;
	emit(step, s->start_ns, clock_ns(CLOCK_MONOTONIC) - s->start_ns,
	     clock_ns(CLOCK_THREAD_CPUTIME_ID) - s->cpu_ns, children_cpu_ns() - s->children_ns);
	s->on = false;
}

void sv_trace_process_start(const char *step)
{
	if (trace_on())
		emit(step, 0, clock_ns(CLOCK_MONOTONIC), clock_ns(CLOCK_PROCESS_CPUTIME_ID), 0);
}

void sv_trace_process_total(const char *step)
{
	if (trace_on())
		emit(step, clock_ns(CLOCK_MONOTONIC), 0, clock_ns(CLOCK_PROCESS_CPUTIME_ID), children_cpu_ns());
}

void sv_trace_reopen(void)
{
	pthread_once(&trace_once, open_trace);
	if (trace_fd >= 0)
		close(trace_fd);
	trace_fd = -1;
	open_trace();
}
