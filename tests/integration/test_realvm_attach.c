/* `smartvm attach` to a real guest (QEMU microvm, TCG, the minimal image):
 * the README's sandbox. `run -d -- sh` gives the shell the serial console
 * as its terminal; attach sends it a command line, sees what it printed,
 * detaches with Ctrl-P Ctrl-Q, and the VM keeps running until stop. Also
 * the library's sv_vm_console_attach on a VM whose command has
 * console_terminal. */
#include "svtest.h"
#include "realvm_fixture.h"

#include "util/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* How long the guest may take to boot and run its shell under TCG on a
 * loaded machine. */
#define SHELL_WAIT_MS 120000
#define RETYPE_MS 3000

typedef struct {
	pid_t pid;
	int in, out;
	char *seen;
	size_t len, cap;
} proc;

static void seen_add(proc *p, const char *data, size_t n)
{
	if (p->len + n + 1 > p->cap) {
		p->cap = (p->len + n + 1) * 2;
		p->seen = realloc(p->seen, p->cap);
	}
	memcpy(p->seen + p->len, data, n);
	p->len += n;
	p->seen[p->len] = '\0';
}

/* Reads fd into p until needle shows up, writing `line` again every
 * RETYPE_MS (the shell may not be up yet: what the serial port gets before
 * anyone reads ttyS0 is lost). False after timeout_ms. */
static bool read_until_typing(int out_fd, int in_fd, proc *p, const char *needle, const char *line,
			      int timeout_ms)
{
	long long until = sv_now_ms() + timeout_ms, retype = 0;
	while (!(p->seen && strstr(p->seen, needle))) {
		long long now = sv_now_ms();
		if (now >= until)
			return false;
		if (line && now >= retype) {
			if (write(in_fd, line, strlen(line)) != (ssize_t)strlen(line))
				return false;
			retype = now + RETYPE_MS;
		}
		struct pollfd pf = {.fd = out_fd, .events = POLLIN};
		if (poll(&pf, 1, 200) <= 0)
			continue;
		char buf[4096];
		ssize_t n = read(out_fd, buf, sizeof(buf));
		if (n <= 0)
			return false;
		seen_add(p, buf, (size_t)n);
	}
	return true;
}

static proc start_attach(svr_cli *c, const char *id)
{
	int in[2], out[2];
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	const char *argv[] = {svt_cli(), "attach", c->data_flag, c->runtime_flag, id, NULL};
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	return (proc){.pid = pid, .in = in[1], .out = out[0]};
}

static int finish(proc *p, int timeout_ms)
{
	int status = 0;
	for (long long until = sv_now_ms() + timeout_ms; waitpid(p->pid, &status, WNOHANG) == 0; usleep(20000))
		if (sv_now_ms() > until) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, &status, 0);
			fail_msg("smartvm attach did not end");
		}
	close(p->in);
	close(p->out);
	free(p->seen);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int cli(svr_cli *c, const char *const *args)
{
	const char *argv[24] = {NULL};
	size_t n = 0;
	argv[n++] = args[0];
	argv[n++] = c->data_flag;
	argv[n++] = c->runtime_flag;
	for (size_t i = 1; args[i]; i++)
		argv[n++] = args[i];
	free(c->out);
	free(c->err);
	c->out = c->err = NULL;
	return svt_run_cli(argv, NULL, &c->out, &c->err);
}

static void test_readme_sandbox_shell_attach_detach_stop(void **state)
{
	(void)state;
	svr_cli *c = &svr_shared_cli;
	svr_cli_image(c->data_dir);
	int code = cli(c, (const char *const[]){"run", "-d", "--id", "box", "--image", "minimal", "--vmm", "qemu",
						"--accel", "tcg", "--", "sh", NULL});
	if (code != 0)
		fail_msg("run -d exited %d: %s", code, c->err);

	proc a = start_attach(c, "box");
	/* $((6*7)) is worked out by the shell: "hi-42" is its output, not the
	 * terminal's echo of what was typed. */
	bool answered = read_until_typing(a.out, a.in, &a, "hi-42", "echo hi-$((6*7))\n", SHELL_WAIT_MS);
	if (!answered)
		fail_msg("the shell never answered; the console showed: %.2000s", a.seen ? a.seen : "");
	/* Ctrl-P Ctrl-Q detaches; what follows is never sent. */
	assert_int_equal(write(a.in, "\x10\x11" "echo gone-$((1+1))\n", 21), 21);
	assert_int_equal(finish(&a, 30000), 0);

	code = cli(c, (const char *const[]){"inspect", "box", NULL});
	assert_int_equal(code, 0);
	svt_assert_contains(c->out, "running");

	/* Attach again: the same shell answers, and the line typed after the
	 * detach keys never ran. */
	proc b = start_attach(c, "box");
	if (!read_until_typing(b.out, b.in, &b, "again-7", "echo again-$((3+4))\n", SHELL_WAIT_MS))
		fail_msg("the shell did not answer a second attach: %.2000s", b.seen ? b.seen : "");
	assert_null(strstr(b.seen, "gone-2"));
	assert_int_equal(write(b.in, "\x10\x11", 2), 2);
	assert_int_equal(finish(&b, 30000), 0);

	code = cli(c, (const char *const[]){"stop", "box", NULL});
	if (code != 0)
		fail_msg("stop exited %d: %s", code, c->err);
	/* svr_shared_cli_teardown checks nothing of it is left. */
}

/* The library: a VM whose command has the console as its terminal, attached
 * with sv_vm_console_attach; the shell's exit ends the VM and the client
 * reads end-of-file. */
static void test_library_attach_reaches_the_shell_and_sees_the_end(void **state)
{
	(void)state;
	svr_env e;
	svr_env_init(&e, false);
	svq_config c;
	svr_config(&c, &e);
	sv_vm *vm = NULL;
	assert_int_equal(sv_manager_create_vm(&vm, e.mgr, &c.cfg), 0);
	sv_command_options o = SV_COMMAND_OPTIONS_INIT;
	o.console_terminal = true;
	assert_int_equal(sv_vm_set_command_options(vm, (const char *const[]){"sh", NULL}, &o), 0);
	if (sv_vm_start(vm) != 0)
		fail_msg("start: %s", sv_last_error());
	int fd = -1;
	if (sv_vm_console_attach(vm, &fd) != 0)
		fail_msg("attach: %s", sv_last_error());
	proc p = {0};
	/* The console also goes to this process (the command's reader): keep
	 * draining it, as a caller of sv_vm_set_command must. */
	long long until = sv_now_ms() + SHELL_WAIT_MS;
	bool answered = false;
	while (!answered && sv_now_ms() < until) {
		const char *out;
		size_t len;
		sv_vm_command_output(vm, &out, &len);
		answered = read_until_typing(fd, fd, &p, "lib-12", "echo lib-$((3*4))\n", 2000);
	}
	if (!answered)
		fail_msg("the shell never answered: %.2000s", p.seen ? p.seen : "");
	/* The shell exits: the init powers off, the console closes. */
	assert_int_equal(send(fd, "exit 3\n", 7, MSG_NOSIGNAL), 7);
	char *output = NULL;
	int status = -1;
	if (sv_vm_wait_command(vm, SVR_BOOT_TIMEOUT_MS, &output, NULL, &status) != 0)
		fail_msg("wait: %s", sv_last_error());
	assert_int_equal(status, 3);
	char buf[4096];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	assert_int_equal(n, 0);
	close(fd);
	free(output);
	free(p.seen);
	svr_env_done(&e);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_readme_sandbox_shell_attach_detach_stop),
	    cmocka_unit_test(test_library_attach_reaches_the_shell_and_sees_the_end),
	};
	return svt_run_group(tests, svr_shared_cli_setup, svr_shared_cli_teardown);
}
