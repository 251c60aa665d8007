/* util/file: sparse copies, atomic writes, rm -rf that stays in its tree. */
#include "svtest.h"

#include "util/error.h"
#include "util/file.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
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

static off_t allocated_bytes(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_blocks * 512;
}

static void test_stage_preserves_holes_and_data(void **state)
{
	(void)state;
	char *src = sv_path_join(dir, "sparse.img");
	char *dst = sv_path_join(dir, "copy.img");
	int fd = open(src, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	const off_t size = 64 << 20;
	assert_int_equal(ftruncate(fd, size), 0);
	/* Data at the start, in the middle and at the very end; holes between. */
	assert_int_equal(pwrite(fd, "begin", 5, 0), 5);
	assert_int_equal(pwrite(fd, "middle", 6, 32 << 20), 6);
	assert_int_equal(pwrite(fd, "end", 3, size - 3), 3);
	close(fd);

	assert_int_equal(sv_copy_sparse(src, dst), 0);
	struct stat st;
	assert_int_equal(stat(dst, &st), 0);
	assert_int_equal(st.st_size, size);
	assert_true(allocated_bytes(dst) < 1 << 20); /* holes stayed holes */
	char buf[8] = {0};
	fd = open(dst, O_RDONLY);
	assert_int_equal(pread(fd, buf, 5, 0), 5);
	assert_memory_equal(buf, "begin", 5);
	assert_int_equal(pread(fd, buf, 6, 32 << 20), 6);
	assert_memory_equal(buf, "middle", 6);
	assert_int_equal(pread(fd, buf, 3, size - 3), 3);
	assert_memory_equal(buf, "end", 3);
	assert_int_equal(pread(fd, buf, 4, 16 << 20), 4);
	assert_memory_equal(buf, "\0\0\0\0", 4);
	close(fd);
	free(src);
	free(dst);
}

static void test_copy_refuses_existing_destination(void **state)
{
	(void)state;
	char *src = svt_write(dir, "a", "new");
	char *dst = svt_write(dir, "b", "old");
	assert_int_equal(sv_copy_sparse(src, dst), SV_EIO);
	svt_assert_contains(sv_last_error(), "File exists");
	char *text = NULL;
	assert_int_equal(sv_read_file(dst, 100, &text, NULL), 0);
	assert_string_equal(text, "old");
	free(text);
	free(src);
	free(dst);
}

static void test_copy_of_missing_source_names_it(void **state)
{
	(void)state;
	char *src = sv_path_join(dir, "missing.img");
	char *dst = sv_path_join(dir, "out.img");
	assert_int_equal(sv_copy_sparse(src, dst), SV_ENOTFOUND);
	char *expected = NULL;
	assert_true(asprintf(&expected, "copying %s: No such file or directory", src) > 0);
	assert_string_equal(sv_last_error(), expected);
	assert_false(sv_path_exists(dst));
	free(expected);
	free(src);
	free(dst);
}

static void test_atomic_write_replaces_whole_file(void **state)
{
	(void)state;
	char *path = svt_write(dir, "state.json", "old contents that are longer");
	assert_int_equal(sv_write_file_atomic(path, "new", 3, 0600), 0);
	char *text = NULL;
	assert_int_equal(sv_read_file(path, 100, &text, NULL), 0);
	assert_string_equal(text, "new");
	assert_int_equal(svt_dir_entries(dir), 1); /* no temp file left */
	free(text);
	free(path);
}

static void test_rm_rf_does_not_follow_symlinks(void **state)
{
	(void)state;
	char *outside = sv_path_join(dir, "outside");
	char *tree = sv_path_join(dir, "tree");
	char *deep = sv_path_join(tree, "a/b/c");
	assert_int_equal(sv_mkdir_p(outside, 0700), 0);
	assert_int_equal(sv_mkdir_p(deep, 0700), 0);
	char *keep = svt_write(outside, "keep", "precious");
	free(svt_write(deep, "file", "x"));
	char *link = sv_path_join(tree, "a/link");
	assert_int_equal(symlink(outside, link), 0);

	assert_int_equal(sv_rm_rf(tree), 0);
	assert_false(sv_path_exists(tree));
	assert_true(sv_path_exists(keep));
	assert_int_equal(sv_rm_rf(tree), 0); /* already gone is fine */
	free(outside);
	free(tree);
	free(deep);
	free(keep);
	free(link);
}

/* Copies src into a 1000 KiB tmpfs (not a multiple of the copy's chunks),
 * which it does not fit: the error says why and no partial copy is left. */
static void assert_out_of_space(const char *src, const char *mnt)
{
	char *dst = sv_path_join(mnt, "copy.img");
	assert_int_equal(sv_copy_sparse(src, dst), SV_EIO);
	char *expected = NULL;
	assert_true(asprintf(&expected, "copying %s to %s: No space left on device", src, dst) > 0);
	assert_string_equal(sv_last_error(), expected);
	free(expected);
	assert_false(sv_path_exists(dst));
	assert_int_equal(umount2(mnt, MNT_DETACH), 0);
	free(dst);
}

static void test_copy_into_a_full_filesystem_says_no_space(void **state)
{
	(void)state;
	char *mnt = svt_small_tmpfs(dir, "small", "1000k");
	char *src = svt_write_data(dir, "big.img", 4 << 20);
	assert_out_of_space(src, mnt);
	free(src);
	free(mnt);
}

static void test_copy_within_a_full_filesystem_says_no_space(void **state)
{
	(void)state;
	char *mnt = svt_small_tmpfs(dir, "small", "1000k");
	char *src = svt_write_data(mnt, "half.img", 640 << 10);
	assert_out_of_space(src, mnt);
	free(src);
	free(mnt);
}

/* What a writer killed between its temp file and the rename left: only
 * names of that exact shape, only regular files, go. */
static void test_stale_temps_are_removed_and_nothing_else(void **state)
{
	(void)state;
	const char *stale = ".br0.leases.tmp.0123456789abcdef";
	const char *keep[] = {"br0.leases", ".br0.leases.tmp.0123456789abcdeg", ".x.tmp.0123",
			      "y.tmp.0123456789abcdef", ".z.tmp.0123456789abcdef.old"};
	free(svt_write(dir, stale, "half"));
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		free(svt_write(dir, keep[i], "keep"));
	char *target = svt_write(dir, "target", "t"), link_path[600], sub[600];
	snprintf(link_path, sizeof(link_path), "%s/.l.tmp.fedcba9876543210", dir);
	assert_int_equal(symlink(target, link_path), 0);
	snprintf(sub, sizeof(sub), "%s/.d.tmp.fedcba9876543210", dir);
	assert_int_equal(mkdir(sub, 0700), 0);

	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	sv_remove_stale_temps_at(fd);
	close(fd);

	char path[600];
	snprintf(path, sizeof(path), "%s/%s", dir, stale);
	assert_false(sv_path_exists(path));
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, keep[i]);
		assert_true(sv_path_exists(path));
	}
	struct stat st;
	assert_int_equal(lstat(link_path, &st), 0);
	assert_true(sv_path_exists(sub));
	assert_true(sv_path_exists(target));
	free(target);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_stage_preserves_holes_and_data, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_copy_refuses_existing_destination, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_copy_of_missing_source_names_it, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_atomic_write_replaces_whole_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rm_rf_does_not_follow_symlinks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stale_temps_are_removed_and_nothing_else, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_copy_into_a_full_filesystem_says_no_space, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_copy_within_a_full_filesystem_says_no_space, setup,
					    teardown),
	};
	return svt_run_group(tests, NULL, NULL);
}
