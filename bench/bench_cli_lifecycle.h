/* #1's rows for one VM's life through the CLI (bench_cli_lifecycle.c). */
#ifndef SV_BENCH_CLI_LIFECYCLE_H
#define SV_BENCH_CLI_LIFECYCLE_H

#include "bench.h"

void bench_cli_lifecycle(const bench_env *env, bench_report *rep);

#endif
