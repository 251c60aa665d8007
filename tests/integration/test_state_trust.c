/* State directories another local user could control are refused, through
 * the CLI as root runs it: the sweep's attack (another user pre-creates the
 * runtime dir with a ledger naming a directory elsewhere and an unrelated
 * process; a root `gc` deleted the directory and killed the process) and its
 * relatives (a planted VM dir, a symlinked state file or ledger, a planted
 * data dir for leases, images and binaries). Each refusal names the
 * directory and the fix; nothing is deleted, killed, read or followed. The
 * default runtime dir of a user without XDG_RUNTIME_DIR is verified the way
 * tmux verifies its per-uid directory. Needs root (chown to another uid). */
#include "svtest.h"

#include "util/error.h"
#include "util/file.h"
#include "util/spawn.h"
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOBODY 65534

typedef struct {
	char *tmp;
	char data[512], rt[512];
	char *out, *err;
	pid_t sleeper;
	unsigned long long sleeper_start;
} fixture;

static int setup(void **state)
{
	if (!svt_is_root()) {
		svt_skip(SVT_NEED_ROOT, "needs root to chown to another uid");
	}
	fixture *f = calloc(1, sizeof(*f));
	f->tmp = svt_tmpdir();
	snprintf(f->data, sizeof(f->data), "%s/data", f->tmp);
	snprintf(f->rt, sizeof(f->rt), "%s/rt", f->tmp);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	if (f->sleeper > 0) {
		kill(f->sleeper, SIGKILL);
		sv_reap(f->sleeper, 5000, NULL);
	}
	free(f->out);
	free(f->err);
	svt_rm_tmpdir(f->tmp);
	free(f);
	return 0;
}

static int cli(fixture *f, ...)
{
	va_list ap;
	va_start(ap, f);
	int code = svt_run_cli_dirs_v(f->data, f->rt, NULL, &f->out, &f->err, ap);
	va_end(ap);
	return code;
}

static void mkdir_owned(const char *path, uid_t uid, mode_t mode)
{
	assert_int_equal(mkdir(path, mode), 0);
	assert_int_equal(chmod(path, mode), 0);
	assert_int_equal(chown(path, uid, uid), 0);
}

/* A process that has nothing to do with smartvm. */
static void start_sleeper(fixture *f)
{
	const char *argv[] = {"sleep", "60", NULL};
	sv_spawn_opts so = {
	    .argv = argv, .search_path = true, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};
	assert_int_equal(sv_spawn(&so, &f->sleeper, NULL), 0);
	f->sleeper_start = sv_process_start_time(f->sleeper);
	assert_true(f->sleeper_start > 0);
}

/* A victim directory with a file, outside every smartvm directory. */
static char *make_victim(fixture *f)
{
	char *victim = sv_path_join(f->tmp, "victim");
	assert_int_equal(mkdir(victim, 0755), 0);
	free(svt_write(victim, "precious", "keep me\n"));
	return victim;
}

/* What an attacker writes into a VM directory: a stopped VM whose ledger
 * names the victim directory, a file in it, and the sleeper. */
static void plant_vm(fixture *f, const char *vm_dir, const char *victim, uid_t owner)
{
	char text[2048];
	snprintf(text, sizeof(text), "dir %s\nfile %s/precious\npid %d %llu\n", victim, victim,
		 (int)f->sleeper, f->sleeper_start);
	free(svt_write(vm_dir, "ledger", text));
	free(svt_write(vm_dir, "state.json", "{\"id\": \"evil\", \"state\": \"stopped\"}\n"));
	char *ledger = sv_path_join(vm_dir, "ledger"), *st = sv_path_join(vm_dir, "state.json");
	assert_int_equal(chown(ledger, owner, owner), 0);
	assert_int_equal(chown(st, owner, owner), 0);
	free(ledger);
	free(st);
}

static void assert_untouched(fixture *f, const char *victim)
{
	char *precious = sv_path_join(victim, "precious");
	assert_true(sv_path_exists(precious));
	free(precious);
	assert_true(sv_process_alive(f->sleeper, f->sleeper_start));
}

/* The sweep's attack: uid 65534 made the runtime dir (rt_owner) or only the
 * VM dir "evil" in it, with a ledger naming the victim and the sleeper. A
 * root gc refuses with the message naming refused_dir (the runtime dir or
 * the VM dir) and touches nothing. */
static void gc_refuses_planted(fixture *f, uid_t rt_owner)
{
	start_sleeper(f);
	char *victim = make_victim(f);
	mkdir_owned(f->rt, rt_owner, rt_owner ? 0755 : 0700);
	char *vm_dir = sv_path_join(f->rt, "evil");
	mkdir_owned(vm_dir, NOBODY, 0755);
	plant_vm(f, vm_dir, victim, NOBODY);
	const char *refused = rt_owner ? f->rt : vm_dir;

	assert_int_equal(cli(f, "gc", NULL), 1);
	char expected[2048];
	snprintf(
	    expected, sizeof(expected),
	    "smartvm: runtime_dir %s: it is owned by uid 65534, not by uid 0; remove %s or choose another "
	    "directory\n",
	    refused, refused);
	assert_string_equal(f->err, expected);
	assert_untouched(f, victim);
	assert_true(sv_path_exists(vm_dir));

	/* Readers refuse it the same way and create nothing; ps never hides a
	 * VM dir it cannot read: its row is there, the reason on stderr. */
	assert_int_equal(cli(f, "ps", NULL), 1);
	assert_string_equal(f->err, expected);
	if (!rt_owner)
		svt_assert_contains(f->out, "evil ");
	assert_false(sv_path_exists(f->data));
	free(vm_dir);
	free(victim);
}

static void test_gc_refuses_a_runtime_dir_another_user_created(void **state)
{
	gc_refuses_planted(*state, NOBODY);
}

static void test_gc_refuses_a_vm_dir_another_user_created(void **state) { gc_refuses_planted(*state, 0); }

static void test_gc_never_follows_a_symlinked_ledger(void **state)
{
	fixture *f = *state;
	start_sleeper(f);
	char *victim = make_victim(f);
	mkdir_owned(f->rt, 0, 0700);
	char *vm_dir = sv_path_join(f->rt, "linked");
	mkdir_owned(vm_dir, 0, 0700);
	/* The ledger a link points at names the victim and the sleeper. */
	char *elsewhere = sv_path_join(f->tmp, "elsewhere");
	assert_int_equal(mkdir(elsewhere, 0700), 0);
	plant_vm(f, elsewhere, victim, 0);
	char *target = sv_path_join(elsewhere, "ledger"), *link = sv_path_join(vm_dir, "ledger");
	assert_int_equal(symlink(target, link), 0);
	free(svt_write(vm_dir, "state.json", "{\"id\": \"linked\", \"state\": \"stopped\"}\n"));

	assert_int_equal(cli(f, "gc", NULL), 1);
	char expected[2048];
	snprintf(expected, sizeof(expected),
		 "smartvm: cleaning up VM \"linked\": reading %s/ledger: is a symlink\n", vm_dir);
	assert_string_equal(f->err, expected);
	assert_untouched(f, victim);
	/* What failed is kept for the next gc: the directory and its ledger link. */
	assert_true(sv_path_exists(vm_dir));
	struct stat st;
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	free(target);
	free(link);
	free(elsewhere);
	free(vm_dir);
	free(victim);
}

static void test_a_symlinked_state_file_is_refused_and_its_target_untouched(void **state)
{
	fixture *f = *state;
	mkdir_owned(f->rt, 0, 0700);
	char *vm_dir = sv_path_join(f->rt, "web");
	mkdir_owned(vm_dir, 0, 0700);
	const char *secret_text =
	    "{\"id\": \"web\", \"state\": \"running\", \"base_image\": \"the-secret\"}\n";
	char *secret = svt_write(f->tmp, "secret.json", secret_text);
	char *link = sv_path_join(vm_dir, "state.json");
	assert_int_equal(symlink(secret, link), 0);

	char expected[2048];
	snprintf(expected, sizeof(expected), "smartvm: VM \"web\": reading %s: is a symlink\n", link);
	assert_int_equal(cli(f, "inspect", "web", "--json", NULL), 1);
	assert_string_equal(f->err, expected);
	assert_null(strstr(f->out, "the-secret"));
	assert_int_equal(cli(f, "pause", "web", NULL), 1);
	assert_string_equal(f->err, expected);
	assert_int_equal(cli(f, "ps", "--json", NULL), 1);
	assert_null(strstr(f->out, "the-secret"));

	char *now = NULL;
	assert_int_equal(sv_read_file(secret, 4096, &now, NULL), 0);
	assert_string_equal(now, secret_text);
	free(now);
	free(link);
	free(secret);
	free(vm_dir);
}

static int net_ls(fixture *f) { return cli(f, "net", "ls", NULL); }
static int image_ls(fixture *f) { return cli(f, "image", "ls", NULL); }
static int binary_ensure(fixture *f) { return cli(f, "binary", "ensure", "--version", "v1.7.0", NULL); }

static void test_a_data_dir_another_user_created_is_refused(void **state)
{
	fixture *f = *state;
	mkdir_owned(f->data, NOBODY, 0755);
	char *net = sv_path_join(f->data, "net");
	mkdir_owned(net, NOBODY, 0755);
	free(svt_write(
	    net, "svbr0.leases",
	    "subnet 172.30.0.0/24\nlease 172.30.0.2 evil eth0 svnotthere 06:00:00:00:00:02 1 1 1\n"));
	char *cache = sv_path_join(f->data, "base-images");
	mkdir_owned(cache, NOBODY, 0755);

	/* Leases decide which devices root deletes, images what it boots, and a
	 * binary found there would run as root (refused before any download). */
	const struct {
		const char *what, *sub;
		int (*run)(fixture *);
	} cases[] = {
	    {"listing leases: data_dir", "net", net_ls},
	    {"base_image_cache_dir", "base-images", image_ls},
	    {"ensuring the Firecracker binary (v1.7.0, x86_64): data_dir", "bin", binary_ensure},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char expected[2048];
		snprintf(
		    expected, sizeof(expected),
		    "smartvm: %s %s/%s: %s is owned by uid 65534, not by uid 0 or root; remove %s or choose "
		    "another directory\n",
		    cases[i].what, f->data, cases[i].sub, f->data, f->data);
		assert_int_equal(cases[i].run(f), 1);
		assert_string_equal(f->err, expected);
	}
	free(cache);
	free(net);
}

/* Runs `smartvm ps` as uid with HOME=home and no XDG_RUNTIME_DIR or
 * SMARTVM_* variables; *err gets its stderr. Returns the exit code. */
static int ps_as(uid_t uid, const char *home, char **err)
{
	int pipefd[2];
	assert_int_equal(pipe(pipefd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pipefd[1], 2);
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		if (setgid(uid) != 0 || setuid(uid) != 0)
			_exit(99);
		char home_env[600];
		snprintf(home_env, sizeof(home_env), "HOME=%s", home);
		char *env[] = {home_env, "PATH=/usr/bin:/bin", NULL};
		const char *cli_path = svt_cli();
		execle(cli_path, cli_path, "ps", NULL, env);
		_exit(98);
	}
	close(pipefd[1]);
	char buf[4096];
	size_t len = 0;
	ssize_t n;
	while ((n = read(pipefd[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(pipefd[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	*err = strdup(buf);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_the_per_uid_fallback_runtime_dir_is_verified(void **state)
{
	fixture *f = *state;
	/* An unused uid: its /tmp/smartvm-<uid> is planted by another user. */
	const uid_t uid = 64999;
	const char *planted = "/tmp/smartvm-64999";
	sv_rm_rf(planted);
	mkdir_owned(planted, NOBODY, 0755);
	assert_int_equal(chmod(f->tmp, 0755), 0); /* the CLI runs as uid */
	char *err = NULL;
	int code = ps_as(uid, f->tmp, &err);
	sv_rm_rf(planted);
	assert_int_equal(code, 1);
	assert_string_equal(
	    err, "smartvm: runtime_dir /tmp/smartvm-64999/runtime: /tmp/smartvm-64999 is owned by uid "
		 "65534, not by uid 64999 or root; remove /tmp/smartvm-64999 or choose another directory\n");
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_gc_refuses_a_runtime_dir_another_user_created, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_gc_refuses_a_vm_dir_another_user_created, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gc_never_follows_a_symlinked_ledger, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_symlinked_state_file_is_refused_and_its_target_untouched,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_data_dir_another_user_created_is_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_the_per_uid_fallback_runtime_dir_is_verified, setup,
					    teardown),
	};
	return svt_run_group(tests, NULL, NULL);
}
