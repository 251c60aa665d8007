/* util/spawn: kept fds reach only the child they are kept for, and a child
 * spawned with a parent-death signal does not outlive its parent. */
#include "svtest.h"

#include "util/error.h"
#include "util/file.h"
#include "util/spawn.h"
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
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

/* True if process pid has an fd open on path. */
static bool holds_file(pid_t pid, const char *path)
{
	char fd_dir[64];
	snprintf(fd_dir, sizeof(fd_dir), "/proc/%d/fd", (int)pid);
	for (int fd = 0; fd < 1024; fd++) {
		char link[96], target[4096];
		snprintf(link, sizeof(link), "%s/%d", fd_dir, fd);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (!strcmp(target, path))
			return true;
	}
	return false;
}

static pid_t spawn_sleeper(const int *keep, int n_keep)
{
	const char *argv[] = {"/bin/sleep", "30", NULL};
	sv_spawn_opts so = {.argv = argv,
			    .stdin_fd = -1,
			    .stdout_fd = -1,
			    .stderr_fd = -1,
			    .keep_fds = keep,
			    .n_keep_fds = n_keep};
	pid_t pid = 0;
	assert_int_equal(sv_spawn(&so, &pid, NULL), 0);
	return pid;
}

static void end(pid_t pid)
{
	kill(pid, SIGKILL);
	assert_int_equal(sv_reap(pid, 5000, NULL), 0);
}

typedef struct {
	int fd;
	atomic_bool stop;
	atomic_int spawned;
} keeper;

/* Spawns children that keep k->fd, one after another, until told to stop. */
static void *keep_spawning(void *arg)
{
	keeper *k = arg;
	const char *argv[] = {"/bin/true", NULL};
	while (!atomic_load(&k->stop)) {
		sv_spawn_opts so = {.argv = argv,
				    .stdin_fd = -1,
				    .stdout_fd = -1,
				    .stderr_fd = -1,
				    .keep_fds = &k->fd,
				    .n_keep_fds = 1};
		pid_t pid;
		if (sv_spawn(&so, &pid, NULL) == 0)
			sv_reap(pid, 5000, NULL);
		atomic_fetch_add(&k->spawned, 1);
	}
	return NULL;
}

static void test_kept_fd_reaches_only_its_own_child(void **state)
{
	(void)state;
	char *path = svt_write(dir, "lock", "");
	keeper k = {.fd = open(path, O_RDONLY | O_CLOEXEC)};
	assert_true(k.fd >= 0);

	/* The child it is kept for has it. */
	pid_t pid = spawn_sleeper(&k.fd, 1);
	assert_true(holds_file(pid, path));
	end(pid);

	/* Children spawned meanwhile by another thread never do. */
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, keep_spawning, &k), 0);
	int leaked = 0, checked = 0;
	long long deadline = sv_now_ms() + 3000;
	while (sv_now_ms() < deadline && (checked < 100 || atomic_load(&k.spawned) < 100)) {
		pid = spawn_sleeper(NULL, 0);
		leaked += holds_file(pid, path);
		checked++;
		end(pid);
	}
	atomic_store(&k.stop, true);
	assert_int_equal(pthread_join(t, NULL), 0);
	close(k.fd);
	free(path);
	assert_true(atomic_load(&k.spawned) > 10);
	if (leaked)
		fail_msg("%d of %d children spawned without keep_fds inherited the kept fd", leaked, checked);
}

/* What the calling program left open without O_CLOEXEC (a library cannot
 * know) is not passed on either: only stdio and keep_fds are. */
static void test_only_stdio_and_kept_fds_reach_the_child(void **state)
{
	(void)state;
	char *leaky = svt_write(dir, "leaky", ""), *kept_path = svt_write(dir, "kept", "");
	int fd = open(leaky, O_RDONLY); /* no O_CLOEXEC, as a careless caller would */
	int kept = open(kept_path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0 && kept >= 0);
	/* A high number, with closed fds below it that the child must not trip on. */
	int high = fcntl(kept, F_DUPFD_CLOEXEC, 60);
	assert_true(high >= 60);
	close(kept);
	kept = high;
	pid_t pid = spawn_sleeper(&kept, 1);
	bool leaked = holds_file(pid, leaky), passed = holds_file(pid, kept_path);
	end(pid);
	/* The same through the forked path (parent_death_signal). */
	const char *argv[] = {"/bin/sleep", "30", NULL};
	sv_spawn_opts so = {.argv = argv,
			    .stdin_fd = -1,
			    .stdout_fd = -1,
			    .stderr_fd = -1,
			    .keep_fds = &kept,
			    .n_keep_fds = 1,
			    .parent_death_signal = SIGKILL};
	assert_int_equal(sv_spawn(&so, &pid, NULL), 0);
	bool leaked_forked = holds_file(pid, leaky), passed_forked = holds_file(pid, kept_path);
	end(pid);
	close(fd);
	close(kept);
	free(leaky);
	free(kept_path);
	assert_false(leaked);
	assert_true(passed);
	assert_false(leaked_forked);
	assert_true(passed_forked);
}

/* In a child process of the test: spawns `sleep` with a parent-death signal,
 * writes its pid to report_fd, and waits to be killed. */
static void spawn_and_wait(int report_fd)
{
	const char *argv[] = {"/bin/sleep", "30", NULL};
	sv_spawn_opts so = {
	    .argv = argv, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1, .parent_death_signal = SIGKILL};
	pid_t pid = 0;
	if (sv_spawn(&so, &pid, NULL) != 0)
		_exit(1);
	if (write(report_fd, &pid, sizeof(pid)) != sizeof(pid))
		_exit(1);
	for (;;)
		pause();
}

static void test_child_dies_with_its_parent(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid_t parent = fork();
	assert_true(parent >= 0);
	if (parent == 0) {
		close(p[0]);
		spawn_and_wait(p[1]);
	}
	close(p[1]);
	pid_t child = 0;
	assert_int_equal(read(p[0], &child, sizeof(child)), sizeof(child));
	close(p[0]);
	int child_fd = (int)syscall(SYS_pidfd_open, child, 0);
	assert_true(child_fd >= 0);

	assert_int_equal(kill(parent, SIGKILL), 0);
	assert_int_equal(sv_reap(parent, 5000, NULL), 0);
	/* The orphan gets SIGKILL at once, not whenever someone notices. */
	int rc = sv_pidfd_wait_exit(child_fd, 2000);
	close(child_fd);
	if (rc != 0) {
		kill(child, SIGKILL);
		fail_msg("the child outlived its parent by 2 s");
	}
}

static void test_parent_death_signal_keeps_spawn_errors(void **state)
{
	(void)state;
	const char *argv[] = {"/nonexistent/program", NULL};
	sv_spawn_opts so = {
	    .argv = argv, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1, .parent_death_signal = SIGKILL};
	pid_t pid = 0;
	assert_int_equal(sv_spawn(&so, &pid, NULL), SV_EPROCESS);
	assert_string_equal(sv_last_error(), "starting /nonexistent/program: No such file or directory");
}

static int note_pid(pid_t pid, void *arg)
{
	*(pid_t *)arg = pid;
	return 0;
}

/* The VMM's spawn (a clone sharing our memory, signals blocked around it):
 * the program starts with nothing blocked or ignored whatever the parent
 * had, and the parent's own mask and dispositions are as they were. */
static void test_cloned_child_starts_clean_and_leaves_the_parent_as_it_was(void **state)
{
	(void)state;
	sigset_t usr1, before, after;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	assert_int_equal(pthread_sigmask(SIG_BLOCK, &usr1, &before), 0);
	struct sigaction ign = {.sa_handler = SIG_IGN}, old_usr2, now_usr2;
	assert_int_equal(sigaction(SIGUSR2, &ign, &old_usr2), 0);
	int out[2];
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	const char *argv[] = {"/bin/grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status", NULL};
	pid_t seen = 0, pid = 0;
	sv_spawn_opts so = {.argv = argv,
			    .stdin_fd = -1,
			    .stdout_fd = out[1],
			    .stderr_fd = -1,
			    .parent_death_signal = SIGKILL,
			    .before_exec = note_pid,
			    .before_exec_arg = &seen};
	int rc = sv_spawn(&so, &pid, NULL);
	close(out[1]);
	assert_int_equal(pthread_sigmask(SIG_SETMASK, NULL, &after), 0);
	assert_int_equal(sigaction(SIGUSR2, &old_usr2, &now_usr2), 0);
	assert_int_equal(rc, 0);
	char text[256] = "";
	size_t got = 0;
	for (ssize_t n; got < sizeof(text) - 1 && (n = read(out[0], text + got, sizeof(text) - 1 - got)) > 0;)
		got += (size_t)n;
	text[got] = '\0';
	close(out[0]);
	int status = 0;
	assert_int_equal(sv_reap(pid, 5000, &status), 0);
	assert_int_equal(seen, pid);
	assert_string_equal(text, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
	assert_true(sigismember(&after, SIGUSR1));
	assert_false(sigismember(&after, SIGTERM));
	assert_true(now_usr2.sa_handler == SIG_IGN);
	assert_int_equal(pthread_sigmask(SIG_SETMASK, &before, NULL), 0);
}

/* search_path through the cloned spawn, which searches PATH itself (no
 * libc in its child): a file there that is not executable is passed over
 * for a later one, and named when it was the only one. */
static void test_cloned_spawn_searches_path_like_execvp(void **state)
{
	(void)state;
	char *fake = sv_path_join(dir, "true");
	int fd = open(fake, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
	const char *saved = getenv("PATH");
	char *saved_copy = saved ? strdup(saved) : NULL, *path = NULL;
	assert_true(asprintf(&path, "%s::/usr/bin:/bin", dir) > 0);
	const char *argv[] = {"true", NULL};
	sv_spawn_opts so = {.argv = argv,
			    .search_path = true,
			    .stdin_fd = -1,
			    .stdout_fd = -1,
			    .stderr_fd = -1,
			    .parent_death_signal = SIGKILL};
	setenv("PATH", path, 1);
	pid_t pid = 0;
	int ran = sv_spawn(&so, &pid, NULL), status = -1;
	if (ran == 0)
		sv_reap(pid, 5000, &status);
	setenv("PATH", dir, 1);
	int denied = sv_spawn(&so, &pid, NULL);
	char *denied_msg = strdup(sv_last_error());
	const char *missing_argv[] = {"no-such-program-anywhere", NULL};
	so.argv = missing_argv;
	int missing = sv_spawn(&so, &pid, NULL);
	char *missing_msg = strdup(sv_last_error());
	if (saved_copy)
		setenv("PATH", saved_copy, 1);
	else
		unsetenv("PATH");
	assert_int_equal(ran, 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(denied, SV_EPROCESS);
	assert_string_equal(denied_msg, "starting true: Permission denied");
	assert_int_equal(missing, SV_EPROCESS);
	assert_string_equal(missing_msg, "starting no-such-program-anywhere: No such file or directory");
	free(denied_msg);
	free(missing_msg);
	free(saved_copy);
	free(path);
	free(fake);
}

/* A child that closes its output (so sv_run sees EOF) and stays: the wait
 * for its exit must still end at the deadline. */
static void test_run_deadline_covers_a_child_that_closed_its_output(void **state)
{
	(void)state;
	const char *argv[] = {"/proc/self/exe", "--close-output-and-sleep", NULL};
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	argv[0] = exe;
	long long t0 = sv_now_ms();
	int code = 0;
	assert_int_equal(sv_run(argv, NULL, 500, &code, NULL, NULL), SV_ETIMEOUT);
	long long took = sv_now_ms() - t0;
	if (took > 5000)
		fail_msg("sv_run with a 500 ms timeout took %lld ms", took);
	char *want = NULL;
	assert_true(asprintf(&want, "running %s: no exit after 500 ms, killed", exe) > 0);
	assert_string_equal(sv_last_error(), want);
	free(want);
}

/* Out of fds, /proc cannot be read: a live process must not look gone (gc
 * and net gc would remove a running VM's resources). */
static void test_process_alive_fails_closed_when_out_of_fds(void **state)
{
	(void)state;
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		pause();
		_exit(0);
	}
	unsigned long long start = sv_process_start_time(child);
	assert_true(start > 0);
	struct rlimit old;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	struct rlimit low = { .rlim_cur = 32, .rlim_max = old.rlim_max };
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	int fds[64], n = 0;
	while (n < 64 && (fds[n] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
		n++;
	bool alive = sv_process_alive(child, start);
	while (n > 0)
		close(fds[--n]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	kill(child, SIGKILL);
	assert_int_equal(waitpid(child, NULL, 0), child);
	assert_true(alive);
	assert_false(sv_process_alive(child, start));
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--close-output-and-sleep")) {
		close(STDOUT_FILENO);
		close(STDERR_FILENO);
		sleep(30);
		return 0;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_kept_fd_reaches_only_its_own_child, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_only_stdio_and_kept_fds_reach_the_child, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_child_dies_with_its_parent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_parent_death_signal_keeps_spawn_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cloned_child_starts_clean_and_leaves_the_parent_as_it_was,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cloned_spawn_searches_path_like_execvp, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_run_deadline_covers_a_child_that_closed_its_output, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_process_alive_fails_closed_when_out_of_fds, setup, teardown),
	};
	return svt_run_group_name("util_spawn", tests, NULL, NULL);
}
