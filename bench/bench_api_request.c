/* #1's per-request row: the CPU one API request costs this process through
 * libsmartvm's client (libcurl, fc_http.c) against the raw client's
 * hand-written HTTP (bench_raw_client.c), both on one kept-alive connection
 * to the same fake Firecracker, in alternating blocks. The requests are a
 * GET / (what a start's boot wait and every pause and resume send first)
 * and a PUT with a body, taken in turn. A lifecycle sends several, so this
 * is the part of the orchestrator's CPU that the project's choice of libcurl
 * over hand-written HTTP costs (README, "Where smartvm misses a target"). */
#include "bench_api_request.h"

#include "bench_raw_client.h"
#include "util/file.h"
#include "util/spawn.h"
#include "vmm/firecracker/fc_http.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#define ID "1"
#define NAME "control plane (one request)"
#define TIMEOUT_MS 5000
#define BLOCK 50
#define MACHINE "{\"vcpu_count\":1,\"mem_size_mib\":128}"

/* Request i of a block: GET / or the PUT, in turn. */
static const char *method_of(size_t i) { return i % 2 ? "PUT" : "GET"; }
static const char *path_of(size_t i) { return i % 2 ? "/machine-config" : "/"; }
static const char *body_of(size_t i) { return i % 2 ? MACHINE : NULL; }

/* CPU per request of one block through each client; false when a request
 * failed (err says which). */
static bool libcurl_block(sv_fc_http *h, double *cpu_ms, char *err, size_t err_size)
{
	double c0 = bench_cpu_ms(RUSAGE_SELF);
	for (size_t i = 0; i < BLOCK; i++) {
		long status = 0;
		char *body = NULL;
		int rc = sv_fc_http_send(h, method_of(i), path_of(i), body_of(i), &status, &body);
		free(body);
		if (rc || status / 100 != 2) {
			snprintf(err, err_size, "libcurl client: %s %s: %s (status %ld)", method_of(i),
				 path_of(i), rc ? sv_last_error() : "answered", status);
			return false;
		}
	}
	*cpu_ms = (bench_cpu_ms(RUSAGE_SELF) - c0) / BLOCK;
	return true;
}

static bool raw_block(raw_conn *c, double *cpu_ms, char *err, size_t err_size)
{
	double c0 = bench_cpu_ms(RUSAGE_SELF);
	for (size_t i = 0; i < BLOCK; i++) {
		int status = raw_request(c, method_of(i), path_of(i), body_of(i));
		if (status / 100 != 2) {
			snprintf(err, err_size, "raw client: %s %s: status %d", method_of(i), path_of(i),
				 status);
			return false;
		}
	}
	*cpu_ms = (bench_cpu_ms(RUSAGE_SELF) - c0) / BLOCK;
	return true;
}

void bench_api_request(const bench_env *env, bench_report *rep)
{
	size_t blocks = env->quick ? 2 : 40;
	char *dir = bench_mkdtemp("/dev/shm", "smartvm-bench-req");
	char *sock = dir ? sv_path_join(dir, "api.sock") : NULL;
	double *lib = calloc(blocks, sizeof(double)), *raw = calloc(blocks, sizeof(double));
	pid_t pid = -1;
	sv_fc_http *h = NULL;
	raw_conn c = {.fd = -1};
	char err[1200] = "out of memory or no temp dir";
	if (!sock || !lib || !raw)
		goto out;
	const char *argv[] = {env->fake_firecracker, "--api-sock", sock, "--id", "bench-req", NULL};
	sv_spawn_opts so = {.argv = argv, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};
	if (sv_spawn(&so, &pid, NULL) != 0) {
		snprintf(err, sizeof(err), "spawning the fake Firecracker: %s", sv_last_error());
		pid = -1;
		goto out;
	}
	/* The raw client connects first: it waits for the socket to appear. */
	if (raw_connect(&c, sock, TIMEOUT_MS) != 0) {
		snprintf(err, sizeof(err), "no API socket at %s", sock);
		goto out;
	}
	if (sv_fc_http_open(&h, sock, TIMEOUT_MS) != 0) {
		snprintf(err, sizeof(err), "libcurl client: %s", sv_last_error());
		goto out;
	}
	double warm;
	if (!libcurl_block(h, &warm, err, sizeof(err)) || !raw_block(&c, &warm, err, sizeof(err)))
		goto out;
	/* Alternate which goes first so drift affects both alike. */
	for (size_t b = 0; b < blocks; b++) {
		bool ok = b % 2 ? libcurl_block(h, &lib[b], err, sizeof(err)) &&
				      raw_block(&c, &raw[b], err, sizeof(err))
				: raw_block(&c, &raw[b], err, sizeof(err)) &&
				      libcurl_block(h, &lib[b], err, sizeof(err));
		if (!ok)
			goto out;
	}
	char metric[128];
	snprintf(metric, sizeof(metric),
		 "CPU of one API request (GET / or PUT), kept-alive, median of %zu blocks of %d", blocks,
		 BLOCK);
	bench_add(
	    rep, &(bench_row){.id = ID,
			      .benchmark = NAME,
			      .metric = metric,
			      .unit = "ms",
			      .value = bench_median(lib, blocks),
			      .baseline = bench_median(raw, blocks),
			      .baseline_name = "raw client's hand-written HTTP",
			      .target_met = -1,
			      .detail = json_pack("{s:o, s:o, s:i}", "libcurl", bench_stats_json(lib, blocks),
						  "raw", bench_stats_json(raw, blocks), "connections_opened",
						  (int)sv_fc_http_connections_opened(h))});
	err[0] = '\0';
out:
	if (err[0])
		bench_skip(rep, ID, NAME, "%s", err);
	sv_fc_http_close(h);
	raw_close(&c);
	if (pid > 0) {
		kill(pid, SIGKILL);
		sv_reap(pid, TIMEOUT_MS, NULL);
	}
	free(lib);
	free(raw);
	free(sock);
	if (dir)
		bench_rm_rf(dir);
	free(dir);
}
