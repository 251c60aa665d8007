/* #3 Memory: the peak RSS (VmHWM) of one orchestrating process with 1, 10
 * and 100 VMs running in one manager, against the instant fake, and the cost
 * per managed VM, (HWM@100 - HWM@1) / 99.
 *
 * The VMs have a boot source, a machine config and one small staged writable
 * drive, and no network interface, so the benchmark needs no root; what stays
 * in this process per VM is its registry entry, config copies and the open
 * API connection. The process is a fresh fork of the driver (bench_main.c),
 * so the high-water mark is this benchmark's own. */
#include "bench.h"

#include "util/file.h"
#include <smartvm/smartvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#define ID "3"
#define NAME "memory"

void bench_memory(const bench_env *env, bench_report *rep)
{
	if (!env->fake_firecracker) {
		bench_skip(rep, ID, NAME, "the fake Firecracker was not built (configure with -Dtests=true)");
		return;
	}
	const size_t marks[] = {1, 10, 100};
	long hwm[3] = {0}, rss[3] = {0};
	char *dir = bench_mkdtemp("/dev/shm", "smartvm-bench-mem");
	char *runtime = dir ? sv_path_join(dir, "runtime") : NULL;
	char *data = dir ? sv_path_join(dir, "data") : NULL;
	char *kernel = dir ? sv_path_join(dir, "vmlinux") : NULL;
	char *drive = dir ? sv_path_join(dir, "scratch.img") : NULL;
	sv_manager *mgr = NULL;
	if (!drive || bench_write_text(kernel, "kernel image") ||
	    bench_make_sparse(drive, 1 << 20, 64 << 10, 1)) {
		bench_skip(rep, ID, NAME, "creating the fixture under /dev/shm failed");
		goto out;
	}
	sv_manager_options o = {.version = SV_MANAGER_OPTIONS_VERSION,
				.data_dir = data,
				.runtime_dir = runtime,
				.vmm = SV_VMM_FIRECRACKER,
				.firecracker_binary_path = env->fake_firecracker,
				.stop_timeout_ms = 5000};
	if (sv_manager_new(&mgr, &o)) {
		bench_skip(rep, ID, NAME, "creating the manager: %s", sv_last_error());
		goto out;
	}
	size_t running = 0;
	for (int m = 0; m < 3; m++) {
		for (; running < marks[m]; running++) {
			char id[32];
			snprintf(id, sizeof(id), "mem-%zu", running);
			sv_drive_config d = {.drive_id = "scratch", .path_on_host = drive};
			sv_vm_config cfg = {.version = SV_VM_CONFIG_VERSION, .id = id,
					    .boot_source = {.kernel_image_path = kernel},
					    .machine_config = {.vcpu_count = 1, .mem_size_mib = 128},
					    .drives = &d,
					    .n_drives = 1};
			sv_vm *vm = NULL;
			if (sv_manager_create_vm(&vm, mgr, &cfg) || sv_vm_start(vm)) {
				bench_skip(rep, ID, NAME, "starting VM %s: %s", id, sv_last_error());
				goto out;
			}
		}
		hwm[m] = bench_vm_hwm_kib();
		rss[m] = bench_vm_rss_kib();
	}
	double per_vm = (double)(hwm[2] - hwm[0]) / 99.0;
	json_t *detail = json_pack("{s:[i,i,i], s:[i,i,i], s:f}", "vm_hwm_kib", (int)hwm[0], (int)hwm[1],
				   (int)hwm[2], "vm_rss_kib", (int)rss[0], (int)rss[1], (int)rss[2],
				   "per_vm_rss_kib", (double)(rss[2] - rss[0]) / 99.0);
	for (int m = 0; m < 3; m++) {
		char metric[64];
		snprintf(metric, sizeof(metric), "peak RSS, %zu VM%s running", marks[m],
			 marks[m] > 1 ? "s" : "");
		bench_add(rep, &(bench_row){.id = ID,
					    .benchmark = NAME,
					    .metric = metric,
					    .unit = "KiB",
					    .value = (double)hwm[m],
					    .baseline = NAN,
					    .target_met = -1});
	}
	bench_add(rep, &(bench_row){.id = ID,
				    .benchmark = NAME,
				    .metric = "per managed VM, (HWM@100 - HWM@1)/99",
				    .unit = "KiB",
				    .value = per_vm,
				    .baseline = NAN,
				    .target = "< 64 KiB",
				    .target_met = per_vm < 64,
				    .detail = detail});
out:
	sv_manager_free(mgr);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	bench_rm_rf(dir);
	free(dir);
	free(runtime);
	free(data);
	free(kernel);
	free(drive);
}
