/* The guest agent in a real guest: QEMU under TCG booting the minimal image
 * (its smartvm-init starts smartvm-agent on the virtio-serial port), driven
 * through the library. Every case of agentcases.c runs against one VM; then
 * an image without a running agent, and a guest killed mid-exec. */
#include "svtest.h"
#include "agentcases.h"
#include "realvm_fixture.h"

#include "util/file.h"
#include "util/spawn.h"
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define AGENT_WAIT_MS 120000

static svr_env env;
static svag_target target;

/* Boots the image with smartvm.exec=agent (and extra boot args). */
static sv_vm *boot(const char *id, const char *extra_args, const char *const *cmd)
{
	svq_config c;
	char *args = NULL;
	assert_true(asprintf(&args, "%s%s%s", env.img->boot_args, extra_args ? " " : "",
			     extra_args ? extra_args : "") > 0);
	svq_config_init(&c, env.img, args, true);
	c.cfg.id = id;
	sv_vm *vm = NULL;
	if (sv_manager_create_vm(&vm, env.mgr, &c.cfg) != 0)
		fail_msg("create %s: %s", id, sv_last_error());
	if (cmd && sv_vm_set_command(vm, cmd) != 0)
		fail_msg("set command: %s", sv_last_error());
	if (sv_vm_set_agent_exec(vm, !extra_args) != 0 || sv_vm_start(vm) != 0)
		fail_msg("start %s: %s", id, sv_last_error());
	free(args);
	return vm;
}

static int group_setup(void **state)
{
	(void)state;
	svr_env_init(&env, false);
	target.vm = boot("agent", NULL, NULL);
	if (sv_vm_agent_wait(target.vm, AGENT_WAIT_MS, NULL) != 0)
		fail_msg("agent: %s", sv_last_error());
	target.runtime_dir = env.runtime_dir;
	target.guest_dir = strdup("/tmp/agent-cases");
	target.host_dir = svt_tmpdir();
	target.tty = true;
	sv_mkdir_options mo = SV_MKDIR_OPTIONS_INIT;
	mo.parents = true;
	if (sv_vm_guest_mkdir(target.vm, target.guest_dir, &mo) != 0)
		fail_msg("mkdir: %s", sv_last_error());
	svag_set_target(&target);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (target.vm && sv_vm_stop(target.vm, 30000) != 0)
		fprintf(stderr, "stopping the agent VM: %s\n", sv_last_error());
	svr_env_done(&env);
	free(target.guest_dir);
	svt_rm_tmpdir(target.host_dir);
	return 0;
}

static void test_image_without_a_running_agent_says_so_after_the_timeout(void **state)
{
	(void)state;
	/* The init runs the command on the console; no agent answers. */
	sv_vm *vm = boot("noagent", "smartvm.agent=off", (const char *const[]){"sleep", "600", NULL});
	long long t0 = sv_now_ms();
	assert_int_equal(sv_vm_agent_wait(vm, 3000, NULL), SV_ETIMEOUT);
	assert_string_equal(
	    sv_last_error(),
	    "VM \"noagent\": no agent answered within 3000 ms (the image has no smartvm-agent?)");
	assert_true(sv_now_ms() - t0 < 20000);
	sv_vm_kill(vm);
	sv_vm_free(vm);
}

static void *kill_later(void *arg)
{
	usleep(1000000);
	kill(*(pid_t *)arg, SIGKILL);
	return NULL;
}

static void test_guest_killed_mid_exec_is_a_clear_error(void **state)
{
	(void)state;
	sv_vm *vm = boot("killed", NULL, NULL);
	if (sv_vm_agent_wait(vm, AGENT_WAIT_MS, NULL) != 0)
		fail_msg("agent: %s", sv_last_error());
	sv_exec *e = NULL;
	assert_int_equal(sv_exec_start(&e, vm, (const char *const[]){"sleep", "600", NULL}, NULL), 0);
	pid_t qemu = sv_vm_pid(vm);
	pthread_t th;
	pthread_create(&th, NULL, kill_later, &qemu);
	long long t0 = sv_now_ms();
	assert_int_equal(sv_exec_wait(e, 60000, NULL), SV_EPROCESS);
	assert_string_equal(sv_last_error(),
			    "VM \"killed\": exec \"sleep\": the connection to the agent was lost (the "
			    "VM ended or its agent died)");
	assert_true(sv_now_ms() - t0 < 30000);
	pthread_join(th, NULL);
	sv_exec_free(e);
	sv_vm_wait(vm, 30000);
	sv_vm_free(vm);
}

int main(void)
{
	struct CMUnitTest tests[32];
	size_t n = 0;
	for (size_t i = 0; i < svag_n_cases; i++)
		tests[n++] = svag_cases[i];
	const struct CMUnitTest own[] = {
	    cmocka_unit_test(test_image_without_a_running_agent_says_so_after_the_timeout),
	    cmocka_unit_test(test_guest_killed_mid_exec_is_a_clear_error),
	};
	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		tests[n++] = own[i];
	const svq_image *img = NULL;
	const char *why = NULL;
	if (!svq_image_get(&img, &why)) {
		fprintf(stderr, "skipped: %s\n", why);
		return 77;
	}
	return svt__run_group("realvm_agent", tests, n, group_setup, group_teardown);
}
