/* vm/vmm_output: what a VMM printed last (the guest's shutdown lines, its
 * own last words) is all relayed before finish returns, also when finish
 * cuts the relay's coalescing pause short; a writer that never closes its
 * end (a VMM's child holding stdout) does not hold finish past its deadline;
 * in the caller's poll loop a short console read pauses the console (only)
 * for a bounded time. */
#include "svtest.h"

#include "util/file.h"
#include "util/spawn.h"
#include "vm/vmm_output.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *dir;

static int setup(void **state)
{
	(void)state;
	dir = svt_tmpdir();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	svt_rm_tmpdir(dir);
	return 0;
}

static void write_str(int fd, const char *s)
{
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

static char *read_log(const char *name)
{
	char *path = sv_path_join(dir, name), *text = NULL;
	assert_int_equal(sv_read_file(path, 1 << 20, &text, NULL), 0);
	free(path);
	return text;
}

/* Everything the pipe held, up to its end (the relay must have closed it). */
static char *read_to_eof(int fd)
{
	static char buf[4096];
	size_t len = 0;
	for (ssize_t n; (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0;)
		len += (size_t)n;
	buf[len] = '\0';
	return buf;
}

/* One turn of the supervisor's loop for the relay alone; returns what
 * prepare asked for as the longest wait. */
static int loop_once(sv_vmm_output *o, struct pollfd *p)
{
	int wait_ms = sv_vmm_output_poll_prepare(o, p);
	assert_true(poll(p, SV_VMM_OUTPUT_POLLFDS, wait_ms < 0 ? 1000 : wait_ms) >= 0);
	sv_vmm_output_poll_done(o, p);
	return wait_ms;
}

static void test_last_lines_reach_logs_pipe_and_tail(void **state)
{
	(void)state;
	int out[2], err[2], cons[2];
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	assert_int_equal(pipe2(err, O_CLOEXEC), 0);
	assert_int_equal(pipe2(cons, O_CLOEXEC), 0);
	sv_vmm_output *o = NULL;
	assert_int_equal(sv_vmm_output_start(&o, out[0], err[0], cons[1], NULL, dir), 0);
	/* A short read starts the coalescing pause; the rest arrives during it
	 * and the VMM "exits" (closes its ends) before the supervisor finishes. */
	write_str(out[1], "reboot: Power down\n");
	struct pollfd p[SV_VMM_OUTPUT_POLLFDS];
	loop_once(o, p);
	write_str(out[1], "the very last console line\n");
	write_str(err[1], "terminating on signal 15\n");
	close(out[1]);
	close(err[1]);
	long long before = sv_now_ms();
	sv_vmm_output_finish(o, 5000);
	assert_true(sv_now_ms() - before < 1000);

	char *console = read_log("console.log"), *vmm = read_log("vmm.log");
	assert_string_equal(console, "reboot: Power down\nthe very last console line\n");
	assert_string_equal(vmm, "terminating on signal 15\n");
	assert_string_equal(read_to_eof(cons[0]), "reboot: Power down\nthe very last console line\n");
	char *tail = sv_vmm_output_console_tail(o), *err_tail = sv_vmm_output_stderr_tail(o);
	svt_assert_contains(tail, "the very last console line");
	svt_assert_contains(err_tail, "terminating on signal 15");
	free(tail);
	free(err_tail);
	free(console);
	free(vmm);
	close(cons[0]);
	sv_vmm_output_free(o);
}

/* A relay on fresh stdout and stderr pipes, without a console pipe. */
static sv_vmm_output *start_relay(int out[2], int err[2])
{
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	assert_int_equal(pipe2(err, O_CLOEXEC), 0);
	sv_vmm_output *o = NULL;
	assert_int_equal(sv_vmm_output_start(&o, out[0], err[0], -1, NULL, dir), 0);
	return o;
}

static void test_writer_that_never_closes_does_not_hold_finish(void **state)
{
	(void)state;
	int out[2], err[2];
	sv_vmm_output *o = start_relay(out, err);
	write_str(out[1], "still here\n");
	/* out[1] and err[1] stay open: only the deadline ends the relay. */
	sv_vmm_output_finish(o, 200);
	char *console = read_log("console.log");
	assert_string_equal(console, "still here\n");
	free(console);
	sv_vmm_output_free(o);
	close(out[1]);
	close(err[1]);
}

/* The pause after a short console read leaves the console out of the
 * loop's poll for at most a few ms (the loop's timeout says when it ends)
 * while stderr is still read; then what gathered is read at once. */
static void test_short_read_pauses_only_the_console(void **state)
{
	(void)state;
	int out[2], err[2];
	sv_vmm_output *o = start_relay(out, err);
	struct pollfd p[SV_VMM_OUTPUT_POLLFDS];
	assert_int_equal(sv_vmm_output_poll_prepare(o, p), -1);
	assert_int_equal(p[0].fd, out[0]);
	write_str(out[1], "a\n");
	loop_once(o, p);
	write_str(out[1], "b\n");
	write_str(err[1], "meanwhile\n");
	int wait_ms = sv_vmm_output_poll_prepare(o, p);
	assert_true(wait_ms >= 0 && wait_ms <= 2);
	assert_int_equal(p[0].fd, -1); /* paused */
	assert_int_equal(p[1].fd, err[0]);
	assert_int_equal(poll(p, SV_VMM_OUTPUT_POLLFDS, wait_ms), 1);
	sv_vmm_output_poll_done(o, p);
	char *vmm = read_log("vmm.log");
	assert_string_equal(vmm, "meanwhile\n");
	free(vmm);
	/* The pause ends by itself: the console is polled again. */
	long long until = sv_now_ms() + 1000;
	while (sv_vmm_output_poll_prepare(o, p) >= 0 && sv_now_ms() < until)
		usleep(200);
	assert_int_equal(p[0].fd, out[0]);
	loop_once(o, p);
	char *console = read_log("console.log");
	assert_string_equal(console, "a\nb\n");
	free(console);
	close(out[1]);
	close(err[1]);
	sv_vmm_output_finish(o, 5000);
	sv_vmm_output_free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_last_lines_reach_logs_pipe_and_tail, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_writer_that_never_closes_does_not_hold_finish, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_short_read_pauses_only_the_console, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
