/* smartvm-agent: runs commands and moves files for the host
 * (docs/agent-protocol.md). A small static program for any Linux guest;
 * the minimal image's init starts it (guest/init.c), other images start it
 * from their init system (guest/README.md).
 *
 * Transports, all at once:
 *   vsock      listens on AF_VSOCK port 1024 (Firecracker, vhost-vsock);
 *   serial     the virtio-serial port named org.smartvm.agent.0 (QEMU
 *              without vhost-vsock), found under /sys/class/virtio-ports;
 *   unix       --listen-unix PATH, for running on a host (tests);
 *   fd         --fd N: one stream on an inherited descriptor; the agent
 *              exits when it ends.
 * One thread and one poll loop (guest/agent.h says how the files divide the
 * work). Diagnostics go to stderr (the minimal image points it at the
 * kernel log, never the console).
 */
#include "agent.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifndef SV_AGENT_VERSION
#define SV_AGENT_VERSION "0"
#endif

#define MAX_POLL 1024
/* While no host is connected to the serial port, and while the port has
 * not appeared yet: how often to look again (SIGIO usually comes first). */
#define SERIAL_RETRY_MS 1000
/* The port is looked for every 100 ms this long, then every SERIAL_RETRY_MS
 * for good: in a starved TCG guest it may name itself after many seconds,
 * and a port never opened keeps the host's HELLO waiting. */
#define SERIAL_SCAN_FOR_MS 10000

const char *agent_version = SV_AGENT_VERSION;

typedef struct {
	int vsock_port;	    /* 0 = none */
	const char *serial; /* "auto", "none" or a path */
	const char *listen_unix;
	int fd;
	const char *chroot_dir;
} agent_args;

void agent_log(const char *fmt, ...)
{
	char buf[1200];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	char line[1300];
	int m = snprintf(line, sizeof(line), "smartvm-agent: %.*s", n, buf);
	if (m > 0 &&
	    write(STDERR_FILENO, line, (size_t)(m < (int)sizeof(line) ? m : (int)sizeof(line) - 1)) < 0)
		return;
}

long long agent_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: smartvm-agent [--vsock-port N | --no-vsock] [--serial auto|none|PATH]\n"
		"                     [--listen-unix PATH] [--fd N] [--chroot DIR] [--version]\n"
		"Serves the smartvm agent protocol (docs/agent-protocol.md). Default: vsock port %d\n"
		"and the virtio-serial port %s, whichever exist.\n",
		SVA_VSOCK_PORT, SVA_SERIAL_PORT_NAME);
}

static int parse_args(int argc, char **argv, agent_args *a)
{
	*a = (agent_args){.vsock_port = SVA_VSOCK_PORT, .serial = "auto", .fd = -1};
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(arg, "--version")) {
			printf("smartvm-agent %s (protocol %d)\n", agent_version, SVA_VERSION);
			exit(0);
		} else if (!strcmp(arg, "--help")) {
			usage(stdout);
			exit(0);
		} else if (!strcmp(arg, "--no-vsock")) {
			a->vsock_port = 0;
		} else if (!val) {
			break;
		} else if (!strcmp(arg, "--vsock-port")) {
			a->vsock_port = atoi(val);
			i++;
		} else if (!strcmp(arg, "--serial")) {
			a->serial = val;
			i++;
		} else if (!strcmp(arg, "--listen-unix")) {
			a->listen_unix = val;
			i++;
		} else if (!strcmp(arg, "--fd")) {
			a->fd = atoi(val);
			i++;
		} else if (!strcmp(arg, "--chroot")) {
			a->chroot_dir = val;
			i++;
		} else {
			usage(stderr);
			return -1;
		}
		if (i == argc - 1 && !val)
			break;
	}
	for (int i = 1; i < argc; i++)
		if (argv[i][0] == '-' && strcmp(argv[i], "--version") && strcmp(argv[i], "--help") &&
		    strcmp(argv[i], "--no-vsock") && i + 1 >= argc) {
			usage(stderr);
			return -1;
		}
	return 0;
}

/* ---- transports ---- */

static int listen_vsock(int port)
{
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_vm sa = {
	    .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = (unsigned)port};
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int listen_unix(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		agent_log("--listen-unix %s: path too long", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
		agent_log("--listen-unix %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* /dev/<port> for the virtio-serial port with our name, into out. */
static bool find_serial_port(char *out, size_t size)
{
	DIR *d = opendir("/sys/class/virtio-ports");
	if (!d)
		return false;
	bool found = false;
	struct dirent *de;
	while (!found && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char path[300], name[64] = "";
		snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/name", de->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, name, sizeof(name) - 1);
		close(fd);
		name[n > 0 ? n : 0] = '\0';
		name[strcspn(name, "\n")] = '\0';
		if (!strcmp(name, SVA_SERIAL_PORT_NAME)) {
			snprintf(out, size, "/dev/%s", de->d_name);
			found = true;
		}
	}
	closedir(d);
	return found;
}

/* The port, non-blocking, with SIGIO when the host connects. */
static int open_serial(const char *path)
{
	int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		agent_log("opening %s: %s", path, strerror(errno));
		return -1;
	}
	fcntl(fd, F_SETOWN, getpid());
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC);
	return fd;
}

/* ---- the loop ---- */

typedef struct {
	agent_session *sessions; /* the serial session, when there is one, first */
	agent_session *serial;
	long long serial_retry_at; /* host gone: read the port again then */
	const char *serial_path;   /* "auto": not found yet */
	long long scan_until, next_scan;
	int listeners[2];
	int sig_fd;
	bool once; /* --fd: exit when the session ends */
} agent_loop;

static void add_session(agent_loop *l, agent_session *s)
{
	s->next = l->sessions;
	l->sessions = s;
}

static void remove_session(agent_loop *l, agent_session *s)
{
	for (agent_session **pp = &l->sessions; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	if (l->serial == s)
		l->serial = NULL;
	agent_session_free(s);
}

static void try_serial(agent_loop *l, long long now)
{
	char path[300];
	if (l->serial || !l->serial_path)
		return;
	if (!strcmp(l->serial_path, "auto")) {
		if (now > l->scan_until && now < l->next_scan)
			return;
		l->next_scan = now + SERIAL_RETRY_MS;
		if (!find_serial_port(path, sizeof(path)))
			return;
	} else {
		snprintf(path, sizeof(path), "%s", l->serial_path);
	}
	l->serial_path = NULL;
	int fd = open_serial(path);
	if (fd < 0)
		return;
	agent_session *s = agent_session_new(fd, true);
	if (!s) {
		close(fd);
		return;
	}
	l->serial = s;
	add_session(l, s);
}

static void accept_on(agent_loop *l, int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		agent_session *s = agent_session_new(fd, false);
		if (!s) {
			close(fd);
			return;
		}
		add_session(l, s);
	}
}

/* The serial port reads EOF while no host is connected: wait for SIGIO (or
 * the retry timer) instead of spinning on it. */
static void serial_host_gone(agent_loop *l, agent_session *s, long long now)
{
	if (!s->host_gone)
		agent_session_restart(s);
	s->host_gone = true;
	l->serial_retry_at = now + SERIAL_RETRY_MS;
}

typedef struct {
	enum { OWNER_LISTENER, OWNER_SIGNAL, OWNER_SESSION, OWNER_CHANNEL } kind;
	void *ptr;
	int n; /* channel: its entries from here */
} poll_owner;

static int run(agent_loop *l)
{
	static struct pollfd p[MAX_POLL];
	static poll_owner own[MAX_POLL];
	for (;;) {
		long long now = agent_now_ms();
		try_serial(l, now);
		int n = 0;
		long long deadline = 0;
		bool busy = false;
		for (int i = 0; i < 2; i++)
			if (l->listeners[i] >= 0) {
				own[n] = (poll_owner){OWNER_LISTENER, &l->listeners[i], 1};
				p[n++] = (struct pollfd){.fd = l->listeners[i], .events = POLLIN};
			}
		if (l->sig_fd >= 0) {
			own[n] = (poll_owner){OWNER_SIGNAL, NULL, 1};
			p[n++] = (struct pollfd){.fd = l->sig_fd, .events = POLLIN};
		}
		/* Files first: what they queue decides whether a session polls
		 * for POLLOUT. */
		for (agent_session *s = l->sessions; s; s = s->next)
			for (agent_channel *c = s->channels; c; c = c->next)
				if (c->kind != SVA_EXEC && agent_file_progress(c))
					busy = true;
		for (agent_session *s = l->sessions; s && n < MAX_POLL - 8; s = s->next) {
			if (s->host_gone) {
				deadline =
				    deadline && deadline < l->serial_retry_at ? deadline : l->serial_retry_at;
			} else {
				size_t queued = sva_queue_pending(&s->out);
				short ev =
				    (short)((queued ? POLLOUT : 0) | (queued <= AGENT_OUTQ_MAX ? POLLIN : 0));
				own[n] = (poll_owner){OWNER_SESSION, s, 1};
				p[n++] = (struct pollfd){.fd = s->fd, .events = ev};
			}
			for (agent_channel *c = s->channels; c && n < MAX_POLL - 8; c = c->next) {
				if (c->kind != SVA_EXEC)
					continue;
				int k = agent_exec_pollfds(c, p + n, MAX_POLL - n);
				own[n] = (poll_owner){OWNER_CHANNEL, c, k};
				n += k;
				agent_exec_deadline(c, &deadline);
			}
		}
		if (l->serial_path && !strcmp(l->serial_path, "auto")) {
			long long scan = now <= l->scan_until ? now + 100 : l->next_scan;
			deadline = deadline && deadline < scan ? deadline : scan;
		}
		int timeout = busy ? 0 : deadline ? (int)(deadline > now ? deadline - now : 0) : -1;
		if (poll(p, (nfds_t)n, timeout) < 0 && errno != EINTR) {
			agent_log("poll: %s", strerror(errno));
			return 1;
		}
		now = agent_now_ms();
		for (int i = 0; i < n; i += own[i].n ? own[i].n : 1) {
			if (own[i].kind == OWNER_CHANNEL) {
				agent_exec_progress(own[i].ptr, p + i, own[i].n, now);
				continue;
			}
			if (!p[i].revents)
				continue;
			if (own[i].kind == OWNER_LISTENER) {
				accept_on(l, *(int *)own[i].ptr);
			} else if (own[i].kind == OWNER_SIGNAL) {
				struct signalfd_siginfo si;
				while (read(l->sig_fd, &si, sizeof(si)) == sizeof(si))
					;
				if (l->serial)
					l->serial->host_gone = false;
			} else {
				agent_session *s = own[i].ptr;
				if ((p[i].revents & POLLOUT) && agent_session_flush(s) < 0)
					s->closing = true;
				if ((p[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
				    agent_session_read(s) < 0) {
					if (s->serial)
						serial_host_gone(l, s, now);
					else
						s->closing = true;
				}
			}
		}
		/* Exec channels without fds (deadlines) and the serial retry. */
		for (agent_session *s = l->sessions; s; s = s->next) {
			for (agent_channel *c = s->channels; c; c = c->next)
				if (c->kind == SVA_EXEC)
					agent_exec_progress(c, NULL, 0, now);
			agent_session_reap(s);
			if (s->host_gone && now >= l->serial_retry_at)
				s->host_gone = false;
			if (!s->host_gone && sva_queue_pending(&s->out) && agent_session_flush(s) < 0 &&
			    !s->serial)
				s->closing = true;
		}
		for (agent_session *s = l->sessions, *next; s; s = next) {
			next = s->next;
			if (s->closing) {
				/* One last try to get an ERROR out; a peer that does not
				 * read does not keep the session. */
				agent_session_flush(s);
				if (s->serial) {
					s->closing = false;
					agent_session_restart(s);
				} else {
					remove_session(l, s);
					if (l->once)
						return 0;
				}
			}
		}
	}
}

int main(int argc, char **argv)
{
	agent_args a;
	if (parse_args(argc, argv, &a) != 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	agent_loop l = {.listeners = {-1, -1}, .sig_fd = -1};
	sigset_t io;
	sigemptyset(&io);
	sigaddset(&io, SIGIO);
	sigprocmask(SIG_BLOCK, &io, NULL);
	l.sig_fd = signalfd(-1, &io, SFD_CLOEXEC | SFD_NONBLOCK);

	if (a.fd >= 0) {
		fcntl(a.fd, F_SETFD, FD_CLOEXEC);
		fcntl(a.fd, F_SETFL, fcntl(a.fd, F_GETFL) | O_NONBLOCK);
		agent_session *s = agent_session_new(a.fd, false);
		if (!s)
			return 1;
		add_session(&l, s);
		l.once = true;
		a.vsock_port = 0;
		a.serial = "none";
	}
	if (a.vsock_port > 0 && (l.listeners[0] = listen_vsock(a.vsock_port)) >= 0)
		agent_log("listening on vsock port %d", a.vsock_port);
	if (a.listen_unix && (l.listeners[1] = listen_unix(a.listen_unix)) < 0)
		return 1;
	if (strcmp(a.serial, "none") != 0) {
		l.serial_path = a.serial;
		l.scan_until = agent_now_ms() + SERIAL_SCAN_FOR_MS;
		try_serial(&l, agent_now_ms());
	}
	if (a.chroot_dir && (chroot(a.chroot_dir) < 0 || chdir("/") < 0)) {
		agent_log("chroot %s: %s", a.chroot_dir, strerror(errno));
		return 1;
	}
	if (l.listeners[0] < 0 && l.listeners[1] < 0 && !l.sessions && !l.serial_path) {
		agent_log("no transport: no vsock, no virtio-serial port %s", SVA_SERIAL_PORT_NAME);
		return 1;
	}
	return run(&l);
}
