/* util/escape: guest and VMM bytes quoted safely. */
#include "svtest.h"

#include "util/escape.h"
#include <smartvm/escape.h>
#include <stdlib.h>
#include <string.h>

static void assert_escaped(const char *in, size_t len, const char *indent, const char *want)
{
	char *got = sv_escape_text(in, len, indent);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_terminal_escapes_and_c1_controls_are_made_visible(void **state)
{
	(void)state;
	const char in[] = "\x1b]0;PWNED-TITLE\x07\x1b[2J\x9b"
			  "31m\x7f";
	assert_escaped(in, sizeof(in) - 1, NULL, "\\x1b]0;PWNED-TITLE\\x07\\x1b[2J\\x9b31m\\x7f");
}

static void test_utf8_and_nul_bytes_become_hex(void **state)
{
	(void)state;
	/* U+202E (right-to-left override) and a NUL. */
	const char in[] = "a\xe2\x80\xae"
			  "b\0c";
	assert_escaped(in, sizeof(in) - 1, NULL, "a\\xe2\\x80\\xaeb\\x00c");
}

static void test_backslash_is_doubled_so_escapes_stay_unambiguous(void **state)
{
	(void)state;
	assert_escaped("a\\x1b", 5, NULL, "a\\\\x1b");
}

static void test_one_line_quote_escapes_newlines_and_lone_carriage_returns(void **state)
{
	(void)state;
	const char in[] = "one\r\ntwo\rthree\tfour\n";
	assert_escaped(in, sizeof(in) - 1, NULL, "one\\ntwo\\rthree\tfour");
}

static void test_indented_quote_prefixes_every_line_so_none_passes_for_ours(void **state)
{
	(void)state;
	const char in[] = "boot\r\nsmartvm: all good\n\nend\r\n";
	assert_escaped(in, sizeof(in) - 1, "  | ", "  | boot\n  | smartvm: all good\n  | \n  | end");
}

static void test_carriage_return_split_across_chunks_before_a_newline_is_dropped(void **state)
{
	(void)state;
	sv_buf out = {0};
	sv_escape_state st = {0};
	assert_int_equal(sv_escape_feed(&out, &st, "a\r", 2, ""), 0);
	assert_int_equal(sv_escape_feed(&out, &st, "\nb\r", 3, ""), 0);
	assert_int_equal(sv_escape_finish(&out, &st), 0);
	assert_string_equal(out.data, "a\nb\\r");
	sv_buf_free(&out);
}

static void test_tail_keeps_the_last_lines_within_the_byte_limit(void **state)
{
	(void)state;
	const char in[] = "1\n2\n3\n4\n";
	char *t = sv_escape_tail(in, sizeof(in) - 1, 2, 1024, "> ");
	assert_string_equal(t, "> 3\n> 4");
	free(t);
	t = sv_escape_tail(in, sizeof(in) - 1, 10, 3, "> ");
	assert_string_equal(t, "> 3\n> 4"); /* the last 3 bytes: "3\n4" */
	free(t);
	t = sv_escape_tail("\n\n", 2, 5, 100, "> ");
	assert_string_equal(t, "");
	free(t);
}

/* The public streaming form, as `smartvm logs` uses it on a terminal. */
static void test_public_escaper_streams_and_keeps_lines(void **state)
{
	(void)state;
	sv_escaper *e = NULL;
	assert_int_equal(sv_escaper_new(&e), 0);
	const char *out = NULL;
	size_t len = 0;
	assert_int_equal(sv_escaper_feed(e, "boot\r", 5, &out, &len), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(out, "boot", 4);
	assert_int_equal(sv_escaper_feed(e, "\n\x1b[2Jok\r", 8, &out, &len), 0);
	assert_int_equal(len, strlen("\n\\x1b[2Jok"));
	assert_memory_equal(out, "\n\\x1b[2Jok", len);
	assert_int_equal(sv_escaper_finish(e, &out, &len), 0);
	assert_int_equal(len, 2);
	assert_memory_equal(out, "\\r", 2);
	sv_escaper_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_terminal_escapes_and_c1_controls_are_made_visible),
	    cmocka_unit_test(test_utf8_and_nul_bytes_become_hex),
	    cmocka_unit_test(test_backslash_is_doubled_so_escapes_stay_unambiguous),
	    cmocka_unit_test(test_one_line_quote_escapes_newlines_and_lone_carriage_returns),
	    cmocka_unit_test(test_indented_quote_prefixes_every_line_so_none_passes_for_ours),
	    cmocka_unit_test(test_carriage_return_split_across_chunks_before_a_newline_is_dropped),
	    cmocka_unit_test(test_tail_keeps_the_last_lines_within_the_byte_limit),
	    cmocka_unit_test(test_public_escaper_streams_and_keeps_lines),
	};
	return svt_run_group(tests, NULL, NULL);
}
