/* util/vm_alive: a VM directory's lock tells whether its supervisor lives.
 * Probed by name, the lock is gone once the directory is cleaned up; probed
 * on a file opened before, it stays held until the process holding it has
 * exited, which is what an attacher ending a VM waits for. */
#include "svtest.h"

#include "util/vm_alive.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

static char *dir;
static int dir_fd = -1;

static int setup(void **state)
{
	(void)state;
	dir = svt_tmpdir();
	dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return dir_fd < 0;
}

static int teardown(void **state)
{
	(void)state;
	close(dir_fd);
	svt_rm_tmpdir(dir);
	return 0;
}

typedef struct {
	pid_t pid;
	int tell;  /* a byte: unlink the lock; another: exit */
	int ready; /* 'l' once locked, 'u' once unlinked */
} holder;

/* A "supervisor": locks the file, unlinks it when told (its cleanup), then
 * exits when told. */
static holder start_holder(void)
{
	int ready[2], tell[2];
	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	assert_int_equal(pipe2(tell, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char c;
		int fd = openat(dir_fd, SV_VM_LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0 || flock(fd, LOCK_EX) != 0 || write(ready[1], "l", 1) != 1)
			_exit(1);
		if (read(tell[0], &c, 1) != 1 || unlinkat(dir_fd, SV_VM_LOCK_FILE, 0) != 0 ||
		    write(ready[1], "u", 1) != 1)
			_exit(1);
		_exit(read(tell[0], &c, 1) == 1 ? 0 : 1);
	}
	close(ready[1]);
	close(tell[0]);
	holder h = {.pid = pid, .tell = tell[1], .ready = ready[0]};
	char c = 0;
	assert_int_equal(read(h.ready, &c, 1), 1);
	assert_int_equal(c, 'l');
	return h;
}

static void test_missing_lock_is_free(void **state)
{
	(void)state;
	assert_int_equal(sv_vm_lock_held_at(dir_fd), 0);
}

static void test_a_lock_opened_before_is_held_until_its_holder_exits(void **state)
{
	(void)state;
	holder h = start_holder();
	int probe = openat(dir_fd, SV_VM_LOCK_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	assert_true(probe >= 0);
	assert_int_equal(sv_vm_lock_held_at(dir_fd), 1);
	assert_int_equal(sv_vm_lock_fd_held(probe), 1);
	/* Its cleanup unlinks the lock: by name it looks free... */
	char c = 0;
	assert_int_equal(write(h.tell, "x", 1), 1);
	assert_int_equal(read(h.ready, &c, 1), 1);
	assert_int_equal(c, 'u');
	assert_int_equal(sv_vm_lock_held_at(dir_fd), 0);
	/* ...while its process still lives, which the file opened before tells. */
	assert_int_equal(sv_vm_lock_fd_held(probe), 1);
	assert_int_equal(write(h.tell, "x", 1), 1);
	int status = -1;
	assert_int_equal(waitpid(h.pid, &status, 0), h.pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(sv_vm_lock_fd_held(probe), 0);
	/* The probe let go of the lock it took: another taker gets it whole. */
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", probe);
	int other = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(other >= 0);
	assert_int_equal(flock(other, LOCK_EX | LOCK_NB), 0);
	close(other);
	close(probe);
	close(h.tell);
	close(h.ready);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_missing_lock_is_free, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_lock_opened_before_is_held_until_its_holder_exits,
					    setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
