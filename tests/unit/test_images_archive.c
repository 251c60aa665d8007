/* Release archive extraction: only the two binaries, and nothing at all from
 * an archive with an unsafe entry. */
#include "svtest.h"

#include "images/archive_extract.h"
#include "imagesfixture.h"
#include "util/file.h"
#include <smartvm/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FC "release-v1.7.0-x86_64/firecracker-v1.7.0-x86_64"
#define JL "release-v1.7.0-x86_64/jailer-v1.7.0-x86_64"

typedef struct {
	char *dir, *archive, *fc, *jailer;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	f->dir = svt_tmpdir();
	f->archive = sv_path_join(f->dir, "a.tgz");
	f->fc = sv_path_join(f->dir, "firecracker");
	f->jailer = sv_path_join(f->dir, "jailer");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	free(f->archive);
	free(f->fc);
	free(f->jailer);
	svt_rm_tmpdir(f->dir);
	free(f);
	return 0;
}

static void write_archive(fixture *f, const svt_tar_entry *entries, size_t n)
{
	char *tgz;
	size_t len;
	svt_make_tgz(entries, n, &tgz, &len);
	assert_int_equal(sv_write_file_atomic(f->archive, tgz, len, 0644), 0);
	free(tgz);
}

static int extract(fixture *f, uint64_t max)
{
	const sv_extract_item items[] = {{FC, f->fc, 0755}, {JL, f->jailer, 0755}};
	return sv_extract_entries(f->archive, items, 2, max);
}

/* The archive and nothing else is left in the directory. */
static void assert_nothing_extracted(fixture *f) { assert_int_equal(svt_dir_entries(f->dir), 1); }

static void test_extracts_only_the_two_binaries_executable(void **state)
{
	fixture *f = *state;
	char *tgz;
	size_t len;
	svt_release_tgz("v1.7.0", "x86_64", &tgz, &len);
	assert_int_equal(sv_write_file_atomic(f->archive, tgz, len, 0644), 0);
	free(tgz);
	assert_int_equal(extract(f, 1 << 20), 0);
	assert_int_equal(svt_dir_entries(f->dir), 3);
	char *text = NULL;
	assert_int_equal(sv_read_file(f->fc, 1024, &text, NULL), 0);
	assert_string_equal(text, "firecracker v1.7.0\n");
	free(text);
	struct stat st;
	assert_int_equal(stat(f->jailer, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
}

static void test_dotdot_entry_refuses_the_archive(void **state)
{
	fixture *f = *state;
	const svt_tar_entry e[] = {
	    {FC, 'f', "x", 0}, {JL, 'f', "y", 0}, {"release-v1.7.0-x86_64/../../evil", 'f', "z", 0}};
	write_archive(f, e, 3);
	char expected[512];
	snprintf(expected, sizeof(expected),
		 "%s: unsafe entry \"release-v1.7.0-x86_64/../../evil\": contains \"..\"", f->archive);
	assert_int_equal(extract(f, 1 << 20), SV_EARCHIVE);
	assert_string_equal(sv_last_error(), expected);
	assert_nothing_extracted(f);
}

static void test_absolute_entry_refuses_the_archive(void **state)
{
	fixture *f = *state;
	const svt_tar_entry e[] = {{"/etc/evil", 'f', "z", 0}, {FC, 'f', "x", 0}, {JL, 'f', "y", 0}};
	write_archive(f, e, 3);
	assert_int_equal(extract(f, 1 << 20), SV_EARCHIVE);
	assert_non_null(strstr(sv_last_error(), "unsafe entry \"/etc/evil\": absolute path"));
	assert_nothing_extracted(f);
}

static void test_symlinked_firecracker_is_refused(void **state)
{
	fixture *f = *state;
	const svt_tar_entry e[] = {{FC, 'l', "/bin/sh", 0}, {JL, 'f', "y", 0}};
	write_archive(f, e, 2);
	char expected[512];
	snprintf(expected, sizeof(expected), "%s: entry \"%s\" is a symbolic link", f->archive, FC);
	assert_int_equal(extract(f, 1 << 20), SV_EARCHIVE);
	assert_string_equal(sv_last_error(), expected);
	assert_nothing_extracted(f);
}

static void test_hard_link_and_device_are_refused(void **state)
{
	fixture *f = *state;
	const svt_tar_entry hl[] = {{JL, 'f', "y", 0}, {FC, 'h', JL, 0}};
	write_archive(f, hl, 2);
	assert_int_equal(extract(f, 1 << 20), SV_EARCHIVE);
	assert_non_null(strstr(sv_last_error(), "is a hard link"));
	assert_nothing_extracted(f);
	const svt_tar_entry dev[] = {{FC, 'c', NULL, 0}, {JL, 'f', "y", 0}};
	write_archive(f, dev, 2);
	assert_int_equal(extract(f, 1 << 20), SV_EARCHIVE);
	assert_non_null(strstr(sv_last_error(), "is not a regular file"));
	assert_nothing_extracted(f);
}

static void test_oversized_entry_is_refused(void **state)
{
	fixture *f = *state;
	const svt_tar_entry e[] = {{JL, 'f', "y", 0}, {FC, 'f', "0123456789abcdef0123", 0}};
	write_archive(f, e, 2);
	assert_int_equal(extract(f, 16), SV_EARCHIVE);
	assert_non_null(strstr(sv_last_error(), "is larger than 16 bytes"));
	assert_nothing_extracted(f);
}

static void test_missing_or_duplicate_entries_are_refused(void **state)
{
	fixture *f = *state;
	const svt_tar_entry missing[] = {{FC, 'f', "x", 0}};
	write_archive(f, missing, 1);
	assert_int_equal(extract(f, 1 << 20), SV_EARCHIVE);
	assert_non_null(strstr(sv_last_error(), "entry \"" JL "\" is missing"));
	assert_nothing_extracted(f);
	const svt_tar_entry dup[] = {{FC, 'f', "x", 0}, {JL, 'f', "y", 0}, {"./" FC, 'f', "z", 0}};
	write_archive(f, dup, 3);
	assert_int_equal(extract(f, 1 << 20), SV_EARCHIVE);
	assert_non_null(strstr(sv_last_error(), "appears twice"));
	assert_nothing_extracted(f);
}

static void test_unwanted_data_beyond_the_total_limit_is_refused_before_it_is_read(void **state)
{
	fixture *f = *state;
	/* The entries we skip are decompressed too: their stated sizes count
	 * (4 x 16 bytes here), so a bomb is refused on its header, before any of
	 * its data is decompressed. */
	const svt_tar_entry e[] = {
	    {FC, 'f', "x", 0}, {JL, 'f', "y", 0}, {"release-v1.7.0-x86_64/junk", 'f', "z", 100000}};
	write_archive(f, e, 3);
	assert_int_equal(extract(f, 16), SV_EARCHIVE);
	char expected[512];
	snprintf(expected, sizeof(expected),
		 "%s: entry \"release-v1.7.0-x86_64/junk\" takes the archive past 64 bytes of content "
		 "(4 x the 16-byte entry limit)",
		 f->archive);
	assert_string_equal(sv_last_error(), expected);
	assert_nothing_extracted(f);
}

static void test_archive_with_too_many_entries_is_refused(void **state)
{
	fixture *f = *state;
	enum { N = SV_EXTRACT_MAX_ENTRIES + 1 };
	svt_tar_entry *e = calloc(N, sizeof(*e));
	char(*names)[32] = calloc(N, sizeof(*names));
	for (size_t i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "d/%zu", i);
		e[i] = (svt_tar_entry){names[i], 'f', NULL, 0};
	}
	write_archive(f, e, N);
	assert_int_equal(extract(f, 1 << 20), SV_EARCHIVE);
	char expected[512];
	snprintf(expected, sizeof(expected), "%s: more than %d entries", f->archive, SV_EXTRACT_MAX_ENTRIES);
	assert_string_equal(sv_last_error(), expected);
	assert_nothing_extracted(f);
	free(names);
	free(e);
}

static void test_garbage_is_not_an_archive(void **state)
{
	fixture *f = *state;
	assert_int_equal(sv_write_file_atomic(f->archive, "hello", 5, 0644), 0);
	assert_int_equal(extract(f, 1 << 20), SV_EARCHIVE);
	assert_nothing_extracted(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_extracts_only_the_two_binaries_executable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dotdot_entry_refuses_the_archive, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_absolute_entry_refuses_the_archive, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_symlinked_firecracker_is_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hard_link_and_device_are_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_oversized_entry_is_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_unwanted_data_beyond_the_total_limit_is_refused_before_it_is_read, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_archive_with_too_many_entries_is_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_or_duplicate_entries_are_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_garbage_is_not_an_archive, setup, teardown),
	};
	return svt_run_group(tests, NULL, NULL);
}
