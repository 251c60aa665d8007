/* util/trace: SMARTVM_TRACE is honoured only as the absolute path of an
 * existing regular file (supervisors run from "/", so a relative name would
 * split one breakdown between two files), never through a link, and a step
 * appends one line naming it. */
#include "svtest.h"

#include "util/trace.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static off_t size_of(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* Traces one step with SMARTVM_TRACE set to name, from the working
 * directory dir. */
static void trace_one_step(const char *dir, const char *name)
{
	char old_cwd[4096];
	assert_non_null(getcwd(old_cwd, sizeof(old_cwd)));
	assert_int_equal(chdir(dir), 0);
	setenv("SMARTVM_TRACE", name, 1);
	sv_trace_reopen();
	sv_trace_span s;
	sv_trace_begin(&s);
	sv_trace_end(&s, "test:step");
	unsetenv("SMARTVM_TRACE");
	sv_trace_reopen();
	assert_int_equal(chdir(old_cwd), 0);
}

static void test_an_absolute_path_gets_one_line_per_step(void **state)
{
	(void)state;
	char *dir = svt_tmpdir();
	char *path = svt_write(dir, "trace", "");
	trace_one_step(dir, path);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char line[256], step[64];
	int pid;
	assert_non_null(fgets(line, sizeof(line), f));
	assert_int_equal(sscanf(line, "%63s %d", step, &pid), 2);
	assert_string_equal(step, "test:step");
	assert_int_equal(pid, getpid());
	assert_null(fgets(line, sizeof(line), f));
	fclose(f);
	free(path);
	svt_rm_tmpdir(dir);
}

static void test_a_relative_path_is_ignored(void **state)
{
	(void)state;
	char *dir = svt_tmpdir();
	char *path = svt_write(dir, "trace", "");
	trace_one_step(dir, "trace");
	assert_int_equal(size_of(path), 0);
	free(path);
	svt_rm_tmpdir(dir);
}

static void test_a_link_or_a_missing_file_is_ignored(void **state)
{
	(void)state;
	char *dir = svt_tmpdir();
	char *path = svt_write(dir, "trace", "");
	char link[4096], missing[4096];
	snprintf(link, sizeof(link), "%s/link", dir);
	snprintf(missing, sizeof(missing), "%s/missing", dir);
	assert_int_equal(symlink(path, link), 0);
	trace_one_step(dir, link);
	trace_one_step(dir, missing);
	assert_int_equal(size_of(path), 0);
	assert_int_equal(access(missing, F_OK), -1); /* never created */
	free(path);
	svt_rm_tmpdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_an_absolute_path_gets_one_line_per_step),
	    cmocka_unit_test(test_a_relative_path_is_ignored),
	    cmocka_unit_test(test_a_link_or_a_missing_file_is_ignored),
	};
	return svt_run_group(tests, NULL, NULL);
}
