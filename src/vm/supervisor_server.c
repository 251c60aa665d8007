/* The fork server's side (see supervisor_server.h). It keeps one spare
 * forked ahead of the next request: the spare takes that request (the VM's
 * fds and environment) off the socket itself, answers with its own pid and
 * becomes the VM's supervisor, so no fork is on a start's path; once it says
 * it has answered, the server forks the next spare. Only one process reads
 * the socket at a time: the server does not while a spare waits. The server
 * is single-threaded, so the fork is plain and the child may call anything.
 * The children are reaped by the kernel (SA_NOCLDWAIT): a supervisor's exit
 * status tells nobody anything (it reports on its status pipe), and when the
 * server ends they are re-parented like the exec path's supervisors. The
 * server never holds a VM's fds (only when it could not fork a spare, to
 * answer with the error). After a fork every page the server writes is
 * copied (its child shares them): its work between forks is kept small. */
#include "vm/supervisor_server.h"

#include "util/fault.h"
#include "util/fork_code_pages.h"
#include "util/sha256.h"
#include "util/spawn.h"
#include "util/trace.h"
#include "vm/supervisor.h"
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef struct {
	int fds[SV_FORK_FDS];
	char *dir;
	char *env; /* env_len bytes, NUL-terminated strings */
	size_t env_len;
	sv_fork_rlimit rlimits[SV_FORK_RLIMITS];
} request;

/* How long the server waits for a spare that is ending to be gone. */
#define SPARE_EXIT_MS 2000

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
	memcpy(r->rlimits, h.rlimits, sizeof(r->rlimits));
	if (!r->dir || !r->env || read_full(sock, r->dir, h.dir_len) != 0 ||
	    read_full(sock, r->env, h.env_len) != 0 || strlen(r->dir) != h.dir_len || r->dir[0] != '/')
		return -1;
	return 0;
}

/* The request's environment becomes ours, as the exec path's supervisor
 * is given its caller's: one array of pointers into r->env, which lives as
 * long as we do. (putenv per variable grew the array one realloc at a time,
 * each touching pages this copy of the server shares with it: a quarter of
 * a millisecond per VM on this machine.) */
static void set_environment(request *r)
{
	size_t n = 0;
	for (char *e = r->env; e < r->env + r->env_len; e += strlen(e) + 1)
		n += strchr(e, '=') != NULL;
	char **env = malloc((n + 1) * sizeof(char *));
	if (!env)
		_exit(127); /* as when stderr cannot be set up: no report, the start sees EOF */
	n = 0;
	for (char *e = r->env; e < r->env + r->env_len; e += strlen(e) + 1)
		if (strchr(e, '='))
			env[n++] = e;
	env[n] = NULL;
	environ = env;
}

/* The request's rlimits become ours, as an exec'd supervisor inherits its
 * caller's (setting an unchanged one is a no-op, so none is compared first).
 * One that cannot be set (a hard limit above ours, which an unprivileged
 * manager cannot have raised since it started us) stays ours. */
static void set_rlimits(const request *r)
{
	for (int i = 0; i < SV_FORK_RLIMITS; i++) {
		struct rlimit rl = {(rlim_t)r->rlimits[i].cur, (rlim_t)r->rlimits[i].max};
		(void)setrlimit(i, &rl);
	}
}

/* The spare, once it has answered: the VM's supervisor, in the state the
 * exec path leaves one in (default signals, nothing blocked, its own
 * session, its stderr the VM's vmm.log, the environment and rlimits the
 * manager had when it asked). */
static _Noreturn void become_supervisor(request *r, unsigned long long start_time,
					const sv_fork_server_hooks *hooks)
{
	/* Here, not in the server: its command line is a page it shares with
	 * every supervisor it forked, so a write there (and to anything else)
	 * after a fork costs it a copy of the page. Set before the supervisor
	 * reports, so before the start that asked for it returns. */
	hooks->set_title(r->dir);
	if (dup2(r->fds[SV_FORK_FD_LOG], STDERR_FILENO) < 0)
		_exit(127);
	close(r->fds[SV_FORK_FD_LOG]);
	set_environment(r);
	set_rlimits(r);
	sv_trace_reopen();
	hooks->child_init();
	sv_supervisor_fds a = {.status_fd = r->fds[SV_FORK_FD_STATUS],
			       .control_fd = r->fds[SV_FORK_FD_CONTROL],
			       .lock_fd = r->fds[SV_FORK_FD_LOCK],
			       .console_fd = r->fds[SV_FORK_FD_CONSOLE],
			       .vm_dir = r->dir,
			       .start_time = start_time};
	exit(sv_supervisor_run(&a, true));
}

static void reply(int sock, const sv_fork_reply *rep)
{
	/* A manager gone meanwhile: the next receive sees EOF. */
	(void)send(sock, rep, sizeof(*rep), MSG_NOSIGNAL);
}

/* The signals whose disposition the server sets (below); it starts with
 * all of them at their default. */
static const int server_signals[] = {SIGPIPE, SIGCHLD, SIGINT, SIGHUP};

/* The spare's life: what does not depend on the request first, while no
 * start waits; then the request, the answer, a byte on `served` for the
 * server, and the supervisor. At EOF (the manager is gone) or on a request
 * that breaks the protocol it ends without that byte, which ends the
 * server. It dies with the server until it has a request: a spare left
 * behind by a killed server must not answer the manager, which starts a
 * new server once it sees the old one gone. Killed holding a request, it
 * leaves the manager no answer: the server, left without the byte, ends,
 * and the manager sees EOF. */
static _Noreturn void run_spare(int sock, int served, pid_t server, const sv_fork_server_hooks *hooks)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != server)
		_exit(0);
	/* The server's own dispositions, back to the default the others have
	 * (SIGCHLD's SA_NOCLDWAIT above all: the supervisor reaps its VMM). */
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	for (size_t i = 0; i < sizeof(server_signals) / sizeof(*server_signals); i++)
		sigaction(server_signals[i], &dfl, NULL);
	setsid();
	sv_fork_reply rep = {.pid = getpid(), .start_time = sv_process_start_time(getpid())};
	request r;
	if (receive(sock, &r) != 0)
		_exit(0);
	(void)SV_FAULT_POINT("fork_server.request"); /* for the tests: "kill" */
	/* From here on a supervisor outlives its server, like those it forked
	 * before: a server gone now just misses the byte. */
	prctl(PR_SET_PDEATHSIG, 0);
	reply(sock, &rep);
	close(sock);
	signal(SIGPIPE, SIG_IGN); /* as the supervisor has it */
	(void)!write(served, "S", 1);
	close(served);
	(void)SV_FAULT_POINT("fork_server.answered"); /* for the tests: "kill" */
	become_supervisor(&r, rep.start_time, hooks);
}

/* Without a spare (the fork failed): the request is ours to answer with
 * that error. -1 at EOF or on a broken request. */
static int refuse_one(int sock, int err)
{
	request r;
	int rc = receive(sock, &r);
	if (rc == 0) {
		sv_fork_reply rep = {.err = err};
		reply(sock, &rep);
	}
	request_free(&r);
	return rc;
}

/* Until the spare has answered a request (true) or ended without one
 * (false: the manager is gone, or the spare died). */
static bool spare_served(pid_t spare, int served)
{
	/* Right after the fork, while the spare waits on the socket: one that
	 * has ended already (reaped at once, SA_NOCLDWAIT) fails the open, and
	 * there is nothing to wait for. */
	int pidfd = (int)syscall(SYS_pidfd_open, spare, 0);
	char b = 0;
	ssize_t n;
	while ((n = read(served, &b, 1)) < 0 && errno == EINTR)
		;
	if (n != 1 && pidfd >= 0) /* let it finish ending before we do */
		sv_pidfd_wait_exit(pidfd, SPARE_EXIT_MS);
	if (pidfd >= 0)
		close(pidfd);
	return n == 1;
}

int sv_supervisor_server_main(int sock, const sv_fork_server_hooks *hooks)
{
	fcntl(sock, F_SETFD, FD_CLOEXEC);
	/* Every signal at its default and none blocked, whatever our spawner
	 * left us, so that a spare has only server_signals to put back. */
	sv_reset_signals();
	signal(SIGPIPE, SIG_IGN);
	/* Our children (supervisors) are reaped by the kernel. */
	struct sigaction nowait = {.sa_handler = SIG_IGN, .sa_flags = SA_NOCLDWAIT};
	sigaction(SIGCHLD, &nowait, NULL);
	/* A terminal's signals are not for us: we live as long as the manager. */
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	sv_trace_process_start("supervisor:fork_server_start");
	/* What a process sets up at its first use, done once here: every
	 * supervisor forked after inherits it. OpenSSL's set-up at the first
	 * digest (the network undo hashes TAP names) cost each networked VM's
	 * supervisor more CPU than the rest of its replay; jansson's hash seed
	 * (read from /dev/urandom) is the launch file's first object. Last, the
	 * code and constants all of that mapped: each supervisor forked after
	 * inherits them mapped instead of faulting them in again. */
	sv_sha256_prepare();
	json_object_seed(0);
	sv_fork_code_pages_share();
	char ready = SV_FORK_SERVER_READY;
	if (send(sock, &ready, 1, MSG_NOSIGNAL) != 1)
		return 1;
	for (;;) {
		/* The next VM's supervisor, forked while no start waits for it. */
		sv_trace_span step;
		sv_trace_begin(&step);
		int served[2] = {-1, -1};
		pid_t self = getpid();
		pid_t spare = pipe2(served, O_CLOEXEC) == 0 ? fork() : -1;
		int err = errno;
		if (spare == 0) {
			close(served[0]);
			run_spare(sock, served[1], self, hooks);
		}
		if (served[1] >= 0)
			close(served[1]);
		sv_trace_end(&step, "supervisor:fork_server_request");
		bool go_on = spare > 0 ? spare_served(spare, served[0]) : refuse_one(sock, err) == 0;
		if (served[0] >= 0)
			close(served[0]);
		if (!go_on)
			return 0;
		(void)SV_FAULT_POINT("fork_server.reply"); /* for the tests: "kill" */
	}
}
