/* #1's program-start row: the CPU one start of the CLI costs, exec to exit,
 * for `smartvm ps` with no VM (what loading the program and its libraries
 * costs, nearly all of it), against /bin/true's (a program that loads libc
 * only), interleaved. Every CLI command and every call podman or containerd
 * makes to smartvm-oci pays it once. */
#include "bench_program_start.h"

#include "util/spawn.h"
#include <smartvm/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#define ID "1"
#define NAME "control plane (program start)"

/* CPU of one run of argv (its own, reaped here), or -1. */
static double run_cpu_ms(const char *const *argv, const char *const *envp, double *wall_ms)
{
	double k0 = bench_cpu_ms(RUSAGE_CHILDREN), t0 = bench_now_ms();
	sv_spawn_opts so = {.argv = argv, .envp = envp, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};
	pid_t pid = 0;
	int status = 0;
	if (sv_spawn(&so, &pid, NULL) != 0 || sv_reap(pid, 10000, &status) != 0 || status != 0)
		return -1;
	*wall_ms = bench_now_ms() - t0;
	return bench_cpu_ms(RUSAGE_CHILDREN) - k0;
}

void bench_program_start(const bench_env *env, bench_report *rep)
{
	size_t n = env->quick ? 5 : 50;
	char *dir = bench_mkdtemp("/dev/shm", "smartvm-bench-ps");
	char *rt = NULL, *data = NULL;
	double *cli = calloc(n, sizeof(double)), *floor = calloc(n, sizeof(double));
	if (!dir || !cli || !floor || asprintf(&rt, "SMARTVM_RUNTIME_DIR=%s/rt", dir) < 0 ||
	    asprintf(&data, "SMARTVM_DATA_DIR=%s/data", dir) < 0) {
		bench_skip(rep, ID, NAME, "out of memory or no temp dir");
		goto out;
	}
	const char *envp[] = {rt, data, "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
	const char *ps[] = {env->smartvm_cli, "ps", NULL}, *truth[] = {"/bin/true", NULL};
	double wall = 0, cli_wall = 0, floor_wall = 0;
	for (size_t i = 0; i < n; i++) {
		cli[i] = run_cpu_ms(ps, envp, &wall);
		cli_wall += wall;
		floor[i] = run_cpu_ms(truth, envp, &wall);
		floor_wall += wall;
		if (cli[i] < 0 || floor[i] < 0) {
			bench_skip(rep, ID, NAME, "`%s ps` or /bin/true failed: %s", env->smartvm_cli,
				   sv_last_error());
			goto out;
		}
	}
	char metric[128];
	snprintf(metric, sizeof(metric), "CPU of one `smartvm ps` (no VM), exec to exit, median of %zu", n);
	bench_add(rep, &(bench_row){.id = ID,
				    .benchmark = NAME,
				    .metric = metric,
				    .unit = "ms",
				    .value = bench_median(cli, n),
				    .baseline = bench_median(floor, n),
				    .baseline_name = "/bin/true, the same way",
				    .target_met = -1,
				    .detail = json_pack(
					"{s:o, s:o, s:f, s:f}", "smartvm_ps", bench_stats_json(cli, n),
					"true", bench_stats_json(floor, n), "smartvm_ps_wall_mean_ms",
					cli_wall / (double)n, "true_wall_mean_ms", floor_wall / (double)n)});
out:
	free(cli);
	free(floor);
	free(rt);
	free(data);
	if (dir)
		bench_rm_rf(dir);
	free(dir);
}
