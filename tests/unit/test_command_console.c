/* The host side of the guest command protocol (smartvm/command.h): the
 * smartvm.cmd= boot argument and reading (output, status) from a console. */
#include "svtest.h"

#include <smartvm/command.h>
#include <smartvm/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define START "=== smartvm: command start ===\n"
#define EXIT0 "\n=== smartvm: exit status 0 ===\n"

static const char kernel_noise[] =
    "[    0.000000] Linux version 6.1.0\r\n"
    "[    1.234567] virtio_blk virtio0: [vda] 131072 512-byte logical blocks\r\n";

static void test_boot_arg_is_the_guest_encoding(void **state)
{
	(void)state;
	const char *argv[] = {"sh", "-c", "echo a b", NULL};
	char *arg = NULL;
	assert_int_equal(sv_command_boot_arg(&arg, argv), 0);
	assert_string_equal(arg, "smartvm.cmd=c2gALWMAZWNobyBhIGIA");
	free(arg);
}

static void test_boot_arg_refuses_empty_argv(void **state)
{
	(void)state;
	const char *argv[] = {NULL};
	char *arg = NULL;
	assert_int_equal(sv_command_boot_arg(&arg, argv), SV_EINVAL);
	assert_string_equal(sv_last_error(), "command: needs at least one argument");
	assert_null(arg);
}

static void test_boot_arg_refuses_a_command_too_long_for_the_kernel(void **state)
{
	(void)state;
	char *big = malloc(2000);
	memset(big, 'x', 1999);
	big[1999] = '\0';
	const char *argv[] = {"echo", big, NULL};
	char *arg = NULL;
	assert_int_equal(sv_command_boot_arg(&arg, argv), SV_EINVAL);
	assert_string_equal(
	    sv_last_error(),
	    "command: too long for the kernel command line (2686 bytes encoded, at most 2047)");
	assert_null(arg);
	free(big);
}

static void parse_ok(const char *console, size_t len, const char *want, size_t want_len, int want_status)
{
	char *out = NULL;
	size_t out_len = 0;
	int status = -1;
	assert_int_equal(sv_command_parse_console(console, len, &out, &out_len, &status), 0);
	assert_int_equal(out_len, want_len);
	assert_memory_equal(out, want, want_len);
	assert_int_equal(out[out_len], '\0');
	assert_int_equal(status, want_status);
	free(out);
}

static void test_output_between_markers_is_exact_and_kernel_noise_is_dropped(void **state)
{
	(void)state;
	char console[512];
	snprintf(console, sizeof(console), "%s" START "hi\n" EXIT0 "[    2.0] reboot: Power down\r\n",
		 kernel_noise);
	parse_ok(console, strlen(console), "hi\n", 3, 0);
}

static void test_output_without_trailing_newline_survives(void **state)
{
	(void)state;
	const char console[] = START "no newline" EXIT0;
	parse_ok(console, strlen(console), "no newline", 10, 0);
}

static void test_empty_output_and_exit_status(void **state)
{
	(void)state;
	const char console[] = START "\n=== smartvm: exit status 143 ===\n";
	parse_ok(console, strlen(console), "", 0, 143);
}

static void test_output_with_nul_bytes_and_marker_lookalikes(void **state)
{
	(void)state;
	const char console[] =
	    START "a\0b\n=== smartvm: exit status x ===\n=== smartvm: exit status 1234 ===\nend"
		  "\n=== smartvm: exit status 7 ===\n";
	const char want[] = "a\0b\n=== smartvm: exit status x ===\n=== smartvm: exit status 1234 ===\nend";
	parse_ok(console, sizeof(console) - 1, want, sizeof(want) - 1, 7);
}

static void test_refused_command_has_exit_line_and_no_start(void **state)
{
	(void)state;
	const char console[] = "smartvm-init: smartvm.cmd=: not a valid encoded command\r\n"
			       "=== smartvm: exit status 127 ===\r\n";
	parse_ok(console, strlen(console), "", 0, 127);
}

static void test_unfinished_command_is_not_found_with_output_so_far(void **state)
{
	(void)state;
	const char console[] = START "partial\n=== smartvm: exit";
	char *out = NULL;
	int status = -1;
	assert_int_equal(sv_command_parse_console(console, strlen(console), &out, NULL, &status),
			 SV_ENOTFOUND);
	assert_string_equal(sv_last_error(), "no command exit line in the console");
	assert_string_equal(out, "partial\n=== smartvm: exit");
	assert_int_equal(status, -1);
	free(out);
}

/* Every split point, byte by byte: the streamed output equals the whole. */
static void test_streaming_in_any_chunks_gives_the_same_output(void **state)
{
	(void)state;
	char console[512];
	int n = snprintf(console, sizeof(console), "%s" START "line 1\n\nline 3 no nl" EXIT0 "trailing junk",
			 kernel_noise);
	const char want[] = "line 1\n\nline 3 no nl";
	for (size_t chunk = 1; chunk <= 40; chunk++) {
		sv_command_console *c = NULL;
		assert_int_equal(sv_command_console_new(&c), 0);
		char got[128];
		size_t got_len = 0;
		for (size_t off = 0; off < (size_t)n; off += chunk) {
			size_t len = (size_t)n - off < chunk ? (size_t)n - off : chunk;
			const char *out = NULL;
			size_t out_len = 0;
			assert_int_equal(sv_command_console_feed(c, console + off, len, &out, &out_len), 0);
			assert_true(got_len + out_len < sizeof(got));
			memcpy(got + got_len, out, out_len);
			got_len += out_len;
		}
		int status = -1;
		assert_true(sv_command_console_started(c));
		assert_false(sv_command_console_finished(c, NULL)); /* not before the console ends */
		assert_true(sv_command_console_exited(c, &status));
		assert_int_equal(status, 0);
		const char *out = NULL;
		size_t out_len = 0;
		assert_int_equal(sv_command_console_end(c, &out, &out_len), 0);
		assert_int_equal(out_len, 0);
		status = -1;
		assert_true(sv_command_console_finished(c, &status));
		assert_int_equal(status, 0);
		assert_int_equal(got_len, strlen(want));
		assert_memory_equal(got, want, got_len);
		sv_command_console_free(c);
	}
}

/* Output is handed on as soon as it cannot be the exit line any more. */
static void test_streaming_holds_back_only_a_possible_exit_line(void **state)
{
	(void)state;
	sv_command_console *c = NULL;
	assert_int_equal(sv_command_console_new(&c), 0);
	const char *out = NULL;
	size_t len = 0;
	assert_int_equal(sv_command_console_feed(c, "boot\n", 5, &out, &len), 0);
	assert_int_equal(len, 0);
	assert_false(sv_command_console_started(c));
	assert_int_equal(sv_command_console_feed(c, START "tick 1\n", strlen(START) + 7, &out, &len), 0);
	assert_true(sv_command_console_started(c));
	/* The newline could start the exit line: held back. */
	assert_int_equal(len, 6);
	assert_memory_equal(out, "tick 1", 6);
	assert_int_equal(sv_command_console_feed(c, "tick 2", 6, &out, &len), 0);
	assert_int_equal(len, 7);
	assert_memory_equal(out, "\ntick 2", 7);
	assert_false(sv_command_console_finished(c, NULL));
	assert_int_equal(sv_command_console_feed(c, EXIT0, strlen(EXIT0), &out, &len), 0);
	assert_int_equal(len, 0);
	assert_true(sv_command_console_exited(c, NULL));
	assert_false(sv_command_console_finished(c, NULL));
	/* A short trailer (the kernel's power-off line) keeps it the end. */
	assert_int_equal(sv_command_console_feed(c, "more", 4, &out, &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(sv_command_console_end(c, &out, &len), 0);
	assert_int_equal(len, 0);
	assert_true(sv_command_console_finished(c, NULL));
	assert_int_equal(sv_command_console_feed(c, "late", 4, &out, &len), 0);
	assert_int_equal(len, 0);
	sv_command_console_free(c);
}

/* What the guest prints after an exit line makes that line output: a
 * command cannot end its output early, or pick its status, with a fake one. */
static void test_exit_line_followed_by_output_is_output_and_the_last_one_wins(void **state)
{
	(void)state;
	const char console[] = START "before\n=== smartvm: exit status 0 ===\nafter\n"
				     "\n=== smartvm: exit status 3 ===\n[    9.1] reboot: Power down\r\n";
	const char want[] = "before\n=== smartvm: exit status 0 ===\nafter\n";
	parse_ok(console, strlen(console), want, strlen(want), 3);
}

static void test_exit_line_followed_by_a_long_trailer_is_not_the_end(void **state)
{
	(void)state;
	char console[1024];
	char junk[SV_COMMAND_TRAILER_MAX + 2];
	memset(junk, 'j', sizeof(junk) - 1);
	junk[sizeof(junk) - 1] = '\0';
	snprintf(console, sizeof(console), START "out" EXIT0 "%s", junk);
	char *out = NULL;
	int status = -1;
	assert_int_equal(sv_command_parse_console(console, strlen(console), &out, NULL, &status),
			 SV_ENOTFOUND);
	assert_string_equal(sv_last_error(), "no command exit line in the console");
	char want[1024];
	snprintf(want, sizeof(want), "out" EXIT0 "%s", junk);
	assert_string_equal(out, want);
	assert_int_equal(status, -1);
	free(out);
}

/* The same in a stream: the held exit line comes out once it is overtaken. */
static void test_streamed_fake_exit_line_is_handed_out_once_more_output_follows(void **state)
{
	(void)state;
	sv_command_console *c = NULL;
	assert_int_equal(sv_command_console_new(&c), 0);
	const char *out = NULL;
	size_t len = 0;
	assert_int_equal(sv_command_console_feed(c, START "a" EXIT0, strlen(START "a" EXIT0), &out, &len), 0);
	assert_int_equal(len, 1);
	assert_true(sv_command_console_exited(c, NULL));
	char more[SV_COMMAND_TRAILER_MAX + 1];
	memset(more, 'm', sizeof(more));
	assert_int_equal(sv_command_console_feed(c, more, sizeof(more), &out, &len), 0);
	assert_false(sv_command_console_exited(c, NULL));
	assert_int_equal(len, strlen(EXIT0) + sizeof(more));
	assert_memory_equal(out, EXIT0, strlen(EXIT0));
	assert_int_equal(sv_command_console_end(c, &out, &len), 0);
	assert_false(sv_command_console_finished(c, NULL));
	sv_command_console_free(c);
}

/* A console of nothing but exit lines: linear work, bounded stack. */
static void test_a_console_full_of_exit_lines_is_read_to_the_last(void **state)
{
	(void)state;
	const char line[] = "\n=== smartvm: exit status 1 ===\n";
	size_t n = 200000, len = strlen(START) + n * (sizeof(line) - 1) + strlen(EXIT0);
	char *console = malloc(len + 1);
	char *p = console;
	p = stpcpy(p, START);
	for (size_t i = 0; i < n; i++)
		p = stpcpy(p, line);
	strcpy(p, "\n=== smartvm: exit status 9 ===\n");
	char *out = NULL;
	size_t out_len = 0;
	int status = -1;
	assert_int_equal(sv_command_parse_console(console, strlen(console), &out, &out_len, &status), 0);
	assert_int_equal(status, 9);
	assert_int_equal(out_len, n * (sizeof(line) - 1));
	free(out);
	free(console);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_boot_arg_is_the_guest_encoding),
	    cmocka_unit_test(test_boot_arg_refuses_empty_argv),
	    cmocka_unit_test(test_boot_arg_refuses_a_command_too_long_for_the_kernel),
	    cmocka_unit_test(test_output_between_markers_is_exact_and_kernel_noise_is_dropped),
	    cmocka_unit_test(test_output_without_trailing_newline_survives),
	    cmocka_unit_test(test_empty_output_and_exit_status),
	    cmocka_unit_test(test_output_with_nul_bytes_and_marker_lookalikes),
	    cmocka_unit_test(test_refused_command_has_exit_line_and_no_start),
	    cmocka_unit_test(test_unfinished_command_is_not_found_with_output_so_far),
	    cmocka_unit_test(test_streaming_in_any_chunks_gives_the_same_output),
	    cmocka_unit_test(test_streaming_holds_back_only_a_possible_exit_line),
	    cmocka_unit_test(test_exit_line_followed_by_output_is_output_and_the_last_one_wins),
	    cmocka_unit_test(test_exit_line_followed_by_a_long_trailer_is_not_the_end),
	    cmocka_unit_test(test_streamed_fake_exit_line_is_handed_out_once_more_output_follows),
	    cmocka_unit_test(test_a_console_full_of_exit_lines_is_read_to_the_last),
	};
	return svt_run_group(tests, NULL, NULL);
}
