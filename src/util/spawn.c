/* Spawning and waiting without a shell. posix_spawn with an explicit argument
 * vector; stdio and inherited fds set with file actions; pidfds for waits with
 * timeouts. Nothing here reads PATH unless the caller asks (search_path). */
#include "util/spawn.h"

#include "util/error.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

long long sv_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int pidfd_open_for(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static bool is_kept(const sv_spawn_opts *opts, int fd)
{
	for (int i = 0; i < opts->n_keep_fds; i++)
		if (opts->keep_fds[i] == fd)
			return true;
	return false;
}

/* The highest fd the child keeps (2 without keep_fds): everything above it,
 * and everything from 3 up that is not kept, is closed in the child. A
 * library cannot know what its caller left open without O_CLOEXEC; a VMM
 * holding it for weeks (a pipe someone reads to EOF, a listening socket)
 * would be a leak nobody could find. */
static int highest_kept(const sv_spawn_opts *opts)
{
	int top = STDERR_FILENO;
	for (int i = 0; i < opts->n_keep_fds; i++)
		if (opts->keep_fds[i] > top)
			top = opts->keep_fds[i];
	return top;
}

/* The child's side of a forked spawn (a parent-death signal needs code
 * between fork and exec, which posix_spawn has no room for). Async-signal-safe
 * calls only: another thread of the parent may hold any lock. Reports the
 * errno of what failed on err_fd and exits. */
static void forked_child(const sv_spawn_opts *opts, pid_t parent, int err_fd, int gate_fd, char *const *argv,
			 char *const *envp)
{
	int e = 0;
	/* The parent may have died before the prctl, leaving us init's. */
	if (prctl(PR_SET_PDEATHSIG, opts->parent_death_signal) != 0) {
		e = errno;
		goto fail;
	}
	if (getppid() != parent) {
		e = ESRCH;
		goto fail;
	}
	/* Until the parent has done what it must before we run (before_exec):
	 * one byte to go on, EOF (refused, or the parent died) to give up. */
	if (gate_fd >= 0) {
		char go = 0;
		ssize_t n;
		while ((n = read(gate_fd, &go, 1)) < 0 && errno == EINTR)
			;
		if (n != 1) {
			e = ECANCELED;
			goto fail;
		}
	}
	sv_reset_signals();
	if (opts->new_session && setsid() < 0) {
		e = errno;
		goto fail;
	}
	const int sources[3] = {opts->stdin_fd, opts->stdout_fd, opts->stderr_fd};
	for (int i = 0; i < 3; i++) {
		int fd = sources[i];
		if (fd < 0 && (fd = open("/dev/null", i == 0 ? O_RDONLY : O_WRONLY)) < 0) {
			e = errno;
			goto fail;
		}
		if (fd != i && dup2(fd, i) < 0) {
			e = errno;
			goto fail;
		}
		if (sources[i] < 0 && fd != i)
			close(fd);
	}
	for (int i = 0; i < opts->n_keep_fds; i++)
		if (fcntl(opts->keep_fds[i], F_SETFD, 0) != 0) {
			e = errno;
			goto fail;
		}
	/* Not err_fd: it is close-on-exec, and still needed until then. */
	int top = highest_kept(opts);
	for (int fd = STDERR_FILENO + 1; fd < top; fd++)
		if (fd != err_fd && !is_kept(opts, fd))
			close(fd);
	if (err_fd > top) {
		if (err_fd > top + 1)
			close_range((unsigned)top + 1, (unsigned)err_fd - 1, 0);
		close_range((unsigned)err_fd + 1, ~0U, 0);
	} else {
		close_range((unsigned)top + 1, ~0U, 0);
	}
	if (opts->cwd && chdir(opts->cwd) != 0) {
		e = errno;
		goto fail;
	}
	if (opts->search_path)
		execvpe(argv[0], argv, envp);
	else
		execve(argv[0], argv, envp);
	e = errno;
fail:
	if (write(err_fd, &e, sizeof(e)) < 0) {
		/* nobody left to tell */
	}
	_exit(127);
}

/* fork + exec, for a parent-death signal or a before_exec step. Returns 0
 * or an errno; ECANCELED with *gate_rc set when before_exec refused. */
static int spawn_forked(const sv_spawn_opts *opts, char *const *argv, char *const *envp, pid_t *pid_out,
			int *gate_rc)
{
	int p[2], gate[2] = {-1, -1};
	if (pipe2(p, O_CLOEXEC) != 0)
		return errno;
	/* A socket pair, not a pipe: sending to a child that already failed
	 * must not raise SIGPIPE in the caller. */
	if (opts->before_exec && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, gate) != 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		return e;
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		if (gate[0] >= 0) {
			close(gate[0]);
			close(gate[1]);
		}
		return e;
	}
	if (pid == 0) {
		close(p[0]);
		if (gate[1] >= 0)
			close(gate[1]);
		forked_child(opts, parent, p[1], gate[0], argv, envp);
	}
	close(p[1]);
	if (gate[0] >= 0) {
		close(gate[0]);
		*gate_rc = opts->before_exec(pid, opts->before_exec_arg);
		/* Without the byte the child gives up. One that cannot take it
		 * failed already and says why on p. */
		if (*gate_rc == 0)
			(void)send(gate[1], "g", 1, MSG_NOSIGNAL);
		close(gate[1]);
	}
	/* EOF: the exec succeeded (the pipe was close-on-exec). */
	int e = 0;
	ssize_t n;
	while ((n = read(p[0], &e, sizeof(e))) < 0 && errno == EINTR)
		;
	close(p[0]);
	if (n == (ssize_t)sizeof(e)) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		return e ? e : EIO;
	}
	*pid_out = pid;
	return 0;
}

static int spawn_posix(const sv_spawn_opts *opts, char *const *argv, char *const *envp, pid_t *pid_out)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);

	const int targets[3] = { STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO };
	const int sources[3] = { opts->stdin_fd, opts->stdout_fd, opts->stderr_fd };
	for (int i = 0; i < 3; i++) {
		if (sources[i] < 0)
			posix_spawn_file_actions_addopen(&fa, targets[i], "/dev/null",
							 i == 0 ? O_RDONLY : O_WRONLY, 0);
		else if (sources[i] != targets[i])
			posix_spawn_file_actions_adddup2(&fa, sources[i], targets[i]);
	}
	/* dup2 of an fd onto itself clears FD_CLOEXEC in the child only (glibc
	 * >= 2.29). Clearing it in the parent instead would hand the fd to any
	 * child another thread spawns meanwhile. */
	for (int i = 0; i < opts->n_keep_fds; i++)
		posix_spawn_file_actions_adddup2(&fa, opts->keep_fds[i], opts->keep_fds[i]);
	/* After the dup2s, which may read any of them. A close of an fd that is
	 * not open is ignored (glibc fails only on fds out of range). */
	int top = highest_kept(opts);
	for (int fd = STDERR_FILENO + 1; fd < top; fd++)
		if (!is_kept(opts, fd))
			posix_spawn_file_actions_addclose(&fa, fd);
	posix_spawn_file_actions_addclosefrom_np(&fa, top + 1);
	if (opts->cwd)
		posix_spawn_file_actions_addchdir_np(&fa, opts->cwd);
	short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	if (opts->new_session)
		flags |= POSIX_SPAWN_SETSID;
	posix_spawnattr_setflags(&attr, flags);

	int err = opts->search_path ? posix_spawnp(pid_out, argv[0], &fa, &attr, argv, envp)
				    : posix_spawn(pid_out, argv[0], &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return err;
}

void sv_reset_signals(void)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

int sv_spawn(const sv_spawn_opts *opts, pid_t *pid_out, int *pidfd_out)
{
	pid_t pid;
	char *const *argv = (char *const *)opts->argv;
	char *const *envp = opts->envp ? (char *const *)opts->envp : environ;
	int gate_rc = 0;
	int err = opts->parent_death_signal || opts->before_exec
		      ? spawn_forked(opts, argv, envp, &pid, &gate_rc)
		      : spawn_posix(opts, argv, envp, &pid);
	if (gate_rc != 0)
		return gate_rc;
	if (err != 0)
		return sv_err_errno(SV_EPROCESS, err, "starting %s", argv[0]);

	*pid_out = pid;
	if (pidfd_out) {
		*pidfd_out = pidfd_open_for(pid);
		if (*pidfd_out < 0) {
			int e = errno;
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return sv_err_errno(SV_EPROCESS, e, "pidfd_open for %s", argv[0]);
		}
	}
	return 0;
}

int sv_pidfd_wait_exit(int pidfd, int timeout_ms)
{
	long long deadline = timeout_ms < 0 ? -1 : sv_now_ms() + timeout_ms;
	for (;;) {
		struct pollfd p = { .fd = pidfd, .events = POLLIN };
		int wait_ms = deadline < 0 ? -1 : (int)(deadline - sv_now_ms());
		if (deadline >= 0 && wait_ms < 0)
			wait_ms = 0;
		int n = poll(&p, 1, wait_ms);
		if (n > 0)
			return 0;
		if (n == 0)
			return SV_ETIMEOUT;
		if (errno != EINTR)
			return sv_err_errno(SV_EIO, errno, "waiting for a process");
	}
}

int sv_reap(pid_t pid, int timeout_ms, int *status_out)
{
	long long deadline = timeout_ms < 0 ? -1 : sv_now_ms() + timeout_ms;
	int pidfd = pidfd_open_for(pid);
	for (;;) {
		int status = 0;
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid) {
			if (pidfd >= 0)
				close(pidfd);
			if (status_out)
				*status_out = status;
			return 0;
		}
		if (r < 0 && errno != EINTR) {
			int e = errno;
			if (pidfd >= 0)
				close(pidfd);
			return sv_err_errno(SV_EPROCESS, e, "waiting for process %d", (int)pid);
		}
		int left = deadline < 0 ? -1 : (int)(deadline - sv_now_ms());
		if (deadline >= 0 && left <= 0) {
			if (pidfd >= 0)
				close(pidfd);
			return SV_ETIMEOUT;
		}
		if (pidfd >= 0) {
			struct pollfd p = { .fd = pidfd, .events = POLLIN };
			poll(&p, 1, left);
		} else {
			poll(NULL, 0, left < 0 || left > 10 ? 10 : left);
		}
	}
}

const char *sv_describe_wait_status(int status)
{
	static _Thread_local char buf[96];
	if (WIFEXITED(status))
		snprintf(buf, sizeof(buf), "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, sizeof(buf), "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, sizeof(buf), "ended with wait status 0x%x", status);
	return buf;
}

/* Reads everything from fd into a malloc'd string (best effort). */
static void drain_into(int fd, char **buf, size_t *len, size_t *cap)
{
	for (;;) {
		if (*len + 4096 + 1 > *cap) {
			size_t ncap = *cap ? *cap * 2 : 8192;
			char *nb = realloc(*buf, ncap);
			if (!nb)
				return;
			*buf = nb;
			*cap = ncap;
			(*buf)[*len] = '\0'; /* a first read of EOF must still leave a string */
		}
		ssize_t n = read(fd, *buf + *len, *cap - *len - 1);
		if (n > 0) {
			*len += (size_t)n;
			(*buf)[*len] = '\0';
			continue;
		}
		return;
	}
}

int sv_run(const char *const *argv, const char *stdin_data, int timeout_ms,
	   int *exit_code, char **stdout_out, char **stderr_out)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	int rc = 0;
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC | O_NONBLOCK) || pipe2(err, O_CLOEXEC | O_NONBLOCK)) {
		rc = sv_err_errno(SV_EIO, errno, "running %s: pipe", argv[0]);
		goto out;
	}
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	pid_t pid;
	int pidfd = -1;
	sv_spawn_opts so = {
		.argv = argv, .search_path = argv[0][0] != '/',
		.stdin_fd = in[0], .stdout_fd = out[1], .stderr_fd = err[1],
	};
	rc = sv_spawn(&so, &pid, &pidfd);
	close(in[0]); in[0] = -1;
	close(out[1]); out[1] = -1;
	close(err[1]); err[1] = -1;
	if (rc)
		goto out;

	/* Feed stdin and collect stdout/stderr with one poll loop so that a
	 * child writing a lot before reading can't deadlock us. */
	const char *to_write = stdin_data ? stdin_data : "";
	size_t write_left = strlen(to_write);
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	if (write_left == 0) {
		close(in[1]);
		in[1] = -1;
	}
	char *obuf = NULL, *ebuf = NULL;
	size_t olen = 0, ocap = 0, elen = 0, ecap = 0;
	long long deadline = timeout_ms < 0 ? -1 : sv_now_ms() + timeout_ms;
	bool timed_out = false;
	while (out[0] >= 0 || err[0] >= 0 || in[1] >= 0) {
		struct pollfd p[3] = {
			{ .fd = out[0], .events = POLLIN }, { .fd = err[0], .events = POLLIN },
			{ .fd = in[1], .events = POLLOUT },
		};
		int left = deadline < 0 ? -1 : (int)(deadline - sv_now_ms());
		if (deadline >= 0 && left <= 0) {
			timed_out = true;
			break;
		}
		if (poll(p, 3, left) < 0 && errno != EINTR)
			break;
		if (p[0].revents) {
			size_t before = olen;
			drain_into(out[0], &obuf, &olen, &ocap);
			if (olen == before && (p[0].revents & (POLLHUP | POLLERR))) {
				close(out[0]);
				out[0] = -1;
			}
		}
		if (p[1].revents) {
			size_t before = elen;
			drain_into(err[0], &ebuf, &elen, &ecap);
			if (elen == before && (p[1].revents & (POLLHUP | POLLERR))) {
				close(err[0]);
				err[0] = -1;
			}
		}
		if (p[2].revents) {
			ssize_t n = (p[2].revents & POLLOUT) ? write(in[1], to_write, write_left) : -1;
			if (n > 0) {
				to_write += n;
				write_left -= (size_t)n;
			}
			if (n < 0 || write_left == 0) {
				close(in[1]);
				in[1] = -1;
			}
		}
	}
	/* EOF on its output is not its exit: the deadline covers the wait too. */
	int status = 0;
	if (!timed_out) {
		long long left = deadline < 0 ? -1 : deadline - sv_now_ms();
		timed_out =
		    sv_reap(pid, deadline < 0 ? -1 : (int)(left > 0 ? left : 0), &status) == SV_ETIMEOUT;
	}
	if (timed_out) {
		kill(pid, SIGKILL);
		sv_reap(pid, -1, &status); /* SIGKILL: at once */
	}
	close(pidfd);
	if (timed_out) {
		free(obuf);
		free(ebuf);
		rc = sv_err(SV_ETIMEOUT, "running %s: no exit after %d ms, killed", argv[0], timeout_ms);
		goto out;
	}
	if (exit_code)
		*exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	if (stdout_out)
		*stdout_out = obuf ? obuf : strdup("");
	else
		free(obuf);
	if (stderr_out)
		*stderr_out = ebuf ? ebuf : strdup("");
	else
		free(ebuf);
out:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0) close(in[i]);
		if (out[i] >= 0) close(out[i]);
		if (err[i] >= 0) close(err[i]);
	}
	return rc;
}

/* Field 22 of /proc/<pid>/stat into *start; 0, or the errno of the failure
 * (ENOENT: no such process). */
static int read_start_time(pid_t pid, unsigned long long *start)
{
	*start = 0;
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return errno == ESRCH ? ENOENT : errno;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* comm may contain spaces and parentheses: fields resume after the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p)
		return ENOENT; /* it vanished while we read */
	int field = 2;
	char *save = NULL;
	for (char *tok = strtok_r(p + 1, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (++field == 22) {
			*start = strtoull(tok, NULL, 10);
			return 0;
		}
	}
	return ENOENT;
}

unsigned long long sv_process_start_time(pid_t pid)
{
	unsigned long long start;
	read_start_time(pid, &start);
	return start;
}

bool sv_process_alive(pid_t pid, unsigned long long start_time)
{
	if (pid <= 0)
		return false;
	unsigned long long now;
	int e = read_start_time(pid, &now);
	if (e == ENOENT)
		return false;
	if (e)
		return true; /* can't tell (out of fds, ...): never treat a live VM as gone */
	return start_time == 0 || now == start_time;
}
