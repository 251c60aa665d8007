/* smartvm-oci's lifecycle on a hand-made bundle, as an engine drives it
 * (QEMU under TCG, the minimal image's kernel): create hands the stdio fds
 * to the container process, start runs the process, state follows it, the
 * process's exit code, signals and stdin pass through, kill and delete end
 * it and leave nothing (no process, no directory). This test is the
 * subreaper the engine would be (conmon is), so the container process
 * becomes its child once create exits, and its exit status is seen here. */
#include "svtest.h"
#include "ocifixture.h"

#include "util/file.h"
#include "util/spawn.h"
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <smartvm/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define CREATE_TIMEOUT_MS 240000
#define EXIT_TIMEOUT_MS 60000

static svo_env env;

typedef struct {
	pid_t pid;	  /* the container process */
	int out_r, err_r; /* its stdout and stderr, as create got them */
} container;

static int setup(void **state)
{
	(void)state;
	svo_env_init(&env);
	svo_need_image(&env);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	/* VMM supervisors whose owner died were reparented to us. */
	while (waitpid(-1, NULL, WNOHANG) > 0) {
	}
	svo_env_done(&env);
	return 0;
}

static char *read_all(int fd)
{
	size_t n = 0, cap = 4096;
	char *buf = malloc(cap);
	ssize_t r;
	while ((r = read(fd, buf + n, cap - n - 1)) > 0) {
		n += (size_t)r;
		if (cap - n < 2)
			buf = realloc(buf, cap *= 2);
	}
	buf[n] = '\0';
	close(fd);
	return buf;
}

/* smartvm-oci create with stdin (may be NULL: /dev/null) and pipes for
 * stdout and stderr; asserts it succeeded and the pid file names a live
 * child of ours. */
static void create(container *c, const char *id, const char *stdin_data)
{
	int in[2] = {-1, -1}, out[2], err[2];
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	assert_int_equal(pipe2(err, O_CLOEXEC), 0);
	if (stdin_data) {
		assert_int_equal(pipe2(in, O_CLOEXEC), 0);
		assert_int_equal(write(in[1], stdin_data, strlen(stdin_data)), (ssize_t)strlen(stdin_data));
		close(in[1]);
	}
	char *pid_file = NULL;
	assert_true(asprintf(&pid_file, "%s/%s.pid", env.dir, id) > 0);
	const char *argv[] = {svo_program(), "--root",	env.root, "--data-dir", env.data,   "--vmm",
			      "qemu",	     "--accel", "tcg",	  "create",	"--bundle", env.bundle,
			      "--pid-file",  pid_file,	id,	  NULL};
	sv_spawn_opts o = {.argv = argv, .stdin_fd = in[0], .stdout_fd = out[1], .stderr_fd = err[1]};
	pid_t pid;
	int status = -1;
	assert_int_equal(sv_spawn(&o, &pid, NULL), 0);
	if (in[0] >= 0)
		close(in[0]);
	close(out[1]);
	close(err[1]);
	assert_int_equal(sv_reap(pid, CREATE_TIMEOUT_MS, &status), 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char *e = read_all(err[0]);
		fail_msg("create %s: %s: %s", id, sv_describe_wait_status(status), e);
	}
	FILE *f = fopen(pid_file, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &c->pid), 1);
	fclose(f);
	free(pid_file);
	assert_int_equal(kill(c->pid, 0), 0);
	c->out_r = out[0];
	c->err_r = err[0];
}

/* `state ID` as JSON; asserts status and (for live ones) pid. */
static void assert_state(const char *id, const char *status, pid_t pid)
{
	char *out, *err;
	const char *args[] = {"state", id, NULL};
	assert_int_equal(svo_run(&env, args, &out, &err), 0);
	json_t *s = json_loads(out, 0, NULL);
	assert_non_null(s);
	assert_string_equal(json_string_value(json_object_get(s, "status")), status);
	assert_string_equal(json_string_value(json_object_get(s, "id")), id);
	assert_string_equal(json_string_value(json_object_get(s, "bundle")), env.bundle);
	assert_string_equal(json_string_value(json_object_get(s, "ociVersion")), "1.2.1");
	assert_int_equal(json_integer_value(json_object_get(s, "pid")), pid);
	json_decref(s);
	free(out);
	free(err);
}

static void run_ok(const char *const *args)
{
	char *out, *err;
	int code = svo_run(&env, args, &out, &err);
	if (code != 0)
		fail_msg("smartvm-oci %s %s: exit %d: %s", args[0], args[1], code, err);
	free(out);
	free(err);
}

/* The container process's wait status. */
static int wait_exit(const container *c)
{
	int status = -1;
	assert_int_equal(sv_reap(c->pid, EXIT_TIMEOUT_MS, &status), 0);
	return status;
}

static void delete_and_check_gone(const char *id, const char *const *flags)
{
	const char *args[] = {"delete", flags ? flags[0] : id, flags ? id : NULL, NULL};
	run_ok(args);
	assert_int_equal(svt_dir_entries(env.root), 0);
	assert_int_equal(svt_count_processes_with(env.dir), 0);
}

static void test_process_output_stdin_env_and_exit_code_pass_through(void **state)
{
	(void)state;
	svo_write_config(
	    &env, "[\"sh\",\"-c\",\"read x; echo \\\"got $x $GREETING $(pwd)\\\"; echo oops >&2; exit 7\"]",
	    NULL);
	container c;
	create(&c, "c1", "line\n");
	assert_state("c1", "created", c.pid);
	const char *start[] = {"start", "c1", NULL};
	run_ok(start);
	int status = wait_exit(&c);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 7);
	char *out = read_all(c.out_r), *err = read_all(c.err_r);
	assert_string_equal(out, "got line hello /\n");
	assert_string_equal(err, "oops\n");
	assert_state("c1", "stopped", 0);
	/* A second start of a stopped container is refused. */
	char *o, *e;
	assert_int_equal(svo_run(&env, start, &o, &e), 1);
	assert_string_equal(e, "smartvm-oci: container \"c1\" is stopped, not created\n");
	free(o);
	free(e);
	delete_and_check_gone("c1", NULL);
	free(out);
	free(err);
}

static void test_kill_term_reaches_the_guest_process(void **state)
{
	(void)state;
	svo_write_config(&env, "[\"sleep\",\"300\"]", NULL);
	container c;
	create(&c, "c2", NULL);
	const char *start[] = {"start", "c2", NULL};
	run_ok(start);
	assert_state("c2", "running", c.pid);
	/* A running container is not deleted without --force. */
	char *o, *e;
	const char *del[] = {"delete", "c2", NULL};
	assert_int_equal(svo_run(&env, del, &o, &e), 1);
	assert_string_equal(e,
			    "smartvm-oci: container \"c2\" is running: stop it first, or delete --force\n");
	free(o);
	free(e);
	const char *term[] = {"kill", "c2", "SIGTERM", NULL};
	run_ok(term);
	int status = wait_exit(&c);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGTERM);
	close(c.out_r);
	close(c.err_r);
	assert_state("c2", "stopped", 0);
	delete_and_check_gone("c2", NULL);
}

static void test_kill_kill_ends_process_and_vm(void **state)
{
	(void)state;
	svo_write_config(&env, "[\"sleep\",\"300\"]", NULL);
	container c;
	create(&c, "c3", NULL);
	const char *start[] = {"start", "c3", NULL};
	run_ok(start);
	const char *kill9[] = {"kill", "c3", "9", NULL};
	run_ok(kill9);
	int status = wait_exit(&c);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	/* The VM went with it: no process of the test's directory is left
	 * while the container's directory is still there. */
	while (waitpid(-1, NULL, WNOHANG) > 0) {
	}
	assert_int_equal(svt_count_processes_with(env.dir), 0);
	close(c.out_r);
	close(c.err_r);
	assert_state("c3", "stopped", 0);
	delete_and_check_gone("c3", NULL);
}

static void test_delete_force_of_a_created_container(void **state)
{
	(void)state;
	svo_write_config(&env, "[\"true\"]", NULL);
	container c;
	create(&c, "c4", NULL);
	const char *const force[] = {"--force", NULL};
	delete_and_check_gone("c4", force);
	int status = wait_exit(&c);
	assert_true(WIFSIGNALED(status));
	close(c.out_r);
	close(c.err_r);
}

static void test_missing_executable_exits_127_with_a_message(void **state)
{
	(void)state;
	svo_write_config(&env, "[\"/bin/no-such-program\"]", NULL);
	container c;
	create(&c, "c5", NULL);
	const char *start[] = {"start", "c5", NULL};
	run_ok(start);
	int status = wait_exit(&c);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 127);
	char *err = read_all(c.err_r);
	svt_assert_contains(err, "smartvm-oci: /bin/no-such-program: ");
	close(c.out_r);
	free(err);
	delete_and_check_gone("c5", NULL);
}

/* Receives the terminal's master that create sends to the console socket. */
/* config.json with extra members of process and of root, and extra
 * top-level members (each "" or text starting with ','). */
static void write_config_with(const char *args_json, const char *process_extra, const char *root_extra,
			      const char *top_extra)
{
	char *text = NULL;
	assert_true(asprintf(&text,
			     "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"%s},"
			     "\"process\":{\"args\":%s,\"env\":[\"PATH=/bin\"],\"cwd\":\"/\","
			     "\"user\":{\"uid\":0,\"gid\":0}%s}%s}",
			     root_extra, args_json, process_extra, top_extra) > 0);
	free(svt_write(env.bundle, "config.json", text));
	free(text);
}

/* Runs the configured container to its end; its stdout (*status: wait). */
static char *run_container(const char *id, int *status)
{
	container c;
	create(&c, id, NULL);
	const char *start[] = {"start", id, NULL};
	run_ok(start);
	*status = wait_exit(&c);
	char *out = read_all(c.out_r), *err = read_all(c.err_r);
	if (err[0])
		print_message("%s stderr: %s\n", id, err);
	free(err);
	delete_and_check_gone(id, NULL);
	return out;
}

static void test_rlimits_no_new_privs_hostname_and_readonly_root_apply_in_the_guest(void **state)
{
	(void)state;
	write_config_with("[\"sh\",\"-c\",\"ulimit -Sn; ulimit -Hn; grep NoNewPrivs /proc/self/status; "
			  "busybox hostname; (echo x > /written) 2>/dev/null && echo WROTE || echo refused\"]",
			  ",\"noNewPrivileges\":true,\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":123,"
			  "\"hard\":456},{\"type\":\"RLIMIT_CORE\",\"soft\":-1,\"hard\":-1}]",
			  ",\"readonly\":true", ",\"hostname\":\"boxy\"");
	int status;
	char *out = run_container("limits", &status);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_string_equal(out, "123\n456\nNoNewPrivs:\t1\nboxy\nrefused\n");
	free(out);
	/* Without them: the defaults (no NoNewPrivs, a writable root). */
	write_config_with("[\"sh\",\"-c\",\"grep NoNewPrivs /proc/self/status; "
			  "(echo x > /written) 2>/dev/null && echo WROTE || echo refused\"]",
			  "", "", "");
	out = run_container("plain", &status);
	assert_string_equal(out, "NoNewPrivs:\t0\nWROTE\n");
	free(out);
}

static void test_mounts_and_binds_land_inside_the_root(void **state)
{
	(void)state;
	char *hosts = svt_write(env.dir, "hosts", "bound-file\n");
	char *rw = svt_write(env.dir, "rw", "rw-file\n");
	char *data = NULL, *link = NULL, *config = NULL;
	assert_true(asprintf(&data, "%s/datadir", env.dir) > 0);
	assert_int_equal(mkdir(data, 0755), 0);
	free(svt_write(data, "inner", "inner-file\n"));
	/* A rootfs link pointing at / : a mount through it stays inside. */
	assert_true(asprintf(&link, "%s/evil", env.rootfs) > 0);
	assert_int_equal(symlink("/", link), 0);
	assert_true(
	    asprintf(&config,
		     ",\"mounts\":["
		     "{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
		     "{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\"},"
		     "{\"destination\":\"/sys/fs/cgroup\",\"type\":\"cgroup\",\"source\":\"cgroup\"},"
		     "{\"destination\":\"/scratch\",\"type\":\"tmpfs\",\"source\":\"tmpfs\","
		     "\"options\":[\"nosuid\",\"size=1m\",\"mode=700\"]},"
		     "{\"destination\":\"/dev/mqueue\",\"type\":\"mqueue\",\"source\":\"mqueue\"},"
		     "{\"destination\":\"/myproc\",\"type\":\"proc\",\"source\":\"proc\"},"
		     "{\"destination\":\"/etc/bound\",\"source\":\"%s\",\"options\":[\"rbind\",\"ro\"]},"
		     "{\"destination\":\"/etc/bound-rw\",\"type\":\"bind\",\"source\":\"%s\",\"options\":[\"bind\"]},"
		     "{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"%s\",\"options\":[\"rbind\",\"ro\"]},"
		     "{\"destination\":\"/../../escape\",\"type\":\"tmpfs\",\"source\":\"tmpfs\"},"
		     "{\"destination\":\"/evil/tmp2\",\"type\":\"tmpfs\",\"source\":\"tmpfs\"}]",
		     hosts, rw, data) > 0);
	write_config_with(
	    "[\"sh\",\"-c\",\"cat /etc/bound; (echo x > /etc/bound) 2>/dev/null && echo bound-writable || "
	    "echo bound-ro; echo changed > /etc/bound-rw && cat /etc/bound-rw; cat /data/inner; ls /data; "
	    "(echo x > /data/new) 2>/dev/null && echo data-writable || echo data-ro; "
	    "test -r /myproc/self/status && echo myproc; echo t > /scratch/f && cat /scratch/f; "
	    "for m in ' /scratch tmpfs rw,nosuid' ' /dev/mqueue mqueue ' ' /escape tmpfs ' ' /tmp2 tmpfs '; "
	    "do busybox grep -q \\\"$m\\\" /proc/mounts && echo \\\"mounted$m\\\"; done; "
	    "busybox grep -c cgroup /proc/mounts; test -c /dev/null && echo devices\"]",
	    "", "", config);
	int status;
	char *out = run_container("mounts", &status);
	assert_true(WIFEXITED(status));
	assert_string_equal(out, "bound-file\nbound-ro\nchanged\ninner-file\ninner\ndata-ro\nmyproc\nt\n"
				 "mounted /scratch tmpfs rw,nosuid\nmounted /dev/mqueue mqueue \n"
				 "mounted /escape tmpfs \nmounted /tmp2 tmpfs \n0\ndevices\n");
	free(out);
	/* The binds were copies: the host's files are as they were. */
	char *text = NULL;
	assert_int_equal(sv_read_file(rw, 1024, &text, NULL), 0);
	assert_string_equal(text, "rw-file\n");
	free(text);

	/* A destination resolving to the root itself is refused, and the
	 * failed create leaves nothing. */
	write_config_with("[\"true\"]", "", "",
			  ",\"mounts\":[{\"destination\":\"/evil\",\"type\":\"tmpfs\",\"source\":\"tmpfs\"}]");
	const char *args[] = {"create", "--bundle", env.bundle, "refused", NULL};
	char *o, *e;
	assert_int_equal(svo_run(&env, args, &o, &e), 1);
	if (!strstr(e, "config.json: mounts[0] (tmpfs on /evil): VM \"vm\": mount tmpfs on /evil: mount tmpfs "
		       "on /evil: target (it resolves to the root itself): Device or resource busy"))
		fail_msg("unexpected error: %s", e);
	assert_int_equal(svt_dir_entries(env.root), 0);
	assert_int_equal(svt_count_processes_with(env.dir), 0);
	free(o);
	free(e);
	unlink(link);
	free(link);
	free(config);
	free(data);
	free(hosts);
	free(rw);
}

/* A file a hook wrote (fails when absent), as JSON. */
static json_t *hook_output(const char *name)
{
	char *path = sv_path_join(env.dir, name), *text = NULL;
	assert_int_equal(sv_read_file(path, 1 << 16, &text, NULL), 0);
	json_t *j = json_loads(text, 0, NULL);
	if (!j)
		fail_msg("%s: not JSON: %s", name, text);
	free(text);
	free(path);
	return j;
}

static void test_hooks_run_on_the_host_with_the_state_on_stdin(void **state)
{
	(void)state;
	char *hooks = NULL;
	assert_true(asprintf(&hooks,
			     ",\"hooks\":{"
			     "\"createRuntime\":[{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\","
			     "\"cat > %s/created.json && echo \\\"$HOOKVAR:$HOME\\\" > %s/env\"],"
			     "\"env\":[\"HOOKVAR=x\"]}],"
			     "\"poststart\":[{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\",\"cat > %s/started.json\"]}],"
			     "\"poststop\":[{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\",\"cat > %s/stopped.json\"],"
			     "\"timeout\":30}]}",
			     env.dir, env.dir, env.dir, env.dir) > 0);
	write_config_with("[\"sleep\",\"2\"]", "", "", hooks);
	free(hooks);
	container c;
	create(&c, "hooked", NULL);
	json_t *j = hook_output("created.json");
	assert_string_equal(json_string_value(json_object_get(j, "status")), "creating");
	assert_string_equal(json_string_value(json_object_get(j, "id")), "hooked");
	assert_string_equal(json_string_value(json_object_get(j, "bundle")), env.bundle);
	assert_int_equal(json_integer_value(json_object_get(j, "pid")), c.pid);
	json_decref(j);
	/* env exactly as given: HOOKVAR, and no HOME inherited. */
	char *path = sv_path_join(env.dir, "env"), *text = NULL;
	assert_int_equal(sv_read_file(path, 1024, &text, NULL), 0);
	assert_string_equal(text, "x:\n");
	free(text);
	free(path);
	const char *start[] = {"start", "hooked", NULL};
	run_ok(start);
	j = hook_output("started.json");
	assert_string_equal(json_string_value(json_object_get(j, "status")), "running");
	json_decref(j);
	int status = wait_exit(&c);
	assert_true(WIFEXITED(status));
	close(c.out_r);
	close(c.err_r);
	delete_and_check_gone("hooked", NULL);
	j = hook_output("stopped.json");
	assert_string_equal(json_string_value(json_object_get(j, "status")), "stopped");
	assert_int_equal(json_integer_value(json_object_get(j, "pid")), 0);
	json_decref(j);
}

/* create must fail with a message containing want, leaving nothing. */
static void assert_create_fails_with(const char *id, const char *want)
{
	const char *args[] = {"create", "--bundle", env.bundle, id, NULL};
	char *o, *e;
	assert_int_equal(svo_run(&env, args, &o, &e), 1);
	if (!strstr(e, want))
		fail_msg("create %s: wanted \"%s\" in: %s", id, want, e);
	assert_int_equal(svt_dir_entries(env.root), 0);
	assert_int_equal(svt_count_processes_with(env.dir), 0);
	free(o);
	free(e);
}

static void test_a_failing_or_hanging_create_hook_fails_create_and_leaves_nothing(void **state)
{
	(void)state;
	write_config_with("[\"true\"]", "", "",
			  ",\"hooks\":{\"createRuntime\":[{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\","
			  "\"echo broken >&2; exit 3\"]}]}");
	assert_create_fails_with("failing", "creating container \"failing\": hooks.createRuntime[0] (/bin/sh): "
					    "exited with status 3: broken");
	write_config_with("[\"true\"]", "", "",
			  ",\"hooks\":{\"prestart\":[{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\","
			  "\"sleep 297\"],\"timeout\":1}]}");
	assert_create_fails_with("hanging", "hooks.prestart[0] (/bin/sh): timed out after 1 s (killed)");
	/* Its whole process group went, the sleep too. */
	assert_int_equal(svt_count_processes_with("sleep 297"), 0);
	write_config_with("[\"true\"]", "", "",
			  ",\"hooks\":{\"createRuntime\":[{\"path\":\"/nonexistent/hook\"}]}");
	assert_create_fails_with("missing",
				 "hooks.createRuntime[0] (/nonexistent/hook): exited with status 127: "
				 "/nonexistent/hook: No such file or directory");
}

static int receive_master(int listen_fd)
{
	int conn = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(conn >= 0);
	char name[128], control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = name, .iov_len = sizeof(name)};
	struct msghdr msg = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control)};
	assert_true(recvmsg(conn, &msg, MSG_CMSG_CLOEXEC) > 0);
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	assert_non_null(c);
	assert_int_equal(c->cmsg_type, SCM_RIGHTS);
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	close(conn);
	return fd;
}

static void set_size(int fd, unsigned short rows, unsigned short cols)
{
	struct winsize ws = {.ws_row = rows, .ws_col = cols};
	assert_int_equal(ioctl(fd, TIOCSWINSZ, &ws), 0);
}

/* process.terminal: create sends a terminal to --console-socket; the
 * guest process runs on a terminal of that size, and a resize of it
 * reaches the guest. */
static void test_terminal_over_console_socket_follows_resizes(void **state)
{
	(void)state;
	svo_write_config(&env,
			 "[\"sh\",\"-c\",\"busybox stty size; while [ \\\"$(busybox stty size)\\\" = "
			 "'30 100' ]; do sleep 0.2; done; busybox stty size; exit 4\"]",
			 NULL);
	char *cfg = NULL, *path = NULL;
	size_t len;
	assert_int_equal(sv_read_file(env.bundle_config, 1 << 20, &cfg, &len), 0);
	char *at = strstr(cfg, "\"cwd\"");
	assert_non_null(at);
	char *with_tty = NULL;
	assert_true(asprintf(&with_tty, "%.*s\"terminal\":true,%s", (int)(at - cfg), cfg, at) > 0);
	free(svt_write(env.bundle, "config.json", with_tty));
	assert_true(asprintf(&path, "%s/console.sock", env.dir) > 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 1), 0);

	char *pid_file = NULL;
	assert_true(asprintf(&pid_file, "%s/t.pid", env.dir) > 0);
	const char *argv[] = {svo_program(), "--root",	 env.root,     "--data-dir", env.data,
			      "--vmm",	     "qemu",	 "--accel",    "tcg",	     "create",
			      "--bundle",    env.bundle, "--pid-file", pid_file,     "--console-socket",
			      path,	     "t1",	 NULL};
	sv_spawn_opts o = {.argv = argv, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};
	pid_t create_pid;
	int status = -1;
	assert_int_equal(sv_spawn(&o, &create_pid, NULL), 0);
	int master = receive_master(lfd);
	close(lfd);
	set_size(master, 30, 100);
	assert_int_equal(sv_reap(create_pid, CREATE_TIMEOUT_MS, &status), 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	container c = {.out_r = -1, .err_r = -1};
	FILE *f = fopen(pid_file, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &c.pid), 1);
	fclose(f);
	const char *start[] = {"start", "t1", NULL};
	run_ok(start);
	/* Read until the first size is shown, then resize. */
	char out[512] = "";
	size_t n = 0;
	long long until = sv_now_ms() + EXIT_TIMEOUT_MS;
	bool resized = false;
	while (sv_now_ms() < until && n < sizeof(out) - 1) {
		struct pollfd p = {.fd = master, .events = POLLIN};
		if (poll(&p, 1, 200) == 1) {
			ssize_t r = read(master, out + n, sizeof(out) - 1 - n);
			if (r <= 0)
				break; /* EIO: the container process closed the terminal */
			n += (size_t)r;
			out[n] = '\0';
		}
		if (!resized && strstr(out, "30 100\r\n")) {
			set_size(master, 50, 120);
			resized = true;
		}
	}
	assert_string_equal(out, "30 100\r\n50 120\r\n");
	status = wait_exit(&c);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 4);
	close(master);
	delete_and_check_gone("t1", NULL);
	free(cfg);
	free(with_tty);
	free(path);
	free(pid_file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_process_output_stdin_env_and_exit_code_pass_through),
	    cmocka_unit_test(test_kill_term_reaches_the_guest_process),
	    cmocka_unit_test(test_kill_kill_ends_process_and_vm),
	    cmocka_unit_test(test_delete_force_of_a_created_container),
	    cmocka_unit_test(test_missing_executable_exits_127_with_a_message),
	    cmocka_unit_test(test_terminal_over_console_socket_follows_resizes),
	    cmocka_unit_test(test_rlimits_no_new_privs_hostname_and_readonly_root_apply_in_the_guest),
	    cmocka_unit_test(test_mounts_and_binds_land_inside_the_root),
	    cmocka_unit_test(test_hooks_run_on_the_host_with_the_state_on_stdin),
	    cmocka_unit_test(test_a_failing_or_hanging_create_hook_fails_create_and_leaves_nothing),
	};
	if (!svt_is_root())
		return svt_skip_program(SVT_NEED_ROOT, "smartvm-oci boots VMs as root");
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return svt_skip_program(SVT_NEED_HOST, "PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
	return svt_run_group(tests, setup, teardown);
}
