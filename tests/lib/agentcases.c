/* The agent's end-to-end cases (see agentcases.h). */
#include "svtest.h"
#include "agentcases.h"

#include "util/file.h"
#include "util/spawn.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define T 60000

static svag_target *target;

void svag_set_target(svag_target *t) { target = t; }

/* ---- helpers ---- */

typedef struct {
	char *out, *err;
	size_t out_len, err_len;
} collected;

static int collect(void *ctx, int stream, const void *data, size_t len)
{
	collected *c = ctx;
	char **buf = stream == 1 ? &c->out : &c->err;
	size_t *n = stream == 1 ? &c->out_len : &c->err_len;
	char *grown = realloc(*buf, *n + len + 1);
	if (!grown)
		return -1;
	memcpy(grown + *n, data, len);
	*n += len;
	grown[*n] = '\0';
	*buf = grown;
	return 0;
}

static void collected_free(collected *c)
{
	free(c->out);
	free(c->err);
	memset(c, 0, sizeof(*c));
}

/* Runs argv to its end with output collected; returns the status. */
static int run(const char *const *argv, collected *c)
{
	memset(c, 0, sizeof(*c));
	c->out = calloc(1, 1);
	c->err = calloc(1, 1);
	sv_exec_options o = SV_EXEC_OPTIONS_INIT;
	o.on_output = collect;
	o.ctx = c;
	int status = -1;
	if (sv_vm_exec(target->vm, argv, &o, T, &status) != 0)
		fail_msg("exec %s: %s", argv[0], sv_last_error());
	return status;
}

/* sh -c script in the guest, with its output; fails unless it exits 0. */
static char *sh(const char *script)
{
	collected c;
	int status = run((const char *const[]){"sh", "-c", script, NULL}, &c);
	if (status != 0)
		fail_msg("sh -c '%s': status %d, stderr %s", script, status, c.err);
	free(c.err);
	return c.out;
}

static char *guest_path(const char *name) { return sv_path_join(target->guest_dir, name); }

void svag_sha256_file(const char *path, char hex[65])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail_msg("opening %s: %s", path, strerror(errno));
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	static char buf[1 << 16];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		EVP_DigestUpdate(ctx, buf, (size_t)n);
	close(fd);
	unsigned char md[32];
	EVP_DigestFinal_ex(ctx, md, NULL);
	EVP_MD_CTX_free(ctx);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

void svag_reset_peak_rss(int pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/clear_refs", pid);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "5", 1), 1); /* 5: reset VmHWM to the current RSS */
	close(fd);
}

long svag_peak_rss_kib(int pid)
{
	char path[64], *text = NULL;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (sv_read_file(path, 1 << 16, &text, NULL) != 0)
		fail_msg("reading %s", path);
	const char *p = strstr(text, "VmHWM:");
	long kib = p ? strtol(p + 6, NULL, 10) : -1;
	free(text);
	return kib;
}

/* size bytes of data that differs from file to file (not zeros: a copy
 * that dropped or shifted a block must show). */
static char *host_file(const char *name, size_t size, unsigned seed)
{
	char *path = sv_path_join(target->host_dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	assert_true(fd >= 0);
	static uint32_t block[16384];
	uint32_t x = seed * 2654435761u + 1;
	for (size_t off = 0; off < size; off += sizeof(block)) {
		for (size_t i = 0; i < sizeof(block) / 4; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			block[i] = x;
		}
		size_t n = size - off < sizeof(block) ? size - off : sizeof(block);
		assert_int_equal(write(fd, block, n), (ssize_t)n);
	}
	close(fd);
	return path;
}

/* ---- exec ---- */

static void test_exit_codes_as_a_shell_reports_them(void **state)
{
	(void)state;
	collected c;
	assert_int_equal(run((const char *const[]){"true", NULL}, &c), 0);
	collected_free(&c);
	assert_int_equal(run((const char *const[]){"sh", "-c", "exit 5", NULL}, &c), 5);
	collected_free(&c);
	assert_int_equal(run((const char *const[]){"sh", "-c", "kill -9 $$", NULL}, &c), 128 + 9);
	collected_free(&c);

	sv_exec *e = NULL;
	assert_int_equal(
	    sv_exec_start(&e, target->vm, (const char *const[]){"no-such-command-xyz", NULL}, NULL), 0);
	int status = -1;
	assert_int_equal(sv_exec_wait(e, T, &status), 0);
	assert_int_equal(status, 127);
	assert_string_equal(sv_exec_start_error(e),
			    "no-such-command-xyz: No such file or directory (guest errno 2)");
	sv_exec_free(e);

	char *script = guest_path("not-executable");
	char *cmd = NULL;
	assert_true(asprintf(&cmd, "echo 'echo hi' > %s; chmod 644 %s", script, script) > 0);
	free(sh(cmd));
	assert_int_equal(sv_exec_start(&e, target->vm, (const char *const[]){script, NULL}, NULL), 0);
	assert_int_equal(sv_exec_wait(e, T, &status), 0);
	assert_int_equal(status, 126);
	sv_exec_free(e);
	free(cmd);
	free(script);
}

static void test_stdout_and_stderr_stay_apart(void **state)
{
	(void)state;
	collected c;
	int status = run(
	    (const char *const[]){"sh", "-c", "echo to-out; echo to-err >&2; printf 'no newline'", NULL}, &c);
	assert_int_equal(status, 0);
	assert_string_equal(c.out, "to-out\nno newline");
	assert_string_equal(c.err, "to-err\n");
	collected_free(&c);
}

static void test_ten_mib_of_stdin_through_cat_arrive_exactly(void **state)
{
	(void)state;
	char *in = host_file("stdin.bin", 10u << 20, 7);
	char *out = sv_path_join(target->host_dir, "stdout.bin");
	int in_fd = open(in, O_RDONLY | O_CLOEXEC);
	int out_fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	sv_exec_options o = SV_EXEC_OPTIONS_INIT;
	o.stdin_fd = in_fd;
	o.stdout_fd = out_fd;
	o.stderr_fd = 2;
	int status = -1;
	if (sv_vm_exec(target->vm, (const char *const[]){"cat", NULL}, &o, T, &status) != 0)
		fail_msg("cat: %s", sv_last_error());
	assert_int_equal(status, 0);
	close(in_fd);
	close(out_fd);
	char a[65], b[65];
	svag_sha256_file(in, a);
	svag_sha256_file(out, b);
	assert_string_equal(a, b);
	unlink(in);
	unlink(out);
	free(in);
	free(out);
}

static void test_stdin_by_calls_and_signals(void **state)
{
	(void)state;
	collected c = {calloc(1, 1), calloc(1, 1), 0, 0};
	sv_exec_options o = SV_EXEC_OPTIONS_INIT;
	o.stdin_fd = SV_EXEC_STDIN_CALLS;
	o.on_output = collect;
	o.ctx = &c;
	sv_exec *e = NULL;
	assert_int_equal(
	    sv_exec_start(&e, target->vm,
			  (const char *const[]){"sh", "-c", "read a; echo \"got $a\"; sleep 100", NULL}, &o),
	    0);
	assert_true(sv_exec_guest_pid(e) > 0);
	size_t written = 0;
	assert_int_equal(sv_exec_write_stdin(e, "line\n", 5, T, &written), 0);
	assert_int_equal(written, 5);
	long long deadline = sv_now_ms() + T;
	while (!strstr(c.out, "got line") && sv_now_ms() < deadline)
		assert_int_equal(sv_exec_wait(e, 50, NULL) == SV_ETIMEOUT ? 0 : -1, 0);
	assert_string_equal(c.out, "got line\n");
	assert_int_equal(sv_exec_signal(e, SIGTERM), 0);
	int status = -1;
	assert_int_equal(sv_exec_wait(e, T, &status), 0);
	assert_int_equal(status, 128 + SIGTERM);
	assert_int_equal(sv_exec_term_signal(e), SIGTERM);
	assert_int_equal(sv_exec_exit_code(e), -1);
	sv_exec_free(e);
	collected_free(&c);
}

static void test_guest_timeout_kills_the_command(void **state)
{
	(void)state;
	sv_exec_options o = SV_EXEC_OPTIONS_INIT;
	o.timeout_ms = 300;
	sv_exec *e = NULL;
	assert_int_equal(sv_exec_start(&e, target->vm, (const char *const[]){"sleep", "100", NULL}, &o), 0);
	int status = -1;
	assert_int_equal(sv_exec_wait(e, T, &status), 0);
	assert_int_equal(status, 128 + SIGKILL);
	assert_true(sv_exec_timed_out(e));
	sv_exec_free(e);
}

typedef struct {
	sv_exec *e;
	collected c;
} one_exec;

static void test_sixteen_execs_at_once(void **state)
{
	(void)state;
	one_exec x[16];
	long long t0 = sv_now_ms();
	for (int i = 0; i < 16; i++) {
		char script[64];
		snprintf(script, sizeof(script), "sleep 1; echo exec-%d", i);
		x[i].c = (collected){calloc(1, 1), calloc(1, 1), 0, 0};
		sv_exec_options o = SV_EXEC_OPTIONS_INIT;
		o.on_output = collect;
		o.ctx = &x[i].c;
		if (sv_exec_start(&x[i].e, target->vm, (const char *const[]){"sh", "-c", script, NULL}, &o) !=
		    0)
			fail_msg("exec %d: %s", i, sv_last_error());
	}
	for (int i = 0; i < 16; i++) {
		int status = -1;
		assert_int_equal(sv_exec_wait(x[i].e, T, &status), 0);
		assert_int_equal(status, 0);
		char want[32];
		snprintf(want, sizeof(want), "exec-%d\n", i);
		assert_string_equal(x[i].c.out, want);
		sv_exec_free(x[i].e);
		collected_free(&x[i].c);
	}
	/* Side by side, not one after another (16 s). */
	long long took = sv_now_ms() - t0;
	if (took >= 12000)
		fail_msg("16 execs of `sleep 1` took %lld ms: they did not run at once", took);
}

static void test_tty_exec_has_a_terminal_and_sees_a_resize(void **state)
{
	(void)state;
	if (!target->tty)
		fail_msg("this target has no terminals to give: leave the _tty_ cases out of its list");
	collected c = {calloc(1, 1), calloc(1, 1), 0, 0};
	sv_exec_options o = SV_EXEC_OPTIONS_INIT;
	o.tty = true;
	o.tty_rows = 30;
	o.tty_cols = 100;
	o.stdin_fd = SV_EXEC_STDIN_CALLS;
	o.on_output = collect;
	o.ctx = &c;
	sv_exec *e = NULL;
	assert_int_equal(
	    sv_exec_start(&e, target->vm,
			  (const char *const[]){"sh", "-c", "tty; stty size; read x; stty size", NULL}, &o),
	    0);
	long long deadline = sv_now_ms() + T;
	while (!strstr(c.out, "30 100") && sv_now_ms() < deadline)
		assert_int_equal(sv_exec_wait(e, 50, NULL), SV_ETIMEOUT);
	svt_assert_contains(c.out, "/dev/pts/");
	svt_assert_contains(c.out, "30 100");
	assert_int_equal(sv_exec_resize(e, 40, 120), 0);
	assert_int_equal(sv_exec_write_stdin(e, "\n", 1, T, NULL), 0);
	int status = -1;
	assert_int_equal(sv_exec_wait(e, T, &status), 0);
	assert_int_equal(status, 0);
	svt_assert_contains(c.out, "40 120");
	/* A terminal has no stderr of its own. */
	assert_int_equal(c.err_len, 0);
	sv_exec_free(e);
	collected_free(&c);
}

/* ---- files ---- */

static void test_fifty_mib_file_both_ways(void **state)
{
	(void)state;
	char *src = host_file("big.bin", 50u << 20, 11);
	char *in_guest = guest_path("big.bin");
	if (sv_vm_copy_to(target->vm, src, in_guest, NULL) != 0)
		fail_msg("copy to: %s", sv_last_error());
	char hex[65], *cmd = NULL;
	svag_sha256_file(src, hex);
	assert_true(asprintf(&cmd, "sha256sum %s", in_guest) > 0);
	char *out = sh(cmd);
	assert_true(strncmp(out, hex, 64) == 0);
	free(out);
	free(cmd);
	char *back = sv_path_join(target->host_dir, "big.back");
	if (sv_vm_copy_from(target->vm, in_guest, back, NULL) != 0)
		fail_msg("copy from: %s", sv_last_error());
	char hex2[65];
	svag_sha256_file(back, hex2);
	assert_string_equal(hex, hex2);
	struct stat a, b;
	assert_int_equal(stat(src, &a), 0);
	assert_int_equal(stat(back, &b), 0);
	assert_int_equal(a.st_mode & 07777, b.st_mode & 07777);
	assert_int_equal(a.st_mtim.tv_sec, b.st_mtim.tv_sec);
	unlink(src);
	unlink(back);
	assert_true(asprintf(&cmd, "rm -f %s", in_guest) > 0);
	free(sh(cmd));
	free(cmd);
	free(src);
	free(back);
	free(in_guest);
}

/* One line per entry below root, sorted: what a copy must keep. */
static void list_tree(const char *root, const char *rel, char **acc)
{
	char *dir = *rel ? sv_path_join(root, rel) : strdup(root);
	struct dirent **names = NULL;
	int n = scandir(dir, &names, NULL, alphasort);
	assert_true(n >= 0);
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		if (!strcmp(name, ".") || !strcmp(name, "..")) {
			free(names[i]);
			continue;
		}
		char *r = *rel ? sv_path_join(rel, name) : strdup(name);
		char *full = sv_path_join(root, r);
		struct stat st;
		assert_int_equal(lstat(full, &st), 0);
		char line[700];
		if (S_ISREG(st.st_mode)) {
			char hex[65];
			svag_sha256_file(full, hex);
			snprintf(line, sizeof(line), "%s file %o %lld %s\n", r, st.st_mode & 07777,
				 (long long)st.st_mtim.tv_sec, hex);
		} else if (S_ISLNK(st.st_mode)) {
			char target_buf[300] = "";
			assert_true(readlink(full, target_buf, sizeof(target_buf) - 1) > 0);
			snprintf(line, sizeof(line), "%s link %s\n", r, target_buf);
		} else {
			snprintf(line, sizeof(line), "%s dir %o\n", r, st.st_mode & 07777);
		}
		size_t have = *acc ? strlen(*acc) : 0;
		*acc = realloc(*acc, have + strlen(line) + 1);
		strcpy(*acc + have, line);
		if (S_ISDIR(st.st_mode))
			list_tree(root, r, acc);
		free(r);
		free(full);
		free(names[i]);
	}
	free(names);
	free(dir);
}

static void test_directory_tree_both_ways(void **state)
{
	(void)state;
	char *tree = sv_path_join(target->host_dir, "tree");
	char *sub = sv_path_join(tree, "sub/deeper");
	assert_int_equal(sv_mkdir_p(sub, 0755), 0);
	free(svt_write(tree, "a.txt", "alpha\n"));
	free(svt_write(tree, "sub/b.txt", "beta\n"));
	char *exe = svt_write(tree, "sub/deeper/run.sh", "#!/bin/sh\necho ran\n");
	chmod(exe, 0750);
	char *empty = sv_path_join(tree, "empty");
	mkdir(empty, 0700);
	char *link = sv_path_join(tree, "sub/to-a");
	assert_int_equal(symlink("../a.txt", link), 0);
	char *big = sv_path_join(tree, "sub/data.bin");
	char *made = host_file("tree-data.bin", 3u << 20, 3);
	assert_int_equal(rename(made, big), 0);

	if (sv_vm_copy_to(target->vm, tree, target->guest_dir, NULL) != 0)
		fail_msg("copy tree to: %s", sv_last_error());
	char *in_guest = guest_path("tree");
	char *back = sv_path_join(target->host_dir, "back");
	if (sv_vm_copy_from(target->vm, in_guest, back, NULL) != 0)
		fail_msg("copy tree from: %s", sv_last_error());
	char *want = NULL, *got = NULL;
	list_tree(tree, "", &want);
	list_tree(back, "", &got);
	assert_string_equal(got, want);
	/* The symlink came back as a symlink, and the script runs in the guest. */
	char *cmd = NULL;
	assert_true(asprintf(&cmd, "%s/sub/deeper/run.sh", in_guest) > 0);
	char *out = sh(cmd);
	assert_string_equal(out, "ran\n");
	free(out);
	free(cmd);
	sv_rm_rf(tree);
	sv_rm_rf(back);
	free(want);
	free(got);
	free(tree);
	free(sub);
	free(exe);
	free(empty);
	free(link);
	free(big);
	free(made);
	free(in_guest);
	free(back);
}

static void test_stat_mkdir_and_missing_paths(void **state)
{
	(void)state;
	char *dir = guest_path("made/by/mkdir");
	sv_mkdir_options mo = SV_MKDIR_OPTIONS_INIT;
	mo.mode = 0710;
	mo.parents = true;
	assert_int_equal(sv_vm_guest_mkdir(target->vm, dir, &mo), 0);
	sv_guest_stat st = SV_GUEST_STAT_INIT;
	assert_int_equal(sv_vm_guest_stat(target->vm, dir, false, &st), 0);
	assert_int_equal(st.type, SV_GUEST_DIR);
	assert_int_equal(st.mode, 0710);
	sv_guest_stat_clear(&st);
	char *missing = guest_path("no/such/thing");
	assert_int_equal(sv_vm_guest_stat(target->vm, missing, true, &st), SV_ENOTFOUND);
	char *want = NULL;
	assert_true(asprintf(&want, "VM \"%s\": stat %s: %s: No such file or directory (guest errno 2)",
			     sv_vm_id(target->vm), missing, missing) > 0);
	assert_string_equal(sv_last_error(), want);
	free(want);
	free(missing);
	free(dir);
}

/* ---- streaming ---- */

typedef struct {
	unsigned long long bytes;
} counter;

static int count(void *ctx, int stream, const void *data, size_t len)
{
	(void)data;
	if (stream == 1)
		((counter *)ctx)->bytes += len;
	return 0;
}

static void test_one_gib_of_output_with_bounded_memory(void **state)
{
	(void)state;
	int sup = svt_vm_state_pid(target->runtime_dir, sv_vm_id(target->vm), "supervisor_pid");
	svag_reset_peak_rss(getpid());
	svag_reset_peak_rss(sup);
	long self_before = svag_peak_rss_kib(getpid());
	counter n = {0};
	sv_exec_options o = SV_EXEC_OPTIONS_INIT;
	o.on_output = count;
	o.ctx = &n;
	int status = -1;
	long long t0 = sv_now_ms();
	if (sv_vm_exec(target->vm,
		       (const char *const[]){"dd", "if=/dev/zero", "bs=1048576", "count=1024", NULL}, &o,
		       280000, &status) != 0)
		fail_msg("1 GiB: %s", sv_last_error());
	long long took = sv_now_ms() - t0;
	assert_int_equal(status, 0);
	assert_int_equal(n.bytes, 1ull << 30);
	long self_after = svag_peak_rss_kib(getpid()), sup_peak = svag_peak_rss_kib(sup);
	print_message("1 GiB in %lld ms (%.1f MB/s); client peak RSS +%ld KiB, supervisor peak RSS %ld KiB\n",
		      took, 1073.741824 * 1000 / (double)(took ? took : 1), self_after - self_before,
		      sup_peak);
	/* A window per channel and a frame buffer, not the output. */
	assert_true(self_after - self_before < 16 * 1024);
	assert_true(sup_peak < 24 * 1024);
}

const struct CMUnitTest svag_cases[] = {
    cmocka_unit_test(test_exit_codes_as_a_shell_reports_them),
    cmocka_unit_test(test_stdout_and_stderr_stay_apart),
    cmocka_unit_test(test_ten_mib_of_stdin_through_cat_arrive_exactly),
    cmocka_unit_test(test_stdin_by_calls_and_signals),
    cmocka_unit_test(test_guest_timeout_kills_the_command),
    cmocka_unit_test(test_sixteen_execs_at_once),
    cmocka_unit_test(test_tty_exec_has_a_terminal_and_sees_a_resize),
    cmocka_unit_test(test_fifty_mib_file_both_ways),
    cmocka_unit_test(test_directory_tree_both_ways),
    cmocka_unit_test(test_stat_mkdir_and_missing_paths),
    cmocka_unit_test(test_one_gib_of_output_with_bounded_memory),
};
const size_t svag_n_cases = sizeof(svag_cases) / sizeof(svag_cases[0]);
