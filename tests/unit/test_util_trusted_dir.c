/* util/trusted_dir and the no-follow file helpers: directories another user
 * could control are refused with a message naming the directory and the fix;
 * planted symlinks and FIFOs are never followed or waited on. The ownership
 * cases need root (chown to another uid) and are skipped otherwise. */
#include "svtest.h"

#include "util/error.h"
#include "util/file.h"
#include "util/trusted_dir.h"
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NOBODY 65534

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

static char *at(const char *rel)
{
	return sv_path_join(dir, rel);
}

static void need_root(void)
{
	if (!svt_is_root()) {
		svt_skip(SVT_NEED_ROOT, "needs root to chown to another uid");
	}
}

static void test_missing_dirs_are_created_private(void **state)
{
	(void)state;
	char *path = at("a/b/c");
	int fd = -1;
	assert_int_equal(sv_trusted_dir("runtime directory", path, 0700, &fd), 0);
	assert_true(fd >= 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(st.st_uid, geteuid());
	close(fd);
	/* A second check of what we made passes. */
	assert_int_equal(sv_trusted_dir("runtime directory", path, 0700, NULL), 0);
	free(path);
}

static void test_existing_only_creates_nothing(void **state)
{
	(void)state;
	char *path = at("absent/x");
	assert_int_equal(sv_trusted_dir_existing("runtime directory", path, NULL), SV_ENOTFOUND);
	char *parent = at("absent");
	assert_false(sv_path_exists(parent));
	free(parent);
	free(path);
}

static void test_dir_owned_by_another_user_is_refused(void **state)
{
	(void)state;
	need_root();
	char *path = at("planted");
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(chown(path, NOBODY, NOBODY), 0);
	assert_int_equal(sv_trusted_dir("runtime directory", path, 0700, NULL), SV_EUNSAFE);
	char *expected = NULL;
	assert_true(asprintf(&expected,
			     "runtime directory %s: it is owned by uid 65534, not by uid 0; remove %s or choose "
			     "another directory",
			     path, path) > 0);
	assert_string_equal(sv_last_error(), expected);
	free(expected);
	free(path);
}

static void test_ancestor_owned_by_another_user_is_refused(void **state)
{
	(void)state;
	need_root();
	char *parent = at("theirs");
	char *path = at("theirs/runtime");
	assert_int_equal(mkdir(parent, 0755), 0);
	assert_int_equal(chown(parent, NOBODY, NOBODY), 0);
	assert_int_equal(sv_trusted_dir("runtime directory", path, 0700, NULL), SV_EUNSAFE);
	svt_assert_contains(sv_last_error(), "is owned by uid 65534, not by uid 0 or root");
	svt_assert_contains(sv_last_error(), parent);
	assert_false(sv_path_exists(path)); /* nothing created below it */
	free(parent);
	free(path);
}

static void test_world_writable_dir_is_refused_with_the_fix(void **state)
{
	(void)state;
	char *path = at("open");
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(chmod(path, 0777), 0);
	assert_int_equal(sv_trusted_dir("data directory", path, 0700, NULL), SV_EUNSAFE);
	char *expected = NULL;
	assert_true(asprintf(&expected,
			     "data directory %s: it is writable by group or others (mode 0777); run `chmod go-w "
			     "%s` or choose another directory",
			     path, path) > 0);
	assert_string_equal(sv_last_error(), expected);
	free(expected);
	free(path);
}

static void test_sticky_ancestor_is_fine_but_its_foreign_child_is_not(void **state)
{
	(void)state;
	need_root();
	char *shared = at("tmp");
	assert_int_equal(mkdir(shared, 0700), 0);
	assert_int_equal(chmod(shared, 01777), 0); /* like /tmp */
	char *mine = at("tmp/mine/runtime");
	assert_int_equal(sv_trusted_dir("runtime directory", mine, 0700, NULL), 0);
	/* Another user got there first: the same path is theirs. */
	char *theirs = at("tmp/theirs");
	assert_int_equal(mkdir(theirs, 0700), 0);
	assert_int_equal(chown(theirs, NOBODY, NOBODY), 0);
	char *below = at("tmp/theirs/runtime");
	assert_int_equal(sv_trusted_dir("runtime directory", below, 0700, NULL), SV_EUNSAFE);
	svt_assert_contains(sv_last_error(), "owned by uid 65534");
	free(shared);
	free(mine);
	free(theirs);
	free(below);
}

static void test_final_symlink_is_refused(void **state)
{
	(void)state;
	char *real = at("real");
	char *link = at("link");
	assert_int_equal(mkdir(real, 0700), 0);
	assert_int_equal(symlink(real, link), 0);
	assert_int_equal(sv_trusted_dir("runtime directory", link, 0700, NULL), SV_EUNSAFE);
	svt_assert_contains(sv_last_error(), "is a symlink");
	free(real);
	free(link);
}

static void test_trusted_ancestor_symlink_is_followed(void **state)
{
	(void)state;
	char *real = at("real");
	char *link = at("run");
	assert_int_equal(mkdir(real, 0755), 0);
	assert_int_equal(symlink("real", link), 0); /* like /var/run -> ../run */
	char *via = at("run/smartvm");
	int fd = -1;
	assert_int_equal(sv_trusted_dir("runtime directory", via, 0700, &fd), 0);
	close(fd);
	char *made = at("real/smartvm");
	assert_true(sv_path_exists(made));
	free(real);
	free(link);
	free(via);
	free(made);
}

static void test_symlink_owned_by_another_user_is_not_followed(void **state)
{
	(void)state;
	need_root();
	char *sticky = at("tmp");
	assert_int_equal(mkdir(sticky, 01777), 0);
	assert_int_equal(chmod(sticky, 01777), 0);
	char *target = at("target");
	assert_int_equal(mkdir(target, 0700), 0);
	char *link = at("tmp/smartvm");
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(lchown(link, NOBODY, NOBODY), 0);
	char *via = at("tmp/smartvm/runtime");
	assert_int_equal(sv_trusted_dir("runtime directory", via, 0700, NULL), SV_EUNSAFE);
	svt_assert_contains(sv_last_error(), "is a symlink owned by uid 65534");
	char *made = at("target/runtime");
	assert_false(sv_path_exists(made));
	free(sticky);
	free(target);
	free(link);
	free(via);
	free(made);
}

static void test_subdir_refuses_a_planted_symlink(void **state)
{
	(void)state;
	int fd = -1;
	assert_int_equal(sv_trusted_dir("data directory", dir, 0700, &fd), 0);
	char *elsewhere = at("elsewhere");
	assert_int_equal(mkdir(elsewhere, 0700), 0);
	char *net = at("net");
	assert_int_equal(symlink(elsewhere, net), 0);
	assert_int_equal(sv_trusted_subdir("network state directory", fd, dir, "net", 0755, NULL), SV_EUNSAFE);
	svt_assert_contains(sv_last_error(), "symlink");
	int sub = -1;
	assert_int_equal(sv_trusted_subdir("image cache", fd, dir, "images", 0755, &sub), 0);
	assert_true(sub >= 0);
	close(sub);
	close(fd);
	free(elsewhere);
	free(net);
}

static void test_atomic_write_replaces_a_planted_symlink_without_following_it(void **state)
{
	(void)state;
	char *victim = svt_write(dir, "victim", "root's file");
	char *path = at("state.json");
	assert_int_equal(symlink(victim, path), 0);
	assert_int_equal(sv_write_file_atomic(path, "new", 3, 0600), 0);
	char *text = NULL;
	assert_int_equal(sv_read_file(victim, 100, &text, NULL), 0);
	assert_string_equal(text, "root's file");
	free(text);
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(svt_dir_entries(dir), 2); /* no temp file left */
	free(victim);
	free(path);
}

static void test_read_refuses_fifo_and_devices_without_blocking(void **state)
{
	(void)state;
	char *fifo = at("fifo");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	char *text = NULL;
	assert_int_equal(sv_read_file(fifo, 100, &text, NULL), SV_EINVAL);
	char *expected = NULL;
	assert_true(asprintf(&expected, "reading %s: not a regular file", fifo) > 0);
	assert_string_equal(sv_last_error(), expected);
	assert_null(text);
	assert_int_equal(sv_read_file("/dev/zero", 100, &text, NULL), SV_EINVAL);
	assert_string_equal(sv_last_error(), "reading /dev/zero: not a regular file");
	free(expected);
	free(fifo);
}

static void test_read_refuses_a_too_large_file_before_reading(void **state)
{
	(void)state;
	char *big = at("big");
	int fd = open(big, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1 << 30), 0); /* sparse: reading it would take a while */
	close(fd);
	char *text = NULL;
	assert_int_equal(sv_read_file(big, 4096, &text, NULL), SV_EINVAL);
	svt_assert_contains(sv_last_error(), "larger than 4096 bytes");
	free(big);
}

static void test_read_at_refuses_a_symlink(void **state)
{
	(void)state;
	char *victim = svt_write(dir, "victim", "secret");
	char *link = at("ledger");
	assert_int_equal(symlink(victim, link), 0);
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	char *text = NULL;
	assert_int_equal(sv_read_file_at(fd, dir, "ledger", 100, &text, NULL), SV_EUNSAFE);
	svt_assert_contains(sv_last_error(), "is a symlink");
	assert_null(text);
	free(svt_write(dir, "real", "ok"));
	assert_int_equal(sv_read_file_at(fd, dir, "real", 100, &text, NULL), 0);
	assert_string_equal(text, "ok");
	free(text);
	close(fd);
	free(victim);
	free(link);
}

static void test_a_file_on_the_way_is_refused_by_name(void **state)
{
	(void)state;
	char *file = svt_write(dir, "file", "x");
	char *below = at("file/runtime");
	assert_int_equal(sv_trusted_dir("runtime directory", below, 0700, NULL), SV_EUNSAFE);
	char *expected = NULL;
	assert_true(asprintf(&expected, "runtime directory %s: %s is not a directory; choose another directory",
			     below, file) > 0);
	assert_string_equal(sv_last_error(), expected);
	free(expected);
	free(below);
	free(file);
}

static void test_dot_dot_and_overlong_paths_are_refused(void **state)
{
	(void)state;
	char *up = at("a/../b");
	assert_int_equal(sv_trusted_dir("runtime directory", up, 0700, NULL), SV_EINVAL);
	svt_assert_contains(sv_last_error(), "must not contain \"..\"");
	char *made = at("a");
	assert_false(sv_path_exists(made)); /* refused before anything was created */
	char *long_path = malloc(PATH_MAX + 16);
	assert_non_null(long_path);
	memset(long_path, 'x', PATH_MAX + 15);
	long_path[0] = '/';
	long_path[PATH_MAX + 15] = '\0';
	assert_int_equal(sv_trusted_dir("runtime directory", long_path, 0700, NULL), SV_EINVAL);
	svt_assert_contains(sv_last_error(), "path too long");
	free(long_path);
	free(made);
	free(up);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_missing_dirs_are_created_private, setup, teardown),
		cmocka_unit_test_setup_teardown(test_existing_only_creates_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dir_owned_by_another_user_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ancestor_owned_by_another_user_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_world_writable_dir_is_refused_with_the_fix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sticky_ancestor_is_fine_but_its_foreign_child_is_not, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_final_symlink_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trusted_ancestor_symlink_is_followed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_owned_by_another_user_is_not_followed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subdir_refuses_a_planted_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atomic_write_replaces_a_planted_symlink_without_following_it,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_refuses_fifo_and_devices_without_blocking, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_refuses_a_too_large_file_before_reading, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_at_refuses_a_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_file_on_the_way_is_refused_by_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dot_dot_and_overlong_paths_are_refused, setup, teardown),
	};
	return svt_run_group(tests, NULL, NULL);
}
