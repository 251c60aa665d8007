/* The live-operation commands end to end: `smartvm run --detach` a VM on the
 * fake Firecracker, then mmds, balloon, drive, net limit, metrics and
 * snapshot create / restore --clones from separate invocations — with their
 * refusals and exit codes. Nothing remains afterwards. */
#include "svtest.h"

#include "util/file.h"
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	char *dir, *runtime, *data, *config, *snap, *patch;
	const char *env[3];
	char *env_rt, *env_data;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	f->dir = svt_tmpdir();
	f->runtime = sv_path_join(f->dir, "runtime");
	f->data = sv_path_join(f->dir, "data");
	f->snap = sv_path_join(f->dir, "snap");
	char *kernel = svt_write(f->dir, "vmlinux", "k"), *disk = svt_write(f->dir, "disk.img", "d");
	char *metrics = sv_path_join(f->dir, "metrics.json"), *text = NULL;
	assert_true(asprintf(&text,
			     "{\"boot-source\":{\"kernel_image_path\":\"%s\"},"
			     "\"machine-config\":{\"vcpu_count\":1,\"mem_size_mib\":8},"
			     "\"drives\":[{\"drive_id\":\"rootfs\",\"path_on_host\":\"%s\",\"is_root_device\":true}],"
			     "\"network-interfaces\":[{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap-cli0\"}],"
			     "\"balloon\":{\"amount_mib\":1,\"deflate_on_oom\":false,\"stats_polling_interval_s\":1},"
			     "\"mmds-config\":{\"network_interfaces\":[\"eth0\"]},"
			     "\"metrics\":{\"metrics_path\":\"%s\"}}",
			     kernel, disk, metrics) > 0);
	f->config = svt_write(f->dir, "vm.json", text);
	f->patch = svt_write(f->dir, "patch.json", "{\"k\":{\"b\":2}}");
	free(text);
	free(kernel);
	free(disk);
	free(metrics);
	assert_true(asprintf(&f->env_rt, "SMARTVM_RUNTIME_DIR=%s", f->runtime) > 0);
	/* Both dirs the test's own: the VM's network leases live in the data
	 * dir, which must not be the machine's default. */
	assert_true(asprintf(&f->env_data, "SMARTVM_DATA_DIR=%s", f->data) > 0);
	f->env[0] = f->env_rt;
	f->env[1] = f->env_data;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	/* Detached VMs outlive a failed test: kill them before checking. */
	const char *ids[] = { "cli-vm", "copy", "cli-mem" };
	for (size_t i = 0; i < 3; i++) {
		char *out = NULL, *err = NULL;
		svt_run_cli((const char *const[]){ "kill", ids[i], NULL }, f->env, &out, &err);
		free(out);
		free(err);
	}
	assert_int_equal(svt_vm_dirs_left(f->runtime), 0);
	svt_assert_no_processes_with(f->runtime);
	free(f->runtime);
	free(f->data);
	free(f->config);
	free(f->snap);
	free(f->patch);
	free(f->env_rt);
	free(f->env_data);
	svt_rm_tmpdir(f->dir);
	free(f);
	return 0;
}

/* Runs the CLI; checks the exit code and that stdout/stderr contain the
 * given texts (NULL = don't care). Returns stdout (malloc'd). */
static char *cli(fixture *f, int want_code, const char *want_out, const char *want_err, const char *const *args)
{
	char *out = NULL, *err = NULL;
	int code = svt_run_cli(args, f->env, &out, &err);
	if (code != want_code)
		fail_msg("smartvm %s %s: exit %d (want %d)\nstdout: %s\nstderr: %s", args[0], args[1] ? args[1] : "",
			 code, want_code, out, err);
	if (want_out)
		svt_assert_contains(out, want_out);
	if (want_err)
		svt_assert_contains(err, want_err);
	free(err);
	return out;
}

#define CLI(code, o, e, ...) free(cli(f, code, o, e, (const char *const[]){ __VA_ARGS__, NULL }))

static void test_live_commands_end_to_end(void **state)
{
	fixture *f = *state;
	CLI(0, "cli-vm", NULL, "run", "--config", f->config, "--id", "cli-vm", "--firecracker-bin",
	    svt_fake_firecracker(), "--detach");
	CLI(1, NULL, "smartvm: VM \"cli-vm\": MMDS get: the data store is empty (nothing was put yet)", "mmds", "get",
	    "cli-vm");
	CLI(0, NULL, NULL, "mmds", "set", "cli-vm", "{\"k\":{\"a\":1}}");
	CLI(0, NULL, NULL, "mmds", "patch", "cli-vm", "--file", f->patch);
	CLI(0, "\"b\": 2", NULL, "mmds", "get", "cli-vm");
	CLI(2, NULL, "missing arguments: expected ID JSON (or --file F)", "mmds", "set", "cli-vm");
	CLI(0, NULL, NULL, "balloon", "set", "cli-vm", "4");
	CLI(0, "\"target_mib\": 4", NULL, "balloon", "stats", "cli-vm", "--json");
	CLI(0, "target_mib           4", NULL, "balloon", "stats", "cli-vm");
	CLI(1, NULL, "smartvm: VM \"cli-vm\": drive update: drive \"nope\": the VM has no such drive",
	    "drive", "update", "cli-vm", "nope", "--ops", "100:1000");
	CLI(0, NULL, NULL, "drive", "update", "cli-vm", "rootfs", "--bandwidth", "1048576:100:4096");
	CLI(2, NULL, "--ops \"x\": expected SIZE:REFILL_MS[:BURST]", "drive", "update", "cli-vm", "rootfs", "--ops", "x");
	CLI(0, NULL, NULL, "net", "limit", "cli-vm", "eth0", "--rx-bandwidth", "4096:10");
	CLI(0, "vmm.state Running", NULL, "metrics", "cli-vm");
	CLI(0, "\"utc_timestamp_ms\"", NULL, "metrics", "cli-vm", "--json");
	CLI(0, f->snap, NULL, "snapshot", "create", "cli-vm", f->snap);
	/* A restore keeps the interface's host device, which the running
	 * original still holds: refused, then fine once the original stopped. */
	CLI(1, NULL, "host_dev_name \"tap-cli0\": already used by VM \"cli-vm\"", "snapshot", "restore", f->snap,
	    "--id", "copy", "--detach", "--firecracker-bin", svt_fake_firecracker());
	CLI(0, NULL, NULL, "stop", "cli-vm");
	CLI(0, "copy", NULL, "snapshot", "restore", f->snap, "--id", "copy", "--detach", "--firecracker-bin",
	    svt_fake_firecracker());
	CLI(0, "copy ", NULL, "ps");
	CLI(1, NULL, "smartvm: VM \"copy\": MMDS get: the data store is empty", "mmds", "get", "copy");
	CLI(0, NULL, NULL, "stop", "copy");
	CLI(1, NULL, "snapshot", "snapshot", "restore", f->dir, "--detach");
	CLI(2, NULL, "unknown subcommand \"frobnicate\"", "snapshot", "frobnicate");
}

/* Firecracker v1.16's memory devices from the command line: free page
 * hinting runs, hotpluggable memory, a pmem device's rate limiter. */
static void test_memory_device_commands(void **state)
{
	fixture *f = *state;
	char *kernel = svt_write(f->dir, "vmlinux", "k"), *pm = svt_write(f->dir, "pmem.img", "p"), *text = NULL;
	assert_true(asprintf(&text,
			     "{\"boot-source\":{\"kernel_image_path\":\"%s\"},"
			     "\"machine-config\":{\"vcpu_count\":1,\"mem_size_mib\":8},"
			     "\"balloon\":{\"amount_mib\":1,\"deflate_on_oom\":false,\"free_page_hinting\":true},"
			     "\"memory-hotplug\":{\"total_size_mib\":1024,\"slot_size_mib\":256,\"block_size_mib\":4},"
			     "\"pmem\":[{\"id\":\"pm0\",\"path_on_host\":\"%s\",\"read_only\":true}]}",
			     kernel, pm) > 0);
	char *config = svt_write(f->dir, "mem.json", text);
	free(text);
	free(kernel);
	free(pm);
	CLI(0, "cli-mem", NULL, "run", "--config", config, "--id", "cli-mem", "--firecracker-bin",
	    svt_fake_firecracker(), "--detach");
	free(config);
	CLI(0, "host_cmd             0", NULL, "balloon", "hint-status", "cli-mem");
	CLI(0, NULL, NULL, "balloon", "hint-start", "cli-mem", "--ack-on-stop");
	CLI(0, "\"guest_cmd\": 2", NULL, "balloon", "hint-status", "cli-mem", "--json");
	CLI(0, NULL, NULL, "balloon", "hint-stop", "cli-mem");
	CLI(0, "host_cmd             1", NULL, "balloon", "hint-status", "cli-mem");
	CLI(2, NULL, "unknown subcommand \"hint\"", "balloon", "hint", "cli-mem");
	CLI(0, NULL, NULL, "memory", "set", "cli-mem", "512");
	CLI(0, "plugged_size_mib     512", NULL, "memory", "status", "cli-mem");
	CLI(0, "\"requested_size_mib\": 512", NULL, "memory", "status", "cli-mem", "--json");
	CLI(1, NULL, "smartvm: VM \"cli-mem\": memory hotplug set: PATCH /hotplug/memory: 400 Invalid requested size",
	    "memory", "set", "cli-mem", "4096");
	CLI(2, NULL, "missing arguments: expected ID MIB", "memory", "set", "cli-mem");
	CLI(0, NULL, NULL, "pmem", "update", "cli-mem", "pm0", "--ops", "100:1000");
	CLI(0, "config.pmem[0].rate_limiter.ops.refill_time: 1000", NULL, "inspect", "cli-mem");
	CLI(1, NULL, "smartvm: VM \"cli-mem\": pmem update: pmem \"pm9\": the VM has no such pmem device", "pmem",
	    "update", "cli-mem", "pm9", "--ops", "100:1000");
	CLI(2, NULL, "give --bandwidth, --ops or both", "pmem", "update", "cli-mem", "pm0");
	CLI(2, NULL, "smartvm pmem: unknown option --path", "pmem", "update", "cli-mem", "pm0", "--path", "/x");
	CLI(0, NULL, NULL, "stop", "cli-mem");
}

int main(void)
{
	/* The VMs here have network interfaces: keep their TAPs off the host. */
	if (!svt_private_netns())
		return svt_skip_program(SVT_NEED_ROOT, "needs root for a private network namespace");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_live_commands_end_to_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memory_device_commands, setup, teardown),
	};
	return svt_run_group(tests, NULL, NULL);
}
