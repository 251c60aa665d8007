/* #2 Launch throughput: 100 VMs started concurrently against the instant fake,
 * each with a network interface (smartvm creates the TAP, lease, bridge and
 * nftables table) and a 64 MiB sparse writable drive that smartvm stages.
 *
 * Runs as root only, inside a network namespace of its own (unshare before
 * any thread exists, so every worker and every child is in it). A manager
 * is single-threaded, so a fixed pool of worker threads each owns one
 * manager and takes VM numbers from a shared counter. Reported: VMs per
 * second from the first start call to the last VM running, and this
 * process's CPU per VM over that span. Then all VMs are stopped (timed too,
 * for the JSON) and the scratch directory is removed. */
#include "bench.h"

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

typedef struct shared shared;

typedef struct {
	shared *sh;
	sv_manager *mgr;
	sv_vm **vms; /* this worker's started VMs */
	size_t n_vms;
	char err[512];
} worker;

struct shared {
	const bench_env *env;
	char *dir, *runtime, *data, *kernel, *drive;
	size_t n;
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
		char id[32];
		snprintf(id, sizeof(id), "launch-%zu", i);
		sv_drive_config drive = {
		    .drive_id = "rootfs", .path_on_host = sh->drive, .is_root_device = true};
		sv_net_iface_config nic = {.iface_id = "eth0"};
		sv_vm_config cfg = {.id = id,
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
	const char *setup_error = NULL;
	if (bench_write_text(sh.kernel, "kernel image") ||
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
		if (!w[i].vms || sv_manager_new(&w[i].mgr, &o))
			setup_error = "creating the managers failed";
	}
	if (setup_error) {
		bench_skip(rep, ID, NAME, "%s", setup_error);
		goto out;
	}
	bench_read_all(sh.drive);

	double c0 = bench_cpu_ms(RUSAGE_SELF), busy0, total0, busy1, total1;
	machine_jiffies(&busy0, &total0);
	double start_wall = run_workers(&sh, w, start_vms);
	double start_cpu = bench_cpu_ms(RUSAGE_SELF) - c0;
	machine_jiffies(&busy1, &total1);
	double busy_pct = 100.0 * (busy1 - busy0) / (total1 - total0);
	size_t running = 0;
	for (int i = 0; i < WORKERS; i++)
		running += w[i].n_vms;
	c0 = bench_cpu_ms(RUSAGE_SELF);
	double stop_wall = run_workers(&sh, w, stop_vms);
	double stop_cpu = bench_cpu_ms(RUSAGE_SELF) - c0;

	const char *err = NULL;
	for (int i = 0; i < WORKERS && !err; i++)
		err = w[i].err[0] ? w[i].err : NULL;
	if (err || running != sh.n) {
		bench_skip(rep, ID, NAME, "%s", err ? err : "not every VM started");
		goto out;
	}
	double vms_per_s = (double)sh.n / (start_wall / 1e3);
	json_t *detail =
	    json_pack("{s:I, s:i, s:f, s:f, s:f, s:f, s:f}", "vms", (json_int_t)sh.n, "workers", WORKERS,
		      "start_wall_ms", start_wall, "start_cpu_ms", start_cpu, "stop_wall_ms", stop_wall,
		      "stop_cpu_ms", stop_cpu, "machine_busy_pct_during_start", busy_pct);
	char metric[96];
	snprintf(metric, sizeof(metric), "%zu VMs (TAP + 64 MiB staged drive) started, %d threads", sh.n,
		 WORKERS);
	bench_add(rep, &(bench_row){.id = ID,
				    .benchmark = NAME,
				    .metric = metric,
				    .unit = "VMs/s",
				    .value = vms_per_s,
				    .baseline = NAN,
				    .target = ">= 200 VMs/s",
				    .target_met = vms_per_s >= 200,
				    .detail = detail});
	bench_add(rep, &(bench_row){.id = ID,
				    .benchmark = NAME,
				    .metric = "orchestrator CPU per VM started",
				    .unit = "ms",
				    .value = start_cpu / (double)sh.n,
				    .baseline = NAN,
				    .target_met = -1});
	bench_add(rep, &(bench_row){.id = ID,
				    .benchmark = NAME,
				    .metric = "all CPUs busy while starting",
				    .unit = "%",
				    .value = busy_pct,
				    .baseline = NAN,
				    .target_met = -1});
	bench_add(rep, &(bench_row){.id = ID,
				    .benchmark = NAME,
				    .metric = "stop + clean up, all VMs",
				    .unit = "VMs/s",
				    .value = (double)sh.n / (stop_wall / 1e3),
				    .baseline = NAN,
				    .target_met = -1});
out:
	for (int i = 0; i < WORKERS; i++) {
		sv_manager_free(w[i].mgr);
		free(w[i].vms);
	}
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	bench_rm_rf(sh.dir);
	free(sh.dir);
	free(sh.runtime);
	free(sh.data);
	free(sh.kernel);
	free(sh.drive);
}
