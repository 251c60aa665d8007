/* Real QEMU boots for the tests (see qemu_fixture.h). Every wait is bounded;
 * every QEMU started here is killed and reaped by svq_destroy. */
#include "svtest.h"
#include "qemu_fixture.h"

#include "util/file.h"
#include "util/spawn.h"
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <smartvm/error.h>
#include <smartvm/manager.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define START_MARKER "=== smartvm: command start ===\n"
#define EXIT_MARKER "\n=== smartvm: exit status "

/* QEMUs still running, killed at exit: a failed assertion longjmps out of a
 * test before svq_destroy, and a guest must never outlive the test run. */
#define MAX_LIVE 16
static pid_t live[MAX_LIVE];
static char *live_dirs[MAX_LIVE];

static void kill_leftovers(void)
{
	for (int i = 0; i < MAX_LIVE; i++) {
		if (live[i] > 0) {
			kill(live[i], SIGKILL);
			sv_reap(live[i], 5000, NULL);
			live[i] = 0;
		}
		if (live_dirs[i]) {
			sv_rm_rf(live_dirs[i]);
			free(live_dirs[i]);
			live_dirs[i] = NULL;
		}
	}
}

static void track(pid_t pid, const char *dir)
{
	static bool registered;
	if (!registered) {
		atexit(kill_leftovers);
		registered = true;
	}
	for (int i = 0; i < MAX_LIVE; i++)
		if (live[i] == 0 && !live_dirs[i]) {
			live[i] = pid;
			live_dirs[i] = strdup(dir);
			return;
		}
	fail_msg("more than %d QEMUs at once", MAX_LIVE);
}

static void untrack_pid(pid_t pid)
{
	for (int i = 0; i < MAX_LIVE; i++)
		if (live[i] == pid)
			live[i] = 0;
}

static void untrack_dir(const char *dir)
{
	for (int i = 0; i < MAX_LIVE; i++)
		if (live_dirs[i] && strcmp(live_dirs[i], dir) == 0) {
			free(live_dirs[i]);
			live_dirs[i] = NULL;
		}
}

/* Kills this VM's QEMU before failing, so the failure leaves nothing behind. */
static void kill_now(svq_vm *vm)
{
	if (vm->pid > 0) {
		kill(vm->pid, SIGKILL);
		sv_reap(vm->pid, 5000, NULL);
		untrack_pid(vm->pid);
		vm->pid = 0;
	}
}

static const char *qemu_binary(void)
{
	static const char *const candidates[] = { "/usr/bin/qemu-system-x86_64", "/usr/local/bin/qemu-system-x86_64" };
	for (size_t i = 0; i < 2; i++)
		if (access(candidates[i], X_OK) == 0)
			return candidates[i];
	return NULL;
}

static char *json_path(json_t *m, const char *key)
{
	const char *p = json_string_value(json_object_get(json_object_get(m, key), "path"));
	return p ? strdup(p) : NULL;
}

/* What svq_image_get's last failure lacked (for svt_skip). */
static svt_need reason_need;

bool svq_image_get(const svq_image **img_out, const char **why)
{
	static svq_image img;
	static bool tried, ok;
	static const char *reason;
	*img_out = &img;
	reason_need = SVT_NEED_IMAGE;
	if (tried) {
		*why = reason;
		return ok;
	}
	tried = true;
	if (!svt_is_root()) {
		reason_need = SVT_NEED_ROOT;
		*why = reason = "needs root (QEMU boots, TAP devices, network namespaces)";
		return false;
	}
	if (!qemu_binary()) {
		reason_need = SVT_NEED_QEMU;
		*why = reason = "qemu-system-x86_64 is not installed";
		return false;
	}
	const char *build = getenv("SMARTVM_BUILD_ROOT");
	if (!build) {
		*why = reason = "SMARTVM_BUILD_ROOT is not set: run through meson test";
		return false;
	}
	const char *dir = getenv("SMARTVM_TEST_IMAGE_DIR");
	if (!dir || !*dir)
		dir = "/var/tmp/smartvm-test-images";
	char *tool = NULL, *init = NULL;
	assert_true(asprintf(&tool, "%s/tools/smartvm-build-minimal-image", build) > 0);
	assert_true(asprintf(&init, "%s/guest/smartvm-init", build) > 0);
	const char *argv[] = { tool, "--init", init, "--cache-dir", dir, NULL };
	int code = -1;
	char *out = NULL, *err = NULL;
	int rc = sv_run(argv, NULL, 600000, &code, &out, &err);
	free(tool);
	free(init);
	if (rc != 0 || code != 0) {
		fprintf(stderr, "minimal image build failed: %s\n", err ? err : sv_last_error());
		free(out);
		free(err);
		*why = reason = "the minimal image could not be built (see stderr)";
		return false;
	}
	free(err);
	out[strcspn(out, "\n")] = '\0';
	json_error_t jerr;
	json_t *m = json_load_file(out, 0, &jerr);
	free(out);
	assert_non_null(m);
	img.kernel = json_path(m, "kernel");
	img.initrd = json_path(m, "initrd");
	img.rootfs = json_path(m, "rootfs");
	img.boot_args = strdup(json_string_value(json_object_get(m, "bootArgs")));
	json_decref(m);
	assert_non_null(img.kernel);
	assert_non_null(img.initrd);
	assert_non_null(img.rootfs);
	ok = true;
	return true;
}

const svq_image *svq_image_or_skip(void)
{
	const svq_image *img = NULL;
	const char *why = NULL;
	if (!svq_image_get(&img, &why))
		svt_skip(reason_need, "%s", why);
	return img;
}

char *svq_boot_args(const svq_image *img, const char *const *cmd, const char *extra)
{
	char *encoded = cmd ? sv_guest_cmd_encode(cmd) : NULL;
	char *args = NULL;
	assert_true(asprintf(&args, "%s%s%s%s%s", img->boot_args, encoded ? " " SV_GUEST_CMD_KEY : "",
			     encoded ? encoded : "", extra ? " " : "", extra ? extra : "") > 0);
	free(encoded);
	return args;
}

void svq_config_init(svq_config *c, const svq_image *img, const char *boot_args, bool with_root)
{
	memset(c, 0, sizeof(*c));
	c->cfg.version = SV_VM_CONFIG_VERSION;
	c->cfg.boot_source.kernel_image_path = img->kernel;
	c->cfg.boot_source.initrd_path = img->initrd;
	c->cfg.boot_source.boot_args = boot_args;
	c->cfg.machine_config.vcpu_count = 1;
	c->cfg.machine_config.mem_size_mib = 256;
	c->cfg.drives = c->drives;
	c->cfg.network_interfaces = c->nets;
	if (with_root) {
		c->drives[0] = (sv_drive_config){
			.drive_id = "rootfs", .path_on_host = img->rootfs, .is_root_device = true,
			.is_read_only = true,
		};
		c->cfg.n_drives = 1;
	}
}

void svq_launch(svq_vm *vm, const sv_vm_config *cfg, const char *id, bool incoming)
{
	memset(vm, 0, sizeof(*vm));
	vm->pidfd = -1;
	vm->dir = svt_tmpdir();
	vm->console = sv_path_join(vm->dir, "console.log");
	sv_vmm_launch launch = {
		.vm_id = id, .vm_dir = vm->dir, .binary = qemu_binary(), .cfg = cfg, .qemu_accel = "tcg",
		.incoming = incoming,
	};
	char **argv = NULL;
	int rc = sv_vmm_qemu_ops.build_argv(&launch, &argv);
	if (rc)
		fail_msg("build_argv: %s", sv_last_error());
	int console = open(vm->console, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	assert_true(console >= 0);
	sv_spawn_opts so = {
		.argv = (const char *const *)argv, .stdin_fd = -1, .stdout_fd = console, .stderr_fd = console,
	};
	vm->launched_ms = sv_now_ms();
	rc = sv_spawn(&so, &vm->pid, &vm->pidfd);
	close(console);
	sv_strv_free(argv);
	if (rc)
		fail_msg("spawning qemu: %s", sv_last_error());
	track(vm->pid, vm->dir);
	char *sock = sv_path_join(vm->dir, sv_vmm_qemu_ops.api_socket_name);
	long long deadline = sv_now_ms() + 10000;
	while (!sv_path_exists(sock) && sv_now_ms() < deadline && sv_pidfd_wait_exit(vm->pidfd, 10) == SV_ETIMEOUT)
		;
	if (!sv_path_exists(sock)) {
		char *log = svq_console(vm);
		free(sock);
		kill_now(vm);
		fail_msg("QMP socket never appeared; console:\n%s", log);
	}
	rc = sv_vmm_qemu_ops.connect(&vm->vmm, sock, 5000);
	free(sock);
	if (rc) {
		kill_now(vm);
		fail_msg("QMP connect: %s", sv_last_error());
	}
}

void svq_start(svq_vm *vm, const sv_vm_config *cfg)
{
	if (sv_vmm_qemu_ops.configure(vm->vmm, cfg))
		fail_msg("configure: %s", sv_last_error());
	if (sv_vmm_qemu_ops.start(vm->vmm))
		fail_msg("start: %s", sv_last_error());
}

void svq_boot(svq_vm *vm, const sv_vm_config *cfg, const char *id)
{
	svq_launch(vm, cfg, id, false);
	svq_start(vm, cfg);
}

char *svq_console(svq_vm *vm)
{
	char *text = NULL;
	size_t len = 0;
	if (sv_read_file(vm->console, 64u << 20, &text, &len) != 0)
		return strdup("");
	return text;
}

bool svq_wait_console(svq_vm *vm, const char *needle, int timeout_ms)
{
	long long deadline = sv_now_ms() + timeout_ms;
	for (;;) {
		char *text = svq_console(vm);
		bool found = strstr(text, needle) != NULL;
		free(text);
		if (found)
			return true;
		if (sv_now_ms() >= deadline)
			return false;
		usleep(20000);
	}
}

bool svq_exited(svq_vm *vm, int timeout_ms)
{
	if (vm->pid <= 0)
		return true;
	int status = 0;
	if (sv_reap(vm->pid, timeout_ms, &status) != 0)
		return false;
	untrack_pid(vm->pid);
	vm->pid = 0;
	return true;
}

int svq_wait_exit(svq_vm *vm, int timeout_ms, char **output)
{
	long long deadline = sv_now_ms() + timeout_ms;
	bool marked = svq_wait_console(vm, EXIT_MARKER, timeout_ms);
	int left = (int)(deadline - sv_now_ms());
	bool ended = svq_exited(vm, left > 0 ? left : 0);
	char *text = svq_console(vm);
	if (!marked || !ended) {
		fprintf(stderr, "console of %s:\n%s\n", vm->dir, text);
		free(text);
		kill_now(vm);
		fail_msg("the guest did not %s within %d ms", marked ? "power off" : "finish its command",
			 timeout_ms);
	}
	char *start = strstr(text, START_MARKER);
	char *end = strstr(text, EXIT_MARKER);
	assert_non_null(start);
	start += strlen(START_MARKER);
	assert_true(end >= start);
	int code = atoi(end + strlen(EXIT_MARKER));
	if (output)
		*output = strndup(start, (size_t)(end - start));
	free(text);
	return code;
}

void svq_destroy(svq_vm *vm)
{
	if (vm->vmm)
		sv_vmm_qemu_ops.disconnect(vm->vmm);
	vm->vmm = NULL;
	if (vm->pid > 0) {
		kill(vm->pid, SIGKILL);
		assert_true(svq_exited(vm, 10000));
	}
	if (vm->pidfd >= 0)
		close(vm->pidfd);
	vm->pidfd = -1;
	char *dir = vm->dir;
	if (dir)
		svt_assert_no_processes_with(dir);
	free(vm->console);
	if (dir)
		untrack_dir(dir);
	svt_rm_tmpdir(dir);
	memset(vm, 0, sizeof(*vm));
	vm->pidfd = -1;
}
