/* #2 Launch throughput: 100 VMs started concurrently against the instant fake,
 * each with a network interface (smartvm creates the TAP, lease, bridge and
 * nftables table) and a 64 MiB sparse writable drive that smartvm stages.
 * The baseline is the hand-written client (bench_raw_launch.c) starting the
 * same 100 VMs with the same 4 threads (a directory, a sparse copy of the
 * drive, a TAP, the VMM, its configuration); rounds alternate between the
 * two so that drift on a shared machine hits both alike.
 *
 * Runs as root only, inside a network namespace of its own (unshare before
 * any thread exists, so every worker and every child is in it). A manager
 * is single-threaded, so a fixed pool of worker threads each owns one
 * manager and takes VM numbers from a shared counter. Reported: VMs per
 * second from the first start call to the last VM running, and this
 * process's CPU per VM over that span. Then all VMs are stopped (timed too,
 * for the JSON) and the scratch directory is removed. smartvm's rounds are
 * traced (SMARTVM_TRACE, as #1's lifecycles are), and their per-step
 * breakdown, means per VM over its starts and stops, is printed. */
#include "bench.h"
#include "bench_raw_launch.h"
#include "bench_steps.h"

#include "util/file.h"
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <smartvm/smartvm.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define ID "2"
#define NAME "launch throughput"
#define WORKERS 4
#define ROUNDS 2

typedef struct shared shared;

typedef struct {
	shared *sh;
	sv_manager *mgr;
	sv_vm **vms; /* this worker's started VMs */
	raw_vm *raws; /* or the raw client's */
	size_t n_vms;
	char err[512];
} worker;

struct shared {
	const bench_env *env;
	char *dir, *runtime, *data, *kernel, *drive;
	size_t n;
	bool raw; /* this phase runs the raw client */
	raw_launch_env raw_env;
	bench_steps *steps; /* NULL: no breakdown */
	int round; /* in the VMs' ids: a manager keeps a stopped VM's id */
	atomic_size_t next;
	atomic_int failed;
	pthread_barrier_t go;
};

static void *start_vms(void *arg)
{
	worker *w = arg;
	shared *sh = w->sh;
	pthread_barrier_wait(&sh->go);
	for (;;) {
		size_t i = atomic_fetch_add(&sh->next, 1);
		if (i >= sh->n || atomic_load(&sh->failed))
			break;
		if (sh->raw) {
			if (raw_vm_start(&sh->raw_env, i, &w->raws[w->n_vms], w->err, sizeof(w->err))) {
				atomic_store(&sh->failed, 1);
				break;
			}
			w->n_vms++;
			continue;
		}
		char id[32];
		snprintf(id, sizeof(id), "launch-%d-%zu", sh->round, i);
		sv_drive_config drive = {
		    .drive_id = "rootfs", .path_on_host = sh->drive, .is_root_device = true};
		sv_net_iface_config nic = {.iface_id = "eth0"};
		sv_vm_config cfg = {.version = SV_VM_CONFIG_VERSION, .id = id,
				    .boot_source = {.kernel_image_path = sh->kernel},
				    .machine_config = {.vcpu_count = 1, .mem_size_mib = 128},
				    .drives = &drive,
				    .n_drives = 1,
				    .network_interfaces = &nic,
				    .n_network_interfaces = 1};
		sv_vm *vm = NULL;
		if (sv_manager_create_vm(&vm, w->mgr, &cfg) || sv_vm_start(vm)) {
			snprintf(w->err, sizeof(w->err), "VM %s: %s", id, sv_last_error());
			atomic_store(&sh->failed, 1);
			break;
		}
		w->vms[w->n_vms++] = vm;
	}
	return NULL;
}

static void *stop_vms(void *arg)
{
	worker *w = arg;
	pthread_barrier_wait(&w->sh->go);
	for (size_t i = 0; i < w->n_vms; i++) {
		if (w->sh->raw) {
			if (raw_vm_stop(&w->raws[i], w->err, w->err[0] ? 0 : sizeof(w->err)))
				atomic_store(&w->sh->failed, 1);
			continue;
		}
		if (sv_vm_stop(w->vms[i], -1) && !w->err[0])
			snprintf(w->err, sizeof(w->err), "stopping %s: %s", sv_vm_id(w->vms[i]),
				 sv_last_error());
	}
	return NULL;
}

/* Busy and total jiffies of all CPUs, from /proc/stat: how much of the
 * machine the start phase used (the supervisors and VMMs are not ours to
 * getrusage). */
static void machine_jiffies(double *busy, double *total)
{
	*busy = *total = NAN;
	FILE *f = fopen("/proc/stat", "re");
	unsigned long long v[8] = {0};
	if (f && fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
			&v[5], &v[6], &v[7]) == 8) {
		*total = 0;
		for (int i = 0; i < 8; i++)
			*total += (double)v[i];
		*busy = *total - (double)v[3] - (double)v[4]; /* minus idle and iowait */
	}
	if (f)
		fclose(f);
}

/* Runs fn on every worker at once; returns the wall time from the barrier. */
static double run_workers(shared *sh, worker *w, void *(*fn)(void *))
{
	pthread_t t[WORKERS];
	pthread_barrier_init(&sh->go, NULL, WORKERS + 1);
	int started = 0;
	for (; started < WORKERS; started++)
		if (pthread_create(&t[started], NULL, fn, &w[started]) != 0)
			break;
	if (started < WORKERS) {
		/* Can't happen on a sane system; don't deadlock on the barrier. */
		fprintf(stderr, "bench #2: pthread_create failed\n");
		abort();
	}
	pthread_barrier_wait(&sh->go);
	double t0 = bench_now_ms();
	for (int i = 0; i < WORKERS; i++)
		pthread_join(t[i], NULL);
	double wall = bench_now_ms() - t0;
	pthread_barrier_destroy(&sh->go);
	return wall;
}

typedef struct {
	double start_rate, start_cpu_per_vm, busy_pct, stop_rate;
} phase_figures;

/* One phase: every VM started by the workers, then every VM stopped. NULL,
 * or what failed. */
static const char *run_phase(shared *sh, worker *w, phase_figures *fig)
{
	atomic_store(&sh->next, 0);
	for (int i = 0; i < WORKERS; i++)
		w[i].n_vms = 0;
	double c0 = bench_cpu_ms(RUSAGE_SELF), busy0, total0, busy1, total1;
	machine_jiffies(&busy0, &total0);
	double start_wall = run_workers(sh, w, start_vms);
	double start_cpu = bench_cpu_ms(RUSAGE_SELF) - c0;
	machine_jiffies(&busy1, &total1);
	size_t running = 0;
	for (int i = 0; i < WORKERS; i++)
		running += w[i].n_vms;
	double stop_wall = run_workers(sh, w, stop_vms);
	if (sh->steps && sh->raw)
		bench_steps_discard(sh->steps);
	else if (sh->steps)
		bench_steps_collect(sh->steps);
	for (int i = 0; i < WORKERS; i++)
		if (w[i].err[0])
			return w[i].err;
	if (running != sh->n || atomic_load(&sh->failed))
		return "not every VM started";
	*fig = (phase_figures){.start_rate = (double)sh->n / (start_wall / 1e3),
			       .start_cpu_per_vm = start_cpu / (double)sh->n,
			       .busy_pct = 100.0 * (busy1 - busy0) / (total1 - total0),
			       .stop_rate = (double)sh->n / (stop_wall / 1e3)};
	return NULL;
}

static phase_figures average(const phase_figures *f, int n)
{
	phase_figures a = {0};
	for (int i = 0; i < n; i++) {
		a.start_rate += f[i].start_rate / n;
		a.start_cpu_per_vm += f[i].start_cpu_per_vm / n;
		a.busy_pct += f[i].busy_pct / n;
		a.stop_rate += f[i].stop_rate / n;
	}
	return a;
}

static json_t *figures_json(const phase_figures *f, int n)
{
	json_t *a = json_array();
	for (int i = 0; a && i < n; i++)
		json_array_append_new(a, json_pack("{s:f, s:f, s:f, s:f}", "start_vms_per_s", f[i].start_rate,
						   "start_cpu_ms_per_vm", f[i].start_cpu_per_vm,
						   "machine_busy_pct", f[i].busy_pct, "stop_vms_per_s",
						   f[i].stop_rate));
	return a;
}

void bench_launch(const bench_env *env, bench_report *rep)
{
	if (!env->fake_firecracker) {
		bench_skip(rep, ID, NAME, "the fake Firecracker was not built (configure with -Dtests=true)");
		return;
	}
	if (geteuid() != 0) {
		bench_skip(rep, ID, NAME, "needs root: TAPs are created in a private network namespace");
		return;
	}
	if (unshare(CLONE_NEWNET) != 0) {
		bench_skip(rep, ID, NAME, "unshare(CLONE_NEWNET) failed: %s", strerror(errno));
		return;
	}
	shared sh = {.env = env, .n = env->quick ? 12 : 100};
	worker w[WORKERS] = {0};
	sh.dir = bench_mkdtemp("/dev/shm", "smartvm-bench-launch");
	if (!sh.dir) {
		bench_skip(rep, ID, NAME, "creating a scratch directory under /dev/shm failed");
		return;
	}
	sh.runtime = sv_path_join(sh.dir, "runtime");
	sh.data = sv_path_join(sh.dir, "data");
	sh.kernel = sv_path_join(sh.dir, "vmlinux");
	sh.drive = sv_path_join(sh.dir, "disk.img");
	/* Before the first start: the library and the fork servers open it once. */
	sh.steps = bench_steps_open(sh.dir);
	char *raw_dir = sv_path_join(sh.dir, "raw");
	sh.raw_env = (raw_launch_env){.fake_firecracker = env->fake_firecracker,
				      .dir = raw_dir,
				      .kernel = sh.kernel,
				      .drive = sh.drive};
	const char *setup_error = NULL;
	if (!raw_dir || sv_mkdir_p(raw_dir, 0700) || bench_write_text(sh.kernel, "kernel image") ||
	    bench_make_sparse(sh.drive, 64ull << 20, 1 << 20, 4))
		setup_error = "creating the kernel and the 64 MiB sparse drive failed";
	for (int i = 0; i < WORKERS && !setup_error; i++) {
		sv_manager_options o = {.version = SV_MANAGER_OPTIONS_VERSION,
					.data_dir = sh.data,
					.runtime_dir = sh.runtime,
					.vmm = SV_VMM_FIRECRACKER,
					.firecracker_binary_path = env->fake_firecracker,
					.stop_timeout_ms = 5000};
		w[i].sh = &sh;
		w[i].vms = calloc(sh.n, sizeof(sv_vm *));
		w[i].raws = calloc(sh.n, sizeof(raw_vm));
		if (!w[i].vms || !w[i].raws || sv_manager_new(&w[i].mgr, &o))
			setup_error = "creating the managers failed";
	}
	if (setup_error) {
		bench_skip(rep, ID, NAME, "%s", setup_error);
		goto out;
	}
	bench_read_all(sh.drive);

	/* Rounds alternate smartvm and the raw client; each starts all VMs,
	 * then stops them all. */
	int rounds = env->quick ? 1 : ROUNDS;
	phase_figures sv_fig[ROUNDS] = {0}, raw_fig[ROUNDS] = {0};
	const char *err = NULL;
	for (int r = 0; r < rounds && !err; r++) {
		sh.round = r;
		for (int k = 0; k < 2 && !err; k++) {
			sh.raw = (k + r) % 2 == 1; /* round 0: smartvm first, round 1: raw first */
			err = run_phase(&sh, w, sh.raw ? &raw_fig[r] : &sv_fig[r]);
		}
	}
	if (err) {
		bench_skip(rep, ID, NAME, "%s", err);
		goto out;
	}
	phase_figures sv = average(sv_fig, rounds), raw = average(raw_fig, rounds);
	json_t *detail =
	    json_pack("{s:I, s:i, s:i, s:o, s:o}", "vms", (json_int_t)sh.n, "workers", WORKERS, "rounds",
		      rounds, "smartvm", figures_json(sv_fig, rounds), "raw", figures_json(raw_fig, rounds));
	char metric[128];
	snprintf(metric, sizeof(metric),
		 "%zu VMs (TAP + 64 MiB staged drive) started, %d threads, mean of %d", sh.n, WORKERS,
		 rounds);
	bench_add(rep, &(bench_row){.id = ID,
				    .benchmark = NAME,
				    .metric = metric,
				    .unit = "VMs/s",
				    .value = sv.start_rate,
				    .baseline = raw.start_rate,
				    .baseline_name = "raw client",
				    .target = ">= 0.8x",
				    .target_met = sv.start_rate >= 0.8 * raw.start_rate,
				    .detail = detail});
	bench_add(rep, &(bench_row){.id = ID,
				    .benchmark = NAME,
				    .metric = "orchestrator CPU per VM started",
				    .unit = "ms",
				    .value = sv.start_cpu_per_vm,
				    .baseline = raw.start_cpu_per_vm,
				    .baseline_name = "raw client",
				    .target_met = -1});
	bench_add(rep, &(bench_row){.id = ID,
				    .benchmark = NAME,
				    .metric = "all CPUs busy while starting",
				    .unit = "%",
				    .value = sv.busy_pct,
				    .baseline = raw.busy_pct,
				    .baseline_name = "raw client",
				    .target_met = -1});
	bench_add(rep, &(bench_row){.id = ID,
				    .benchmark = NAME,
				    .metric = "stop + clean up, all VMs",
				    .unit = "VMs/s",
				    .value = sv.stop_rate,
				    .baseline = raw.stop_rate,
				    .baseline_name = "raw client",
				    .target_met = -1});
	if (sh.steps)
		bench_add_steps(rep, ID, NAME " (all VMs' starts and stops)",
				bench_steps_json(sh.steps, (size_t)rounds * sh.n));
out:
	bench_steps_free(sh.steps);
	for (int i = 0; i < WORKERS; i++) {
		sv_manager_free(w[i].mgr);
		free(w[i].vms);
		free(w[i].raws);
	}
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	bench_rm_rf(sh.dir);
	free(sh.dir);
	free(sh.runtime);
	free(sh.data);
	free(sh.kernel);
	free(sh.drive);
	free(raw_dir);
}
