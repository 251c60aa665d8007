/* `smartvm attach` against the fake Firecracker, whose serial console
 * (tests/fake_firecracker/fc_serial.c) echoes what it is sent and floods on
 * request: input reaches the VMM's stdin and comes back, one client at a
 * time, a client that does not read is dropped while the guest goes on,
 * console.sock is 0600 and neither the supervisor nor the client trusts an
 * entry planted at its name, the CLI's detach keys, piped input and the
 * VM's end — and nothing is left after stop. */
#include "svtest.h"

#include "util/file.h"
#include "vm/console_hub.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <smartvm/smartvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
	char *dir, *runtime, *data, *kernel, *scratch;
	sv_manager *mgr;
	sv_vm *vm;
} fixture;

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	f->dir = svt_tmpdir();
	f->runtime = sv_path_join(f->dir, "runtime");
	f->data = sv_path_join(f->dir, "data");
	f->kernel = svt_write(f->dir, "vmlinux", "kernel image");
	f->scratch = svt_write(f->dir, "scratch.img", "scratch data");
	sv_manager_options o = {.version = SV_MANAGER_OPTIONS_VERSION, .data_dir = f->data,
				.runtime_dir = f->runtime,
				.firecracker_binary_path = svt_fake_firecracker(),
				.socket_timeout_ms = 5000,
				.stop_timeout_ms = 3000};
	assert_int_equal(sv_manager_new(&f->mgr, &o), 0);
	sv_drive_config drive = {.drive_id = "scratch", .path_on_host = f->scratch};
	sv_vm_config cfg = {.version = SV_VM_CONFIG_VERSION, .id = "con",
			    .boot_source = {.kernel_image_path = f->kernel},
			    .machine_config = {.vcpu_count = 1, .mem_size_mib = 128},
			    .drives = &drive,
			    .n_drives = 1};
	if (sv_manager_create_vm(&f->vm, f->mgr, &cfg) || sv_vm_start(f->vm))
		fail_msg("starting the VM: %s", sv_last_error());
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	sv_manager_free(f->mgr); /* stops the VM */
	assert_int_equal(svt_dir_entries(f->runtime), 0);
	svt_assert_no_processes_with(f->runtime);
	free(f->runtime);
	free(f->data);
	free(f->kernel);
	free(f->scratch);
	svt_rm_tmpdir(f->dir);
	free(f);
	return 0;
}

static int attach_ok(sv_vm *vm)
{
	int fd = -1;
	if (sv_vm_console_attach(vm, &fd) != 0)
		fail_msg("attach: %s", sv_last_error());
	return fd;
}

/* Attaches, retrying while the supervisor has not yet seen the last
 * client go. */
static int attach_when_free(sv_vm *vm)
{
	int fd = -1, rc = 0;
	for (long long until = now_ms() + 10000; now_ms() < until; poll(NULL, 0, 20))
		if ((rc = sv_vm_console_attach(vm, &fd)) != SV_EBUSY)
			break;
	if (rc)
		fail_msg("attach: %s", sv_last_error());
	return fd;
}

/* Reads fd until its output contains want (or 10 s pass); returns all of it. */
static char *read_until(int fd, const char *want)
{
	size_t len = 0, cap = 1 << 16;
	char *buf = malloc(cap);
	buf[0] = '\0';
	for (long long until = now_ms() + 10000; !strstr(buf, want) && now_ms() < until;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 200) <= 0)
			continue;
		if (len + 4096 + 1 > cap)
			buf = realloc(buf, cap *= 2);
		ssize_t n = read(fd, buf + len, 4096);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
	}
	if (!strstr(buf, want))
		fail_msg("the console never showed \"%s\"; it showed: %.500s", want, buf);
	return buf;
}

static void type(int fd, const char *text)
{
	assert_int_equal(send(fd, text, strlen(text), MSG_NOSIGNAL), (ssize_t)strlen(text));
}

static char *vm_file(fixture *f, const char *name)
{
	char *p = NULL;
	assert_true(asprintf(&p, "%s/con/%s", f->runtime, name) > 0);
	return p;
}

/* The VM's console.log once it holds needle (at most timeout_ms), else what
 * it held last; NULL if it could not be read. */
static char *console_log_with(fixture *f, const char *needle, int timeout_ms)
{
	char *log = vm_file(f, "console.log"), *text = NULL;
	for (long long until = now_ms() + timeout_ms; now_ms() < until; poll(NULL, 0, 20)) {
		free(text);
		text = NULL;
		sv_read_file(log, 2 << 20, &text, NULL);
		if (text && strstr(text, needle))
			break;
	}
	free(log);
	return text;
}

static void test_input_reaches_the_guest_and_its_echo_comes_back(void **state)
{
	fixture *f = *state;
	int fd = attach_ok(f->vm);
	type(fd, "hello-through-stdin\n");
	free(read_until(fd, "hello-through-stdin\n"));
	close(fd);
	/* The log has it too, and a client's leaving changed nothing. */
	char *text = console_log_with(f, "hello-through-stdin", 5000);
	svt_assert_contains(text ? text : "", "hello-through-stdin");
	free(text);
	assert_int_equal(sv_vm_get_state(f->vm), SV_VM_RUNNING);
	/* A new client gets what follows, not what was before. */
	fd = attach_when_free(f->vm);
	type(fd, "second\n");
	char *seen = read_until(fd, "second\n");
	assert_null(strstr(seen, "hello-through-stdin"));
	free(seen);
	close(fd);
}

static void test_a_second_client_is_refused_naming_the_first(void **state)
{
	fixture *f = *state;
	int first = attach_ok(f->vm), second = -1;
	assert_int_equal(sv_vm_console_attach(f->vm, &second), SV_EBUSY);
	assert_int_equal(second, -1);
	char want[128];
	snprintf(want, sizeof(want), "VM \"con\": its console is already attached (by process %d)", (int)getpid());
	assert_string_equal(sv_last_error(), want);
	/* The first still works; once it left, attaching works again. */
	type(first, "still-mine\n");
	free(read_until(first, "still-mine\n"));
	close(first);
	int again = attach_when_free(f->vm);
	type(again, "after\n");
	free(read_until(again, "after\n"));
	close(again);
}

static void test_a_client_that_does_not_read_is_dropped_and_the_guest_goes_on(void **state)
{
	fixture *f = *state;
	int lazy = attach_ok(f->vm);
	/* 8 MiB of console output, while this client reads nothing. */
	type(lazy, "flood 8388608\n");
	char *text = console_log_with(f, "flood done", 60000);
	bool done = text && strstr(text, "flood done");
	free(text);
	assert_true(done); /* the guest was never held up by the client */
	/* The VMM answers its API (it is not stuck writing its console). */
	assert_int_equal(sv_vm_pause(f->vm), 0);
	assert_int_equal(sv_vm_resume(f->vm), 0);
	/* The lazy client was cut off: it reads at most what was queued for it
	 * (plus the socket buffers), then end-of-file. */
	size_t got = 0;
	char buf[65536];
	ssize_t n;
	while ((n = read(lazy, buf, sizeof(buf))) > 0)
		got += (size_t)n;
	assert_int_equal(n, 0);
	assert_true(got < 4u << 20);
	close(lazy);
	/* Someone else may attach now, and the console still works. */
	int fd = attach_when_free(f->vm);
	type(fd, "alive\n");
	free(read_until(fd, "alive\n"));
	close(fd);
}

static void test_console_socket_is_0600_and_ours(void **state)
{
	fixture *f = *state;
	char *path = vm_file(f, "console.sock");
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, geteuid());
	free(path);
}

/* A listening socket of the test's own at path. */
static int decoy_listener(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static void test_the_client_refuses_a_planted_link_or_socket(void **state)
{
	fixture *f = *state;
	char *sock = vm_file(f, "console.sock"), *aside = vm_file(f, "console.sock.real");
	char *decoy_path = sv_path_join(f->dir, "decoy.sock");
	int decoy = decoy_listener(decoy_path);
	assert_int_equal(rename(sock, aside), 0);

	/* A link to another socket: never followed. */
	assert_int_equal(symlink(decoy_path, sock), 0);
	int fd = -1;
	assert_int_equal(sv_vm_console_attach(f->vm, &fd), SV_EUNSAFE);
	svt_assert_contains(sv_last_error(), "console.sock is not a socket of uid");
	assert_int_equal(accept(decoy, NULL, NULL), -1); /* nobody connected to it */
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(unlink(sock), 0);

	/* A socket served by someone other than the VM's supervisor. */
	int impostor = decoy_listener(sock);
	assert_int_equal(sv_vm_console_attach(f->vm, &fd), SV_EUNSAFE);
	svt_assert_contains(sv_last_error(), "not by the VM's supervisor");
	assert_int_equal(fd, -1);
	close(impostor);
	assert_int_equal(unlink(sock), 0);

	assert_int_equal(rename(aside, sock), 0);
	fd = attach_when_free(f->vm);
	type(fd, "real\n");
	free(read_until(fd, "real\n"));
	close(fd);
	close(decoy);
	unlink(decoy_path);
	free(decoy_path);
	free(sock);
	free(aside);
}

/* The supervisor's side: never over a link, a stale socket replaced, and at
 * the end only its own socket removed. */
static void test_the_hub_binds_only_where_nothing_lives(void **state)
{
	fixture *f = *state;
	char *dir = sv_path_join(f->dir, "hubdir"), *sock = NULL, *target = sv_path_join(f->dir, "target");
	sv_mkdir_p(dir, 0700);
	sock = sv_path_join(dir, "console.sock");
	int p[2];
	assert_int_equal(pipe(p), 0);
	sv_console_hub *h = NULL;

	assert_int_equal(symlink(target, sock), 0);
	assert_int_equal(sv_console_hub_open(&h, dir, p[1]), SV_EUNSAFE);
	assert_null(h);
	struct stat st;
	assert_int_equal(lstat(sock, &st), 0);
	assert_true(S_ISLNK(st.st_mode)); /* left as it was */
	assert_int_equal(lstat(target, &st), -1);
	assert_int_equal(unlink(sock), 0);

	/* A live socket there (another supervisor's) is not taken over. */
	int live = decoy_listener(sock);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(sv_console_hub_open(&h, dir, p[1]), SV_EBUSY);
	close(live);

	/* Now it is stale (nobody listens): replaced. */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(sv_console_hub_open(&h, dir, p[1]), 0);
	assert_int_equal(lstat(sock, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* Swapped for something else meanwhile: that is not removed. */
	assert_int_equal(unlink(sock), 0);
	assert_int_equal(symlink(target, sock), 0);
	sv_console_hub_free(h);
	assert_int_equal(lstat(sock, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(unlink(sock), 0);
	/* The VMM's stdin was closed with the hub. */
	char c;
	assert_int_equal(read(p[0], &c, 1), 0);
	close(p[0]);
	free(sock);
	free(target);
	free(dir);
}

/* ---- the CLI ---- */

typedef struct {
	pid_t pid;
	int in, out, err; /* our ends */
} cli_proc;

static cli_proc cli_start(fixture *f, const char *const *args)
{
	int in[2], out[2], err[2];
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	assert_int_equal(pipe2(err, O_CLOEXEC), 0);
	const char *argv[32] = {svt_cli(), "--runtime-dir", f->runtime, "--data-dir", f->data};
	size_t n = 5;
	for (size_t i = 0; args[i]; i++)
		argv[n++] = args[i];
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	return (cli_proc){pid, in[1], out[0], err[0]};
}

static char *slurp(int fd)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	ssize_t n;
	while ((n = read(fd, buf + len, cap - len - 1)) > 0)
		if ((len += (size_t)n) + 1 == cap)
			buf = realloc(buf, cap *= 2);
	buf[len] = '\0';
	close(fd);
	return buf;
}

/* Waits at most 30 s for the CLI; returns its exit code; out/err malloc'd. */
static int cli_finish(cli_proc *c, char **out, char **err)
{
	if (c->in >= 0)
		close(c->in);
	*out = slurp(c->out);
	*err = slurp(c->err);
	int status = 0;
	for (long long until = now_ms() + 30000; waitpid(c->pid, &status, WNOHANG) == 0; poll(NULL, 0, 20))
		if (now_ms() > until) {
			kill(c->pid, SIGKILL);
			waitpid(c->pid, &status, 0);
			fail_msg("smartvm attach did not end");
		}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_cli_piped_input_is_echoed_then_it_detaches(void **state)
{
	fixture *f = *state;
	cli_proc c = cli_start(f, (const char *const[]){"attach", "--linger", "0.5", "con", NULL});
	const char *input = "piped-line\n";
	assert_int_equal(write(c.in, input, strlen(input)), (ssize_t)strlen(input));
	char *out, *err;
	int code = cli_finish(&c, &out, &err); /* stdin ends: it lingers, then detaches */
	assert_int_equal(code, 0);
	svt_assert_contains(out, "piped-line\n");
	assert_string_equal(err, "");
	free(out);
	free(err);
	assert_int_equal(sv_vm_get_state(f->vm), SV_VM_RUNNING);
}

static void test_cli_detach_keys_end_it_and_are_not_sent(void **state)
{
	fixture *f = *state;
	cli_proc c = cli_start(f, (const char *const[]){"attach", "--linger", "20", "con", NULL});
	/* Ctrl-P alone is input; Ctrl-P Ctrl-Q detaches, and nothing after it
	 * is sent (the lingering would take 20 s: it detaches at once). */
	const char *input = "keep\x10x\n";
	assert_int_equal(write(c.in, input, strlen(input)), (ssize_t)strlen(input));
	poll(NULL, 0, 300);
	const char *detach = "before\x10\x11" "after\n";
	assert_int_equal(write(c.in, detach, strlen(detach)), (ssize_t)strlen(detach));
	long long t0 = now_ms();
	char *out, *err;
	c.in = -1; /* keep stdin open: only the keys end it */
	int code = cli_finish(&c, &out, &err);
	assert_int_equal(code, 0);
	assert_true(now_ms() - t0 < 15000);
	svt_assert_contains(out, "keep\x10x\n");
	assert_null(strstr(out, "after"));
	free(out);
	free(err);
	/* "before" went to the guest before the keys: the next client's line
	 * follows it on the console. */
	int fd = attach_when_free(f->vm);
	type(fd, "-next\n");
	free(read_until(fd, "-next\n"));
	close(fd);
	char *text = console_log_with(f, "before-next", 5000);
	svt_assert_contains(text ? text : "", "before-next\n");
	assert_null(strstr(text, "after"));
	free(text);
}

static void test_cli_reports_the_vms_end(void **state)
{
	fixture *f = *state;
	cli_proc c = cli_start(f, (const char *const[]){"attach", "con", NULL});
	poll(NULL, 0, 500);
	const char *input = "poweroff\n";
	assert_int_equal(write(c.in, input, strlen(input)), (ssize_t)strlen(input));
	char *out, *err;
	int code = cli_finish(&c, &out, &err);
	assert_int_equal(code, 0);
	svt_assert_contains(err, "VM \"con\" has ended");
	free(out);
	free(err);
	int fd = -1;
	assert_int_equal(sv_vm_console_attach(f->vm, &fd), SV_EINVALID_STATE);
	assert_int_equal(fd, -1);
}

/* The CLI alone: `run -d --name` (docker's word for --id), attach with
 * piped input, stop; nothing left (the teardown checks). */
static void test_cli_run_detached_by_name_then_attach_then_stop(void **state)
{
	fixture *f = *state;
	char *out = NULL, *err = NULL;
	int code = svt_run_cli((const char *const[]){"run", "--kernel", f->kernel, "--name", "clibox", "--firecracker-bin",
						      svt_fake_firecracker(), "-d", "--runtime-dir", f->runtime,
						      "--data-dir", f->data, NULL},
			       NULL, &out, &err);
	if (code != 0)
		fail_msg("run -d exited %d: %s", code, err);
	assert_string_equal(out, "clibox\n");
	free(out);
	free(err);
	cli_proc c = cli_start(f, (const char *const[]){"attach", "--linger", "0.3", "clibox", NULL});
	assert_int_equal(write(c.in, "via-cli\n", 8), 8);
	code = cli_finish(&c, &out, &err);
	assert_int_equal(code, 0);
	svt_assert_contains(out, "via-cli\n");
	free(out);
	free(err);
	code = svt_run_cli((const char *const[]){"stop", "clibox", "--runtime-dir", f->runtime, "--data-dir", f->data,
						  NULL},
			   NULL, &out, &err);
	assert_int_equal(code, 0);
	free(out);
	free(err);
	/* A stopped VM has no console to attach to. */
	code = svt_run_cli((const char *const[]){"attach", "clibox", "--runtime-dir", f->runtime, "--data-dir",
						  f->data, NULL},
			   NULL, &out, &err);
	assert_int_equal(code, 1);
	free(out);
	free(err);
	/* It ended detached: its end record stays (ps -a) until rm. */
	code = svt_run_cli((const char *const[]){"rm", "clibox", "--runtime-dir", f->runtime, "--data-dir", f->data,
						  NULL},
			   NULL, &out, &err);
	assert_int_equal(code, 0);
	free(out);
	free(err);
}

/* A guest that never reads its serial input: what is typed piles up in
 * bounded queues; neither the supervisor (the API still answers, output
 * still flows) nor the CLI (a signal still ends it at once) is stuck. */
static void test_a_guest_that_does_not_read_input_stalls_nothing(void **state)
{
	fixture *f = *state;
	int fd = attach_ok(f->vm);
	type(fd, "deaf\n");
	free(read_until(fd, "deaf\n"));
	close(fd);
	cli_proc c = cli_start(f, (const char *const[]){"attach", "con", NULL});
	/* 8 MiB of input, written from a child (our pipe to the CLI fills). */
	pid_t writer = fork();
	assert_true(writer >= 0);
	if (writer == 0) {
		static char block[65536];
		memset(block, 'y', sizeof(block));
		for (int i = 0; i < 128; i++)
			if (write(c.in, block, sizeof(block)) < 0)
				_exit(0);
		_exit(0);
	}
	poll(NULL, 0, 1500);
	assert_int_equal(sv_vm_pause(f->vm), 0);
	assert_int_equal(sv_vm_resume(f->vm), 0);
	long long t0 = now_ms();
	kill(c.pid, SIGTERM);
	char *out, *err;
	close(c.in);
	c.in = -1;
	int code = cli_finish(&c, &out, &err);
	assert_int_equal(code, 128 + SIGTERM);
	assert_true(now_ms() - t0 < 5000);
	free(out);
	free(err);
	kill(writer, SIGKILL);
	waitpid(writer, NULL, 0);
	/* The next client is served (the queued input is its predecessor's
	 * business: it went nowhere). */
	fd = attach_when_free(f->vm);
	close(fd);
	assert_int_equal(sv_vm_get_state(f->vm), SV_VM_RUNNING);
}

static void test_cli_a_signal_detaches_and_leaves_the_vm_running(void **state)
{
	fixture *f = *state;
	cli_proc c = cli_start(f, (const char *const[]){"attach", "con", NULL});
	/* Attached once its input comes back. */
	const char *input = "signal-me\n";
	assert_int_equal(write(c.in, input, strlen(input)), (ssize_t)strlen(input));
	/* Until the echo: what the VMM printed before we attached may come
	 * first (the test once stopped after as many bytes as it wrote). */
	char buf[4096] = "";
	size_t got = 0;
	for (long long until = now_ms() + 10000;
	     now_ms() < until && !strstr(buf, "signal-me") && got < sizeof(buf) - 1;) {
		struct pollfd p = {.fd = c.out, .events = POLLIN};
		if (poll(&p, 1, 100) > 0) {
			ssize_t n = read(c.out, buf + got, sizeof(buf) - 1 - got);
			if (n <= 0)
				break;
			got += (size_t)n;
			buf[got] = '\0';
		}
	}
	svt_assert_contains(buf, "signal-me");
	kill(c.pid, SIGTERM);
	char *out, *err;
	c.in = -1;
	int code = cli_finish(&c, &out, &err);
	assert_int_equal(code, 128 + SIGTERM);
	svt_assert_contains(err, "detached from VM \"con\" on signal 15 (it keeps running)");
	free(out);
	free(err);
	assert_int_equal(sv_vm_get_state(f->vm), SV_VM_RUNNING);
	int fd = attach_when_free(f->vm);
	close(fd);
}

static void test_cli_bad_detach_keys_and_unknown_vm(void **state)
{
	fixture *f = *state;
	char *out = NULL, *err = NULL;
	int code = svt_run_cli((const char *const[]){"attach", "--detach-keys", "ctrl-p,ctrlq", "con", "--runtime-dir",
						      f->runtime, "--data-dir", f->data, NULL},
			       NULL, &out, &err);
	assert_int_equal(code, 2);
	svt_assert_contains(err, "--detach-keys: \"ctrlq\" is not a key");
	free(out);
	free(err);
	code = svt_run_cli((const char *const[]){"attach", "nosuch", "--runtime-dir", f->runtime, "--data-dir",
						  f->data, NULL},
			   NULL, &out, &err);
	assert_int_equal(code, 1);
	svt_assert_contains(err, "nosuch");
	free(out);
	free(err);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_input_reaches_the_guest_and_its_echo_comes_back, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_second_client_is_refused_naming_the_first, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_client_that_does_not_read_is_dropped_and_the_guest_goes_on, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_console_socket_is_0600_and_ours, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_the_client_refuses_a_planted_link_or_socket, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_the_hub_binds_only_where_nothing_lives, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cli_piped_input_is_echoed_then_it_detaches, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cli_detach_keys_end_it_and_are_not_sent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cli_reports_the_vms_end, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cli_a_signal_detaches_and_leaves_the_vm_running, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_guest_that_does_not_read_input_stalls_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cli_run_detached_by_name_then_attach_then_stop, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cli_bad_detach_keys_and_unknown_vm, setup, teardown),
	};
	return svt_run_group(tests, NULL, NULL);
}
