/* The container process (see oci_relay.h). One thread; its only blocking
 * waits are poll and sv_exec_wait, each bounded, so a signal is forwarded
 * within WAIT_STEP_MS. */
#include "oci_relay.h"

#include "oci_vm.h"
#include "util/error.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <smartvm/agent.h>
#include <smartvm/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define WAIT_STEP_MS 100
#define CTL_MSG_MAX 1024
#define CTL_IO_TIMEOUT_MS 5000
/* `start` waits this long for the guest process to start. */
#define START_TIMEOUT_MS (OCI_AGENT_TIMEOUT_MS + 30000)

/* Signals that are forwarded to the guest process. The others keep their
 * meaning for this process (SIGKILL, SIGSTOP, faults) or are ignored
 * (SIGPIPE: a reader going away is an error on write, not a death). */
static const int forwarded[] = {SIGHUP,	 SIGINT,  SIGQUIT, SIGUSR1, SIGUSR2,   SIGTERM, SIGALRM, SIGCONT,
				SIGTSTP, SIGTTIN, SIGTTOU, SIGURG,  SIGVTALRM, SIGPROF, SIGIO,	 SIGPWR};

static volatile sig_atomic_t pending[NSIG], winch;
static int wake_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
	int saved = errno;
	if (sig == SIGWINCH)
		winch = 1;
	else
		pending[sig] = 1;
	if (write(wake_pipe[1], "", 1) < 0) { /* full: a wake-up is already pending */
	}
	errno = saved;
}

void oci_relay_catch_signals(void)
{
	if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		wake_pipe[0] = wake_pipe[1] = -1;
	struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
	sigfillset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(*forwarded); i++)
		sigaction(forwarded[i], &sa, NULL);
	sigaction(SIGWINCH, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* The next pending signal (0 if none), cleared. */
static int take_signal(void)
{
	char buf[64];
	while (wake_pipe[0] >= 0 && read(wake_pipe[0], buf, sizeof(buf)) > 0) {
	}
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(*forwarded); i++)
		if (pending[forwarded[i]]) {
			pending[forwarded[i]] = 0;
			return forwarded[i];
		}
	return 0;
}

/* A control socket path that stays short however long --root is: through
 * the directory's descriptor. */
static void ctl_address(struct sockaddr_un *sa, int dirfd)
{
	*sa = (struct sockaddr_un){.sun_family = AF_UNIX};
	snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/" OCI_CTL_SOCKET, dirfd);
}

static int ctl_listen(const oci_dir *d)
{
	struct sockaddr_un sa;
	ctl_address(&sa, d->fd);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
		int rc = sv_err_errno(SV_EIO, errno, "control socket %s/" OCI_CTL_SOCKET, d->dir);
		if (fd >= 0)
			close(fd);
		return rc;
	}
	return fd;
}

static void reply(int conn, const char *text)
{
	struct pollfd p = {.fd = conn, .events = POLLOUT};
	if (poll(&p, 1, CTL_IO_TIMEOUT_MS) == 1 && write(conn, text, strlen(text)) < 0) {
	}
}

/* Reads one request line from a fresh connection (bounded in time and size). */
static bool read_request(int conn, char *buf, size_t len)
{
	size_t n = 0;
	while (n < len - 1) {
		struct pollfd p = {.fd = conn, .events = POLLIN};
		if (poll(&p, 1, CTL_IO_TIMEOUT_MS) != 1)
			return false;
		ssize_t r = read(conn, buf + n, len - 1 - n);
		if (r <= 0)
			return false;
		n += (size_t)r;
		if (memchr(buf, '\n', n))
			break;
	}
	buf[n] = '\0';
	return true;
}

/* While the process runs: pause and resume requests (oci_pause.c), served
 * here because this process holds the VM's VMM connection (QEMU's QMP takes
 * one client). Never blocks on a client longer than CTL_IO_TIMEOUT_MS. */
static void serve_control(int listen_fd, sv_vm *vm)
{
	struct pollfd p = {.fd = listen_fd, .events = POLLIN};
	if (poll(&p, 1, 0) != 1)
		return;
	int conn = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0)
		return;
	char req[64], msg[CTL_MSG_MAX];
	if (read_request(conn, req, sizeof(req))) {
		bool pause = !strcmp(req, "pause\n"), resume = !strcmp(req, "resume\n");
		if (!pause && !resume)
			reply(conn, "error: the container is already running\n");
		else if ((pause ? sv_vm_pause(vm) : sv_vm_resume(vm)) < 0) {
			snprintf(msg, sizeof(msg), "error: %s\n", sv_last_error());
			reply(conn, msg);
		} else {
			reply(conn, "ok\n");
		}
	}
	close(conn);
}

void oci_relay_exec_options(sv_exec_options *o, const oci_relay_args *a)
{
	const oci_bundle *b = a->bundle;
	o->env = (const char *const *)b->env;
	o->cwd = b->cwd;
	o->uid = b->uid;
	o->gid = b->gid;
	o->groups = b->groups;
	o->n_groups = b->n_groups;
	o->agent_timeout_ms = OCI_AGENT_TIMEOUT_MS;
	oci_rlimits_apply(&b->limits, o);
	/* The agent runs it in a UTS namespace of its own with this name; every
	 * process of the container is given it, so all of them see it. */
	o->hostname = b->hostname;
	if (a->tty_fd >= 0) {
		struct winsize ws = {0};
		o->tty = true;
		if (ioctl(a->tty_fd, TIOCGWINSZ, &ws) == 0) {
			o->tty_rows = ws.ws_row;
			o->tty_cols = ws.ws_col;
		}
		o->stdin_fd = o->stdout_fd = o->stderr_fd = a->tty_fd;
		return;
	}
	/* The engine's stdio, as create got it; a closed one means none. */
	o->stdin_fd = fcntl(STDIN_FILENO, F_GETFD) >= 0 ? STDIN_FILENO : -1;
	o->stdout_fd = fcntl(STDOUT_FILENO, F_GETFD) >= 0 ? STDOUT_FILENO : -1;
	o->stderr_fd = fcntl(STDERR_FILENO, F_GETFD) >= 0 ? STDERR_FILENO : -1;
}

void oci_relay_exit_like(int code, int sig)
{
	if (sig > 0 && sig < NSIG) {
		struct rlimit no_core = {0, 0};
		setrlimit(RLIMIT_CORE, &no_core);
		signal(sig, SIG_DFL);
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, sig);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		raise(sig);
		_exit(128 + sig); /* a signal whose default is to be ignored */
	}
	_exit(code < 0 || code > 255 ? 1 : code);
}

/* False when create is gone (killed while the VM booted): then nobody
 * will ever start or delete this container through us. */
static bool say_ready(int fd, const char *text)
{
	bool told = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	return told;
}

/* Before start: waits for the request, a stop signal or the VM's end.
 * Returns the accepted connection, or -1 with *sig the signal that ended
 * the wait (0: the VM ended). */
static int wait_for_start(int listen_fd, sv_vm *vm, int *sig)
{
	*sig = 0;
	for (;;) {
		struct pollfd p[2] = {{.fd = listen_fd, .events = POLLIN},
				      {.fd = wake_pipe[0], .events = POLLIN}};
		int n = poll(p, 2, WAIT_STEP_MS * 10);
		int s;
		while ((s = take_signal()) != 0)
			if (s == SIGTERM || s == SIGINT || s == SIGHUP || s == SIGQUIT) {
				*sig = s;
				return -1;
			}
		if (n > 0 && (p[0].revents & POLLIN)) {
			int conn = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
			char req[64];
			if (conn >= 0 && read_request(conn, req, sizeof(req))) {
				if (!strcmp(req, "start\n"))
					return conn;
				reply(conn, "error: the container is not running yet\n");
			}
			if (conn >= 0)
				close(conn);
		}
		if (sv_vm_wait(vm, 0) != SV_ETIMEOUT)
			return -1;
	}
}

void oci_relay_run_process(sv_exec *e, const oci_relay_args *a, int *code, int *sig)
{
	int status = 1, rc;
	while ((rc = sv_exec_wait(e, WAIT_STEP_MS, &status)) == SV_ETIMEOUT) {
		int s;
		while ((s = take_signal()) != 0)
			sv_exec_signal(e, s);
		if (a->ctl_fd >= 0 && a->vm)
			serve_control(a->ctl_fd, a->vm);
		if (winch && a->tty_fd >= 0) {
			winch = 0;
			struct winsize ws = {0};
			if (ioctl(a->tty_fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
				sv_exec_resize(e, ws.ws_row, ws.ws_col);
		}
	}
	*sig = 0;
	*code = status;
	if (rc < 0) {
		dprintf(STDERR_FILENO, "smartvm-oci: container \"%s\": %s\n", a->id, sv_last_error());
		*code = 255;
	} else if (sv_exec_start_error(e)) {
		dprintf(a->tty_fd >= 0 ? a->tty_fd : STDERR_FILENO, "smartvm-oci: %s: %s\n",
			a->bundle->args[0], sv_exec_start_error(e));
	} else if (sv_exec_term_signal(e) > 0) {
		*sig = sv_exec_term_signal(e);
	}
}

void oci_relay_main(const oci_relay_args *a)
{
	sv_manager *mgr = NULL;
	sv_vm *vm = NULL;
	sv_exec *e = NULL;
	int code = 1, sig = 0;
	char msg[CTL_MSG_MAX];

	setsid();
	if (a->tty_fd >= 0) {
		ioctl(a->tty_fd, TIOCSCTTY, 0); /* its resizes become our SIGWINCH */
		/* The terminal is the container's stdio: create's own (which
		 * containerd's shim reads to EOF before it goes on) is let go,
		 * as runc's container process does. */
		int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		for (int fd = STDIN_FILENO; null_fd >= 0 && fd <= STDERR_FILENO; fd++)
			if (fd != a->tty_fd && fd != a->ready_fd && fd != null_fd)
				dup2(null_fd, fd);
		if (null_fd > STDERR_FILENO)
			close(null_fd);
	}
	oci_relay_catch_signals();
	int listen_fd = ctl_listen(a->dir);
	if (listen_fd < 0 || oci_vm_boot(&mgr, &vm, a->bundle, a->dir, a->globals, a->id) < 0) {
		snprintf(msg, sizeof(msg), "%s", sv_last_error());
		say_ready(a->ready_fd, msg);
		_exit(1);
	}
	int conn = -1;
	if (say_ready(a->ready_fd, "ok"))
		conn = wait_for_start(listen_fd, vm, &sig);
	oci_relay_args self = *a;
	self.ctl_fd = listen_fd;
	self.vm = vm;
	if (conn >= 0) {
		sv_exec_options o = SV_EXEC_OPTIONS_INIT;
		oci_relay_exec_options(&o, a);
		int rc = sv_exec_start(&e, vm, (const char *const *)a->bundle->args, &o);
		if (rc < 0) {
			snprintf(msg, sizeof(msg), "error: %s\n", sv_last_error());
			reply(conn, msg);
		} else {
			reply(conn, "ok\n");
		}
		close(conn);
		if (rc == 0)
			oci_relay_run_process(e, &self, &code, &sig);
	}
	close(listen_fd);
	sv_exec_free(e);
	sv_vm_kill(vm);
	sv_manager_free(mgr);
	oci_relay_exit_like(code, sig);
}

int oci_relay_request_start(const oci_dir *d, const char *id)
{
	return oci_relay_request(d, id, "start", START_TIMEOUT_MS);
}

int oci_relay_request(const oci_dir *d, const char *id, const char *request, int timeout_ms)
{
	struct sockaddr_un sa;
	ctl_address(&sa, d->fd);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int rc = sv_err_errno(SV_EINVALID_STATE, errno,
				      "container \"%s\": its process does not answer on %s/" OCI_CTL_SOCKET,
				      id, d->dir);
		if (fd >= 0)
			close(fd);
		return rc;
	}
	char buf[CTL_MSG_MAX];
	size_t n = 0;
	int rc = 0;
	char line[64];
	int len = snprintf(line, sizeof(line), "%s\n", request);
	if (write(fd, line, (size_t)len) != len)
		rc = sv_err_errno(SV_EIO, errno, "container \"%s\": asking its process to %s", id, request);
	while (rc == 0 && n < sizeof(buf) - 1) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, timeout_ms) != 1) {
			rc = sv_err(SV_ETIMEOUT, "container \"%s\": its process did not %s within %d s", id,
				    request, timeout_ms / 1000);
			break;
		}
		ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	if (rc == 0 && strcmp(buf, "ok\n") != 0)
		rc = sv_err(SV_EPROCESS, "container \"%s\": %s", id,
			    n > 7 && !strncmp(buf, "error: ", 7) ? strtok(buf + 7, "\n")
								 : "its process ended before it answered");
	return rc;
}
