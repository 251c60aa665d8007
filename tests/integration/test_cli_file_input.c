/* Every file the CLI reads is a regular file of bounded size: /dev/zero, a
 * FIFO or a directory is refused at once (never read for ever, never waited
 * on), and a file larger than its consumer accepts is refused before it is
 * read. Covers `mmds set|patch --file`, `run --config` and
 * `image pull --manifest`. Each run is bounded by a short timeout, so a
 * regression fails instead of hanging. */
#include "svtest.h"

#include "util/file.h"
#include "util/spawn.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
	char *dir, *data, *runtime, *fifo, *big;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	f->dir = svt_tmpdir();
	f->data = sv_path_join(f->dir, "data");
	f->runtime = sv_path_join(f->dir, "runtime");
	f->fifo = sv_path_join(f->dir, "fifo");
	assert_int_equal(mkfifo(f->fifo, 0600), 0);
	/* One byte more than Firecracker's MMDS data store takes (51200). */
	char *text = malloc(51201 + 1);
	memset(text, ' ', 51201);
	text[0] = '{';
	text[51199] = '}';
	text[51201] = '\0';
	f->big = svt_write(f->dir, "big.json", text);
	free(text);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	free(f->data);
	free(f->runtime);
	free(f->fifo);
	free(f->big);
	svt_rm_tmpdir(f->dir);
	free(f);
	return 0;
}

/* Runs smartvm with args (NULL-terminated) and the test's dirs, killing it
 * after 10 s (a hang fails the test), and expects exit code and exactly
 * err_expected on stderr. */
static void expect_cli(fixture *f, int code, const char *err_expected, const char *const *args)
{
	const char *argv[32] = {svt_cli(), "--data-dir", f->data, "--runtime-dir", f->runtime};
	size_t n = 5;
	for (size_t i = 0; args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	int got = -1;
	char *out = NULL, *err = NULL;
	assert_int_equal(sv_run(argv, NULL, 10000, &got, &out, &err), 0);
	if (got != code || strcmp(err ? err : "", err_expected) != 0)
		fail_msg("exit %d, stderr \"%s\"; expected %d, \"%s\"", got, err ? err : "", code,
			 err_expected);
	free(out);
	free(err);
}

static void test_mmds_file_must_be_a_regular_file(void **state)
{
	fixture *f = *state;
	const char *bad[] = {"/dev/zero", f->fifo, f->dir};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[512];
		snprintf(err, sizeof(err), "smartvm: --file: reading %s: not a regular file\n", bad[i]);
		expect_cli(f, 2, err, (const char *[]){"mmds", "set", "vm1", "--file", bad[i], NULL});
		expect_cli(f, 2, err, (const char *[]){"mmds", "patch", "vm1", "--file", bad[i], NULL});
	}
}

static void test_mmds_file_larger_than_the_data_store_limit_is_refused(void **state)
{
	fixture *f = *state;
	char err[512];
	snprintf(err, sizeof(err), "smartvm: --file: reading %s: larger than 51200 bytes\n", f->big);
	expect_cli(f, 2, err, (const char *[]){"mmds", "set", "vm1", "--file", f->big, NULL});
}

static void test_mmds_missing_file_names_it(void **state)
{
	fixture *f = *state;
	char *missing = sv_path_join(f->dir, "missing.json");
	char err[512];
	snprintf(err, sizeof(err), "smartvm: --file: reading %s: No such file or directory\n", missing);
	expect_cli(f, 2, err, (const char *[]){"mmds", "set", "vm1", "--file", missing, NULL});
	free(missing);
}

static void test_run_config_must_be_a_regular_file(void **state)
{
	fixture *f = *state;
	const char *bad[] = {"/dev/zero", f->fifo};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[512];
		snprintf(err, sizeof(err), "smartvm: reading %s: not a regular file\n", bad[i]);
		expect_cli(f, 2, err, (const char *[]){"run", "--config", bad[i], NULL});
	}
}

static void test_image_pull_manifest_must_be_a_regular_file(void **state)
{
	fixture *f = *state;
	const char *bad[] = {"/dev/zero", f->fifo};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[512];
		snprintf(err, sizeof(err),
			 "smartvm: resolving base image from %s: reading %s: not a regular file\n", bad[i],
			 bad[i]);
		expect_cli(f, 2, err, (const char *[]){"image", "pull", "--manifest", bad[i], NULL});
	}
	assert_int_equal(svt_dir_entries(f->data), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_mmds_file_must_be_a_regular_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mmds_file_larger_than_the_data_store_limit_is_refused, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_mmds_missing_file_names_it, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_run_config_must_be_a_regular_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_image_pull_manifest_must_be_a_regular_file, setup, teardown),
	};
	return svt_run_group(tests, NULL, NULL);
}
