/* Real VMs through smartvm (see realvm_fixture.h). Every wait is bounded;
 * svr_env_done checks that nothing of any VM remains. */
#include "svtest.h"
#include "realvm_fixture.h"

#include "util/file.h"
#include "util/spawn.h"
#include <errno.h>
#include <sched.h>
#include <sys/mount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void ip_lo_up(void)
{
	const char *tool = access("/usr/sbin/ip", X_OK) == 0 ? "/usr/sbin/ip" : "/sbin/ip";
	const char *argv[] = {tool, "link", "set", "lo", "up", NULL};
	int code = -1;
	assert_int_equal(sv_run(argv, NULL, 10000, &code, NULL, NULL), 0);
	assert_int_equal(code, 0);
}

static void env_init(svr_env *e, bool netns, size_t runtime_bytes)
{
	memset(e, 0, sizeof(*e));
	e->img = svq_image_or_skip();
	if (netns) {
		if (unshare(CLONE_NEWNET) != 0)
			fail_msg("unshare(CLONE_NEWNET): %s", strerror(errno));
		ip_lo_up();
	}
	e->data_dir = svt_tmpdir();
	e->runtime_dir = svt_tmpdir();
	if (runtime_bytes) {
		/* Private mounts: nothing of this outlives the test process. */
		if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
			fail_msg("a mount namespace of our own: %s", strerror(errno));
		char opts[64];
		snprintf(opts, sizeof(opts), "size=%zu,mode=0700", runtime_bytes);
		if (mount("tmpfs", e->runtime_dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) != 0)
			fail_msg("mounting a tmpfs on %s: %s", e->runtime_dir, strerror(errno));
		e->runtime_tmpfs = true;
	}
	e->bridge = strdup("svrvbr0");
	e->subnet = strdup("172.31.7.0/24");
	sv_manager_options o = {
	    .version = SV_MANAGER_OPTIONS_VERSION,
	    .data_dir = e->data_dir,
	    .runtime_dir = e->runtime_dir,
	    .vmm = SV_VMM_QEMU,
	    .qemu_accel = "tcg",
	    .bridge_name = e->bridge,
	    .subnet = e->subnet,
	    .stop_timeout_ms = 20000,
	};
	if (sv_manager_new(&e->mgr, &o) != 0)
		fail_msg("sv_manager_new: %s", sv_last_error());
}

void svr_env_init(svr_env *e, bool netns) { env_init(e, netns, 0); }

void svr_env_init_small_runtime(svr_env *e, size_t runtime_bytes) { env_init(e, false, runtime_bytes); }

void svr_env_done(svr_env *e)
{
	sv_manager_free(e->mgr);
	e->mgr = NULL;
	if (e->runtime_dir) {
		assert_int_equal(svt_vm_dirs_left(e->runtime_dir), 0);
		svt_assert_no_processes_with(e->runtime_dir);
		if (e->runtime_tmpfs)
			umount2(e->runtime_dir, MNT_DETACH);
	}
	svt_rm_tmpdir(e->runtime_dir);
	svt_rm_tmpdir(e->data_dir);
	free(e->bridge);
	free(e->subnet);
	memset(e, 0, sizeof(*e));
}

void svr_config(svq_config *c, const svr_env *e) { svq_config_init(c, e->img, e->img->boot_args, true); }

sv_vm *svr_start(svr_env *e, const sv_vm_config *cfg, const char *id, const char *const *cmd)
{
	sv_vm_config copy = *cfg;
	copy.id = id;
	sv_vm *vm = NULL;
	if (sv_manager_create_vm(&vm, e->mgr, &copy) != 0)
		fail_msg("create: %s", sv_last_error());
	if (cmd && sv_vm_set_command(vm, cmd) != 0)
		fail_msg("set command: %s", sv_last_error());
	if (sv_vm_start(vm) != 0)
		fail_msg("start: %s", sv_last_error());
	return vm;
}

char *svr_wait(sv_vm *vm, int *status)
{
	char *out = NULL;
	if (sv_vm_wait_command(vm, SVR_BOOT_TIMEOUT_MS, &out, NULL, status) != 0)
		fail_msg("wait for the command of %s: %s", sv_vm_id(vm), sv_last_error());
	return out;
}

bool svr_wait_output(sv_vm *vm, char **acc, const char *needle, int timeout_ms)
{
	long long deadline = sv_now_ms() + timeout_ms;
	for (;;) {
		const char *chunk = NULL;
		size_t len = 0;
		if (sv_vm_command_output(vm, &chunk, &len) != 0)
			fail_msg("output of %s: %s", sv_vm_id(vm), sv_last_error());
		size_t have = *acc ? strlen(*acc) : 0;
		char *grown = realloc(*acc, have + len + 1);
		assert_non_null(grown);
		memcpy(grown + have, chunk, len);
		grown[have + len] = '\0';
		*acc = grown;
		if (strstr(*acc, needle))
			return true;
		if (sv_now_ms() >= deadline)
			return false;
		usleep(20000);
	}
}

void svr_cli_image(const char *data_dir)
{
	static char *imported;
	svq_image_or_skip();
	if (imported && !strcmp(imported, data_dir))
		return;
	const char *dir = getenv("SMARTVM_TEST_IMAGE_DIR");
	if (!dir || !*dir)
		dir = "/var/tmp/smartvm-test-images";
	char *data_flag = NULL;
	assert_true(asprintf(&data_flag, "--data-dir=%s", data_dir) > 0);
	const char *args[] = {"image", "build-minimal", "--cache-dir", dir, data_flag, NULL};
	char *out = NULL, *err = NULL;
	int code = svt_run_cli(args, NULL, &out, &err);
	if (code != 0)
		fail_msg("image build-minimal exited %d: %s", code, err);
	char *want = NULL;
	assert_true(asprintf(&want, "minimal\t%s/base-images/minimal\n", data_dir) > 0);
	assert_string_equal(out, want);
	free(want);
	free(out);
	free(err);
	free(data_flag);
	free(imported);
	imported = strdup(data_dir);
}

void svr_cli_init(svr_cli *c)
{
	memset(c, 0, sizeof(*c));
	c->data_dir = svt_tmpdir();
	c->runtime_dir = svt_tmpdir();
	assert_true(asprintf(&c->data_flag, "--data-dir=%s", c->data_dir) > 0);
	assert_true(asprintf(&c->runtime_flag, "--runtime-dir=%s", c->runtime_dir) > 0);
}

void svr_cli_done(svr_cli *c)
{
	assert_int_equal(svt_vm_dirs_left(c->runtime_dir), 0);
	svt_assert_no_processes_with(c->runtime_dir);
	svt_rm_tmpdir(c->data_dir);
	svt_rm_tmpdir(c->runtime_dir);
	free(c->data_flag);
	free(c->runtime_flag);
	free(c->out);
	free(c->err);
	memset(c, 0, sizeof(*c));
}

svr_cli svr_shared_cli;

int svr_shared_cli_setup(void **state)
{
	(void)state;
	svr_cli_init(&svr_shared_cli);
	return 0;
}

int svr_shared_cli_teardown(void **state)
{
	(void)state;
	svr_cli_done(&svr_shared_cli);
	return 0;
}

int svr_cli_run(svr_cli *c, const char *const *opts, const char *const *cmd)
{
	svr_cli_image(c->data_dir);
	const char *args[48] = {"run", c->data_flag, c->runtime_flag, "--image", "minimal",
				"--vmm", "qemu",       "--accel",       "tcg",     NULL};
	size_t n = 9;
	for (size_t i = 0; opts && opts[i] && n < 30; i++)
		args[n++] = opts[i];
	args[n++] = "--";
	for (size_t i = 0; cmd[i] && n < 47; i++)
		args[n++] = cmd[i];
	args[n] = NULL;
	free(c->out);
	free(c->err);
	c->out = c->err = NULL;
	long long t0 = sv_now_ms();
	int code = svt_run_cli(args, NULL, &c->out, &c->err);
	c->took_ms = sv_now_ms() - t0;
	print_message("smartvm run: exit %d after %lld ms\n", code, c->took_ms);
	return code;
}

int svr_last_tick(const char *text)
{
	int last = 0;
	for (const char *p = strstr(text, "tick "); p; p = strstr(p + 1, "tick ")) {
		int n = atoi(p + 5);
		if (n > last)
			last = n;
	}
	return last;
}

int svr_first_tick(const char *text)
{
	const char *p = strstr(text, "tick ");
	return p ? atoi(p + 5) : 0;
}
