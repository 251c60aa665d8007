/* #16 Snapshot clones: what a VM restored from a snapshot costs against a
 * plain launch of the same VM, both against the instant fake Firecracker,
 * interleaved. The template (1 vCPU, 128 MiB, a read-only root drive and a
 * writable 1 MiB drive, vsock) is started and snapshotted once. Then, in
 * turn: a plain lifecycle (create, start, stop) and a restore lifecycle
 * (sv_manager_restore_vm, which checks the snapshot's files each time and
 * their SHA-256 unless the manager verified the unchanged file before, stop); and once, sv_manager_clone_vms
 * of a batch, whose checks run once for all. Reported: the median wall from the call to a running VM, the
 * per-clone wall in the batch, and the per-step breakdown of the restores (bench_steps.c). */
#include "bench.h"
#include "bench_steps.h"

#include "util/file.h"
#include <smartvm/smartvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ID "16"
#define NAME "snapshot clones"
#define BATCH 20

typedef struct {
	const bench_env *env;
	char *dir, *snap, *kernel, *rootfs, *scratch;
	sv_manager *mgr;
	bench_steps *steps;
	char err[1024];
} fixture;

static sv_vm_config vm_config(fixture *f, const char *id, sv_drive_config drives[2], sv_vsock_config *vsock,
			      char *uds, size_t uds_size)
{
	drives[0] = (sv_drive_config){
	    .drive_id = "rootfs", .path_on_host = f->rootfs, .is_root_device = true, .is_read_only = true};
	drives[1] = (sv_drive_config){.drive_id = "scratch", .path_on_host = f->scratch};
	snprintf(uds, uds_size, "%s/%s.vsock", f->dir, id);
	*vsock = (sv_vsock_config){.guest_cid = 3, .uds_path = uds};
	return (sv_vm_config){.version = SV_VM_CONFIG_VERSION, .id = id,
			      .boot_source = {.kernel_image_path = f->kernel},
			      .machine_config = {.vcpu_count = 1, .mem_size_mib = 128},
			      .drives = drives,
			      .n_drives = 2,
			      .vsock = vsock};
}

static int failed(fixture *f, const char *what)
{
	snprintf(f->err, sizeof(f->err), "%s: %s", what, sv_last_error());
	return -1;
}

/* Starts one plain VM; *ms = the wall from create to running. */
static int plain(fixture *f, int i, double *ms)
{
	char id[32], uds[512];
	snprintf(id, sizeof(id), "plain-%d", i);
	sv_drive_config drives[2];
	sv_vsock_config vsock;
	sv_vm_config cfg = vm_config(f, id, drives, &vsock, uds, sizeof(uds));
	sv_vm *vm = NULL;
	double t0 = bench_now_ms();
	if (sv_manager_create_vm(&vm, f->mgr, &cfg) || sv_vm_start(vm))
		return failed(f, "plain launch");
	*ms = bench_now_ms() - t0;
	int rc = sv_vm_stop(vm, -1) ? failed(f, "stopping a plain VM") : 0;
	if (f->steps)
		bench_steps_discard(f->steps); /* the breakdown is the restores' */
	unlink(uds);
	return rc;
}

/* Restores one VM from the snapshot; *ms = the wall of the call. */
static int restore(fixture *f, int i, double *ms)
{
	char id[32];
	snprintf(id, sizeof(id), "restored-%d", i);
	sv_restore_options o = {.version = SV_RESTORE_OPTIONS_VERSION, .id = id};
	sv_vm *vm = NULL;
	double t0 = bench_now_ms();
	if (sv_manager_restore_vm(&vm, f->mgr, f->snap, &o))
		return failed(f, "restore");
	*ms = bench_now_ms() - t0;
	if (f->steps)
		bench_steps_add(f->steps, "call:sv_manager_restore_vm(total)", *ms, 0, 0);
	int rc = sv_vm_stop(vm, -1) ? failed(f, "stopping a restored VM") : 0;
	if (f->steps)
		bench_steps_collect(f->steps);
	return rc;
}

static int make_template(fixture *f)
{
	char uds[512];
	sv_drive_config drives[2];
	sv_vsock_config vsock;
	sv_vm_config cfg = vm_config(f, "template", drives, &vsock, uds, sizeof(uds));
	sv_vm *vm = NULL;
	if (sv_manager_create_vm(&vm, f->mgr, &cfg) || sv_vm_start(vm))
		return failed(f, "starting the template");
	int rc = sv_vm_snapshot_create(vm, f->snap, NULL) ? failed(f, "snapshotting the template") : 0;
	if (sv_vm_stop(vm, -1) && !rc)
		rc = failed(f, "stopping the template");
	unlink(uds);
	return rc;
}

static int setup(fixture *f)
{
	f->dir = bench_mkdtemp("/dev/shm", "smartvm-bench-clone");
	if (!f->dir)
		return snprintf(f->err, sizeof(f->err), "creating a directory under /dev/shm failed"), -1;
	char *runtime = sv_path_join(f->dir, "runtime"), *data = sv_path_join(f->dir, "data");
	f->snap = sv_path_join(f->dir, "snap");
	f->kernel = sv_path_join(f->dir, "vmlinux");
	f->rootfs = sv_path_join(f->dir, "rootfs.ext4");
	f->scratch = sv_path_join(f->dir, "scratch.img");
	int rc = 0;
	if (bench_write_text(f->kernel, "kernel image") || bench_write_text(f->rootfs, "root filesystem") ||
	    bench_make_sparse(f->scratch, 1 << 20, 64 << 10, 1)) {
		snprintf(f->err, sizeof(f->err), "creating the fixture files in %s failed", f->dir);
		rc = -1;
	}
	sv_manager_options o = {.version = SV_MANAGER_OPTIONS_VERSION, .data_dir = data,
				.runtime_dir = runtime,
				.vmm = SV_VMM_FIRECRACKER,
				.firecracker_binary_path = f->env->fake_firecracker,
				.stop_timeout_ms = 5000};
	if (!rc && sv_manager_new(&f->mgr, &o))
		rc = failed(f, "creating the manager");
	free(runtime);
	free(data);
	if (rc || (rc = make_template(f)))
		return rc;
	/* A manager remembers the snapshot files it verified, but only files
	 * left alone for a second (manager.c): a snapshot is usually older. */
	struct timespec settle = {1, 200000000};
	nanosleep(&settle, NULL);
	return 0;
}

static void teardown(fixture *f)
{
	sv_manager_free(f->mgr);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	bench_rm_rf(f->dir);
	free(f->dir);
	free(f->snap);
	free(f->kernel);
	free(f->rootfs);
	free(f->scratch);
}

/* A batch of clones: the wall per clone. */
static int batch(fixture *f, double *per_clone)
{
	sv_restore_options o = {.version = SV_RESTORE_OPTIONS_VERSION, .id = "batch"};
	sv_vm **vms = NULL;
	double t0 = bench_now_ms();
	if (sv_manager_clone_vms(&vms, f->mgr, f->snap, BATCH, &o))
		return failed(f, "cloning a batch");
	*per_clone = (bench_now_ms() - t0) / BATCH;
	int rc = 0;
	for (size_t i = 0; i < BATCH; i++)
		if (sv_vm_stop(vms[i], -1) && !rc)
			rc = failed(f, "stopping a clone");
	free(vms);
	return rc;
}

void bench_clone(const bench_env *env, bench_report *rep)
{
	if (!env->fake_firecracker) {
		bench_skip(rep, ID, NAME, "the fake Firecracker was not built (configure with -Dtests=true)");
		return;
	}
	char *trace_dir = bench_mkdtemp("/dev/shm", "smartvm-bench-clone-trace");
	fixture f = {.env = env, .steps = trace_dir ? bench_steps_open(trace_dir) : NULL};
	size_t n = env->quick ? 5 : 50;
	double *a = calloc(n, sizeof(double)), *b = calloc(n, sizeof(double)), per_clone = 0;
	if (!a || !b || setup(&f)) {
		bench_skip(rep, ID, NAME, "%s", f.err[0] ? f.err : "out of memory");
		goto out;
	}
	if (f.steps)
		bench_steps_reset(f.steps);
	for (size_t i = 0; i < n; i++) {
		int rc = i % 2 ? plain(&f, (int)i, &b[i]) || restore(&f, (int)i, &a[i])
			       : restore(&f, (int)i, &a[i]) || plain(&f, (int)i, &b[i]);
		if (rc) {
			bench_skip(rep, ID, NAME, "%s", f.err);
			goto out;
		}
	}
	if (batch(&f, &per_clone)) {
		bench_skip(rep, ID, NAME, "%s", f.err);
		goto out;
	}
	double restore_ms = bench_median(a, n), plain_ms = bench_median(b, n);
	char metric[96];
	snprintf(metric, sizeof(metric), "restore call to running VM (checks included), median of %zu", n);
	bench_add(rep, &(bench_row){.id = ID,
				    .benchmark = NAME,
				    .metric = metric,
				    .unit = "ms",
				    .value = restore_ms,
				    .baseline = plain_ms,
				    .baseline_name = "plain launch",
				    .target = "<= 1.2x",
				    .target_met = restore_ms <= 1.2 * plain_ms,
				    .detail = json_pack("{s:o, s:o}", "restore", bench_stats_json(a, n),
							"plain", bench_stats_json(b, n))});
	snprintf(metric, sizeof(metric), "per clone, batch of %d (checks once)", BATCH);
	bench_add(rep, &(bench_row){.id = ID,
				    .benchmark = NAME,
				    .metric = metric,
				    .unit = "ms",
				    .value = per_clone,
				    .baseline = plain_ms,
				    .baseline_name = "plain launch",
				    .target = "<= 1.2x",
				    .target_met = per_clone <= 1.2 * plain_ms});
	if (f.steps)
		bench_add_steps(rep, ID, NAME " (restores)", bench_steps_json(f.steps, n));
out:
	teardown(&f);
	bench_steps_free(f.steps);
	bench_rm_rf(trace_dir);
	free(trace_dir);
	free(a);
	free(b);
}
