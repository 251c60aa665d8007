/* #1's CLI rows: one VM's whole life as a user at a shell has it, three
 * processes (`smartvm run --detach` with the fake Firecracker, `smartvm
 * stop`, `smartvm rm`), against the same life through the library in this
 * process with a manager of its own (what a program pays that makes one
 * manager per VM, as the CLI does), interleaved. Wall of the whole life, and
 * the CPU of every process it ran: we are the subreaper (bench #1 made us
 * one), so a detached supervisor and its VMM end up reaped here. Neither
 * side is traced (the CLI's environment is its own; this process's tracing
 * is off meanwhile), as neither is in use. */
#include "bench_cli_lifecycle.h"

#include "util/file.h"
#include "util/spawn.h"
#include "util/trace.h"
#include <smartvm/smartvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>

#define ID "1"
#define NAME "control plane (CLI)"

/* Runs argv to its end; 0 if it exited 0. */
static int run(const char *const *argv, const char *const *envp)
{
	sv_spawn_opts so = {.argv = argv, .envp = envp, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};
	pid_t pid = 0;
	int status = 0;
	return sv_spawn(&so, &pid, NULL) != 0 || sv_reap(pid, 10000, &status) != 0 || status != 0;
}

/* Reaps what ended meanwhile: supervisors re-parented to us. */
static void reap_orphans(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

static double all_cpu_ms(void) { return bench_cpu_ms(RUSAGE_SELF) + bench_cpu_ms(RUSAGE_CHILDREN); }

static int cli_life(const bench_env *env, const char *const *envp, const char *kernel, size_t i, double *wall,
		    double *cpu)
{
	char id[32];
	snprintf(id, sizeof(id), "cli-%zu", i);
	const char *start[] = {env->smartvm_cli, "run", "--kernel", kernel, "--id", id, "--firecracker-bin",
			       env->fake_firecracker, "--detach", NULL};
	const char *stop[] = {env->smartvm_cli, "stop", id, NULL}, *rm[] = {env->smartvm_cli, "rm", id, NULL};
	double c0 = all_cpu_ms(), t0 = bench_now_ms();
	if (run(start, envp) || run(stop, envp) || run(rm, envp))
		return -1;
	*wall = bench_now_ms() - t0;
	reap_orphans();
	*cpu = all_cpu_ms() - c0;
	return 0;
}

static int lib_life(const bench_env *env, const char *dir, const char *kernel, size_t i, double *wall,
		    double *cpu)
{
	char id[32], *data = sv_path_join(dir, "data"), *rt = sv_path_join(dir, "rt");
	snprintf(id, sizeof(id), "lib-%zu", i);
	sv_manager_options o = {.version = SV_MANAGER_OPTIONS_VERSION,
				.data_dir = data,
				.runtime_dir = rt,
				.firecracker_binary_path = env->fake_firecracker};
	sv_vm_config cfg = {.version = SV_VM_CONFIG_VERSION,
			    .id = id,
			    .boot_source = {.kernel_image_path = kernel},
			    .machine_config = {.vcpu_count = 1, .mem_size_mib = 128}};
	sv_manager *m = NULL;
	sv_vm *vm = NULL;
	double c0 = all_cpu_ms(), t0 = bench_now_ms();
	int rc = !data || !rt || sv_manager_new(&m, &o) || sv_manager_create_vm(&vm, m, &cfg) || sv_vm_start(vm) ||
		 sv_vm_stop(vm, -1);
	sv_manager_free(m);
	*wall = bench_now_ms() - t0;
	reap_orphans();
	*cpu = all_cpu_ms() - c0;
	free(data);
	free(rt);
	return rc ? -1 : 0;
}

void bench_cli_lifecycle(const bench_env *env, bench_report *rep)
{
	if (!env->fake_firecracker) {
		bench_skip(rep, ID, NAME, "the fake Firecracker was not built (configure with -Dtests=true)");
		return;
	}
	size_t n = env->quick ? 3 : 30;
	char *dir = bench_mkdtemp("/dev/shm", "smartvm-bench-cli");
	char *kernel = dir ? sv_path_join(dir, "vmlinux") : NULL, *rt = NULL, *data = NULL, *trace = NULL;
	double *w[2] = {calloc(n, sizeof(double)), calloc(n, sizeof(double))};
	double *c[2] = {calloc(n, sizeof(double)), calloc(n, sizeof(double))};
	if (!kernel || !w[0] || !w[1] || !c[0] || !c[1] || bench_write_text(kernel, "kernel image") ||
	    asprintf(&rt, "SMARTVM_RUNTIME_DIR=%s/rt", dir) < 0 || asprintf(&data, "SMARTVM_DATA_DIR=%s/data", dir) < 0) {
		bench_skip(rep, ID, NAME, "out of memory or no temp dir");
		goto out;
	}
	/* The fake's guest powers off at once, as in the rest of the benchmarks. */
	const char *envp[] = {rt, data, "FAKE_FC_POWEROFF_DELAY_MS=0", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
	trace = getenv("SMARTVM_TRACE") ? strdup(getenv("SMARTVM_TRACE")) : NULL;
	unsetenv("SMARTVM_TRACE");
	sv_trace_reopen();
	for (size_t i = 0; i < n; i++) {
		/* Alternating which goes first, so that drift hits both alike. */
		for (int k = 0; k < 2; k++) {
			bool cli = (k + (int)i) % 2 == 0;
			int rc = cli ? cli_life(env, envp, kernel, i, &w[0][i], &c[0][i])
				     : lib_life(env, dir, kernel, i, &w[1][i], &c[1][i]);
			if (rc) {
				bench_skip(rep, ID, NAME, "a %s lifecycle failed: %s", cli ? "CLI" : "library",
					   cli ? "a command exited non-zero" : sv_last_error());
				goto out;
			}
		}
	}
	char metric[160];
	snprintf(metric, sizeof(metric), "wall of `smartvm run --detach`, `stop`, `rm`, median of %zu", n);
	bench_add(rep, &(bench_row){.id = ID,
				    .benchmark = NAME,
				    .metric = metric,
				    .unit = "ms",
				    .value = bench_median(w[0], n),
				    .baseline = bench_median(w[1], n),
				    .baseline_name = "the library, a manager per VM",
				    .target_met = -1,
				    .detail = json_pack("{s:o, s:o}", "cli", bench_stats_json(w[0], n), "library",
							bench_stats_json(w[1], n))});
	bench_add(rep, &(bench_row){.id = ID,
				    .benchmark = NAME,
				    .metric = "CPU of every process of that life (the VMM's too), median",
				    .unit = "ms",
				    .value = bench_median(c[0], n),
				    .baseline = bench_median(c[1], n),
				    .baseline_name = "the library, a manager per VM",
				    .target_met = -1,
				    .detail = json_pack("{s:o, s:o}", "cli", bench_stats_json(c[0], n), "library",
							bench_stats_json(c[1], n))});
out:
	if (trace) {
		setenv("SMARTVM_TRACE", trace, 1);
		sv_trace_reopen();
		free(trace);
	}
	for (int k = 0; k < 2; k++) {
		free(w[k]);
		free(c[k]);
	}
	free(rt);
	free(data);
	free(kernel);
	if (dir)
		bench_rm_rf(dir);
	free(dir);
}
