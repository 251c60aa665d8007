/* What the guest and the VMM print, on real VMs (QEMU, TCG forced, the
 * minimal image): guest bytes quoted in an error are escaped and indented,
 * the VMM's own messages say why it failed and stay out of a command's
 * output, the console log is capped and rotated while the command's output
 * stays exact, and the exit status survives a full runtime fs. */
#include "svtest.h"
#include "realvm_fixture.h"

#include "util/file.h"
#include "util/spawn.h"
#include "vm/vmm_output.h"
#include <smartvm/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <pty.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

/* ---- through the CLI ---- */

/* A guest that sets the terminal's title, clears the screen and prints a
 * fake smartvm line, then resets: the console lines in the error show all
 * of it, escaped, each behind the quote mark. */
static void test_guest_bytes_in_an_error_are_escaped_and_quoted(void **state)
{
	(void)state;
	svr_cli c;
	svr_cli_init(&c);
	/* The pause lets the serial port drain: a reset drops what the tty
	 * still holds (lost once under a loaded suite). */
	const char *script = "printf '\\033]0;PWNED-TITLE\\007\\033[2J\\nsmartvm: all good\\n'; "
			     "sleep 1; echo b > /proc/sysrq-trigger";
	/* On the console (through the agent the bytes would be the command's
	 * stdout, not console lines). */
	int code = svr_cli_run(&c, (const char *[]){"--boot-args", SVR_CONSOLE_BOOT_ARGS, NULL},
			       (const char *[]){"sh", "-c", script, NULL});
	assert_int_equal(code, 1);
	assert_null(strchr(c.err, '\x1b'));
	assert_null(strchr(c.err, '\x07'));
	svt_assert_contains(c.err, "\n  | \\x1b]0;PWNED-TITLE\\x07\\x1b[2J\n  | smartvm: all good\n");
	/* Every line after the first is quoted. */
	for (const char *nl = strchr(c.err, '\n'); nl && nl[1]; nl = strchr(nl + 1, '\n'))
		assert_true(!strncmp(nl + 1, "  | ", 4) || !strncmp(nl + 1, "last console lines:", 19));
	svr_cli_done(&c);
}

/* QEMU refuses to start: its own message says why, not just the QMP error. */
static void test_vmm_start_failure_quotes_the_vmm(void **state)
{
	(void)state;
	svr_cli c;
	svr_cli_init(&c);
	int code =
	    svr_cli_run(&c, (const char *[]){"--mem", "100000000", NULL}, (const char *[]){"true", NULL});
	assert_int_equal(code, 1);
	svt_assert_contains(c.err, "smartvm: starting VM \"vm-");
	/* QEMU creates its QMP socket before it fails: whether we connected
	 * before it exited is a race (lost more often on a slow, sanitized
	 * build), and either way its own message is quoted. */
	const char *how = strstr(c.err, ": QEMU closed the connection; ") ? ": QEMU closed the connection; "
										: ": qemu ended before its API socket appeared: ";
	char *want = NULL;
	assert_true(asprintf(&want,
			     "%sthe VMM exited with status 1; its last messages:\n"
			     "  | qemu-system-x86_64: cannot set up guest memory 'microvm.ram': Cannot "
			     "allocate memory\n",
			     how) > 0);
	svt_assert_contains(c.err, want);
	free(want);
	svr_cli_done(&c);
}

/* ---- through the library ---- */

/* Reads the command's output until the call fails or the command finished
 * (at most 30 s); returns the output, *rc the last result. */
static char *read_to_end(sv_vm *vm, int *rc)
{
	char *acc = strdup("");
	size_t len = 0;
	long long deadline = sv_now_ms() + 30000;
	for (*rc = 0; *rc == 0 && !sv_vm_command_finished(vm, NULL) && sv_now_ms() < deadline;) {
		const char *chunk = NULL;
		size_t n = 0;
		if ((*rc = sv_vm_command_output(vm, &chunk, &n)) == 0 && n) {
			acc = realloc(acc, len + n + 1);
			memcpy(acc + len, chunk, n);
			acc[len += n] = '\0';
		}
		usleep(50000);
	}
	return acc;
}

/* QEMU's "terminating on signal 15" is the VMM's, not the command's. */
static void test_vmm_messages_stay_out_of_the_command_output(void **state)
{
	(void)state;
	svr_env e;
	svr_env_init(&e, false);
	svq_config c;
	svr_config(&c, &e);
	sv_vm *vm = svr_start(&e, &c.cfg, "rv-vmm-msg",
			      (const char *[]){"sh", "-c", "echo ready; exec sleep 600", NULL});
	char *acc = NULL;
	/* (A newline is held back until what follows shows it does not start
	 * the exit line: here, until the console ends.) */
	assert_true(svr_wait_output(vm, &acc, "ready", SVR_BOOT_TIMEOUT_MS));
	assert_int_equal(sv_vm_kill(vm), 0); /* SIGTERM to QEMU, no power-off */
	int rc = 0;
	char *rest = read_to_end(vm, &rc);
	assert_string_equal(acc, "ready");
	assert_string_equal(rest, "\n");
	assert_int_equal(rc, SV_EPROCESS);
	svt_assert_contains(sv_last_error(),
			    "VM \"rv-vmm-msg\" ended before its command finished: the VMM exited "
			    "with status 0 after a stop request; its last messages:\n"
			    "  | qemu-system-x86_64: terminating on signal 15 from pid ");
	free(rest);
	free(acc);
	svr_env_done(&e);
}

static long long file_size(const char *dir, const char *name)
{
	char *path = sv_path_join(dir, name);
	struct stat st;
	long long size = stat(path, &st) == 0 ? (long long)st.st_size : -1;
	free(path);
	return size;
}

/* `smartvm logs ARGS... --data-dir D --runtime-dir R` with stdout on out_fd. */
static pid_t spawn_logs(const svr_env *e, int out_fd, const char *const *args)
{
	const char *argv[16] = {svt_cli(), "logs"};
	size_t n = 2;
	for (size_t i = 0; args[i]; i++)
		argv[n++] = args[i];
	argv[n++] = "--data-dir";
	argv[n++] = e->data_dir;
	argv[n++] = "--runtime-dir";
	argv[n++] = e->runtime_dir;
	argv[n] = NULL;
	sv_spawn_opts so = {.argv = argv, .stdin_fd = -1, .stdout_fd = out_fd, .stderr_fd = 2};
	pid_t pid = 0;
	assert_int_equal(sv_spawn(&so, &pid, NULL), 0);
	return pid;
}

/* `smartvm logs ID` on a terminal: everything it printed (malloc'd). */
static char *logs_on_a_terminal(const svr_env *e, const char *id)
{
	int master = -1, slave = -1;
	assert_int_equal(openpty(&master, &slave, NULL, NULL, NULL), 0);
	struct termios t;
	assert_int_equal(tcgetattr(slave, &t), 0);
	cfmakeraw(&t);
	assert_int_equal(tcsetattr(slave, TCSANOW, &t), 0);
	pid_t pid = spawn_logs(e, slave, (const char *[]){id, NULL});
	close(slave);
	char *text = NULL;
	size_t len = 0;
	char buf[65536];
	for (ssize_t n; (n = read(master, buf, sizeof(buf))) > 0; len += (size_t)n) {
		text = realloc(text, len + (size_t)n + 1);
		memcpy(text + len, buf, (size_t)n);
	}
	close(master);
	int status = -1;
	assert_int_equal(sv_reap(pid, 30000, &status), 0);
	assert_int_equal(status, 0);
	text = realloc(text, len + 1);
	text[len] = '\0';
	return text;
}

/* The longest run of c in text. */
static size_t longest_run(const char *text, size_t len, char c)
{
	size_t best = 0, run = 0;
	for (size_t i = 0; i < len; i++) {
		run = text[i] == c ? run + 1 : 0;
		if (run > best)
			best = run;
	}
	return best;
}

/* More than the cap: the log keeps two capped generations, the command's
 * output (over the console pipe) is still exact, `logs -f` follows the
 * rotation without losing a byte, and `logs` on a terminal shows both
 * generations with the guest's escape sequences made harmless. */
static void test_console_log_is_capped_and_rotated_while_the_output_stays_exact(void **state)
{
	(void)state;
	svr_env e;
	svr_env_init(&e, false);
	svq_config c;
	svr_config(&c, &e);
	const size_t big = SV_VMM_LOG_MAX_BYTES + SV_VMM_LOG_MAX_BYTES / 4;
	char script[200];
	snprintf(
	    script, sizeof(script),
	    "printf '\\033]0;PWNED-TITLE\\007'; echo; sleep 2; head -c %zu /dev/zero | tr '\\0' x; echo; "
	    "echo done; exec sleep 600",
	    big);
	sv_vm *vm = svr_start(&e, &c.cfg, "rv-big", (const char *[]){"sh", "-c", script, NULL});
	char *follow_dir = svt_tmpdir();
	char *follow_path = sv_path_join(follow_dir, "follow.out");
	int follow_fd = open(follow_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(follow_fd >= 0);
	pid_t follower = spawn_logs(&e, follow_fd, (const char *[]){"rv-big", "-f", NULL});
	close(follow_fd);

	char *acc = NULL;
	assert_true(svr_wait_output(vm, &acc, "\ndone", 3 * SVR_BOOT_TIMEOUT_MS));
	const char *head = "\x1b]0;PWNED-TITLE\x07\n";
	assert_int_equal(strlen(acc), strlen(head) + big + strlen("\ndone"));
	assert_memory_equal(acc, head, strlen(head));
	assert_int_equal(strspn(acc + strlen(head), "x"), big);
	const char *dir = sv_vm_dir(vm);
	print_message("console.log %lld, console.log.1 %lld bytes\n", file_size(dir, "console.log"),
		      file_size(dir, "console.log.1"));
	assert_int_equal(file_size(dir, "console.log.1"), SV_VMM_LOG_MAX_BYTES);
	assert_true(file_size(dir, "console.log") > 0);
	assert_true(file_size(dir, "console.log") < SV_VMM_LOG_MAX_BYTES);

	char *shown = logs_on_a_terminal(&e, "rv-big");
	assert_null(strchr(shown, '\x1b'));
	svt_assert_contains(shown, "\\x1b]0;PWNED-TITLE\\x07\n");
	assert_int_equal(longest_run(shown, strlen(shown), 'x'), big);
	svt_assert_contains(shown, "x\ndone\n");
	free(shown);

	assert_int_equal(sv_vm_kill(vm), 0);
	int status = -1;
	assert_int_equal(sv_reap(follower, 30000, &status), 0); /* it ends with the VM directory */
	assert_int_equal(status, 0);
	char *followed = NULL;
	size_t followed_len = 0;
	assert_int_equal(sv_read_file(follow_path, 16u << 20, &followed, &followed_len), 0);
	assert_int_equal(longest_run(followed, followed_len, 'x'), big);
	svt_assert_contains(followed, "\x1b]0;PWNED-TITLE\x07"); /* not a terminal: the exact bytes */
	free(followed);
	free(follow_path);
	svt_rm_tmpdir(follow_dir);
	free(acc);
	svr_env_done(&e);
}

/* The runtime fs fills up with the console: the command's output and exit
 * status still come back whole. */
static void test_exit_status_survives_a_full_runtime_fs(void **state)
{
	(void)state;
	svr_env e;
	svr_env_init_small_runtime(&e, 192 * 1024);
	svq_config c;
	svr_config(&c, &e);
	const size_t big = 512 * 1024;
	char script[128];
	snprintf(script, sizeof(script), "head -c %zu /dev/zero | tr '\\0' y; exit 3", big);
	sv_vm *vm = svr_start(&e, &c.cfg, "rv-full", (const char *[]){"sh", "-c", script, NULL});
	char *out = NULL;
	size_t len = 0;
	int status = -1;
	if (sv_vm_wait_command(vm, 3 * SVR_BOOT_TIMEOUT_MS, &out, &len, &status) != 0)
		fail_msg("wait: %s", sv_last_error());
	assert_int_equal(status, 3);
	assert_int_equal(len, big);
	assert_int_equal(strspn(out, "y"), big);
	free(out);
	svr_env_done(&e);
}

static void test_a_negative_command_timeout_is_refused(void **state)
{
	(void)state;
	svr_env e;
	svr_env_init(&e, false);
	svq_config c;
	svr_config(&c, &e);
	c.cfg.id = "rv-neg";
	sv_vm *vm = NULL;
	assert_int_equal(sv_manager_create_vm(&vm, e.mgr, &c.cfg), 0);
	sv_command_options o = SV_COMMAND_OPTIONS_INIT;
	o.timeout_ms = -5;
	assert_int_equal(sv_vm_set_command_options(vm, (const char *[]){"true", NULL}, &o), SV_EINVAL);
	assert_string_equal(sv_last_error(), "command: timeout_ms: must be 0 (none) or positive, not -5");
	svr_env_done(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_a_negative_command_timeout_is_refused),
	    cmocka_unit_test(test_guest_bytes_in_an_error_are_escaped_and_quoted),
	    cmocka_unit_test(test_vmm_start_failure_quotes_the_vmm),
	    cmocka_unit_test(test_vmm_messages_stay_out_of_the_command_output),
	    cmocka_unit_test(test_console_log_is_capped_and_rotated_while_the_output_stays_exact),
	    cmocka_unit_test(test_exit_status_survives_a_full_runtime_fs),
	};
	/* SVT_TEST_FILTER=test_name runs one (these boot real VMs and are slow). */
	if (getenv("SVT_TEST_FILTER"))
		cmocka_set_test_filter(getenv("SVT_TEST_FILTER"));
	return svt_run_group(tests, NULL, NULL);
}
