/* smartvm-oci's lifecycle on a hand-made bundle, as an engine drives it
 * (QEMU under TCG, the minimal image's kernel): create hands the stdio fds
 * to the container process, start runs the process, state follows it, the
 * process's exit code, signals and stdin pass through, kill and delete end
 * it and leave nothing (no process, no directory); exec (foreground,
 * --detach relays, --tty, --process files good and bad), ps, pause/resume
 * and list, and hostile ids and state directories. This test is the
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
	svt_assert_no_processes_with(env.dir);
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
	svt_assert_no_processes_with(env.dir);
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
	svt_assert_no_processes_with(env.dir);
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
	svt_assert_no_processes_with(env.dir);
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
	svt_assert_no_processes_with("sleep 297");
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


/* smartvm-oci ARGS must fail (exit 1) with a message containing want. */
static void run_fails(const char *const *args, const char *want)
{
	char *out, *err;
	int code = svo_run(&env, args, &out, &err);
	if (code != 1)
		fail_msg("smartvm-oci %s: exit %d, not 1: %s%s", args[0], code, out, err);
	svt_assert_contains(err, want);
	free(out);
	free(err);
}

/* `exec ... ID ARGS` in the foreground: its exit code, stdout and stderr. */
static int exec_fg(const char *const *args, char **out, char **err)
{
	return svo_run(&env, args, out, err);
}

/* The pid an `exec --detach --pid-file` wrote; the relay is our child (we
 * are the subreaper the exec process left it to). */
static pid_t exec_detached(const char *id, const char *name, const char *const *cmd)
{
	char *pid_file = NULL, *err_file = NULL;
	assert_true(asprintf(&pid_file, "%s/%s.pid", env.dir, name) > 0);
	assert_true(asprintf(&err_file, "%s/%s.err", env.dir, name) > 0);
	const char *args[24] = {svo_program(), "--root", env.root, "--data-dir", env.data, "--vmm", "qemu",
				"--accel", "tcg", "exec", "--detach", "--pid-file", pid_file, id};
	size_t n = 14;
	for (size_t i = 0; cmd[i] && n < 23; i++)
		args[n++] = cmd[i];
	args[n] = NULL;
	/* The relay keeps the stdio exec had (as an engine's would): a file,
	 * not a pipe whose end the test would wait for. */
	int err_fd = open(err_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(err_fd >= 0);
	sv_spawn_opts o = {.argv = args, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = err_fd};
	pid_t exec_pid;
	int status = -1;
	assert_int_equal(sv_spawn(&o, &exec_pid, NULL), 0);
	close(err_fd);
	assert_int_equal(sv_reap(exec_pid, EXIT_TIMEOUT_MS, &status), 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char *text = NULL;
		sv_read_file(err_file, 1 << 20, &text, NULL);
		fail_msg("exec --detach: %s: %s", sv_describe_wait_status(status), text ? text : "");
	}
	free(err_file);
	FILE *f = fopen(pid_file, "r");
	assert_non_null(f);
	int pid = 0;
	assert_int_equal(fscanf(f, "%d", &pid), 1);
	fclose(f);
	free(pid_file);
	assert_int_equal(kill(pid, 0), 0);
	return pid;
}

static json_t *ps_json(const char *id)
{
	char *out, *err;
	const char *args[] = {"ps", "--format", "json", id, NULL};
	assert_int_equal(svo_run(&env, args, &out, &err), 0);
	json_t *a = json_loads(out, 0, NULL);
	if (!json_is_array(a))
		fail_msg("ps --format json: %s", out);
	free(out);
	free(err);
	return a;
}

/* True while a guest process's command line contains needle (busybox ps in the guest). */
static bool guest_runs(const char *id, const char *needle)
{
	char *out, *err;
	const char *args[] = {"exec", id, "busybox", "ps", NULL};
	assert_int_equal(exec_fg(args, &out, &err), 0);
	bool found = strstr(out, needle) != NULL;
	free(out);
	free(err);
	return found;
}

static void test_exec_output_exit_codes_user_env_and_process_files(void **state)
{
	(void)state;
	svo_write_config(&env, "[\"sleep\",\"300\"]", NULL);
	container c;
	create(&c, "e1", NULL);
	/* exec into a created container works (its VM runs), as runc's does. */
	char *out, *err;
	const char *early[] = {"exec", "e1", "echo", "early", NULL};
	assert_int_equal(exec_fg(early, &out, &err), 0);
	assert_string_equal(out, "early\n");
	free(out);
	free(err);
	const char *start[] = {"start", "e1", NULL};
	run_ok(start);

	/* stdout, stderr and the exit code pass through; --env adds and replaces. */
	const char *sh[] = {"exec", "-e", "X=y", "--env", "GREETING=bye", "e1", "sh", "-c",
			    "echo out $GREETING $X $(pwd); echo err >&2; exit 5", NULL};
	assert_int_equal(exec_fg(sh, &out, &err), 5);
	assert_string_equal(out, "out bye y /\n");
	assert_string_equal(err, "err\n");
	free(out);
	free(err);
	/* --user and --cwd. */
	const char *user[] = {"exec", "--user", "65534:65534", "--cwd", "/bin", "e1", "sh", "-c", "id; pwd", NULL};
	assert_int_equal(exec_fg(user, &out, &err), 0);
	svt_assert_contains(out, "uid=65534(nobody) gid=65534");
	svt_assert_contains(out, "\n/bin\n");
	free(out);
	free(err);
	/* A missing program: 127 and why, as for the container's process. */
	const char *missing[] = {"exec", "e1", "/bin/no-such", NULL};
	assert_int_equal(exec_fg(missing, &out, &err), 127);
	svt_assert_contains(err, "smartvm-oci: /bin/no-such: ");
	free(out);
	free(err);

	/* --process FILE: a spec process object; unknown fields are ignored,
	 * wrong types are refused naming the file and the field. */
	char *good = svt_write(env.dir, "p.json",
			       "{\"args\":[\"sh\",\"-c\",\"echo from-file $P; exit 3\"],\"env\":[\"P=q\"],"
			       "\"cwd\":\"/\",\"user\":{\"uid\":0,\"gid\":0},\"someday\":{\"x\":1}}");
	const char *from_file[] = {"exec", "--process", good, "e1", NULL};
	assert_int_equal(exec_fg(from_file, &out, &err), 3);
	assert_string_equal(out, "from-file q\n");
	free(out);
	free(err);
	static const struct {
		const char *json, *want;
	} bad[] = {
	    {"{\"args\":\"echo\",\"cwd\":\"/\"}", "bad.json: process.args: expected an array"},
	    {"{\"args\":[1],\"cwd\":\"/\"}", "bad.json: process.args[0]: expected a string"},
	    {"{\"args\":[],\"cwd\":\"/\"}", "bad.json: process.args: must not be empty"},
	    {"{\"args\":[\"true\"],\"cwd\":\"/\",\"user\":{\"uid\":\"0\"}}",
	     "bad.json: process.user.uid: expected an integer"},
	    {"{\"args\":[\"true\"],\"cwd\":\"/\",\"terminal\":\"yes\"}", "bad.json: process.terminal: expected a boolean"},
	    {"{\"args\":[\"true\"]}", "bad.json: process.cwd: missing"},
	    {"[\"true\"]", "bad.json: expected a JSON object"},
	    {"{\"args\":[\"true\"],", "bad.json: line 1: "},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		char *path = svt_write(env.dir, "bad.json", bad[i].json);
		const char *args[] = {"exec", "--process", path, "e1", NULL};
		run_fails(args, bad[i].want);
		free(path);
	}
	const char *both[] = {"exec", "--process", good, "e1", "true", NULL};
	run_fails(both, "exec: give ARGS or --process FILE, not both");
	const char *none[] = {"exec", "e1", NULL};
	run_fails(none, "exec: no command: give ARGS after the id, or --process FILE");
	const char *bad_user[] = {"exec", "-u", "nobody", "e1", "true", NULL};
	run_fails(bad_user, "exec --user \"nobody\": expected UID[:GID] (numbers)");
	const char *bad_env[] = {"exec", "-e", "=x", "e1", "true", NULL};
	run_fails(bad_env, "exec --env \"=x\": expected KEY=VALUE");
	const char *tty_alone[] = {"exec", "-t", "e1", "true", NULL};
	run_fails(tty_alone, "needs --console-socket");
	free(good);

	/* Nothing of the refused ones runs or is recorded: only the container process. */
	json_t *pids = ps_json("e1");
	assert_int_equal(json_array_size(pids), 1);
	assert_int_equal(json_integer_value(json_array_get(pids, 0)), c.pid);
	json_decref(pids);

	/* Once the container is stopped, exec is refused. */
	const char *kill9[] = {"kill", "e1", "KILL", NULL};
	run_ok(kill9);
	int status = wait_exit(&c);
	assert_true(WIFSIGNALED(status));
	close(c.out_r);
	close(c.err_r);
	const char *late[] = {"exec", "e1", "true", NULL};
	run_fails(late, "smartvm-oci: container \"e1\" is stopped: cannot exec in it\n");
	delete_and_check_gone("e1", NULL);
}

/* --detach: a relay stands for the process (its pid in --pid-file, its
 * exit status the process's); ps lists it; a relay killed with SIGKILL
 * takes its guest process along and leaves no record; the container goes
 * on; kill --all signals the relays too; kill KILL ends it all. */
static void test_exec_detach_relays_ps_and_sigkill_of_a_relay(void **state)
{
	(void)state;
	svo_write_config(&env, "[\"sleep\",\"300\"]", NULL);
	container c;
	create(&c, "e2", NULL);
	const char *start[] = {"start", "e2", NULL};
	run_ok(start);

	const char *quick[] = {"sh", "-c", "exit 9", NULL};
	pid_t q = exec_detached("e2", "quick", quick);
	int status = -1;
	assert_int_equal(sv_reap(q, EXIT_TIMEOUT_MS, &status), 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 9);
	const char *term_cmd[] = {"sleep", "302", NULL};
	pid_t t = exec_detached("e2", "term", term_cmd);
	const char *long_cmd[] = {"sleep", "301", NULL};
	pid_t r = exec_detached("e2", "relay", long_cmd);

	json_t *pids = ps_json("e2");
	assert_int_equal(json_array_size(pids), 3);
	assert_int_equal(json_integer_value(json_array_get(pids, 0)), c.pid);
	char *out, *err;
	const char *table[] = {"ps", "e2", NULL};
	assert_int_equal(svo_run(&env, table, &out, &err), 0);
	svt_assert_contains(out, "PID      STANDS FOR COMMAND\n");
	char line[64];
	snprintf(line, sizeof(line), "%-8d %-10s sleep\n", (int)r, "exec");
	svt_assert_contains(out, line);
	free(out);
	free(err);
	json_decref(pids);

	/* A signal to a relay reaches its guest process, which dies of it. */
	assert_int_equal(kill(t, SIGTERM), 0);
	assert_int_equal(sv_reap(t, EXIT_TIMEOUT_MS, &status), 0);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGTERM);

	/* SIGKILL of a relay mid-run: its guest process is ended by the
	 * agent (the relay's connection went), its record is dropped. */
	assert_true(guest_runs("e2", "sleep 301"));
	assert_int_equal(kill(r, SIGKILL), 0);
	assert_int_equal(sv_reap(r, EXIT_TIMEOUT_MS, &status), 0);
	long long until = sv_now_ms() + EXIT_TIMEOUT_MS;
	while (guest_runs("e2", "sleep 301") && sv_now_ms() < until)
		usleep(200000);
	assert_false(guest_runs("e2", "sleep 301"));
	pids = ps_json("e2");
	assert_int_equal(json_array_size(pids), 1);
	json_decref(pids);
	char *record = NULL;
	assert_true(asprintf(&record, "%s/e2/exec-%d.json", env.root, (int)r) > 0);
	assert_int_equal(access(record, F_OK), -1);
	free(record);
	/* The container goes on. */
	const char *still[] = {"exec", "e2", "echo", "still", NULL};
	assert_int_equal(exec_fg(still, &out, &err), 0);
	assert_string_equal(out, "still\n");
	free(out);
	free(err);

	/* kill --all reaches the exec'd processes too, as runc's does: URG
	 * ends the exec'd shell (its trap) and leaves the container's sleep
	 * (which ignores it) running. */
	const char *trap_cmd[] = {"sh", "-c", "trap 'exit 42' URG; echo > /tmp/trapped; while :; do sleep 1; done",
				  NULL};
	pid_t trapper = exec_detached("e2", "trapper", trap_cmd);
	const char *trapped[] = {"exec", "e2", "cat", "/tmp/trapped", NULL};
	until = sv_now_ms() + EXIT_TIMEOUT_MS;
	while (exec_fg(trapped, &out, &err) != 0 && sv_now_ms() < until) { /* the trap is set */
		free(out);
		free(err);
		usleep(200000);
	}
	free(out);
	free(err);
	const char *all[] = {"kill", "--all", "e2", "URG", NULL};
	run_ok(all);
	assert_int_equal(sv_reap(trapper, EXIT_TIMEOUT_MS, &status), 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 42);
	assert_state("e2", "running", c.pid);
	const char *kill9[] = {"kill", "e2", "KILL", NULL};
	run_ok(kill9);
	status = wait_exit(&c);
	assert_true(WIFSIGNALED(status));
	close(c.out_r);
	close(c.err_r);
	delete_and_check_gone("e2", NULL);
}

/* exec --tty: the terminal goes to --console-socket, the guest process
 * runs on a terminal, the exit code passes through. */
static void test_exec_tty_over_console_socket(void **state)
{
	(void)state;
	svo_write_config(&env, "[\"sleep\",\"300\"]", NULL);
	container c;
	create(&c, "e3", NULL);
	const char *start[] = {"start", "e3", NULL};
	run_ok(start);
	char *path = NULL;
	assert_true(asprintf(&path, "%s/exec-console.sock", env.dir) > 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	const char *argv[] = {svo_program(), "--root", env.root, "--data-dir", env.data, "--vmm", "qemu",
			      "--accel", "tcg", "exec", "--tty", "--console-socket", path, "e3", "sh", "-c",
			      "tty; busybox stty size; exit 6", NULL};
	sv_spawn_opts o = {.argv = argv, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};
	pid_t pid;
	assert_int_equal(sv_spawn(&o, &pid, NULL), 0);
	int master = receive_master(lfd);
	close(lfd);
	set_size(master, 20, 70);
	char out[512] = "";
	size_t n = 0;
	long long until = sv_now_ms() + EXIT_TIMEOUT_MS;
	while (sv_now_ms() < until && n < sizeof(out) - 1) {
		struct pollfd p = {.fd = master, .events = POLLIN};
		if (poll(&p, 1, 200) != 1)
			continue;
		ssize_t r = read(master, out + n, sizeof(out) - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		out[n] = '\0';
	}
	svt_assert_contains(out, "/dev/pts/");
	svt_assert_contains(out, "20 70\r\n");
	int status = -1;
	assert_int_equal(sv_reap(pid, EXIT_TIMEOUT_MS, &status), 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 6);
	close(master);
	const char *kill9[] = {"kill", "e3", "KILL", NULL};
	run_ok(kill9);
	wait_exit(&c);
	close(c.out_r);
	close(c.err_r);
	delete_and_check_gone("e3", NULL);
	free(path);
}

static json_t *list_json(void)
{
	char *out, *err;
	const char *args[] = {"list", "--format", "json", NULL};
	assert_int_equal(svo_run(&env, args, &out, &err), 0);
	json_t *a = json_loads(out, 0, NULL);
	if (!json_is_array(a))
		fail_msg("list --format json: %s", out);
	free(out);
	free(err);
	return a;
}

/* pause/resume: the whole VM stops and goes on; state shows paused; a
 * paused container refuses exec (unless --ignore-paused), a second pause,
 * start-like misuse and delete without --force; list follows. */
static void test_pause_resume_and_list(void **state)
{
	(void)state;
	json_t *none = list_json();
	assert_int_equal(json_array_size(none), 0);
	json_decref(none);
	svo_write_config(&env, "[\"sleep\",\"300\"]", NULL);
	container c;
	create(&c, "p1", NULL);
	const char *pause[] = {"pause", "p1", NULL}, *resume[] = {"resume", "p1", NULL};
	run_fails(pause, "smartvm-oci: container \"p1\" is created, not running: only a running container "
			 "can be paused\n");
	const char *start[] = {"start", "p1", NULL};
	run_ok(start);
	run_fails(resume, "smartvm-oci: container \"p1\" is running, not paused: nothing to resume\n");

	char *out, *err;
	const char *quiet[] = {"list", "-q", NULL};
	assert_int_equal(svo_run(&env, quiet, &out, &err), 0);
	assert_string_equal(out, "p1\n");
	free(out);
	free(err);
	const char *table[] = {"list", NULL};
	assert_int_equal(svo_run(&env, table, &out, &err), 0);
	svt_assert_contains(out, "ID PID ");
	char row[256];
	snprintf(row, sizeof(row), "p1 %d running %s ", (int)c.pid, env.bundle);
	svt_assert_contains(out, row);
	svt_assert_contains(out, " root\n");
	free(out);
	free(err);

	run_ok(pause);
	assert_state("p1", "paused", c.pid);
	run_fails(pause, "smartvm-oci: container \"p1\" is paused, not running: only a running container can "
			 "be paused\n");
	const char *ex[] = {"exec", "p1", "echo", "x", NULL};
	run_fails(ex, "smartvm-oci: container \"p1\" is paused: resume it first (exec --ignore-paused waits "
		      "for the resume instead)\n");
	const char *del[] = {"delete", "p1", NULL};
	run_fails(del, "smartvm-oci: container \"p1\" is paused: stop it first, or delete --force\n");
	json_t *l = list_json();
	assert_int_equal(json_array_size(l), 1);
	json_t *o = json_array_get(l, 0);
	assert_string_equal(json_string_value(json_object_get(o, "id")), "p1");
	assert_string_equal(json_string_value(json_object_get(o, "status")), "paused");
	assert_int_equal(json_integer_value(json_object_get(o, "pid")), c.pid);
	assert_string_equal(json_string_value(json_object_get(o, "bundle")), env.bundle);
	assert_string_equal(json_string_value(json_object_get(o, "rootfs")), env.rootfs);
	assert_string_equal(json_string_value(json_object_get(o, "owner")), "root");
	assert_string_equal(json_string_value(json_object_get(o, "ociVersion")), "1.2.1");
	assert_true(json_is_string(json_object_get(o, "created")));
	assert_true(json_is_object(json_object_get(o, "annotations")));
	json_decref(l);
	/* The guest is really stopped: exec --ignore-paused gets no answer
	 * while the VM is paused and runs once it is resumed. */
	int out_pipe[2];
	assert_int_equal(pipe2(out_pipe, O_CLOEXEC), 0);
	const char *waiting[] = {svo_program(), "--root", env.root, "--data-dir", env.data, "--vmm", "qemu",
				 "--accel", "tcg", "exec", "--ignore-paused", "p1", "echo", "waited", NULL};
	sv_spawn_opts so = {.argv = waiting, .stdin_fd = -1, .stdout_fd = out_pipe[1], .stderr_fd = -1};
	pid_t waiter;
	assert_int_equal(sv_spawn(&so, &waiter, NULL), 0);
	close(out_pipe[1]);
	struct pollfd pf = {.fd = out_pipe[0], .events = POLLIN};
	assert_int_equal(poll(&pf, 1, 3000), 0); /* nothing while paused */
	assert_int_equal(kill(waiter, 0), 0);
	run_ok(resume);
	int wstatus = -1;
	assert_int_equal(sv_reap(waiter, EXIT_TIMEOUT_MS, &wstatus), 0);
	assert_true(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
	char *waited = read_all(out_pipe[0]);
	assert_string_equal(waited, "waited\n");
	free(waited);
	assert_state("p1", "running", c.pid);
	const char *again[] = {"exec", "p1", "echo", "again", NULL};
	assert_int_equal(exec_fg(again, &out, &err), 0);
	assert_string_equal(out, "again\n");
	free(out);
	free(err);

	/* delete --force of a paused container takes its exec relays and
	 * leaves nothing. */
	const char *held_cmd[] = {"sleep", "303", NULL};
	pid_t held = exec_detached("p1", "held", held_cmd);
	run_ok(pause);
	const char *const force[] = {"--force", NULL};
	delete_and_check_gone("p1", force);
	assert_int_equal(sv_reap(held, EXIT_TIMEOUT_MS, &wstatus), 0);
	assert_true(WIFSIGNALED(wstatus));
	assert_int_equal(WTERMSIG(wstatus), SIGKILL);
	int status = wait_exit(&c);
	assert_true(WIFSIGNALED(status));
	close(c.out_r);
	close(c.err_r);
	none = list_json();
	assert_int_equal(json_array_size(none), 0);
	json_decref(none);
}

/* Ids that would reach outside --root, and a container directory another
 * user holds, are refused by every command before anything is read. */
static void test_hostile_ids_and_another_users_state_dir(void **state)
{
	(void)state;
	static const char *const cmds[][6] = {
	    {"exec", "../x", "true", NULL}, {"ps", "../x", NULL},     {"pause", "../x", NULL},
	    {"resume", "../x", NULL},	    {"exec", "a/../b", "true", NULL},
	};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(*cmds); i++)
		run_fails(cmds[i], "\": must be 1 to 64 characters of A-Z a-z 0-9 _ -, not starting with -");
	/* A directory in --root owned by another uid, with a state file that
	 * names our own pid: nothing acts on it. */
	const char *list[] = {"list", NULL};
	char *out, *err;
	assert_int_equal(svo_run(&env, list, &out, &err), 0); /* makes nothing; root may not exist yet */
	free(out);
	free(err);
	assert_true(mkdir(env.root, 0700) == 0 || errno == EEXIST);
	char *dir = NULL, *state_text = NULL;
	assert_true(asprintf(&dir, "%s/theirs", env.root) > 0);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_true(asprintf(&state_text,
			     "{\"id\":\"theirs\",\"bundle\":\"%s\",\"status\":\"running\",\"pid\":%d,"
			     "\"start_time\":%llu,\"created_ns\":1,\"annotations\":{}}",
			     env.bundle, (int)getpid(), sv_process_start_time(getpid())) > 0);
	free(svt_write(dir, "state.json", state_text));
	assert_int_equal(chown(dir, 65534, 65534), 0);
	const char *ex[] = {"exec", "theirs", "true", NULL}, *pause[] = {"pause", "theirs", NULL},
		   *ps[] = {"ps", "theirs", NULL};
	run_fails(ex, "container directory");
	run_fails(pause, "is owned by uid 65534");
	run_fails(ps, "is owned by uid 65534");
	assert_int_equal(svo_run(&env, list, &out, &err), 0);
	assert_string_equal(out, "ID PID STATUS BUNDLE CREATED OWNER\n");
	svt_assert_contains(err, "is owned by uid 65534");
	free(out);
	free(err);
	assert_int_equal(sv_rm_rf(dir), 0);
	free(dir);
	free(state_text);
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
	    cmocka_unit_test(test_exec_output_exit_codes_user_env_and_process_files),
	    cmocka_unit_test(test_exec_detach_relays_ps_and_sigkill_of_a_relay),
	    cmocka_unit_test(test_exec_tty_over_console_socket),
	    cmocka_unit_test(test_pause_resume_and_list),
	    cmocka_unit_test(test_hostile_ids_and_another_users_state_dir),
	};
	if (!svt_is_root())
		return svt_skip_program(SVT_NEED_ROOT, "smartvm-oci boots VMs as root");
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return svt_skip_program(SVT_NEED_HOST, "PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
	return svt_run_group(tests, setup, teardown);
}
