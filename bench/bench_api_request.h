/* #1's row for what one API request costs through libsmartvm's libcurl
 * client against the raw client's hand-written HTTP (bench_api_request.c). */
#ifndef SV_BENCH_API_REQUEST_H
#define SV_BENCH_API_REQUEST_H

#include "bench.h"

void bench_api_request(const bench_env *env, bench_report *rep);

#endif
