/* containerd runs containers in smartvm VMs: its runc shim
 * (containerd-shim-runc-v2) calls smartvm-oci with runc's command line
 * (`ctr run --runc-binary`). The test starts its own containerd (root, state,
 * gRPC and ttrpc sockets, plugin dir all under the test's directory; the CRI
 * plugin off) and never talks to a system instance. The image is made
 * offline: the busybox tree imported by podman and saved as an OCI archive,
 * which `ctr image import` takes. Checked: output, exit codes, `ctr task
 * kill` (TERM and KILL) ending a sleeping task with the signal's status, a
 * bad annotation refused with the field's name in ctr's error, and nothing
 * left behind once containerd is stopped (shims, VMs, smartvm-oci's state
 * dirs, snapshot mounts, shim sockets).
 *
 * The shim passes only runc's global options, so smartvm's data dir reaches
 * smartvm-oci through containerd's environment (SMARTVM_DATA_DIR, which the
 * shim and smartvm-oci inherit) and the VMM is smartvm-oci's default (auto).
 * containerd 1.6 puts its shims' sockets in /run/containerd/s whatever its
 * state dir, named by a hash of the address, namespace and id: the test
 * checks that none of its containers' is left. */
#include "svtest.h"
#include "ocifixture.h"

#include "util/file.h"
#include "util/sha256.h"
#include "util/spawn.h"
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <smartvm/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#define CTR_TIMEOUT_MS 300000
#define CONTAINERD_START_MS 60000
#define IMAGE "localhost/smartvm-oci-ctr:1"
#define NAMESPACE "smartvm-test"
#define SHIM_SOCKETS "/run/containerd/s"

static svo_env env;
static char *address, *runc_root, *fifo_dir, *ns_root, *log_path;
static pid_t containerd = -1;
static const char *snapshotter = "overlayfs";
/* Every container id the tests use (their shims' sockets are named after
 * them). */
static const char *const ids[] = {"svecho", "svexit", "svtty", "svterm", "svkill", "svbad", NULL};

static char *under(const char *name)
{
	char *p = NULL;
	assert_true(asprintf(&p, "%s/%s", env.dir, name) > 0);
	return p;
}

/* containerd 1.6 names a shim's socket SHIM_SOCKETS/sha256(address/ns/id). */
static char *shim_socket(const char *id)
{
	char *key = NULL, hex[65], *path = NULL;
	assert_true(asprintf(&key, "%s/%s/%s", address, NAMESPACE, id) > 0);
	sv_sha256 h;
	assert_int_equal(sv_sha256_init(&h), 0);
	sv_sha256_update(&h, key, strlen(key));
	sv_sha256_final_hex(&h, hex);
	sv_sha256_free(&h);
	assert_true(asprintf(&path, "%s/%s", SHIM_SOCKETS, hex) > 0);
	free(key);
	return path;
}

static void write_config(void)
{
	char *text = NULL;
	/* Everything containerd writes goes under the test's directory; the
	 * snapshotters that need other filesystems and the CRI plugin are off. */
	assert_true(
	    asprintf(&text,
		     "version = 2\n"
		     "root = \"%1$s/containerd-root\"\n"
		     "state = \"%1$s/containerd-state\"\n"
		     "disabled_plugins = [\"io.containerd.grpc.v1.cri\", "
		     "\"io.containerd.snapshotter.v1.btrfs\", \"io.containerd.snapshotter.v1.zfs\", "
		     "\"io.containerd.snapshotter.v1.devmapper\", \"io.containerd.snapshotter.v1.aufs\"]\n"
		     "[grpc]\n  address = \"%2$s\"\n"
		     "[ttrpc]\n  address = \"%2$s.ttrpc\"\n"
		     "[plugins.\"io.containerd.internal.v1.opt\"]\n  path = \"%1$s/containerd-opt\"\n",
		     env.dir, address) > 0);
	free(svt_write(env.dir, "containerd.toml", text));
	free(text);
}

/* ctr --address A --namespace N ARGS; captures both outputs. */
static int run_ctr(const char *const *args, char **out, char **err)
{
	const char *argv[48] = {"ctr", "--address", address, "--namespace", NAMESPACE};
	size_t n = 5;
	for (size_t i = 0; args[i] && n < 47; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	int code = -1;
	*out = *err = NULL;
	if (sv_run(argv, NULL, CTR_TIMEOUT_MS, &code, out, err) != 0)
		fail_msg("running ctr: %s", sv_last_error());
	if (!*out)
		*out = strdup("");
	if (!*err)
		*err = strdup("");
	return code;
}

static void ctr_ok(const char *const *args, char **out)
{
	char *o, *e;
	int code = run_ctr(args, &o, &e);
	if (code != 0)
		fail_msg("ctr %s %s: exit %d: %s", args[0], args[1] ? args[1] : "", code, e);
	free(e);
	if (out)
		*out = o;
	else
		free(o);
}

/* The argv of `ctr run --rm --runc-binary smartvm-oci ... IMAGE ID cmd...`
 * (with --rm unless detached is asked for; extra options before IMAGE). */
static void run_args(const char **argv, size_t max, const char *const *opts, const char *id,
		     const char *const *cmd)
{
	size_t n = 0;
	const char *head[] = {"ctr",	    "--address",     address,	      "--namespace", NAMESPACE,
			      "run",	    "--runc-binary", svo_program(),   "--runc-root", runc_root,
			      "--fifo-dir", fifo_dir,	     "--snapshotter", snapshotter};
	for (size_t i = 0; i < sizeof(head) / sizeof(*head); i++)
		argv[n++] = head[i];
	for (size_t i = 0; opts && opts[i] && n < max - 4; i++)
		argv[n++] = opts[i];
	argv[n++] = IMAGE;
	argv[n++] = id;
	for (size_t i = 0; cmd[i] && n < max - 1; i++)
		argv[n++] = cmd[i];
	argv[n] = NULL;
}

static int ctr_run(const char *const *opts, const char *id, const char *const *cmd, char **out, char **err)
{
	const char *argv[48];
	run_args(argv, 48, opts, id, cmd);
	int code = -1;
	*out = *err = NULL;
	if (sv_run(argv, NULL, CTR_TIMEOUT_MS, &code, out, err) != 0)
		fail_msg("running ctr run: %s", sv_last_error());
	if (!*out)
		*out = strdup("");
	if (!*err)
		*err = strdup("");
	return code;
}

static void start_containerd(void)
{
	/* containerd hands its environment to the shims, they to smartvm-oci. */
	assert_int_equal(setenv("SMARTVM_DATA_DIR", env.data, 1), 0);
	char *config = under("containerd.toml");
	const char *argv[] = {"/usr/bin/containerd", "--config", config, NULL};
	int log = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(log >= 0);
	/* Dies with the test (a crash must not leave a containerd behind). */
	sv_spawn_opts o = {
	    .argv = argv, .stdin_fd = -1, .stdout_fd = log, .stderr_fd = log, .parent_death_signal = SIGKILL};
	assert_int_equal(sv_spawn(&o, &containerd, NULL), 0);
	close(log);
	free(config);
	long long deadline = sv_now_ms() + CONTAINERD_START_MS;
	for (;;) {
		char *out, *err;
		const char *version[] = {"version", NULL};
		if (run_ctr(version, &out, &err) == 0 && strstr(out, "Server:")) {
			free(out);
			free(err);
			return;
		}
		free(out);
		free(err);
		int status;
		if (sv_reap(containerd, 0, &status) == 0) {
			containerd = -1;
			char *text = NULL;
			sv_read_file(log_path, 1 << 20, &text, NULL);
			fail_msg("containerd exited (%s): %s", sv_describe_wait_status(status),
				 text ? text : "");
		}
		if (sv_now_ms() > deadline)
			fail_msg("containerd did not answer on %s within %d ms", address,
				 CONTAINERD_START_MS);
		usleep(200000);
	}
}

/* SIGTERM, as an init system stops it; SIGKILL if it does not go. */
static void stop_containerd(void)
{
	if (containerd <= 0)
		return;
	int status;
	kill(containerd, SIGTERM);
	if (sv_reap(containerd, 30000, &status) != 0) {
		kill(containerd, SIGKILL);
		sv_reap(containerd, 10000, &status);
	}
	containerd = -1;
}

static void run_tool(const char *const *argv)
{
	int code = -1;
	char *err = NULL;
	assert_int_equal(sv_run(argv, NULL, 120000, &code, NULL, &err), 0);
	if (code != 0)
		fail_msg("%s: exit %d: %s", argv[0], code, err ? err : "");
	free(err);
}

/* The image: the bundle's busybox tree as a tar, imported by podman into a
 * store under the test's directory and saved as an OCI archive. */
static void make_image(void)
{
	char *tar = under("rootfs.tar"), *archive = under("image-oci.tar"), *store = under("podman-store"),
	     *run = under("podman-run"), *tmp = under("podman-tmp");
	const char *tar_argv[] = {"tar", "-C", env.rootfs, "-cf", tar, ".", NULL};
	run_tool(tar_argv);
	const char *podman[] = {"podman", "--root",	      store, "--runroot",	 run,	"--tmpdir",
				tmp,	  "--storage-driver", "vfs", "--events-backend", "none"};
	const char *import[20], *save[20], *rmi[20];
	size_t n = sizeof(podman) / sizeof(*podman);
	memcpy(import, podman, sizeof(podman));
	memcpy(save, podman, sizeof(podman));
	memcpy(rmi, podman, sizeof(podman));
	const char *import_tail[] = {"import", tar, IMAGE, NULL};
	const char *save_tail[] = {"save", "--format", "oci-archive", "-o", archive, IMAGE, NULL};
	const char *rmi_tail[] = {"rmi", "-a", "-f", NULL};
	memcpy(import + n, import_tail, sizeof(import_tail));
	memcpy(save + n, save_tail, sizeof(save_tail));
	memcpy(rmi + n, rmi_tail, sizeof(rmi_tail));
	run_tool(import);
	run_tool(save);
	run_tool(rmi);
	const char *ctr_import[] = {"image", "import", "--snapshotter", snapshotter, archive, NULL};
	ctr_ok(ctr_import, NULL);
	free(tar);
	free(archive);
	free(store);
	free(run);
	free(tmp);
}

/* overlayfs, as containerd's default, where its plugin loaded (it refuses
 * e.g. a test directory on overlayfs itself); else native (copies, bind
 * mounts), so the runtime is still tested. */
static void pick_snapshotter(void)
{
	char *out;
	const char *ls[] = {"plugins", "ls", NULL};
	ctr_ok(ls, &out);
	bool overlay_ok = false;
	for (char *save = NULL, *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (strstr(line, "io.containerd.snapshotter.v1") && strstr(line, " overlayfs ")) {
			size_t n = strlen(line);
			while (n > 0 && line[n - 1] == ' ') /* ctr pads its columns */
				line[--n] = '\0';
			overlay_ok = n >= 2 && !strcmp(line + n - 2, "ok");
		}
	free(out);
	if (!overlay_ok) {
		snapshotter = "native";
		print_message("containerd's overlayfs snapshotter did not load here: using native\n");
	}
}

static int setup(void **state)
{
	(void)state;
	svo_env_init(&env);
	svo_need_image(&env);
	address = under("containerd.sock");
	runc_root = under("runc-root");
	fifo_dir = under("fifo");
	log_path = under("containerd.log");
	assert_true(asprintf(&ns_root, "%s/%s", runc_root, NAMESPACE) > 0);
	write_config();
	start_containerd();
	pick_snapshotter();
	make_image();
	return 0;
}

/* After a failed test: its task's shim would outlive containerd. Kills
 * and deletes every task, then removes every container. */
static void remove_all_containers(void)
{
	if (containerd <= 0)
		return;
	char *out = NULL, *err = NULL;
	const char *ls[] = {"container", "ls", "-q", NULL};
	if (run_ctr(ls, &out, &err) == 0)
		for (char *save = NULL, *id = strtok_r(out, "\n", &save); id;
		     id = strtok_r(NULL, "\n", &save)) {
			const char *kill_task[] = {"task", "kill", "-s", "SIGKILL", id, NULL},
				   *del_task[] = {"task", "delete", "--force", id, NULL},
				   *del[] = {"container", "rm", id, NULL};
			const char *const *steps[] = {kill_task, del_task, del};
			for (size_t i = 0; i < 3; i++) {
				char *o, *e;
				run_ctr(steps[i], &o, &e);
				free(o);
				free(e);
			}
		}
	free(out);
	free(err);
}

/* After a failed test, the rest of what it left: processes naming the
 * directory (a shim stuck in a runtime call), their sockets, mounts under
 * the directory (deepest first). */
static void remove_leftovers(void)
{
	for (int i = 0; i < 50 && svt_kill_processes_with(env.dir) > 0; i++)
		usleep(100000);
	for (size_t i = 0; ids[i]; i++) {
		char *sock = shim_socket(ids[i]);
		unlink(sock);
		free(sock);
	}
	for (bool again = true; again;) {
		again = false;
		char *line = NULL, *last = NULL;
		size_t len;
		FILE *f = fopen("/proc/self/mountinfo", "r");
		while (f && getline(&line, &len, f) > 0) {
			char mnt[4096];
			if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1 && strstr(mnt, env.dir) == mnt) {
				free(last);
				last = strdup(mnt);
			}
		}
		if (f)
			fclose(f);
		free(line);
		if (last && umount2(last, MNT_DETACH) == 0)
			again = true;
		free(last);
	}
}

static int teardown(void **state)
{
	(void)state;
	remove_all_containers();
	stop_containerd();
	remove_leftovers();
	svo_env_done(&env);
	free(address);
	free(runc_root);
	free(fifo_dir);
	free(ns_root);
	free(log_path);
	return 0;
}

static void test_echo_prints_hi(void **state)
{
	(void)state;
	const char *const rm[] = {"--rm", NULL}, *const cmd[] = {"echo", "hi", NULL};
	char *out, *err;
	int code = ctr_run(rm, "svecho", cmd, &out, &err);
	if (code != 0)
		fail_msg("ctr run: exit %d: %s", code, err);
	assert_string_equal(out, "hi\n");
	free(out);
	free(err);
}

static void test_exit_code_passes_through(void **state)
{
	(void)state;
	const char *const rm[] = {"--rm", NULL}, *const cmd[] = {"sh", "-c", "echo out; exit 7", NULL};
	char *out, *err;
	assert_int_equal(ctr_run(rm, "svexit", cmd, &out, &err), 7);
	assert_string_equal(out, "out\n");
	free(out);
	free(err);
}

/* ctr run -t wants a terminal of its own: a pseudo-terminal's slave as its
 * stdio. The shim hands smartvm-oci a --console-socket and gets the host
 * side of the container's terminal back; the guest's line discipline turns
 * \n into \r\n. */
static void test_terminal_with_t(void **state)
{
	(void)state;
	int master, slave;
	assert_int_equal(openpty(&master, &slave, NULL, NULL, NULL), 0);
	const char *argv[48];
	const char *const opts[] = {"--rm", "-t", NULL}, *const cmd[] = {"sh", "-c", "tty; exit 3", NULL};
	run_args(argv, 48, opts, "svtty", cmd);
	sv_spawn_opts o = {.argv = argv,
			   .search_path = true,
			   .stdin_fd = slave,
			   .stdout_fd = slave,
			   .stderr_fd = slave,
			   .new_session = true};
	pid_t pid;
	assert_int_equal(sv_spawn(&o, &pid, NULL), 0);
	close(slave);
	char out[4096];
	size_t len = 0;
	int status = -1;
	long long deadline = sv_now_ms() + CTR_TIMEOUT_MS;
	for (bool ended = false; !ended;) {
		struct pollfd p = {.fd = master, .events = POLLIN};
		if (poll(&p, 1, 100) == 1) {
			ssize_t n = read(master, out + len, sizeof(out) - 1 - len);
			if (n > 0)
				len += (size_t)n;
		}
		ended = sv_reap(pid, 0, &status) == 0;
		if (!ended && sv_now_ms() > deadline) {
			kill(pid, SIGKILL);
			sv_reap(pid, 10000, NULL);
			fail_msg("ctr run -t did not end within %d ms", CTR_TIMEOUT_MS);
		}
	}
	fcntl(master, F_SETFL, O_NONBLOCK); /* what is left, without waiting */
	for (ssize_t n; (n = read(master, out + len, sizeof(out) - 1 - len)) > 0;)
		len += (size_t)n;
	out[len] = '\0';
	close(master);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) != 3)
		fail_msg("ctr run -t: exit %d: %s", WEXITSTATUS(status), out);
	svt_assert_contains(out, "/dev/pts/");
	svt_assert_contains(out, "\r\n");
}

/* ctr run ID sleep 300 in the background, `ctr task kill -s SIG` once the
 * task runs (--all: `ctr task kill --all`): ctr run returns 128 + SIG (the shim saw the container process
 * die of the signal the guest process died of). */
static void kill_ends_sleep_with(const char *id, const char *sig, bool all, int want)
{
	const char *argv[48];
	const char *const rm[] = {"--rm", NULL}, *const cmd[] = {"sleep", "300", NULL};
	run_args(argv, 48, rm, id, cmd);
	sv_spawn_opts o = {
	    .argv = argv, .search_path = true, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};
	pid_t pid;
	assert_int_equal(sv_spawn(&o, &pid, NULL), 0);
	long long deadline = sv_now_ms() + CTR_TIMEOUT_MS;
	bool running = false;
	while (!running && sv_now_ms() < deadline) {
		char *out;
		const char *ls[] = {"task", "ls", NULL};
		ctr_ok(ls, &out);
		for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"))
			if (!strncmp(line, id, strlen(id)) && line[strlen(id)] == ' ' &&
			    strstr(line, "RUNNING"))
				running = true;
		free(out);
		int status;
		if (!running && sv_reap(pid, 500, &status) == 0)
			fail_msg("ctr run %s ended (%s) before its task ran", id,
				 sv_describe_wait_status(status));
	}
	if (!running) {
		kill(pid, SIGKILL);
		sv_reap(pid, 10000, NULL);
		fail_msg("task %s did not run within %d ms", id, CTR_TIMEOUT_MS);
	}
	/* smartvm-oci, not some runc, holds the running container. */
	char *state_dir = NULL;
	assert_true(asprintf(&state_dir, "%s/%s", ns_root, id) > 0);
	assert_true(sv_path_exists(state_dir));
	free(state_dir);
	const char *task_kill[] = {"task", "kill", "-s", sig, id, NULL},
		   *task_kill_all[] = {"task", "kill", "--all", "-s", sig, id, NULL};
	ctr_ok(all ? task_kill_all : task_kill, NULL);
	int status = -1;
	if (sv_reap(pid, CTR_TIMEOUT_MS, &status) != 0) {
		kill(pid, SIGKILL);
		sv_reap(pid, 10000, NULL);
		fail_msg("ctr run %s did not end after ctr task kill -s %s", id, sig);
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), want);
}

static void test_task_kill_term_ends_the_task(void **state)
{
	(void)state;
	kill_ends_sleep_with("svterm", "SIGTERM", false, 128 + SIGTERM);
}

/* --all: the shim's `kill --all` (every process of the container). */
static void test_task_kill_all_kill_ends_the_task(void **state)
{
	(void)state;
	kill_ends_sleep_with("svkill", "SIGKILL", true, 128 + SIGKILL);
}

/* smartvm-oci's error reaches ctr (through the shim's log.json) naming the
 * annotation, and the failed create leaves no container behind. */
static void test_bad_annotation_is_refused_by_name(void **state)
{
	(void)state;
	const char *const opts[] = {"--rm", "--annotation", "io.smartvm.mem_mib=1", NULL}, *const cmd[] = {
											       "true", NULL};
	char *out, *err;
	assert_int_not_equal(ctr_run(opts, "svbad", cmd, &out, &err), 0);
	svt_assert_contains(err, "io.smartvm.mem_mib");
	free(out);
	free(err);
	const char *ls[] = {"container", "ls", "-q", NULL};
	ctr_ok(ls, &out);
	assert_string_equal(out, "");
	free(out);
	assert_int_equal(svt_dir_entries(ns_root), 0);
}

/* Run last: containerd stops, and then no shim, VM or any process names
 * the test's directory, smartvm-oci's state root for the namespace is
 * empty, no mount is left under the directory (the snapshots the shim
 * mounted as the bundles' rootfs), and no shim socket is left. (A test,
 * not the group teardown: cmocka does not fail a program whose teardown
 * fails.) */
static void test_nothing_is_left_behind(void **state)
{
	(void)state;
	char *out;
	const char *ls[] = {"container", "ls", "-q", NULL};
	ctr_ok(ls, &out);
	assert_string_equal(out, "");
	free(out);
	const char *rmi[] = {"image", "rm", IMAGE, NULL};
	ctr_ok(rmi, NULL);
	stop_containerd();
	assert_int_equal(svt_dir_entries(ns_root), 0);
	svt_assert_no_processes_with(env.dir);
	for (size_t i = 0; ids[i]; i++) {
		char *sock = shim_socket(ids[i]);
		if (access(sock, F_OK) == 0)
			fail_msg("the shim socket of %s is left: %s", ids[i], sock);
		free(sock);
	}
	char *line = NULL;
	size_t len;
	FILE *f = fopen("/proc/self/mountinfo", "r");
	assert_non_null(f);
	while (getline(&line, &len, f) > 0)
		if (strstr(line, env.dir))
			fail_msg("a mount is left: %s", line);
	fclose(f);
	free(line);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_echo_prints_hi),
	    cmocka_unit_test(test_exit_code_passes_through),
	    cmocka_unit_test(test_terminal_with_t),
	    cmocka_unit_test(test_task_kill_term_ends_the_task),
	    cmocka_unit_test(test_task_kill_all_kill_ends_the_task),
	    cmocka_unit_test(test_bad_annotation_is_refused_by_name),
	    cmocka_unit_test(test_nothing_is_left_behind),
	};
	if (!svt_is_root())
		return svt_skip_program(SVT_NEED_ROOT, "containerd with smartvm-oci runs as root here");
	if (access("/usr/bin/containerd", X_OK) != 0 || access("/usr/bin/ctr", X_OK) != 0 ||
	    access("/usr/bin/containerd-shim-runc-v2", X_OK) != 0)
		return svt_skip_program(SVT_NEED_PACKAGE,
					"containerd is not installed (make deps installs it)");
	if (access("/usr/bin/podman", X_OK) != 0)
		return svt_skip_program(SVT_NEED_PACKAGE,
					"podman (which makes the test's image) is not installed (make deps "
					"installs it)");
	return svt_run_group(tests, setup, teardown);
}
