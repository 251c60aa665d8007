/* #6 Real boot (QEMU, TCG): the minimal guest image running `true`, boot to
 * exit, through smartvm vs the equivalent raw qemu-system command line, 10
 * runs each, interleaved, medians and the ratio.
 *
 * smartvm: sv_manager_create_vm + sv_vm_start + sv_vm_wait, i.e. what
 * `smartvm run --image minimal -- true` does under the CLI (the CLI's --image
 * flag is not in this tree yet; the library path is the same minus the
 * CLI's own start-up). Raw: the QEMU backend's own argv builder for the same
 * config, minus "-S" (smartvm starts QEMU frozen and sends "cont" over QMP;
 * a raw command line just runs), spawned directly, waited for. Both runs must
 * print the init's "exit status 0" marker.
 *
 * The image is the tests' cached minimal bundle
 * ($SMARTVM_TEST_IMAGE_DIR, default /var/tmp/smartvm-test-images), built by
 * the build tree's smartvm-build-minimal-image when absent (needs a Debian
 * mirror the first time). Skips when qemu or the image can't be had. */
#include "bench.h"
#include "bench_image.h"

#include "guest_cmd.h"
#include "util/file.h"
#include "util/spawn.h"
#include "vmm/vmm.h"
#include <fcntl.h>
#include <signal.h>
#include <smartvm/smartvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define ID "6"
#define NAME "real boot (QEMU TCG)"
#define RUNS 10
#define BOOT_TIMEOUT_MS 60000
#define EXIT_OK "=== smartvm: exit status 0 ==="

typedef bench_image image;
#define image_free bench_image_free

/* The image with `true` as its command on the kernel command line. */
static const char *get_image(image *im)
{
	const char *why = bench_image_get(im);
	if (why)
		return why;
	const char *const cmd[] = {"true", NULL};
	char *enc = sv_guest_cmd_encode(cmd), *args = NULL;
	if (!enc || asprintf(&args, "%s " SV_GUEST_CMD_KEY "%s", im->boot_args, enc) < 0)
		args = NULL;
	free(enc);
	free(im->boot_args);
	im->boot_args = args;
	return args ? NULL : "out of memory";
}

static sv_vm_config vm_config(const image *im, sv_drive_config *root)
{
	*root = (sv_drive_config){
	    .drive_id = "rootfs", .path_on_host = im->rootfs, .is_root_device = true, .is_read_only = true};
	return (sv_vm_config){.version = SV_VM_CONFIG_VERSION, .boot_source = {.kernel_image_path = im->kernel,
					      .initrd_path = im->initrd,
					      .boot_args = im->boot_args},
			      .machine_config = {.vcpu_count = 1, .mem_size_mib = 256},
			      .drives = root,
			      .n_drives = 1};
}

static bool console_says_ok(const char *path)
{
	char *text = NULL;
	bool ok = sv_read_file(path, 1 << 22, &text, NULL) == 0 && strstr(text, EXIT_OK);
	free(text);
	return ok;
}

/* Boot to exit through the library; ms, or -1 with why set. */
static double smartvm_boot(sv_manager *mgr, const image *im, int run, char *why, size_t why_size)
{
	char id[32];
	snprintf(id, sizeof(id), "boot-%d", run);
	sv_drive_config root;
	sv_vm_config cfg = vm_config(im, &root);
	cfg.id = id;
	/* The console log goes with the VM directory; copy it out to check it. */
	double t0 = bench_now_ms();
	sv_vm *vm = NULL;
	if (sv_manager_create_vm(&vm, mgr, &cfg) || sv_vm_start(vm) || sv_vm_wait(vm, BOOT_TIMEOUT_MS)) {
		snprintf(why, why_size, "smartvm: %s", sv_last_error());
		if (vm)
			sv_vm_kill(vm);
		return -1;
	}
	double t = bench_now_ms() - t0;
	char *desc = NULL;
	sv_vm_describe(vm, &desc);
	bool ok = sv_vm_get_state(vm) == SV_VM_STOPPED && desc && strstr(desc, "exit status 0");
	if (!ok)
		snprintf(why, why_size, "smartvm: the guest did not end with exit status 0: %.300s",
			 desc ? desc : "");
	free(desc);
	return ok ? t : -1;
}

/* Boot to exit of the raw command line; ms, or -1 with why set. */
static double raw_boot(const char *qemu, const image *im, const char *dir, int run, char *why,
		       size_t why_size)
{
	char id[32], vm_dir[600], console[700];
	snprintf(id, sizeof(id), "raw-%d", run);
	snprintf(vm_dir, sizeof(vm_dir), "%s/%s", dir, id);
	snprintf(console, sizeof(console), "%s/console.log", vm_dir);
	sv_drive_config root;
	sv_vm_config cfg = vm_config(im, &root);
	cfg.id = id;
	sv_vmm_launch launch = {
	    .vm_id = id, .vm_dir = vm_dir, .binary = qemu, .cfg = &cfg, .qemu_accel = "tcg"};
	char **argv = NULL;
	if (sv_mkdir_p(vm_dir, 0700) || sv_vmm_qemu_ops.build_argv(&launch, &argv)) {
		snprintf(why, why_size, "raw: building the command line: %s", sv_last_error());
		return -1;
	}
	/* Drop "-S": nothing will send "cont". */
	size_t w = 0;
	for (size_t r = 0; argv[r]; r++) {
		if (strcmp(argv[r], "-S"))
			argv[w++] = argv[r];
		else
			free(argv[r]);
	}
	argv[w] = NULL;
	double t0 = bench_now_ms();
	int out = open(console, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	sv_spawn_opts so = {
	    .argv = (const char *const *)argv, .stdin_fd = -1, .stdout_fd = out, .stderr_fd = out};
	pid_t pid = 0;
	int pidfd = -1;
	int rc = out < 0 ? -1 : sv_spawn(&so, &pid, &pidfd);
	if (out >= 0)
		close(out);
	sv_strv_free(argv);
	if (rc) {
		snprintf(why, why_size, "raw: spawning qemu: %s", sv_last_error());
		return -1;
	}
	int status = 0;
	if (sv_pidfd_wait_exit(pidfd, BOOT_TIMEOUT_MS) != 0)
		kill(pid, SIGKILL);
	sv_reap(pid, 5000, &status);
	close(pidfd);
	double t = bench_now_ms() - t0;
	bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && console_says_ok(console);
	if (!ok)
		snprintf(why, why_size, "raw: qemu %s without exit status 0 from the guest",
			 sv_describe_wait_status(status));
	sv_rm_rf(vm_dir);
	return ok ? t : -1;
}

void bench_boot(const bench_env *env, bench_report *rep)
{
	if (!bench_have_program("qemu-system-x86_64")) {
		bench_skip(rep, ID, NAME, "qemu-system-x86_64 is not installed");
		return;
	}
	image im = {0};
	const char *why_not = get_image(&im);
	if (why_not) {
		bench_skip(rep, ID, NAME, "%s", why_not);
		image_free(&im);
		return;
	}
	char *dir = bench_mkdtemp("/dev/shm", "smartvm-bench-boot");
	char *runtime = dir ? sv_path_join(dir, "runtime") : NULL;
	char *data = dir ? sv_path_join(dir, "data") : NULL;
	char *raw = dir ? sv_path_join(dir, "raw") : NULL;
	sv_manager *mgr = NULL;
	sv_manager_options o = {.version = SV_MANAGER_OPTIONS_VERSION,
				.data_dir = data,
				.runtime_dir = runtime,
				.vmm = SV_VMM_QEMU,
				.qemu_accel = "tcg",
				.qemu_binary = "/usr/bin/qemu-system-x86_64",
				.stop_timeout_ms = 5000};
	if (access(o.qemu_binary, X_OK) != 0)
		o.qemu_binary = NULL; /* from PATH */
	if (!raw || sv_manager_new(&mgr, &o)) {
		bench_skip(rep, ID, NAME, "setting up: %s", raw ? sv_last_error() : "out of memory");
		goto out;
	}
	int runs = env->quick ? 2 : RUNS;
	double sv[RUNS], base[RUNS];
	char why[1024];
	for (int r = 0; r < runs; r++) {
		for (int k = 0; k < 2; k++) {
			bool smartvm_turn = (k + r) % 2 == 0;
			double t = smartvm_turn
				       ? smartvm_boot(mgr, &im, r, why, sizeof(why))
				       : raw_boot(o.qemu_binary ? o.qemu_binary : "qemu-system-x86_64", &im,
						  raw, r, why, sizeof(why));
			if (t < 0) {
				bench_skip(rep, ID, NAME, "run %d: %s", r, why);
				goto out;
			}
			(smartvm_turn ? sv : base)[r] = t;
		}
	}
	double s = bench_median(sv, (size_t)runs), b = bench_median(base, (size_t)runs);
	char metric[96];
	snprintf(metric, sizeof(metric), "`true` in the minimal image, boot to exit, median of %d", runs);
	bench_add(
	    rep, &(bench_row){.id = ID,
			      .benchmark = NAME,
			      .metric = metric,
			      .unit = "ms",
			      .value = s,
			      .baseline = b,
			      .baseline_name = "raw qemu-system",
			      .target = "<= 1.05x",
			      .target_met = s <= 1.05 * b,
			      .detail = json_pack("{s:o, s:o}", "smartvm", bench_stats_json(sv, (size_t)runs),
						  "raw", bench_stats_json(base, (size_t)runs))});
out:
	sv_manager_free(mgr);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	bench_rm_rf(dir);
	free(dir);
	free(runtime);
	free(data);
	free(raw);
	image_free(&im);
}
