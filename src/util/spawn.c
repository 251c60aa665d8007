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
#include <sched.h>
#include <sys/mman.h>
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

/* Also called by the clone child (below): no sanitizer, no libc. */
__attribute__((no_sanitize("address", "undefined"))) static bool is_kept(const sv_spawn_opts *opts, int fd)
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

/* ---- the child of a cloned spawn ----
 *
 * A parent-death signal and a before_exec step need code between the new
 * process and its exec, which posix_spawn has no room for. fork() would copy
 * our page tables only for exec to drop them (a supervisor's mm: a third of
 * the VMM spawn's CPU). So the child is a clone sharing our memory (CLONE_VM,
 * like posix_spawn's), on a stack of its own, but without CLONE_VFORK: we
 * must run before_exec while it waits at the gate.
 *
 * What makes that safe: the child has no thread pointer of its own, it uses
 * the spawning thread's. Every libc call may touch what hangs off it (errno,
 * cancellation state, locks another thread holds), and it runs while that
 * thread does too. So the child makes system calls itself (raw_syscall: the
 * result or -errno, no errno) and calls nothing else; it only reads the
 * parent's memory, which the parent keeps unchanged until the child has
 * exec'd or exited (spawn_cloned waits for that before returning). Signals
 * are blocked from before the clone until the child has reset every handler:
 * a handler of ours running in the child would share our memory. Sanitizers
 * are off in it: their runtime lives in TLS too. */

#if defined(__x86_64__)
#define SV_SPAWN_CLONE 1
static inline __attribute__((always_inline, no_sanitize("address", "undefined"))) long
raw_syscall(long n, long a, long b, long c, long d, long e)
{
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
			 : "rcx", "r11", "memory");
	return ret;
}
#elif defined(__aarch64__)
#define SV_SPAWN_CLONE 1
static inline __attribute__((always_inline, no_sanitize("address", "undefined"))) long
raw_syscall(long n, long a, long b, long c, long d, long e)
{
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;
	register long x4 __asm__("x4") = e;
	__asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4) : "memory", "cc");
	return x0;
}
#else
/* Elsewhere the child is a fork (a private copy of everything, errno
 * included), so libc's syscall() is safe in it. */
#define SV_SPAWN_CLONE 0
static long raw_syscall(long n, long a, long b, long c, long d, long e)
{
	long r = syscall(n, a, b, c, d, e);
	return r < 0 ? -errno : r;
}
#endif

#define SYSCALL_NOSAN __attribute__((no_sanitize("address", "undefined"), noinline))

/* The kernel's sigset (rt_sigaction, rt_sigprocmask): 64 signals. */
#define KERNEL_SIGSET_BYTES 8

/* Every signal at its default action, then none blocked, through the kernel:
 * glibc's sigaction refuses its own internal signals (32 and 33), which its
 * posix_spawn leaves ignored in every child it makes (glibc installs its
 * handlers for them when it needs them). System calls only: the cloned
 * child calls it too. */
static SYSCALL_NOSAN void reset_signals_raw(void)
{
	const unsigned long dfl[4] = {0}; /* the kernel's sigaction: SIG_DFL, no flags, restorer, mask */
	for (long sig = 1; sig <= 64; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)raw_syscall(SYS_rt_sigaction, sig, (long)dfl, 0, KERNEL_SIGSET_BYTES, 0);
	const unsigned long none = 0;
	(void)raw_syscall(SYS_rt_sigprocmask, SIG_SETMASK, (long)&none, 0, KERNEL_SIGSET_BYTES, 0);
}

typedef struct {
	const sv_spawn_opts *opts;
	char *const *argv, *const *envp;
	char *const *paths; /* the programs to try in turn, NULL-terminated */
	pid_t parent;
	int err_fd, err_peer, gate_fd, gate_peer;
} child_args;

/* Reports the (positive) errno on err_fd and ends the child. */
static SYSCALL_NOSAN _Noreturn void child_fail(int err_fd, long e)
{
	int code = (int)e;
	(void)raw_syscall(SYS_write, err_fd, (long)&code, sizeof(code), 0, 0);
	for (;;)
		(void)raw_syscall(SYS_exit_group, 127, 0, 0, 0, 0);
}

/* The child: nothing but system calls (see above). */
static SYSCALL_NOSAN int cloned_child(void *arg)
{
	const child_args *c = arg;
	const sv_spawn_opts *opts = c->opts;
	long r;
	(void)raw_syscall(SYS_close, c->err_peer, 0, 0, 0, 0);
	if (c->gate_peer >= 0)
		(void)raw_syscall(SYS_close, c->gate_peer, 0, 0, 0, 0);
	/* The parent may have died before the prctl, leaving us init's. */
	if (opts->parent_death_signal &&
	    (r = raw_syscall(SYS_prctl, PR_SET_PDEATHSIG, opts->parent_death_signal, 0, 0, 0)) < 0)
		child_fail(c->err_fd, -r);
	if (raw_syscall(SYS_getppid, 0, 0, 0, 0, 0) != c->parent)
		child_fail(c->err_fd, ESRCH);
	/* Until the parent has done what it must before we run (before_exec):
	 * one byte to go on, EOF (refused, or the parent died) to give up. */
	if (c->gate_fd >= 0) {
		char go = 0;
		while ((r = raw_syscall(SYS_read, c->gate_fd, (long)&go, 1, 0, 0)) == -EINTR)
			;
		if (r != 1)
			child_fail(c->err_fd, ECANCELED);
	}
	reset_signals_raw();
	if (opts->new_session && (r = raw_syscall(SYS_setsid, 0, 0, 0, 0, 0)) < 0)
		child_fail(c->err_fd, -r);
	const int sources[3] = {opts->stdin_fd, opts->stdout_fd, opts->stderr_fd};
	for (int i = 0; i < 3; i++) {
		long fd = sources[i];
		if (fd < 0 && (fd = raw_syscall(SYS_openat, AT_FDCWD, (long)"/dev/null", i == 0 ? O_RDONLY : O_WRONLY,
					       0, 0)) < 0)
			child_fail(c->err_fd, -fd);
		if (fd != i && (r = raw_syscall(SYS_dup3, fd, i, 0, 0, 0)) < 0)
			child_fail(c->err_fd, -r);
		if (sources[i] < 0 && fd != i)
			(void)raw_syscall(SYS_close, fd, 0, 0, 0, 0);
	}
	int top = STDERR_FILENO;
	for (int i = 0; i < opts->n_keep_fds; i++) {
		if ((r = raw_syscall(SYS_fcntl, opts->keep_fds[i], F_SETFD, 0, 0, 0)) < 0)
			child_fail(c->err_fd, -r);
		if (opts->keep_fds[i] > top)
			top = opts->keep_fds[i];
	}
	/* Not err_fd: it is close-on-exec, and still needed until then. */
	for (int fd = STDERR_FILENO + 1; fd < top; fd++)
		if (fd != c->err_fd && !is_kept(opts, fd))
			(void)raw_syscall(SYS_close, fd, 0, 0, 0, 0);
	if (c->err_fd > top) {
		if (c->err_fd > top + 1)
			(void)raw_syscall(SYS_close_range, top + 1, c->err_fd - 1, 0, 0, 0);
		(void)raw_syscall(SYS_close_range, c->err_fd + 1, ~0U, 0, 0, 0);
	} else {
		(void)raw_syscall(SYS_close_range, top + 1, ~0U, 0, 0, 0);
	}
	if (opts->cwd && (r = raw_syscall(SYS_chdir, (long)opts->cwd, 0, 0, 0, 0)) < 0)
		child_fail(c->err_fd, -r);
	/* execvpe's rule for a PATH search: a candidate that is not there (or
	 * not a directory) passes to the next; EACCES is kept, unless a later
	 * one runs; anything else stops. No shell for ENOEXEC. */
	long e = -ENOENT;
	bool denied = false;
	for (char *const *p = c->paths; *p; p++) {
		e = raw_syscall(SYS_execve, (long)*p, (long)c->argv, (long)c->envp, 0, 0);
		if (e == -EACCES)
			denied = true;
		else if (e != -ENOENT && e != -ENOTDIR && e != -ESTALE && e != -ENODEV && e != -ETIMEDOUT)
			break;
	}
	child_fail(c->err_fd, denied && (e == -ENOENT || e == -ENOTDIR) ? EACCES : -e);
}

/* The candidates for argv[0]: itself, or with search_path and no slash in
 * it, each PATH entry joined with it (an empty entry is the working
 * directory, as for execvp). One malloc'd block, NULL-terminated. */
static char **exec_candidates(const sv_spawn_opts *opts, const char *prog)
{
	const char *path = opts->search_path && !strchr(prog, '/') ? getenv("PATH") : NULL;
	if (opts->search_path && !strchr(prog, '/') && !path)
		path = "/usr/local/bin:/bin:/usr/bin"; /* glibc's default */
	size_t n = 1, bytes = 0;
	for (const char *d = path; d; d = strchr(d, ':') ? strchr(d, ':') + 1 : NULL) {
		n++;
		bytes += strcspn(d, ":") + 2 + strlen(prog) + 1;
	}
	if (!path)
		bytes = strlen(prog) + 1;
	char **list = malloc((n + 1) * sizeof(char *) + bytes);
	if (!list)
		return NULL;
	char *at = (char *)(list + n + 1);
	size_t k = 0;
	if (!path) {
		list[k++] = strcpy(at, prog);
	} else {
		for (const char *d = path; d; d = strchr(d, ':') ? strchr(d, ':') + 1 : NULL) {
			int len = (int)strcspn(d, ":");
			list[k++] = at;
			at += sprintf(at, "%.*s%s%s", len ? len : 1, len ? d : ".", "/", prog) + 1;
		}
	}
	list[k] = NULL;
	return list;
}

/* The child's stack: a little for its frames (no libc), a guard page below. */
#define CHILD_STACK_BYTES (64 * 1024)

/* The spawn for a parent-death signal or a before_exec step. Returns 0 or an
 * errno; ECANCELED with *gate_rc set when before_exec refused. */
static int spawn_cloned(const sv_spawn_opts *opts, char *const *argv, char *const *envp, pid_t *pid_out,
			int *gate_rc)
{
	int p[2], gate[2] = {-1, -1};
	char **paths = exec_candidates(opts, argv[0]);
	if (!paths)
		return ENOMEM;
	if (pipe2(p, O_CLOEXEC) != 0) {
		int e = errno;
		free(paths);
		return e;
	}
	/* A socket pair, not a pipe: sending to a child that already failed
	 * must not raise SIGPIPE in the caller. */
	if (opts->before_exec && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, gate) != 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		free(paths);
		return e;
	}
	child_args c = {.opts = opts, .argv = argv, .envp = envp, .paths = paths,
			.parent = getpid(), .err_fd = p[1], .err_peer = p[0], .gate_fd = gate[0], .gate_peer = gate[1]};
	pid_t pid = -1;
	int e = 0;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	char *stack = NULL;
	if (SV_SPAWN_CLONE) {
		stack = mmap(NULL, CHILD_STACK_BYTES + page, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
		if (stack == MAP_FAILED || mprotect(stack, page, PROT_NONE) != 0) {
			e = errno;
			if (stack != MAP_FAILED)
				munmap(stack, CHILD_STACK_BYTES + page);
			stack = NULL;
		}
	}
	if (!e) {
		/* Every signal blocked, glibc's own too (hence no
		 * pthread_sigmask): the child unblocks them once it has reset
		 * the handlers it inherits. */
		unsigned long all = ~0UL, old = 0;
		syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, KERNEL_SIGSET_BYTES);
		if (SV_SPAWN_CLONE) {
			pid = clone(cloned_child, stack + page + CHILD_STACK_BYTES, CLONE_VM | SIGCHLD, &c);
		} else if ((pid = fork()) == 0) {
			cloned_child(&c);
		}
		if (pid < 0)
			e = errno;
		syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, KERNEL_SIGSET_BYTES);
	}
	close(p[1]);
	if (gate[0] >= 0)
		close(gate[0]);
	if (e) {
		close(p[0]);
		if (gate[1] >= 0)
			close(gate[1]);
		free(paths);
		return e;
	}
	if (gate[1] >= 0) {
		*gate_rc = opts->before_exec(pid, opts->before_exec_arg);
		/* Without the byte the child gives up. One that cannot take it
		 * failed already and says why on p. */
		if (*gate_rc == 0)
			(void)send(gate[1], "g", 1, MSG_NOSIGNAL);
		close(gate[1]);
	}
	/* EOF: the exec succeeded (the pipe was close-on-exec; the kernel
	 * closes it after the child has left our memory), or the child died. */
	ssize_t n;
	while ((n = read(p[0], &e, sizeof(e))) < 0 && errno == EINTR)
		;
	close(p[0]);
	if (n == (ssize_t)sizeof(e)) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		e = e ? e : EIO;
	} else {
		e = 0;
		*pid_out = pid;
	}
	/* Now the child runs its program or is gone: nothing uses the stack,
	 * the args or the paths any more. */
	if (stack)
		munmap(stack, CHILD_STACK_BYTES + page);
	free(paths);
	return e;
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

void sv_reset_signals(void) { reset_signals_raw(); }

int sv_spawn(const sv_spawn_opts *opts, pid_t *pid_out, int *pidfd_out)
{
	pid_t pid;
	char *const *argv = (char *const *)opts->argv;
	char *const *envp = opts->envp ? (char *const *)opts->envp : environ;
	int gate_rc = 0;
	int err = opts->parent_death_signal || opts->before_exec
		      ? spawn_cloned(opts, argv, envp, &pid, &gate_rc)
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
	/* No stdio: the fork server asks right after a fork, when each page
	 * malloc touches is one more to copy. The kernel makes the line in
	 * one read. */
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ESRCH ? ENOENT : errno;
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf) - 1)) < 0 && errno == EINTR)
		;
	int e = errno;
	close(fd);
	if (n < 0)
		return e == ESRCH ? ENOENT : e;
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
