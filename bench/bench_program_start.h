/* #1's row for what one start of the CLI costs (bench_program_start.c). */
#ifndef SV_BENCH_PROGRAM_START_H
#define SV_BENCH_PROGRAM_START_H

#include "bench.h"

void bench_program_start(const bench_env *env, bench_report *rep);

#endif
