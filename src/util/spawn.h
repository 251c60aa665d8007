/* Child processes without a shell: an argument vector, chosen stdio, a pidfd
 * to wait on with a timeout. search_path follows execvp's PATH rules, with
 * no shell for a file that is not a binary. Every child is reaped by whoever
 * spawned it. */
#ifndef SV_UTIL_SPAWN_H
#define SV_UTIL_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>

typedef struct {
	const char *const *argv;   /* argv[0] is the program path (no PATH search unless search_path) */
	const char *const *envp;   /* NULL = inherit */
	bool search_path;          /* resolve argv[0] through PATH (for tools like nft, cp) */
	int stdin_fd;              /* -1 = /dev/null */
	int stdout_fd;             /* -1 = /dev/null */
	int stderr_fd;             /* -1 = /dev/null */
	const int *keep_fds;       /* extra fds to pass, kept at the same number; the flag
	                              is cleared in the child only, so children other
	                              threads spawn meanwhile never inherit them */
	int n_keep_fds;
	bool new_session;          /* setsid() in the child */
	const char *cwd;           /* working directory of the child; NULL = ours */
	/* Sent to the child when the *thread* that spawned it ends
	 * (PR_SET_PDEATHSIG; the child dies at once if the parent died before it
	 * could ask), so spawn from a thread that lives as long as the child
	 * should; 0 = none. Uses a clone of its own sharing our memory, as
	 * posix_spawn's does, whose child makes system calls only (spawn.c),
	 * instead of posix_spawn. The kernel drops the signal when the child
	 * changes credentials (e.g. the jailer). As with posix_spawn, the
	 * child reads opts, argv and envp (or environ) until it has exec'd:
	 * no other thread may change them meanwhile. */
	int parent_death_signal;
	/* Called in the parent with the child's pid before the child may exec
	 * (on the same clone as parent_death_signal); the child waits for it,
	 * and runs meanwhile none of our code. A non-zero return (an SV_E code with its message set)
	 * makes the child exit without running anything, and sv_spawn fail with
	 * it; so does the parent's death meanwhile. Lets the caller record the
	 * pid (a ledger) before the program runs. NULL = none. */
	int (*before_exec)(pid_t pid, void *arg);
	void *before_exec_arg;
} sv_spawn_opts;

/* In a freshly forked child, before it runs something else: every signal
 * at its default action (glibc's internal ones too, which posix_spawn
 * leaves ignored), none blocked (async-signal-safe). */
void sv_reset_signals(void);

/* Starts the program. *pid_out is its pid, *pidfd_out (may be NULL) a pidfd
 * for it (O_CLOEXEC). */
int sv_spawn(const sv_spawn_opts *opts, pid_t *pid_out, int *pidfd_out);

/* Waits for a pidfd to become readable (the process exited), at most
 * timeout_ms (< 0 = forever). Returns 0 when it exited, SV_ETIMEOUT otherwise.
 * Works for processes that are not our children. */
int sv_pidfd_wait_exit(int pidfd, int timeout_ms);

/* Reaps our child pid, waiting at most timeout_ms. *status_out gets the raw
 * wait status. SV_ETIMEOUT if it is still running. */
int sv_reap(pid_t pid, int timeout_ms, int *status_out);

/* Runs argv to completion, feeding stdin_data (may be NULL), capturing stdout
 * and stderr (each malloc'd, may be NULL), killing it after timeout_ms. A non-zero
 * exit is reported in *exit_code (-1 if killed by a signal), not as an error. */
int sv_run(const char *const *argv, const char *stdin_data, int timeout_ms,
	   int *exit_code, char **stdout_out, char **stderr_out);

/* "exited with status 3" / "killed by signal 9 (Killed)". Static buffer per thread. */
const char *sv_describe_wait_status(int status);

/* Process start time (field 22 of /proc/<pid>/stat), to tell a pid from its
 * reuse. 0 if the process does not exist. */
unsigned long long sv_process_start_time(pid_t pid);

/* True if pid exists and its start time matches (start_time 0 = don't check).
 * Also true when that cannot be told (e.g. out of fds): callers decide what
 * to delete or kill from it, and must never take a live process for gone. */
bool sv_process_alive(pid_t pid, unsigned long long start_time);

/* Monotonic milliseconds. */
long long sv_now_ms(void);

#endif
