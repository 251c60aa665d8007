/* EXEC channels: one process per channel, in its own process group (its own
 * session on a pseudo-terminal), with stdin/stdout/stderr on pipes or the
 * terminal's master side, and its exit reported after all of its output.
 *
 * The child reports a failure to start (chdir, credentials, exec) through a
 * close-on-exec pipe before anything is sent, so the host gets either
 * STARTED or an ERROR with the errno, never both. Output is read only while
 * the channel's send window and the session's queue have room: the pipe
 * fills and the command blocks, which is the flow control the host sees.
 * Stdin is held only up to the window the host was given. */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

/* Data frames read from one pipe per turn of the loop. */
#define PUMP_FRAMES 4
/* Output pipes this big let a command write on while the host catches up
 * within the window (F_SETPIPE_SZ; the default is 64 KiB). */
#define PIPE_BYTES (256 << 10)

/* The child's stack until it execs (it calls no library function that
 * needs much). */
#define CHILD_STACK (64 << 10)

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Where a child failed before exec (the message names it). */
enum { STAGE_EXEC, STAGE_CWD, STAGE_ROOT, STAGE_CREDS, STAGE_TTY, STAGE_RLIMIT, STAGE_HOSTNAME, STAGE_SETUP };

typedef struct {
	pid_t pid;
	int pidfd;
	bool reaped;
	int status;
	bool tty;
	int in_fd, out_fd, err_fd; /* -1 = closed; with a tty in_fd == out_fd (the master) */
	bool stdin_eof;		   /* STDIN_EOF came: close after the pending bytes */
	bool out_eof, err_eof;
	uint8_t *in_buf;
	size_t in_len;
	char last_in;	   /* the last stdin byte written (tty EOF handling) */
	long long kill_at; /* timeout_ms deadline; 0 = none */
	bool timed_out;
	long long exited_at, last_data_at;
	char *argv0;
} exec_state;

typedef struct {
	char **argv, **env;
	char *cwd, *root, *hostname;
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	size_t n_groups;
	bool tty;
	struct winsize ws;
	bool no_new_privs;
	struct {
		int resource;
		struct rlimit lim;
	} rlimits[16];
	size_t n_rlimits;
} exec_request;

static void request_free(exec_request *r)
{
	for (size_t i = 0; r->argv && r->argv[i]; i++)
		free(r->argv[i]);
	for (size_t i = 0; r->env && r->env[i]; i++)
		free(r->env[i]);
	free(r->argv);
	free(r->env);
	free(r->cwd);
	free(r->root);
	free(r->hostname);
	free(r->groups);
}

/* Every field with tag as a NULL-terminated vector of C strings; extra
 * slots are left free at the end. -1 (errno) on a NUL inside a value. */
static int string_vector(const uint8_t *p, size_t len, uint16_t tag, uint32_t count, size_t extra,
			 char ***out)
{
	char **v = calloc(count + extra + 1, sizeof(char *));
	if (!v)
		return -1;
	*out = v;
	size_t pos = 0, i = 0;
	const uint8_t *val;
	uint32_t vlen;
	while (sva_tlv_next(p, len, tag, &pos, &val, &vlen) == 1) {
		if (memchr(val, '\0', vlen)) {
			errno = EINVAL;
			return -1;
		}
		if (!(v[i] = strndup((const char *)val, vlen)))
			return -1;
		i++;
	}
	return 0;
}

static bool env_has(char **env, const char *key)
{
	size_t klen = strlen(key);
	for (size_t i = 0; env[i]; i++)
		if (!strncmp(env[i], key, klen) && env[i][klen] == '=')
			return true;
	return false;
}

static char *opt_string(const sva_field *f, const char *dflt)
{
	if (!f->present)
		return dflt ? strdup(dflt) : NULL;
	return agent_path(f);
}

/* The request from the EXEC fields; an errno and a message when invalid. */
static int parse_request(exec_request *r, const sva_field *v, const uint8_t *p, size_t len, char *why,
			 size_t why_size)
{
	memset(r, 0, sizeof(*r));
	if (v[SVA_F_EXEC_ARG].count == 0) {
		snprintf(why, why_size, "no command");
		return EINVAL;
	}
	if (string_vector(p, len, SVA_T_EXEC_ARG, v[SVA_F_EXEC_ARG].count, 0, &r->argv) != 0 ||
	    string_vector(p, len, SVA_T_EXEC_ENV, v[SVA_F_EXEC_ENV].count, 2, &r->env) != 0) {
		snprintf(why, why_size, "an argument or variable with a NUL byte");
		return errno == ENOMEM ? ENOMEM : EINVAL;
	}
	r->uid = v[SVA_F_EXEC_UID].present ? (uid_t)v[SVA_F_EXEC_UID].num : 0;
	r->gid = v[SVA_F_EXEC_GID].present ? (gid_t)v[SVA_F_EXEC_GID].num : 0;
	size_t n_env = 0;
	while (r->env[n_env])
		n_env++;
	/* Each checked at once: a NULL in the middle would hide what follows
	 * from request_free. */
	if ((!env_has(r->env, "PATH") && !(r->env[n_env++] = strdup(DEFAULT_PATH))) ||
	    (!env_has(r->env, "HOME") &&
	     !(r->env[n_env++] = strdup(r->uid == 0 ? "HOME=/root" : "HOME=/")))) {
		snprintf(why, why_size, "out of memory");
		return ENOMEM;
	}
	errno = 0;
	r->cwd = opt_string(&v[SVA_F_EXEC_CWD], "/");
	r->root = opt_string(&v[SVA_F_EXEC_ROOT], NULL);
	r->hostname = opt_string(&v[SVA_F_EXEC_HOSTNAME], NULL);
	if (!r->cwd || (v[SVA_F_EXEC_ROOT].present && !r->root) ||
	    (v[SVA_F_EXEC_HOSTNAME].present && !r->hostname)) {
		snprintf(why, why_size, "cwd, root or hostname empty or with a NUL byte");
		return errno == ENOMEM ? ENOMEM : EINVAL;
	}
	uint32_t n_groups = v[SVA_F_EXEC_GROUPS].count;
	if (n_groups) {
		r->groups = calloc(n_groups, sizeof(gid_t));
		if (!r->groups)
			return ENOMEM;
		size_t pos = 0;
		const uint8_t *val;
		uint32_t vlen;
		while (sva_tlv_next(p, len, SVA_T_EXEC_GROUPS, &pos, &val, &vlen) == 1)
			r->groups[r->n_groups++] = (gid_t)sva_get_u32(val);
	}
	bool rows = v[SVA_F_EXEC_TTY_ROWS].present, cols = v[SVA_F_EXEC_TTY_COLS].present;
	if (rows != cols) {
		snprintf(why, why_size, "tty_rows and tty_cols come together");
		return EINVAL;
	}
	r->tty = rows;
	r->ws.ws_row = (unsigned short)(v[SVA_F_EXEC_TTY_ROWS].num ? v[SVA_F_EXEC_TTY_ROWS].num : 24);
	r->ws.ws_col = (unsigned short)(v[SVA_F_EXEC_TTY_COLS].num ? v[SVA_F_EXEC_TTY_COLS].num : 80);
	r->no_new_privs = v[SVA_F_EXEC_NO_NEW_PRIVS].num != 0;
	size_t pos = 0;
	const uint8_t *val;
	uint32_t vlen;
	while (sva_tlv_next(p, len, SVA_T_EXEC_RLIMIT, &pos, &val, &vlen) == 1) {
		if (vlen != 20 || r->n_rlimits == sizeof(r->rlimits) / sizeof(r->rlimits[0])) {
			snprintf(why, why_size, "an rlimit is not 20 bytes, or more than 16 of them");
			return EINVAL;
		}
		r->rlimits[r->n_rlimits].resource = (int)sva_get_u32(val);
		r->rlimits[r->n_rlimits].lim.rlim_cur = (rlim_t)sva_get_u64(val + 4);
		r->rlimits[r->n_rlimits].lim.rlim_max = (rlim_t)sva_get_u64(val + 12);
		r->n_rlimits++;
	}
	return 0;
}

__attribute__((noreturn)) static void child_fail(int fd, int stage)
{
	int msg[2] = {stage, errno};
	if (write(fd, msg, sizeof(msg)) < 0)
		_exit(127);
	_exit(127);
}

/* execvp with the PATH of envp (not ours) and without touching our memory
 * (the child shares it until exec, see start()). Returns with errno set:
 * EACCES if some candidate was not executable, else the last error. */
static void exec_search(const char *file, char *const *argv, char *const *envp)
{
	if (strchr(file, '/')) {
		execve(file, argv, envp);
		return;
	}
	const char *path = DEFAULT_PATH + 5;
	for (size_t i = 0; envp[i]; i++)
		if (!strncmp(envp[i], "PATH=", 5))
			path = envp[i] + 5;
	bool denied = false;
	char buf[4096];
	size_t flen = strlen(file);
	for (const char *p = path;; p++) {
		const char *end = strchr(p, ':');
		size_t dlen = end ? (size_t)(end - p) : strlen(p);
		if (dlen + flen + 2 <= sizeof(buf)) {
			memcpy(buf, p, dlen);
			buf[dlen] = '/';
			memcpy(buf + (dlen ? dlen + 1 : 0), file, flen + 1);
			execve(dlen ? buf : file, argv, envp);
			if (errno == EACCES)
				denied = true;
			else if (errno != ENOENT && errno != ENOTDIR)
				return;
		}
		if (!end)
			break;
		p = end;
	}
	errno = denied ? EACCES : ENOENT;
}

typedef struct {
	const exec_request *r;
	int report, in, out, err;
	const char *slave;
} child_args;

/* The child, on a stack of its own in our memory until it execs (clone
 * with CLONE_VM | CLONE_VFORK): only system calls, no allocation, nothing
 * written that the parent reads. Under TCG this is several times cheaper
 * than fork, whose copy-on-write faults the parent would then pay. */
static int child(void *arg)
{
	const child_args *a = arg;
	const exec_request *r = a->r;
	int err_fd = a->report, in_fd = a->in, out_fd = a->out, errout_fd = a->err;
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	/* The only disposition of ours that would survive exec. */
	signal(SIGPIPE, SIG_DFL);
	if (r->tty) {
		if (setsid() < 0)
			child_fail(err_fd, STAGE_TTY);
		int t = open(a->slave, O_RDWR);
		if (t < 0 || ioctl(t, TIOCSCTTY, 0) < 0)
			child_fail(err_fd, STAGE_TTY);
		in_fd = out_fd = errout_fd = t;
	} else {
		setpgid(0, 0);
		if (in_fd < 0 && (in_fd = open("/dev/null", O_RDONLY)) < 0)
			child_fail(err_fd, STAGE_SETUP);
	}
	if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(errout_fd, 2) < 0)
		child_fail(err_fd, STAGE_SETUP);
	if (r->hostname && (unshare(CLONE_NEWUTS) < 0 || sethostname(r->hostname, strlen(r->hostname)) < 0))
		child_fail(err_fd, STAGE_HOSTNAME);
	for (size_t i = 0; i < r->n_rlimits; i++)
		if (setrlimit(r->rlimits[i].resource, &r->rlimits[i].lim) < 0)
			child_fail(err_fd, STAGE_RLIMIT);
	if (r->root && (chroot(r->root) < 0 || chdir("/") < 0))
		child_fail(err_fd, STAGE_ROOT);
	/* Credentials: only what differs from ours (an unprivileged agent on
	 * a host can still run commands as itself). */
	if (getuid() == 0 && setgroups(r->n_groups, r->groups) < 0)
		child_fail(err_fd, STAGE_CREDS);
	if ((getgid() != r->gid && setgid(r->gid) < 0) || (getuid() != r->uid && setuid(r->uid) < 0))
		child_fail(err_fd, STAGE_CREDS);
	if (chdir(r->cwd) < 0)
		child_fail(err_fd, STAGE_CWD);
	if (r->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		child_fail(err_fd, STAGE_SETUP);
	exec_search(r->argv[0], r->argv, r->env);
	child_fail(err_fd, STAGE_EXEC);
	return 127;
}

static const char *stage_text(int stage)
{
	switch (stage) {
	case STAGE_EXEC:
		return "exec";
	case STAGE_CWD:
		return "cwd";
	case STAGE_ROOT:
		return "root";
	case STAGE_CREDS:
		return "uid/gid";
	case STAGE_TTY:
		return "terminal";
	case STAGE_RLIMIT:
		return "rlimit";
	case STAGE_HOSTNAME:
		return "hostname";
	default:
		return "setting up";
	}
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void state_close(exec_state *x)
{
	if (x->tty && x->in_fd == x->out_fd)
		x->in_fd = -1;
	close_fd(&x->in_fd);
	close_fd(&x->out_fd);
	close_fd(&x->err_fd);
	free(x->in_buf);
	x->in_buf = NULL;
	x->in_len = 0;
}

/* Opens the pseudo-terminal; the slave's name into slave. */
static int open_pty(const struct winsize *ws, char *slave, size_t size)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return -1;
	if (grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, slave, size) != 0 ||
	    ioctl(m, TIOCSWINSZ, ws) < 0) {
		int e = errno;
		close(m);
		errno = e;
		return -1;
	}
	return m;
}

static void send_started(agent_channel *c, pid_t pid)
{
	uint8_t buf[SVA_HEADER_SIZE + 16];
	sva_msg m;
	sva_msg_begin(&m, buf, sizeof(buf), SVA_STARTED, c->id);
	sva_msg_u32(&m, 1, (uint32_t)pid);
	agent_send_msg(c->s, &m);
}

/* Starts the process; 0, or an errno with why filled in. */
static int start(agent_channel *c, exec_state *x, const exec_request *r, char *why, size_t why_size)
{
	int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1}, report[2] = {-1, -1};
	char slave[128] = "";
	int e = 0;
	if (pipe2(report, O_CLOEXEC) < 0)
		goto fail;
	if (r->tty) {
		if ((x->out_fd = open_pty(&r->ws, slave, sizeof(slave))) < 0) {
			snprintf(why, why_size, "opening a pseudo-terminal: %s", strerror(errno));
			e = errno;
			goto out;
		}
		x->in_fd = x->out_fd;
		x->err_eof = true;
	} else {
		if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
			goto fail;
		if (x->in_fd == -2 && pipe2(in, O_CLOEXEC) < 0)
			goto fail;
	}
	child_args ca = {
	    .r = r, .report = report[1], .in = in[0], .out = out[1], .err = err[1], .slave = slave};
	char *stack = malloc(CHILD_STACK);
	pid_t pid = stack ? clone(child, stack + CHILD_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD, &ca) : -1;
	free(stack); /* CLONE_VFORK: the child has exec'd or exited by now */
	if (pid < 0)
		goto fail;
	close_fd(&report[1]);
	close_fd(&in[0]);
	close_fd(&out[1]);
	close_fd(&err[1]);
	if (!r->tty) {
		x->in_fd = in[1];
		x->out_fd = out[0];
		x->err_fd = err[0];
		in[1] = out[0] = err[0] = -1;
	}
	x->pid = pid;
	int msg[2];
	ssize_t n;
	while ((n = read(report[0], msg, sizeof(msg))) < 0 && errno == EINTR)
		;
	if (n == sizeof(msg)) {
		waitpid(pid, NULL, 0);
		x->pid = 0;
		x->reaped = true;
		e = msg[1];
		if (msg[0] == STAGE_EXEC)
			snprintf(why, why_size, "%s: %s", x->argv0, strerror(e));
		else if (msg[0] == STAGE_CWD)
			snprintf(why, why_size, "cwd %s: %s", r->cwd, strerror(e));
		else
			snprintf(why, why_size, "%s: %s", stage_text(msg[0]), strerror(e));
		goto out;
	}
	x->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (x->pidfd < 0) {
		e = errno;
		snprintf(why, why_size, "pidfd_open: %s (the agent needs Linux 5.3 or later)", strerror(e));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		x->reaped = true;
		goto out;
	}
	int fds[] = {x->in_fd, x->out_fd, x->err_fd};
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0)
			fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
	if (!r->tty)
		fcntl(x->out_fd, F_SETPIPE_SZ, PIPE_BYTES);
	if (x->in_fd < 0)
		x->stdin_eof = true;
	send_started(c, pid);
	goto out;
fail:
	e = errno;
	snprintf(why, why_size, "starting %s: %s", x->argv0, strerror(e));
out:;
	int all[] = {in[0], in[1], out[0], out[1], err[0], err[1], report[0], report[1]};
	for (size_t i = 0; i < sizeof(all) / sizeof(*all); i++)
		if (all[i] >= 0)
			close(all[i]);
	return e;
}

void agent_exec_open(agent_channel *c, const sva_field *v, const uint8_t *payload, size_t len)
{
	exec_state *x = calloc(1, sizeof(*x));
	exec_request r;
	char why[600] = "";
	int e = 0;
	if (!x) {
		agent_send_error(c->s, c->id, ENOMEM, "out of memory");
		return;
	}
	c->kind_state = x;
	x->in_fd = x->out_fd = x->err_fd = x->pidfd = -1;
	if ((e = parse_request(&r, v, payload, len, why, sizeof(why))) == 0) {
		x->argv0 = strdup(r.argv[0]);
		x->tty = r.tty;
		if (v[SVA_F_EXEC_STDIN].num)
			x->in_fd = -2; /* wanted: start() makes the pipe */
		if (v[SVA_F_EXEC_TIMEOUT].num)
			x->kill_at = agent_now_ms() + (long long)v[SVA_F_EXEC_TIMEOUT].num;
		e = x->argv0 ? start(c, x, &r, why, sizeof(why)) : ENOMEM;
	}
	request_free(&r);
	if (e) {
		x->reaped = true;
		agent_send_error(c->s, c->id, e, "%s", why[0] ? why : strerror(e));
	}
}

/* Writes what stdin holds; closes it (or sends the terminal's EOF) once
 * STDIN_EOF came and everything went. */
static void flush_stdin(agent_channel *c, exec_state *x)
{
	while (x->in_len && x->in_fd >= 0) {
		ssize_t n = write(x->in_fd, x->in_buf, x->in_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) { /* the command closed its stdin: drop what is left */
			agent_channel_consumed(c, x->in_len);
			x->in_len = 0;
			if (!x->tty)
				close_fd(&x->in_fd);
			break;
		}
		x->last_in = (char)x->in_buf[n - 1];
		memmove(x->in_buf, x->in_buf + n, x->in_len - (size_t)n);
		x->in_len -= (size_t)n;
		agent_channel_consumed(c, (size_t)n);
	}
	if (!x->stdin_eof || x->in_len || x->in_fd < 0)
		return;
	if (x->tty) {
		/* EOF on a terminal is its VEOF character at the start of a line. */
		struct termios t;
		char eof = tcgetattr(x->in_fd, &t) == 0 ? (char)t.c_cc[VEOF] : 4;
		char two[2] = {eof, eof};
		size_t n = x->last_in && x->last_in != '\n' ? 2 : 1;
		if (write(x->in_fd, two, n) < 0)
			agent_log("writing EOF to a terminal: %s", strerror(errno));
		x->in_fd = -1;
	} else {
		close_fd(&x->in_fd);
	}
}

static void exec_unexpected(agent_channel *c, const sva_frame *f)
{
	agent_exec_cancel(c);
	agent_send_error(c->s, c->id, EPROTO, "%s is not a message for an exec channel",
			 sva_type_name(f->type));
}

void agent_exec_frame(agent_channel *c, const sva_frame *f)
{
	exec_state *x = c->kind_state;
	sva_field v[2];
	switch (f->type) {
	case SVA_STDIN: {
		if (x->stdin_eof || x->in_fd < 0) { /* no stdin (any more): drop */
			agent_channel_consumed(c, f->length);
			return;
		}
		uint8_t *grown = realloc(x->in_buf, x->in_len + f->length + 1);
		if (!grown) {
			agent_exec_cancel(c);
			agent_send_error(c->s, c->id, ENOMEM, "out of memory for stdin");
			return;
		}
		x->in_buf = grown;
		memcpy(x->in_buf + x->in_len, f->payload, f->length);
		x->in_len += f->length;
		flush_stdin(c, x);
		return;
	}
	case SVA_STDIN_EOF:
		x->stdin_eof = true;
		flush_stdin(c, x);
		return;
	case SVA_SIGNAL:
		if (sva_tlv_parse(f->payload, f->length, sva_spec_signal, sva_spec_signal_n, v) != 0 ||
		    !v[0].present)
			exec_unexpected(c, f);
		else if (!x->reaped)
			kill(-x->pid, (int)v[0].num); /* an unknown signal number does nothing */
		return;
	case SVA_RESIZE: {
		if (sva_tlv_parse(f->payload, f->length, sva_spec_resize, sva_spec_resize_n, v) != 0 ||
		    !v[0].present || !v[1].present) {
			exec_unexpected(c, f);
			return;
		}
		struct winsize ws = {.ws_row = (unsigned short)v[0].num, .ws_col = (unsigned short)v[1].num};
		if (x->tty && x->out_fd >= 0 && ioctl(x->out_fd, TIOCSWINSZ, &ws) < 0)
			agent_log("resizing a terminal: %s", strerror(errno));
		return;
	}
	default:
		exec_unexpected(c, f);
	}
}

void agent_exec_cancel(agent_channel *c)
{
	exec_state *x = c->kind_state;
	if (!x)
		return;
	if (!x->reaped && x->pid > 0) {
		kill(-x->pid, SIGKILL);
		kill(x->pid, SIGKILL);
	}
	state_close(x);
}

bool agent_exec_release(agent_channel *c)
{
	exec_state *x = c->kind_state;
	if (!x)
		return true;
	if (!x->reaped && x->pid > 0) {
		if (waitpid(x->pid, &x->status, WNOHANG) == 0)
			return false;
		x->reaped = true;
	}
	state_close(x);
	close_fd(&x->pidfd);
	free(x->argv0);
	free(x);
	c->kind_state = NULL;
	return true;
}

int agent_exec_pollfds(agent_channel *c, struct pollfd *p, int max)
{
	exec_state *x = c->kind_state;
	int n = 0;
	if (!x || max < 4)
		return 0;
	if (x->pidfd >= 0 && !x->reaped)
		p[n++] = (struct pollfd){.fd = x->pidfd, .events = POLLIN};
	if (c->ended)
		return n;
	bool room = c->send.credit > 0 && agent_session_can_produce(c->s);
	if (x->out_fd >= 0 && !x->out_eof && room)
		p[n++] = (struct pollfd){.fd = x->out_fd, .events = POLLIN};
	if (x->err_fd >= 0 && !x->err_eof && room)
		p[n++] = (struct pollfd){.fd = x->err_fd, .events = POLLIN};
	if (x->in_fd >= 0 && x->in_len && !(x->tty && x->out_eof))
		p[n++] = (struct pollfd){.fd = x->in_fd, .events = POLLOUT};
	return n;
}

/* Reads what fd has into data frames, a few at most (so that one write to
 * the host carries several: each write costs a virtqueue kick); false at
 * EOF. */
static bool pump_output(agent_channel *c, exec_state *x, int fd, uint8_t type, long long now)
{
	for (int i = 0; i < PUMP_FRAMES && agent_session_can_produce(c->s); i++) {
		size_t want = c->send.credit < SVA_MAX_PAYLOAD ? (size_t)c->send.credit : SVA_MAX_PAYLOAD;
		uint8_t *dst = want ? agent_reserve_data(c->s, want) : NULL;
		if (!dst)
			return true;
		ssize_t n = read(fd, dst, want);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return true;
		if (n <= 0) /* EOF, or EIO from a terminal whose other side is closed */
			return false;
		sva_send_take(&c->send, (size_t)n);
		agent_commit_data(c->s, type, c->id, (size_t)n);
		x->last_data_at = now;
		if ((size_t)n < want)
			return true;
	}
	return true;
}

static void send_exit(agent_channel *c, exec_state *x)
{
	uint8_t buf[SVA_HEADER_SIZE + 40];
	sva_msg m;
	sva_msg_begin(&m, buf, sizeof(buf), SVA_EXIT, c->id);
	if (WIFSIGNALED(x->status))
		sva_msg_u32(&m, 2, (uint32_t)WTERMSIG(x->status));
	else
		sva_msg_u32(&m, 1, (uint32_t)WEXITSTATUS(x->status));
	if (x->timed_out)
		sva_msg_u32(&m, 3, 1);
	agent_send_msg(c->s, &m);
	c->ended = true;
	state_close(x);
}

/* EXIT is due once the process is gone and its output is all read: both
 * at EOF, or nothing came for AGENT_DRAIN_IDLE_MS (a background child holds
 * the pipes), or AGENT_DRAIN_MAX_MS passed with window to send. */
static bool exit_due(const agent_channel *c, const exec_state *x, long long now)
{
	if (!x->reaped)
		return false;
	if ((x->out_fd < 0 || x->out_eof) && (x->err_fd < 0 || x->err_eof))
		return true;
	if (c->send.credit == 0)
		return false;
	long long quiet_since = x->last_data_at > x->exited_at ? x->last_data_at : x->exited_at;
	return now - quiet_since >= AGENT_DRAIN_IDLE_MS || now - x->exited_at >= AGENT_DRAIN_MAX_MS;
}

void agent_exec_progress(agent_channel *c, const struct pollfd *p, int n, long long now)
{
	exec_state *x = c->kind_state;
	if (!x)
		return;
	for (int i = 0; i < n; i++) {
		if (!p[i].revents)
			continue;
		if (p[i].fd == x->pidfd && !x->reaped) {
			if (waitpid(x->pid, &x->status, WNOHANG) == x->pid) {
				x->reaped = true;
				x->exited_at = now;
			}
		} else if (c->ended) {
			continue;
		} else if (p[i].fd == x->out_fd && (p[i].revents & (POLLIN | POLLHUP | POLLERR))) {
			x->out_eof = !pump_output(c, x, x->out_fd, SVA_STDOUT, now);
		} else if (p[i].fd == x->err_fd && (p[i].revents & (POLLIN | POLLHUP | POLLERR))) {
			x->err_eof = !pump_output(c, x, x->err_fd, SVA_STDERR, now);
		} else if (p[i].fd == x->in_fd) {
			flush_stdin(c, x);
		}
	}
	if (c->ended)
		return;
	if (x->kill_at && now >= x->kill_at && !x->reaped) {
		kill(-x->pid, SIGKILL);
		kill(x->pid, SIGKILL);
		x->timed_out = true;
		x->kill_at = 0;
	}
	if (exit_due(c, x, now))
		send_exit(c, x);
}

void agent_exec_deadline(const agent_channel *c, long long *deadline)
{
	const exec_state *x = c->kind_state;
	if (!x || c->ended)
		return;
	long long d = 0;
	if (x->kill_at && !x->reaped)
		d = x->kill_at;
	if (x->reaped) {
		long long quiet_since = x->last_data_at > x->exited_at ? x->last_data_at : x->exited_at;
		d = quiet_since + AGENT_DRAIN_IDLE_MS;
	}
	if (d && (*deadline == 0 || d < *deadline))
		*deadline = d;
}
