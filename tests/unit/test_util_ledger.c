/* util/ledger: entries are undone newest first, missing resources are fine,
 * odd paths survive, and only the exact process recorded is ever killed. */
#include "svtest.h"

#include "util/error.h"
#include "util/file.h"
#include "util/ledger.h"
#include "util/spawn.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *dir;
static char order[64];

static int setup(void **state)
{
	(void)state;
	dir = svt_tmpdir();
	order[0] = '\0';
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	svt_rm_tmpdir(dir);
	return 0;
}

static int record_order(const char *arg1, const char *arg2)
{
	(void)arg2;
	strncat(order, arg1, sizeof(order) - strlen(order) - 1);
	return 0;
}

static void test_replay_undoes_newest_first_and_removes_dir(void **state)
{
	(void)state;
	char *vm_dir = sv_path_join(dir, "vm");
	assert_int_equal(sv_mkdir_p(vm_dir, 0700), 0);
	sv_ledger_register("test-order", record_order);
	sv_ledger *l;
	assert_int_equal(sv_ledger_open(&l, vm_dir), 0);
	assert_int_equal(sv_ledger_record(l, "test-order", "a", NULL), 0);
	assert_int_equal(sv_ledger_record(l, "test-order", "b", NULL), 0);
	assert_int_equal(sv_ledger_record(l, "test-order", "c", NULL), 0);
	sv_ledger_close(l);
	assert_int_equal(sv_ledger_replay(vm_dir), 0);
	assert_string_equal(order, "cba");
	assert_false(sv_path_exists(vm_dir));
	assert_int_equal(sv_ledger_replay(vm_dir), 0); /* twice is fine */
	free(vm_dir);
}

static void test_paths_with_spaces_survive_the_ledger(void **state)
{
	(void)state;
	char *vm_dir = sv_path_join(dir, "vm");
	char *inside = sv_path_join(vm_dir, "staged copy 100%.img");
	assert_int_equal(sv_mkdir_p(vm_dir, 0700), 0);
	free(svt_write(vm_dir, "staged copy 100%.img", "x"));
	sv_ledger *l;
	assert_int_equal(sv_ledger_open(&l, vm_dir), 0);
	assert_int_equal(sv_ledger_record(l, "file", inside, NULL), 0);
	sv_ledger_close(l);
	/* Recorded relative to the VM directory, so a replay through another
	 * spelling of the runtime dir still finds it inside. */
	char *text = NULL, *ledger = sv_path_join(vm_dir, "ledger");
	assert_int_equal(sv_read_file(ledger, 4096, &text, NULL), 0);
	assert_string_equal(text, "file staged%20copy%20100%25.img\n");
	free(text);
	free(ledger);
	assert_int_equal(sv_ledger_replay(vm_dir), 0);
	assert_false(sv_path_exists(inside));
	assert_false(sv_path_exists(vm_dir));
	free(vm_dir);
	free(inside);
}

static void test_missing_resources_are_not_errors(void **state)
{
	(void)state;
	char *vm_dir = sv_path_join(dir, "vm");
	assert_int_equal(sv_mkdir_p(vm_dir, 0700), 0);
	sv_ledger *l;
	assert_int_equal(sv_ledger_open(&l, vm_dir), 0);
	assert_int_equal(sv_ledger_record(l, "file", "drives/not-there.img", NULL), 0);
	assert_int_equal(sv_ledger_record(l, "dir", "/nonexistent/smartvm-dir", NULL), 0);
	assert_int_equal(sv_ledger_record(l, "pid", "999999999", "1"), 0);
	sv_ledger_close(l);
	assert_int_equal(sv_ledger_replay(vm_dir), 0);
	free(vm_dir);
}

static pid_t start_sleeper(void)
{
	const char *argv[] = {"sleep", "30", NULL};
	sv_spawn_opts so = {
	    .argv = argv, .search_path = true, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};
	pid_t pid;
	assert_int_equal(sv_spawn(&so, &pid, NULL), 0);
	return pid;
}

static void test_pid_entry_kills_only_the_recorded_process(void **state)
{
	(void)state;
	char *vm_dir = sv_path_join(dir, "vm");
	assert_int_equal(sv_mkdir_p(vm_dir, 0700), 0);
	pid_t victim = start_sleeper(), bystander = start_sleeper();
	char vp[32], vs[32], bp[32];
	snprintf(vp, sizeof(vp), "%d", (int)victim);
	snprintf(vs, sizeof(vs), "%llu", sv_process_start_time(victim));
	snprintf(bp, sizeof(bp), "%d", (int)bystander);
	sv_ledger *l;
	assert_int_equal(sv_ledger_open(&l, vm_dir), 0);
	assert_int_equal(sv_ledger_record_pid(l, victim), 0);
	(void)vs;
	/* A wrong start time stands for a reused pid: must be left alone. */
	assert_int_equal(sv_ledger_record(l, "pid", bp, "1"), 0);
	sv_ledger_close(l);
	assert_int_equal(sv_ledger_replay(vm_dir), 0);
	int status;
	assert_int_equal(sv_reap(victim, 5000, &status), 0);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_int_equal(sv_reap(bystander, 100, &status), SV_ETIMEOUT);
	kill(bystander, SIGKILL);
	assert_int_equal(sv_reap(bystander, 5000, &status), 0);
	free(vm_dir);
}

static void wait_exe(pid_t pid, const char *want)
{
	char path[64], now[4096] = "";
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	for (long long end = sv_now_ms() + 5000; sv_now_ms() < end; usleep(1000)) {
		ssize_t n = readlink(path, now, sizeof(now) - 1);
		now[n > 0 ? n : 0] = '\0';
		if (!strcmp(now, want))
			return;
	}
	fail_msg("process %d runs %s, not %s", (int)pid, now, want);
}

typedef struct {
	const char *vm_dir, *exe, *then_exe;
} child_record;

static int record_before_exec(pid_t pid, void *arg)
{
	const child_record *r = arg;
	sv_ledger *l;
	int rc = sv_ledger_open(&l, r->vm_dir);
	if (!rc)
		rc = sv_ledger_record_child(l, pid, r->exe, r->then_exe);
	sv_ledger_close(l);
	return rc;
}

/* Issue 10: a jailed VMM is recorded before it runs (the jailer's exe) and
 * then is Firecracker under the same pid; gc refused to kill it ("runs X,
 * not the recorded Y"). Here env stands for the jailer and sleep for
 * Firecracker. */
static void test_pid_entry_kills_the_program_its_process_execs(void **state)
{
	(void)state;
	char *vm_dir = sv_path_join(dir, "vm");
	assert_int_equal(sv_mkdir_p(vm_dir, 0700), 0);
	char *env = realpath("/usr/bin/env", NULL), *sleep_bin = realpath("/bin/sleep", NULL);
	assert_non_null(env);
	assert_non_null(sleep_bin);
	const char *argv[] = {env, sleep_bin, "30", NULL};
	child_record r = {vm_dir, env, sleep_bin};
	sv_spawn_opts so = {.argv = argv,
			    .stdin_fd = -1,
			    .stdout_fd = -1,
			    .stderr_fd = -1,
			    .before_exec = record_before_exec,
			    .before_exec_arg = &r};
	pid_t pid;
	assert_int_equal(sv_spawn(&so, &pid, NULL), 0);
	wait_exe(pid, sleep_bin);
	assert_int_equal(sv_ledger_replay(vm_dir), 0);
	int status;
	assert_int_equal(sv_reap(pid, 5000, &status), 0);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	free(env);
	free(sleep_bin);
	free(vm_dir);
}

/* A before_exec step that fails: the child never runs, sv_spawn says why. */
static int refuse(pid_t pid, void *arg)
{
	(void)pid;
	(void)arg;
	return sv_err(SV_EIO, "not recorded");
}

static void test_a_child_whose_pid_cannot_be_recorded_never_runs(void **state)
{
	(void)state;
	char *marker = sv_path_join(dir, "ran");
	const char *argv[] = {"/usr/bin/touch", marker, NULL};
	sv_spawn_opts so = {
	    .argv = argv, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1, .before_exec = refuse};
	pid_t pid = 0;
	assert_int_equal(sv_spawn(&so, &pid, NULL), SV_EIO);
	assert_string_equal(sv_last_error(), "not recorded");
	assert_false(sv_path_exists(marker));
	free(marker);
}

/* Run as the program of a spawn (main's --find-own-pid-entry): exits 0 when
 * VM_DIR's ledger already has a pid entry for this very process (its pid
 * and start time), 3 when not. The first thing it does after exec. */
static int find_own_pid_entry(const char *vm_dir)
{
	char *path = sv_path_join(vm_dir, "ledger"), want[64];
	snprintf(want, sizeof(want), "pid %d %llu ", (int)getpid(), sv_process_start_time(getpid()));
	FILE *f = path ? fopen(path, "re") : NULL;
	free(path);
	bool found = false;
	char line[8192];
	while (f && !found && fgets(line, sizeof(line), f))
		found = !strncmp(line, want, strlen(want));
	if (f)
		fclose(f);
	return found ? 0 : 3;
}

static int spawn_finder(const char *vm_dir, bool record)
{
	char *self = realpath("/proc/self/exe", NULL);
	assert_non_null(self);
	const char *argv[] = {self, "--find-own-pid-entry", vm_dir, NULL};
	child_record r = {vm_dir, self, NULL};
	sv_spawn_opts so = {.argv = argv,
			    .stdin_fd = -1,
			    .stdout_fd = -1,
			    .stderr_fd = -1,
			    .parent_death_signal = SIGKILL,
			    .before_exec = record ? record_before_exec : NULL,
			    .before_exec_arg = &r};
	pid_t pid;
	assert_int_equal(sv_spawn(&so, &pid, NULL), 0);
	int status = 0;
	assert_int_equal(sv_reap(pid, 10000, &status), 0);
	free(self);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* The supervisor's VMM spawn (a clone sharing its memory, waiting at a gate
 * while the parent records it): the pid entry, with the start time the
 * process has, is in the ledger before its program's first instruction.
 * The same spawn without the record, afterwards, shows that the check can fail. */
static void test_pid_entry_is_written_before_the_program_runs(void **state)
{
	(void)state;
	char *vm_dir = sv_path_join(dir, "vm");
	assert_int_equal(sv_mkdir_p(vm_dir, 0700), 0);
	assert_int_equal(spawn_finder(vm_dir, true), 0);
	assert_int_equal(spawn_finder(vm_dir, false), 3); /* the ledger has another process's entry */
	free(vm_dir);
}

/* An executable replaced or removed while it runs (an upgrade, a jail
 * removed around its VMM) reads "<path> (deleted)": still the recorded one. */
static void test_pid_entry_kills_a_process_whose_executable_was_removed(void **state)
{
	(void)state;
	char *vm_dir = sv_path_join(dir, "vm"), *copy = sv_path_join(dir, "my-sleep");
	assert_int_equal(sv_mkdir_p(vm_dir, 0700), 0);
	assert_int_equal(sv_copy_sparse("/bin/sleep", copy), 0);
	assert_int_equal(chmod(copy, 0755), 0);
	const char *argv[] = {copy, "30", NULL};
	sv_spawn_opts so = {.argv = argv, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};
	pid_t pid;
	assert_int_equal(sv_spawn(&so, &pid, NULL), 0);
	sv_ledger *l;
	assert_int_equal(sv_ledger_open(&l, vm_dir), 0);
	assert_int_equal(sv_ledger_record_pid(l, pid), 0);
	sv_ledger_close(l);
	assert_int_equal(unlink(copy), 0);
	assert_int_equal(sv_ledger_replay(vm_dir), 0);
	int status;
	assert_int_equal(sv_reap(pid, 5000, &status), 0);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	free(copy);
	free(vm_dir);
}

static char *ledger_text(const char *vm_dir)
{
	char *path = sv_path_join(vm_dir, "ledger"), *text = NULL;
	assert_int_equal(sv_read_file(path, 1 << 16, &text, NULL), 0);
	free(path);
	return text;
}

/* A ledger names files inside its own VM directory only: an absolute path
 * elsewhere or a way out with ".." is refused, left alone and kept. */
static void test_file_entries_outside_the_vm_dir_are_refused_and_kept(void **state)
{
	(void)state;
	char *vm_dir = sv_path_join(dir, "vm");
	assert_int_equal(sv_mkdir_p(vm_dir, 0700), 0);
	char *outside = svt_write(dir, "outside", "keep");
	sv_ledger *l;
	assert_int_equal(sv_ledger_open(&l, vm_dir), 0);
	assert_int_equal(sv_ledger_record(l, "file", outside, NULL), 0);
	assert_int_equal(sv_ledger_record(l, "file", "../outside", NULL), 0);
	sv_ledger_close(l);
	assert_int_equal(sv_ledger_replay(vm_dir), SV_EUNSAFE);
	assert_string_equal(
	    sv_last_error(),
	    "undoing file ../outside: not inside the VM directory; not removed (and 1 more entry)");
	assert_true(sv_path_exists(outside));
	assert_true(sv_path_exists(vm_dir));
	char *text = ledger_text(vm_dir), expected[1024];
	snprintf(expected, sizeof(expected), "file %s\nfile ../outside\n", outside);
	assert_string_equal(text, expected);
	free(text);
	free(outside);
	free(vm_dir);
}

static void test_file_entries_never_follow_a_symlinked_directory(void **state)
{
	(void)state;
	char *vm_dir = sv_path_join(dir, "vm"), *elsewhere = sv_path_join(dir, "elsewhere");
	assert_int_equal(sv_mkdir_p(vm_dir, 0700), 0);
	assert_int_equal(sv_mkdir_p(elsewhere, 0700), 0);
	char *victim = svt_write(elsewhere, "a.img", "keep");
	char *link = sv_path_join(vm_dir, "drives");
	assert_int_equal(symlink(elsewhere, link), 0);
	sv_ledger *l;
	assert_int_equal(sv_ledger_open(&l, vm_dir), 0);
	assert_int_equal(sv_ledger_record(l, "file", "drives/a.img", NULL), 0);
	sv_ledger_close(l);
	assert_int_equal(sv_ledger_replay(vm_dir), SV_EUNSAFE);
	char expected[1024];
	snprintf(expected, sizeof(expected),
		 "undoing file drives/a.img: %s/drives is a symlink or not a directory; not followed",
		 vm_dir);
	assert_string_equal(sv_last_error(), expected);
	assert_true(sv_path_exists(victim));
	free(victim);
	free(link);
	free(elsewhere);
	free(vm_dir);
}

/* A pid entry names the process by pid, start time and executable: a
 * process with the right pid and start time that runs something else is
 * not killed, and neither is one recorded without its executable. */
static void test_pid_entry_needs_the_recorded_executable(void **state)
{
	(void)state;
	char *vm_dir = sv_path_join(dir, "vm");
	assert_int_equal(sv_mkdir_p(vm_dir, 0700), 0);
	pid_t sleeper = start_sleeper();
	char p[32], s[32];
	snprintf(p, sizeof(p), "%d", (int)sleeper);
	snprintf(s, sizeof(s), "%llu", sv_process_start_time(sleeper));
	char *ledger = sv_path_join(vm_dir, "ledger"), text[512];
	snprintf(text, sizeof(text), "pid %s %s /usr/sbin/not-sleep\npid %s %s\n", p, s, p, s);
	free(svt_write(vm_dir, "ledger", text));
	assert_int_equal(sv_ledger_replay(vm_dir), SV_EUNSAFE);
	char expected[512];
	snprintf(expected, sizeof(expected),
		 "undoing pid %s: recorded without its executable; not killed (and 1 more entry)", p);
	assert_string_equal(sv_last_error(), expected);
	int status;
	assert_int_equal(sv_reap(sleeper, 100, &status), SV_ETIMEOUT);
	/* Both are kept: the next gc looks again. */
	char *now = ledger_text(vm_dir);
	assert_string_equal(now, text);
	free(now);
	kill(sleeper, SIGKILL);
	assert_int_equal(sv_reap(sleeper, 5000, &status), 0);
	/* Once the process is gone there is nothing left to undo. */
	assert_int_equal(sv_ledger_replay(vm_dir), 0);
	assert_false(sv_path_exists(vm_dir));
	free(ledger);
	free(vm_dir);
}

static bool fail_undo;

static int undo_that_may_fail(const char *arg1, const char *arg2)
{
	(void)arg2;
	return fail_undo ? sv_err(SV_EIO, "%s: device busy", arg1) : 0;
}

/* A failed undo keeps its entry (only it) and the directory; the next
 * replay retries it and then removes everything. */
static void test_failed_entries_are_kept_for_the_next_replay(void **state)
{
	(void)state;
	char *vm_dir = sv_path_join(dir, "vm");
	assert_int_equal(sv_mkdir_p(vm_dir, 0700), 0);
	char *staged = svt_write(vm_dir, "staged.img", "x");
	sv_ledger_register("test-flaky", undo_that_may_fail);
	sv_ledger *l;
	assert_int_equal(sv_ledger_open(&l, vm_dir), 0);
	assert_int_equal(sv_ledger_record(l, "test-flaky", "tap0", NULL), 0);
	assert_int_equal(sv_ledger_record(l, "file", staged, NULL), 0);
	assert_int_equal(sv_ledger_record(l, "no-such-kind", "x", "y"), 0);
	sv_ledger_close(l);
	fail_undo = true;
	assert_int_equal(sv_ledger_replay(vm_dir), SV_EUNSUPPORTED);
	assert_string_equal(sv_last_error(),
			    "no handler for ledger entry \"no-such-kind x\" (and 1 more entry)");
	assert_false(sv_path_exists(staged));
	char *text = ledger_text(vm_dir);
	assert_string_equal(text, "test-flaky tap0\nno-such-kind x y\n");
	free(text);
	/* The failure is saved beside the ledger for ps and gc. */
	char *reason = NULL, *reason_path = sv_path_join(vm_dir, "cleanup-error");
	assert_int_equal(sv_read_file(reason_path, 4096, &reason, NULL), 0);
	assert_string_equal(reason, "no handler for ledger entry \"no-such-kind x\" (and 1 more entry)\n");
	free(reason);
	free(reason_path);

	fail_undo = false;
	assert_int_equal(sv_ledger_replay(vm_dir), SV_EUNSUPPORTED);
	text = ledger_text(vm_dir);
	assert_string_equal(text, "no-such-kind x y\n");
	free(text);
	sv_ledger_register("no-such-kind", undo_that_may_fail);
	assert_int_equal(sv_ledger_replay(vm_dir), 0);
	assert_false(sv_path_exists(vm_dir));
	free(staged);
	free(vm_dir);
}

/* The end record of a detached VM (src/vm/vm_end_record.c): after a full
 * replay only the named entries stay, with the directory; until then (an
 * entry that could not be undone) everything stays for the next replay. */
static void test_replay_keep_leaves_only_the_named_entries(void **state)
{
	(void)state;
	char *vm_dir = sv_path_join(dir, "vm");
	char *drives = sv_path_join(vm_dir, "drives");
	assert_int_equal(sv_mkdir_p(drives, 0700), 0);
	free(svt_write(vm_dir, "ended.json", "{}"));
	free(svt_write(vm_dir, "state.json", "{}"));
	free(svt_write(drives, "rootfs.img", "x"));
	char *link = sv_path_join(vm_dir, "to-outside");
	assert_int_equal(symlink(dir, link), 0);
	sv_ledger_register("test-flaky", undo_that_may_fail);
	sv_ledger *l;
	assert_int_equal(sv_ledger_open(&l, vm_dir), 0);
	assert_int_equal(sv_ledger_record(l, "test-flaky", "tap0", NULL), 0);
	sv_ledger_close(l);
	const char *const keep[] = {"ended.json", "lock", NULL};

	fail_undo = true;
	assert_int_equal(sv_ledger_replay_keep(vm_dir, keep), SV_EIO);
	assert_true(sv_path_exists(drives)); /* nothing goes before everything was undone */
	fail_undo = false;
	assert_int_equal(sv_ledger_replay_keep(vm_dir, keep), 0);
	assert_int_equal(svt_dir_entries(vm_dir), 1);
	char *record = sv_path_join(vm_dir, "ended.json");
	assert_true(sv_path_exists(record));
	assert_true(sv_path_exists(dir)); /* the link was removed, not followed */
	/* Again (gc over an ended VM): nothing to do, the record stays. */
	assert_int_equal(sv_ledger_replay_keep(vm_dir, keep), 0);
	assert_true(sv_path_exists(record));
	assert_int_equal(sv_ledger_replay(vm_dir), 0);
	assert_false(sv_path_exists(vm_dir));
	free(record);
	free(link);
	free(drives);
	free(vm_dir);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--find-own-pid-entry"))
		return find_own_pid_entry(argv[2]);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_replay_keep_leaves_only_the_named_entries, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_replay_undoes_newest_first_and_removes_dir, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_file_entries_outside_the_vm_dir_are_refused_and_kept, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_file_entries_never_follow_a_symlinked_directory, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_pid_entry_needs_the_recorded_executable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failed_entries_are_kept_for_the_next_replay, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_paths_with_spaces_survive_the_ledger, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_resources_are_not_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pid_entry_kills_only_the_recorded_process, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pid_entry_kills_the_program_its_process_execs, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_a_child_whose_pid_cannot_be_recorded_never_runs, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_pid_entry_is_written_before_the_program_runs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pid_entry_kills_a_process_whose_executable_was_removed,
					    setup, teardown),
	};
	return svt_run_group(tests, NULL, NULL);
}
