/* The test library's skip semantics: a test program whose tests were skipped
 * exits 77 (meson's SKIP), never 0; in CI (CI=true) a skip of something CI
 * provides fails the program. Each case runs this program again as a child
 * ("--child CASE") with CI set or not and checks its exit code. */
#include "svtest.h"

#include "util/spawn.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the children ---- */

static void passes(void **state) { (void)state; }

static void skips_needing_root(void **state)
{
	(void)state;
	svt_skip(SVT_NEED_ROOT, "pretending not to be root");
}

static void skips_needing_the_host(void **state)
{
	(void)state;
	svt_skip(SVT_NEED_HOST, "pretending this host has no usable KVM");
}

static void skips_without_a_reason(void **state)
{
	(void)state;
	skip();
}

static void fails(void **state)
{
	(void)state;
	fail_msg("failing on purpose");
}

static int teardown_asserting(void **state)
{
	(void)state;
	assert_int_equal(1, 2); /* a leftover check that finds something */
	return 0;
}

static int teardown_returning_1(void **state)
{
	(void)state;
	return 1;
}

static int child(const char *which)
{
	if (!strcmp(which, "all-pass")) {
		const struct CMUnitTest t[] = {cmocka_unit_test(passes)};
		return svt_run_group(t, NULL, NULL);
	}
	if (!strcmp(which, "root-skip")) {
		const struct CMUnitTest t[] = {cmocka_unit_test(passes),
					       cmocka_unit_test(skips_needing_root)};
		return svt_run_group(t, NULL, NULL);
	}
	if (!strcmp(which, "host-skip")) {
		const struct CMUnitTest t[] = {cmocka_unit_test(passes),
					       cmocka_unit_test(skips_needing_the_host)};
		return svt_run_group(t, NULL, NULL);
	}
	if (!strcmp(which, "bare-skip")) {
		const struct CMUnitTest t[] = {cmocka_unit_test(skips_without_a_reason)};
		return svt_run_group(t, NULL, NULL);
	}
	if (!strcmp(which, "skip-and-fail")) {
		const struct CMUnitTest t[] = {cmocka_unit_test(skips_needing_the_host),
					       cmocka_unit_test(fails)};
		return svt_run_group(t, NULL, NULL);
	}
	if (!strcmp(which, "teardown-assert")) {
		const struct CMUnitTest t[] = {cmocka_unit_test(passes)};
		return svt_run_group(t, NULL, teardown_asserting);
	}
	if (!strcmp(which, "teardown-1")) {
		const struct CMUnitTest t[] = {cmocka_unit_test(passes)};
		return svt_run_group(t, NULL, teardown_returning_1);
	}
	if (!strcmp(which, "program-root"))
		return svt_skip_program(SVT_NEED_ROOT, "pretending not to be root");
	if (!strcmp(which, "program-host"))
		return svt_skip_program(SVT_NEED_HOST, "pretending this host has no usable KVM");
	return 3;
}

/* ---- the checks ---- */

static char self_path[4096];

/* Exit code of "self --child which" with CI=ci (NULL: unset); *output gets
 * its stdout and stderr. */
static int run_child(const char *which, const char *ci, char **output)
{
	const char *old = getenv("CI");
	char *saved = old ? strdup(old) : NULL;
	if (ci)
		setenv("CI", ci, 1);
	else
		unsetenv("CI");
	const char *argv[] = {self_path, "--child", which, NULL};
	int code = -1;
	char *out = NULL, *err = NULL;
	assert_int_equal(sv_run(argv, NULL, 30000, &code, &out, &err), 0);
	if (saved)
		setenv("CI", saved, 1);
	else
		unsetenv("CI");
	free(saved);
	assert_true(asprintf(output, "%s%s", out ? out : "", err ? err : "") > 0);
	free(out);
	free(err);
	return code;
}

static void test_all_passing_exits_0(void **state)
{
	(void)state;
	char *out = NULL;
	assert_int_equal(run_child("all-pass", NULL, &out), 0);
	free(out);
}

static void test_a_skipped_test_makes_the_program_exit_77(void **state)
{
	(void)state;
	char *out = NULL;
	assert_int_equal(run_child("root-skip", NULL, &out), 77);
	svt_assert_contains(out, "skipped: pretending not to be root");
	free(out);
}

static void test_a_bare_cmocka_skip_still_exits_77(void **state)
{
	(void)state;
	char *out = NULL;
	assert_int_equal(run_child("bare-skip", "false", &out), 77);
	free(out);
}

static void test_in_ci_skipping_what_ci_provides_fails(void **state)
{
	(void)state;
	char *out = NULL;
	assert_int_equal(run_child("root-skip", "true", &out), 1);
	svt_assert_contains(
	    out, "would skip (pretending not to be root), but CI=true and CI provides what this test needs");
	free(out);
	assert_int_equal(run_child("bare-skip", "true", &out), 1);
	svt_assert_contains(out, "would skip (skip() without a reason (use svt_skip))");
	free(out);
}

static void test_in_ci_a_host_property_may_still_skip(void **state)
{
	(void)state;
	char *out = NULL;
	assert_int_equal(run_child("host-skip", "true", &out), 77);
	svt_assert_contains(out, "skipped: pretending this host has no usable KVM");
	free(out);
}

static void test_a_failure_wins_over_a_skip(void **state)
{
	(void)state;
	char *out = NULL;
	assert_int_equal(run_child("skip-and-fail", NULL, &out), 1);
	free(out);
}

/* cmocka does not count a failed group teardown; svt_run_group does. */
static void test_a_failed_group_teardown_fails_the_program(void **state)
{
	(void)state;
	char *out = NULL;
	assert_int_equal(run_child("teardown-assert", NULL, &out), 1);
	svt_assert_contains(out, "the group teardown of t failed");
	free(out);
	assert_int_equal(run_child("teardown-1", NULL, &out), 1);
	free(out);
}

static void test_a_program_that_cannot_run_exits_77_and_fails_in_ci(void **state)
{
	(void)state;
	char *out = NULL;
	assert_int_equal(run_child("program-root", NULL, &out), 77);
	svt_assert_contains(out, "skipped: pretending not to be root");
	free(out);
	assert_int_equal(run_child("program-root", "true", &out), 1);
	svt_assert_contains(out, "would skip every test (pretending not to be root), but CI=true");
	free(out);
	assert_int_equal(run_child("program-host", "true", &out), 77);
	free(out);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--child"))
		return child(argv[2]);
	ssize_t n = readlink("/proc/self/exe", self_path, sizeof(self_path) - 1);
	if (n <= 0)
		return 1;
	self_path[n] = '\0';
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_all_passing_exits_0),
	    cmocka_unit_test(test_a_skipped_test_makes_the_program_exit_77),
	    cmocka_unit_test(test_a_bare_cmocka_skip_still_exits_77),
	    cmocka_unit_test(test_in_ci_skipping_what_ci_provides_fails),
	    cmocka_unit_test(test_in_ci_a_host_property_may_still_skip),
	    cmocka_unit_test(test_a_failure_wins_over_a_skip),
	    cmocka_unit_test(test_a_failed_group_teardown_fails_the_program),
	    cmocka_unit_test(test_a_program_that_cannot_run_exits_77_and_fails_in_ci),
	};
	return svt_run_group(tests, NULL, NULL);
}
