/* The manager's side of the supervisor fork server (see vm_fork_server.h
 * and supervisor_server.h for the protocol). A dead server is found when a
 * request cannot be sent (restarted, the request sent again: it never
 * arrived) or when the reply does not come (SV_FORK_LOST: the caller asks
 * the status pipe). */
#include "vm/vm_fork_server.h"

#include "util/error.h"
#include "util/log.h"
#include "util/spawn.h"
#include "util/trace.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

_Static_assert(RLIM_NLIMITS == SV_FORK_RLIMITS, "a request carries each of Linux's rlimits");

/* How long the server may take to come up, and to answer a request. */
#define SERVER_START_MS 10000
#define SERVER_REPLY_MS 10000
#define SERVER_EXIT_MS 2000

static const char *const namespaces[SV_FORK_NAMESPACES] = {"net", "mnt", "user",  "pid_for_children",
							   "uts", "ipc", "cgroup"};

/* keep: NULL, or where to keep each namespace open (-1: could not). Kept
 * open, a namespace keeps its nsfs dentry, which otherwise each request's
 * lookup would build and drop again: the per-request check costs half. */
static void capture_identity(sv_fork_identity *id, int keep[SV_FORK_NAMESPACES])
{
	memset(id, 0, sizeof(*id));
	id->euid = geteuid();
	id->egid = getegid();
	/* One walk to the directory, then a lookup per name. An unreadable
	 * name reads 0. */
	int ns_dir = open("/proc/thread-self/ns", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (int i = 0; i < SV_FORK_NAMESPACES; i++) {
		struct stat st;
		int fd = keep && ns_dir >= 0 ? openat(ns_dir, namespaces[i], O_RDONLY | O_CLOEXEC) : -1;
		if (keep)
			keep[i] = fd;
		bool known = fd >= 0 ? fstat(fd, &st) == 0
				     : ns_dir >= 0 && fstatat(ns_dir, namespaces[i], &st, 0) == 0;
		id->ns[i] = known ? (unsigned long long)st.st_ino : 0;
	}
	if (ns_dir >= 0)
		close(ns_dir);
	int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, id->cgroup, sizeof(id->cgroup) - 1) : -1;
	if (fd >= 0)
		close(fd);
	/* Too long to hold, or unreadable: "cannot tell", which never matches. */
	id->cgroup[n > 0 && (size_t)n < sizeof(id->cgroup) - 1 ? n : 0] = '\0';
}

static void close_namespaces(sv_fork_server *s)
{
	for (int i = 0; i < SV_FORK_NAMESPACES; i++) {
		if (s->ns_fds[i] >= 0)
			close(s->ns_fds[i]);
		s->ns_fds[i] = -1;
	}
}

/* Would a supervisor the server forks start out where one we spawn would? */
static bool same_identity(const sv_fork_identity *server)
{
	sv_fork_identity now;
	capture_identity(&now, NULL);
	return now.cgroup[0] && !strcmp(now.cgroup, server->cgroup) && now.euid == server->euid &&
	       now.egid == server->egid && !memcmp(now.ns, server->ns, sizeof(now.ns));
}

void sv_fork_server_init(sv_fork_server *s)
{
	*s = (sv_fork_server){.owner = getpid(), .sock = -1, .pidfd = -1};
	for (int i = 0; i < SV_FORK_NAMESPACES; i++)
		s->ns_fds[i] = -1;
	pthread_mutex_init(&s->lock, NULL);
}

/* Ends our connection and waits for the server to go (it ends at EOF).
 * shutdown, not only close: a child that fork()ed a copy of our socket
 * without exec'ing must not keep the server (and us, waiting) alive. */
static void server_end(sv_fork_server *s)
{
	/* A caller's error (a failed start being cleaned up) must survive. */
	sv_err_saved saved;
	sv_err_save(&saved);
	if (s->sock >= 0) {
		shutdown(s->sock, SHUT_RDWR);
		close(s->sock);
	}
	if (s->pidfd >= 0) {
		if (sv_pidfd_wait_exit(s->pidfd, SERVER_EXIT_MS) != 0)
			syscall(SYS_pidfd_send_signal, s->pidfd, SIGKILL, NULL, 0);
		/* Ours to reap, unless the application reaped every child. */
		sv_reap(s->pid, SERVER_EXIT_MS, NULL);
		close(s->pidfd);
	}
	sv_err_restore(&saved);
	free(s->program);
	s->program = NULL;
	close_namespaces(s);
	s->sock = s->pidfd = -1;
	s->pid = 0;
}

void sv_fork_server_stop(sv_fork_server *s)
{
	/* A forked copy of the manager closes its copy of the socket (no
	 * shutdown: that would end the original's connection) and leaves the
	 * server to the process that started it. */
	if (s->owner != getpid()) {
		if (s->sock >= 0)
			close(s->sock);
		if (s->pidfd >= 0)
			close(s->pidfd);
		close_namespaces(s);
		free(s->program);
		return;
	}
	server_end(s);
	pthread_mutex_destroy(&s->lock);
}

static int server_start(sv_fork_server *s, const char *program)
{
	sv_trace_span step;
	sv_trace_begin(&step);
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0)
		return sv_err_errno(SV_EIO, errno, "creating the fork server's socket pair");
	char fd_arg[16];
	snprintf(fd_arg, sizeof(fd_arg), "%d", sp[1]);
	char *room = malloc(SV_FORK_SERVER_TITLE_ROOM + 1);
	if (!room) {
		close(sp[0]);
		close(sp[1]);
		return sv_err(SV_ENOMEM, "out of memory");
	}
	memset(room, ' ', SV_FORK_SERVER_TITLE_ROOM);
	room[SV_FORK_SERVER_TITLE_ROOM] = '\0';
	const char *argv[] = {program, SV_FORK_SERVER_ARG, fd_arg, room, NULL};
	/* stdio on /dev/null: the server outlives any caller's terminal or
	 * pipe; each supervisor it forks writes to its VM's vmm.log. */
	sv_spawn_opts so = {.argv = argv,
			    .stdin_fd = -1,
			    .stdout_fd = -1,
			    .stderr_fd = -1,
			    .keep_fds = &sp[1],
			    .n_keep_fds = 1,
			    .new_session = true,
			    .cwd = SV_SUPERVISOR_CWD};
	pid_t pid;
	int pidfd = -1;
	int rc = sv_spawn(&so, &pid, &pidfd);
	close(sp[1]);
	free(room);
	if (rc) {
		close(sp[0]);
		return rc;
	}
	struct pollfd p = {.fd = sp[0], .events = POLLIN};
	char ready = 0;
	int n;
	while ((n = poll(&p, 1, SERVER_START_MS)) < 0 && errno == EINTR)
		;
	if (n != 1 || read(sp[0], &ready, 1) != 1 || ready != SV_FORK_SERVER_READY) {
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		sv_reap(pid, SERVER_EXIT_MS, NULL);
		close(pidfd);
		close(sp[0]);
		return sv_err(SV_EPROCESS, "the supervisor fork server (%s) did not come up", program);
	}
	s->program = strdup(program);
	if (!s->program) {
		s->sock = sp[0];
		s->pid = pid;
		s->pidfd = pidfd;
		server_end(s);
		return sv_err(SV_ENOMEM, "out of memory");
	}
	s->sock = sp[0];
	s->pid = pid;
	s->pidfd = pidfd;
	capture_identity(&s->identity, s->ns_fds);
	sv_trace_end(&step, "start:fork_server_spawn");
	return 0;
}

/* The environment as "NAME=VALUE\0"..., malloc'd. */
static char *pack_environment(size_t *len)
{
	size_t total = 0;
	for (char **e = environ; e && *e; e++)
		total += strlen(*e) + 1;
	char *buf = malloc(total ? total : 1);
	if (!buf)
		return NULL;
	size_t at = 0;
	for (char **e = environ; e && *e && at < total; e++) {
		size_t n = strlen(*e) + 1;
		if (at + n > total) /* another thread's setenv meanwhile */
			break;
		memcpy(buf + at, *e, n);
		at += n;
	}
	*len = at;
	return buf;
}

typedef enum { SENT, NOT_DELIVERED, PARTLY_SENT } send_result;

static send_result send_request(int sock, const int fds[SV_FORK_FDS], const char *vm_dir, const char *env,
				size_t env_len)
{
	int n_fds = fds[SV_FORK_FD_CONSOLE] >= 0 ? SV_FORK_FDS : SV_FORK_FD_CONSOLE;
	sv_fork_request h = {.magic = SV_FORK_REQUEST_MAGIC,
			     .n_fds = (uint32_t)n_fds,
			     .dir_len = (uint32_t)strlen(vm_dir),
			     .env_len = (uint32_t)env_len};
	for (int i = 0; i < SV_FORK_RLIMITS; i++) {
		struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};
		(void)getrlimit(i, &rl); /* one this kernel lacks: unlimited, which it refuses to set */
		h.rlimits[i] = (sv_fork_rlimit){rl.rlim_cur, rl.rlim_max};
	}
	union {
		char buf[CMSG_SPACE(SV_FORK_FDS * sizeof(int))];
		struct cmsghdr align;
	} control;
	memset(&control, 0, sizeof(control));
	struct iovec iov[3] = {{.iov_base = &h, .iov_len = sizeof(h)},
			       {.iov_base = (void *)vm_dir, .iov_len = h.dir_len},
			       {.iov_base = (void *)env, .iov_len = env_len}};
	struct msghdr msg = {.msg_iov = iov,
			     .msg_iovlen = 3,
			     .msg_control = control.buf,
			     .msg_controllen = CMSG_SPACE((size_t)n_fds * sizeof(int))};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN((size_t)n_fds * sizeof(int));
	memcpy(CMSG_DATA(c), fds, (size_t)n_fds * sizeof(int));
	ssize_t n;
	while ((n = sendmsg(sock, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	if (n <= 0)
		return NOT_DELIVERED;
	/* The rest of a long environment, without the fds. */
	size_t total = sizeof(h) + h.dir_len + env_len, done = (size_t)n;
	while (done < total) {
		size_t skip = done;
		int i = 0;
		while (skip >= iov[i].iov_len)
			skip -= iov[i++].iov_len;
		n = send(sock, (char *)iov[i].iov_base + skip, iov[i].iov_len - skip, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return PARTLY_SENT;
		done += (size_t)n;
	}
	return SENT;
}

/* 0 with the reply; -1 when the server died (or hangs) instead. */
static int read_reply(int sock, sv_fork_reply *rep)
{
	size_t done = 0;
	while (done < sizeof(*rep)) {
		struct pollfd p = {.fd = sock, .events = POLLIN};
		int n = poll(&p, 1, SERVER_REPLY_MS);
		if (n < 0 && errno == EINTR)
			continue;
		if (n != 1)
			return -1;
		ssize_t r = read(sock, (char *)rep + done, sizeof(*rep) - done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

static int request_locked(sv_fork_server *s, const char *program, const int fds[SV_FORK_FDS],
			  const char *vm_dir, sv_fork_outcome *outcome, pid_t *pid,
			  unsigned long long *start_time)
{
	*outcome = SV_FORK_NOT_SERVED;
	/* The server forks what the starter was when it started: another
	 * program, other credentials, namespaces or cgroup get the exec path. */
	if (s->sock >= 0 && (strcmp(program, s->program) || !same_identity(&s->identity)))
		return 0;
	if (s->sock < 0 && !s->asked_before) {
		s->asked_before = true; /* the first start: by exec (vm_fork_server.h) */
		return 0;
	}
	size_t env_len = 0;
	char *env = pack_environment(&env_len);
	if (!env)
		return sv_err(SV_ENOMEM, "out of memory");
	int rc = 0;
	for (int attempt = 0; attempt < 2; attempt++) {
		/* A server found dead is replaced before the request: the spare
		 * it had forked may not have ended yet. */
		if (s->sock >= 0 && sv_pidfd_wait_exit(s->pidfd, 0) == 0) {
			sv_debug("the supervisor fork server (pid %d) is gone; restarting it", (int)s->pid);
			server_end(s);
		}
		if (s->sock < 0 && server_start(s, program) != 0) {
			sv_debug("the supervisor fork server: %s; starting the supervisor by exec",
				 sv_last_error());
			sv_err_clear();
			break;
		}
		send_result sent = send_request(s->sock, fds, vm_dir, env, env_len);
		if (sent == NOT_DELIVERED) { /* it was dead already: nothing reached it */
			sv_debug("the supervisor fork server (pid %d) is gone; restarting it", (int)s->pid);
			server_end(s);
			continue;
		}
		sv_fork_reply rep;
		if (sent == PARTLY_SENT || read_reply(s->sock, &rep) != 0) {
			sv_debug("the supervisor fork server (pid %d) died with a request", (int)s->pid);
			server_end(s);
			*outcome = SV_FORK_LOST;
			break;
		}
		if (rep.err) {
			rc = sv_err_errno(SV_EPROCESS, rep.err, "the supervisor fork server: fork");
			break;
		}
		*outcome = SV_FORK_STARTED;
		*pid = rep.pid;
		*start_time = rep.start_time;
		break;
	}
	free(env);
	return rc;
}

int sv_fork_server_start_supervisor(sv_fork_server *s, const char *program, const int fds[SV_FORK_FDS],
				    const char *vm_dir, sv_fork_outcome *outcome, pid_t *pid,
				    unsigned long long *start_time)
{
	*outcome = SV_FORK_NOT_SERVED;
	/* A forked copy of the process that made the manager: the socket is
	 * shared with the original, and the lock may have been copied held. */
	if (s->owner != getpid())
		return 0;
	pthread_mutex_lock(&s->lock);
	int rc = request_locked(s, program, fds, vm_dir, outcome, pid, start_time);
	pthread_mutex_unlock(&s->lock);
	return rc;
}
