/* The fork server's side (see supervisor_server.h): receive a VM's fds and
 * environment, fork, let the child become the VM's supervisor, answer with
 * its pid. Single-threaded, so the fork is plain and the child may call
 * anything. The children are reaped by the kernel (SA_NOCLDWAIT): a
 * supervisor's exit status tells nobody anything (it reports on its status
 * pipe), and when the server ends they are re-parented like the exec path's
 * supervisors. The server holds a VM's fds only between receiving them and
 * answering. After a fork every page the server writes is copied (its child
 * shares them): a request's work there is kept to the answer. */
#include "vm/supervisor_server.h"

#include "util/fault.h"
#include "util/spawn.h"
#include "util/trace.h"
#include "vm/supervisor.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
	int fds[SV_FORK_FDS];
	char *dir;
	char *env; /* env_len bytes, NUL-terminated strings */
	size_t env_len;
} request;

static void request_free(request *r)
{
	for (int i = 0; i < SV_FORK_FDS; i++)
		if (r->fds[i] >= 0)
			close(r->fds[i]);
	free(r->dir);
	free(r->env);
}

static int read_full(int fd, void *buf, size_t len)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = read(fd, (char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

/* 0 with *r filled; -1 at EOF or on a request that breaks the protocol
 * (the server then ends: its only peer is the manager). */
static int receive(int sock, request *r)
{
	*r = (request){.fds = {-1, -1, -1, -1, -1}};
	sv_fork_request h;
	union {
		char buf[CMSG_SPACE(SV_FORK_FDS * sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = {.iov_base = &h, .iov_len = sizeof(h)};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = control.buf,
			     .msg_controllen = sizeof(control.buf)};
	ssize_t n;
	while ((n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	size_t got = 0;
	for (struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL; c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (got < SV_FORK_FDS)
				r->fds[got++] = fd;
			else
				close(fd);
		}
	}
	/* The header's first byte carried the fds; the rest may trail. */
	if (n <= 0 || (msg.msg_flags & MSG_CTRUNC) ||
	    ((size_t)n < sizeof(h) && read_full(sock, (char *)&h + n, sizeof(h) - (size_t)n) != 0) ||
	    h.magic != SV_FORK_REQUEST_MAGIC || h.n_fds != got || got < SV_FORK_FD_CONSOLE ||
	    h.dir_len == 0 || h.dir_len > SV_FORK_REQUEST_MAX_DIR || h.env_len > SV_FORK_REQUEST_MAX_ENV)
		return -1;
	r->dir = calloc(1, h.dir_len + 1);
	r->env = calloc(1, h.env_len + 1);
	r->env_len = h.env_len;
	if (!r->dir || !r->env || read_full(sock, r->dir, h.dir_len) != 0 ||
	    read_full(sock, r->env, h.env_len) != 0 || strlen(r->dir) != h.dir_len || r->dir[0] != '/')
		return -1;
	return 0;
}

/* The forked child: the VM's supervisor, in the state the exec path leaves
 * one in (default signals, nothing blocked, its own session, its stderr the
 * VM's vmm.log, the environment the manager had when it asked). */
static _Noreturn void become_supervisor(int sock, request *r, const sv_fork_server_hooks *hooks)
{
	/* Here, not in the server: its command line is a page it shares with
	 * every supervisor it forked, so a write there (and to anything else)
	 * after a fork costs it a copy of the page. Set before the supervisor
	 * reports, so before the start that asked for it returns. */
	hooks->set_title(r->dir);
	close(sock);
	sv_reset_signals();
	setsid();
	if (dup2(r->fds[SV_FORK_FD_LOG], STDERR_FILENO) < 0)
		_exit(127);
	close(r->fds[SV_FORK_FD_LOG]);
	clearenv();
	for (char *e = r->env; e < r->env + r->env_len; e += strlen(e) + 1)
		if (strchr(e, '='))
			putenv(e); /* r->env lives as long as we do */
	sv_trace_reopen();
	hooks->child_init();
	sv_supervisor_fds a = {.status_fd = r->fds[SV_FORK_FD_STATUS],
			       .control_fd = r->fds[SV_FORK_FD_CONTROL],
			       .lock_fd = r->fds[SV_FORK_FD_LOCK],
			       .console_fd = r->fds[SV_FORK_FD_CONSOLE],
			       .vm_dir = r->dir};
	exit(sv_supervisor_run(&a, true));
}

static void reply(int sock, const sv_fork_reply *rep)
{
	/* A manager gone meanwhile: the next receive sees EOF. */
	(void)send(sock, rep, sizeof(*rep), MSG_NOSIGNAL);
}

int sv_supervisor_server_main(int sock, const sv_fork_server_hooks *hooks)
{
	fcntl(sock, F_SETFD, FD_CLOEXEC);
	signal(SIGPIPE, SIG_IGN);
	/* Our children (supervisors) are reaped by the kernel. */
	struct sigaction nowait = {.sa_handler = SIG_IGN, .sa_flags = SA_NOCLDWAIT};
	sigaction(SIGCHLD, &nowait, NULL);
	/* A terminal's signals are not for us: we live as long as the manager. */
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	sv_trace_process_start("supervisor:fork_server_start");
	char ready = SV_FORK_SERVER_READY;
	if (send(sock, &ready, 1, MSG_NOSIGNAL) != 1)
		return 1;
	for (;;) {
		request r;
		if (receive(sock, &r) != 0) {
			request_free(&r);
			return 0;
		}
		sv_trace_span step;
		sv_trace_begin(&step);
		(void)SV_FAULT_POINT("fork_server.request"); /* for the tests: "kill" */
		pid_t pid = fork();
		if (pid == 0)
			become_supervisor(sock, &r, hooks);
		/* The answer first, the request's memory after: the manager
		 * (and every start queued behind this one) waits for it. */
		sv_fork_reply rep = {.err = pid < 0 ? errno : 0, .pid = pid > 0 ? pid : 0};
		if (pid > 0)
			rep.start_time = sv_process_start_time(pid);
		(void)SV_FAULT_POINT("fork_server.reply");
		reply(sock, &rep);
		request_free(&r);
		sv_trace_end(&step, "supervisor:fork_server_request");
	}
}
