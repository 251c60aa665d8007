/* The metrics reader (issue 11.11): the last complete flush of the end of a
 * metrics file, whatever came before it. */
#include "svtest.h"

#include "vm/vm_metrics.h"
#include <smartvm/smartvm.h>
#include <stdlib.h>
#include <string.h>

static json_t *last(const char *text, size_t len, bool at_start, int want_rc)
{
	json_t *j = NULL;
	int rc = sv_metrics_last_flush(text, len, at_start, "m.json", &j);
	if (rc != want_rc)
		fail_msg("rc %d (want %d): %s", rc, want_rc, sv_last_error());
	return j;
}

static long long seq(json_t *j) { return json_integer_value(json_object_get(j, "n")); }

static void test_the_last_complete_line_wins(void **state)
{
	(void)state;
	const char *t = "{\"n\":1}\n{\"n\":2}\n{\"n\":3";
	json_t *j = last(t, strlen(t), true, 0);
	assert_int_equal(seq(j), 2); /* the third is still being written */
	json_decref(j);
	t = "{\"n\":1}\n\n  \n";
	j = last(t, strlen(t), true, 0);
	assert_int_equal(seq(j), 1);
	json_decref(j);
	assert_null(last("", 0, true, 0));
	assert_null(last("{\"n\":1}", 8, true, 0)); /* nothing complete yet */
}

static void test_holes_after_truncation_separate_flushes(void **state)
{
	(void)state;
	char buf[64] = {0};
	memcpy(buf + 40, "{\"n\":7}\n", 8);
	json_t *j = last(buf, 48, false, 0);
	assert_int_equal(seq(j), 7);
	json_decref(j);
}

static void test_a_flush_longer_than_the_window_or_not_json_is_refused(void **state)
{
	(void)state;
	const char *t = "\"n\":1}\n";
	assert_null(last(t, strlen(t), false, SV_EINVAL));
	assert_string_equal(sv_last_error(), "metrics file m.json: the last flush is larger than 7 bytes");
	t = "{\"n\":1}\nnot json\n";
	assert_null(last(t, strlen(t), true, SV_EVMM));
	assert_string_equal(sv_last_error(),
			    "metrics file m.json: the last flush is not JSON objects at byte 8 of the "
			    "window: '[' or '{' expected near 'not'");
	t = "[1]\n";
	assert_null(last(t, strlen(t), true, SV_EVMM));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_the_last_complete_line_wins),
	    cmocka_unit_test(test_holes_after_truncation_separate_flushes),
	    cmocka_unit_test(test_a_flush_longer_than_the_window_or_not_json_is_refused),
	};
	return svt_run_group(tests, NULL, NULL);
}
