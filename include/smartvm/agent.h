/** @file
 * Inside a running VM: run commands, move files in and out, through the
 * guest agent (smartvm-agent; the protocol is docs/agent-protocol.md).
 *
 * Every call here talks to the VM's supervisor over the VM directory's agent.sock;
 * the supervisor relays to the agent in the guest over a channel that never
 * touches the guest's network (virtio-serial under QEMU, vsock under
 * Firecracker). The VM must be running (or paused: calls then wait) and its
 * image must have the agent (the minimal image does; guest/README.md says
 * how to install it in others).
 *
 * Errors name the VM, the operation and, for failures inside the guest, the
 * guest's errno message: `VM "web": copying /etc/x to the guest: /etc/x:
 * Permission denied (guest errno 13)`.
 *
 * Thread safety: every call opens its own connection, so calls on one VM
 * from several threads run in parallel (the supervisor multiplexes them).
 * One sv_exec handle is used by one thread at a time. The sv_vm is only
 * read (its id and directory); it must not be freed while a call runs.
 */
#ifndef SMARTVM_AGENT_H
#define SMARTVM_AGENT_H

#include <smartvm/common.h>
#include <smartvm/vm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** How long calls wait for the agent to answer when the options say 0. */
#define SV_AGENT_DEFAULT_TIMEOUT_MS 10000

/** Waits until the VM's agent answers a PING, at most timeout_ms (< 0 =
 * forever). SV_ETIMEOUT with `VM "x": no agent answered within N ms (the
 * image has no smartvm-agent?)` when it does not (a connection to the agent
 * that drops while the guest brings it up is tried again meanwhile);
 * SV_EINVALID_STATE when the VM is not running. *version_out (may be NULL) gets the agent's version
 * (malloc'd). */
SV_EXTERN int sv_vm_agent_wait(sv_vm *vm, int timeout_ms, char **version_out);

/** Before sv_vm_start (state created): boot so that a guest init that knows
 * it (the minimal image's smartvm-init) leaves commands to the agent: with
 * smartvm.exec=agent on the kernel command line it starts the agent, runs no
 * command of its own (not even sv_vm_set_command's) and keeps the VM up
 * until it is stopped. An init that does not know it ignores it, and one
 * whose agent cannot start runs the command on the console as before. */
SV_EXTERN int sv_vm_set_agent_exec(sv_vm *vm, bool on);

/** For `run -- CMD` on any image: after sv_vm_start of a VM with a command
 * (sv_vm_set_command) and sv_vm_set_agent_exec, tells how the command is
 * going to run. *via_agent = true once the agent answers (run the command
 * with sv_exec_start, then stop the VM); false once the init started the
 * command on the console itself (an image without the agent: read it with
 * the calls of smartvm/command.h; also when the VM ended before its agent
 * answered: the console reader tells what happened). Waits at most
 * timeout_ms for either: SV_ETIMEOUT when neither happened yet (call
 * again). */
SV_EXTERN int sv_vm_command_via_agent(sv_vm *vm, int timeout_ms, bool *via_agent);

/* ---- running a command ---- */

typedef struct sv_exec sv_exec;

/** Output as it arrives: stream 1 = stdout, 2 = stderr. A non-zero return
 * stops the exec (the command is killed) and is returned by sv_exec_wait. */
typedef int (*sv_exec_output_fn)(void *ctx, int stream, const void *data, size_t len);

/** One resource limit for sv_exec_options.rlimits. */
typedef struct {
	/** The Linux RLIMIT_* number (RLIMIT_NOFILE is 7); sv_rlimit_by_name
	 * maps "nofile" or "RLIMIT_NOFILE" to it. */
	int resource;
	uint64_t soft, hard; /**< SV_RLIM_INFINITY = unlimited; soft <= hard */
} sv_exec_rlimit;

#define SV_RLIM_INFINITY UINT64_MAX
/** Linux has 16 resources (RLIM_NLIMITS). */
#define SV_EXEC_MAX_RLIMITS 16

/** The RLIMIT_* number of a resource named as `ulimit`, docker and the OCI
 * spec do ("nofile", "RLIMIT_NOFILE", case-insensitive), or -1. */
SV_EXTERN int sv_rlimit_by_name(const char *name);

typedef struct {
	unsigned int version;
	/** The environment, exactly: "K=V" strings, NULL-terminated (NULL =
	 * empty). The agent adds PATH and HOME only when absent. */
	const char *const *env;
	const char *cwd; /**< NULL = "/" */
	uint32_t uid, gid;
	const uint32_t *groups; /**< supplementary groups */
	size_t n_groups;
	/** Run on a new pseudo-terminal of tty_rows x tty_cols (0 = 24 x 80);
	 * everything it prints arrives as stdout. */
	bool tty;
	uint32_t tty_rows, tty_cols;
	/** The guest kills the process group after this long (0 = never). */
	uint32_t timeout_ms;
	/** stdin: read from stdin_fd until EOF and sent to the command;
	 * -1 = the command's stdin is /dev/null, SV_EXEC_STDIN_CALLS = fed with
	 * sv_exec_write_stdin / sv_exec_close_stdin. */
	int stdin_fd;
	/** Where output goes when on_output is NULL; -1 = discarded. Written
	 * with blocking writes: a slow reader slows the command down (flow
	 * control), never grows memory. */
	int stdout_fd, stderr_fd;
	sv_exec_output_fn on_output;
	void *ctx;
	/** How long sv_exec_start waits for the agent (0 =
	 * SV_AGENT_DEFAULT_TIMEOUT_MS). */
	int agent_timeout_ms;

	/* ---- version 2 (a version-1 caller's struct ends above; the
	 * library reads only the fields the caller's version has) ---- */

	/** Resource limits set (setrlimit) before the command runs, as
	 * `ulimit`/`docker run --ulimit` do: at most SV_EXEC_MAX_RLIMITS, each
	 * resource once. */
	const sv_exec_rlimit *rlimits;
	size_t n_rlimits;
	/** PR_SET_NO_NEW_PRIVS before exec: setuid bits and file capabilities
	 * of what it runs give nothing. */
	bool no_new_privs;
	/** chroot into this guest directory before cwd (NULL = none). */
	const char *root;
	/** Run in a UTS namespace of its own with this hostname (NULL = the
	 * VM's). */
	const char *hostname;
} sv_exec_options;

#define SV_EXEC_OPTIONS_VERSION 2
#define SV_EXEC_OPTIONS_INIT                                                                                 \
	{                                                                                                    \
		.version = SV_EXEC_OPTIONS_VERSION, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1         \
	}
#define SV_EXEC_STDIN_CALLS (-2)

/** Starts argv (NULL-terminated, at least one element; argv[0] is looked up
 * in PATH when it has no '/') in the VM and waits until it started or could
 * not start. A command that cannot start (not found, not executable) is
 * not an error here: sv_exec_wait then reports status 127 or 126 and
 * sv_exec_start_error says why, as a shell would. opts may be NULL
 * (defaults). *out is freed with sv_exec_free. */
SV_EXTERN int sv_exec_start(sv_exec **out, sv_vm *vm, const char *const *argv, const sv_exec_options *opts);

/** Moves data both ways until the command ended and all of its output was
 * delivered, or timeout_ms passed (< 0 = forever; SV_ETIMEOUT, call again).
 * *status (may be NULL) gets the shell-style status: the exit code, 128+N
 * after signal N, 127 when the command was not found, 126 when it could not
 * be executed. SV_EPROCESS `VM "x": exec "cmd": the connection to the agent
 * was lost (...)` when the VM or the agent went away meanwhile. */
SV_EXTERN int sv_exec_wait(sv_exec *e, int timeout_ms, int *status);

/** After sv_exec_wait returned 0: the exit code (-1 if a signal ended it),
 * the signal (0 if none), whether its timeout_ms killed it, and why it could
 * not start (NULL if it started; owned by e). */
SV_EXTERN int sv_exec_exit_code(const sv_exec *e);
SV_EXTERN int sv_exec_term_signal(const sv_exec *e);
SV_EXTERN bool sv_exec_timed_out(const sv_exec *e);
SV_EXTERN const char *sv_exec_start_error(const sv_exec *e);

/** The command's pid in the guest (0 if it did not start). */
SV_EXTERN int sv_exec_guest_pid(const sv_exec *e);

/** Sends signal sig to the command's process group. */
SV_EXTERN int sv_exec_signal(sv_exec *e, int sig);

/** Resizes the command's terminal (tty execs only). */
SV_EXTERN int sv_exec_resize(sv_exec *e, uint32_t rows, uint32_t cols);

/** With stdin_fd = SV_EXEC_STDIN_CALLS: sends len bytes of stdin, waiting at
 * most timeout_ms (< 0 = forever) for the command to take them (output is
 * delivered meanwhile). SV_ETIMEOUT when not all went; *written (may be
 * NULL) says how many did. */
SV_EXTERN int sv_exec_write_stdin(sv_exec *e, const void *data, size_t len, int timeout_ms, size_t *written);
/** Ends stdin (the command reads EOF; with a tty, the terminal's EOF
 * character is sent). */
SV_EXTERN int sv_exec_close_stdin(sv_exec *e);

/** A descriptor that becomes readable when sv_exec_wait has something to
 * do, for callers with their own poll loop (then call sv_exec_wait(e, 0,
 * ...)). Owned by e. */
SV_EXTERN int sv_exec_poll_fd(const sv_exec *e);

/** Frees e; a command still running is killed (SIGKILL to its process
 * group). NULL is fine. */
SV_EXTERN void sv_exec_free(sv_exec *e);

/** Runs argv to the end: sv_exec_start + sv_exec_wait(timeout_ms) +
 * sv_exec_free. On SV_ETIMEOUT the command is killed. */
SV_EXTERN int sv_vm_exec(sv_vm *vm, const char *const *argv, const sv_exec_options *opts, int timeout_ms,
			 int *status);

/* ---- files ---- */

typedef struct {
	unsigned int version;
	/** Into the guest: the owner of what is created (default 0:0, like
	 * `docker cp`). keep_owner: the host files' uid/gid instead. From the
	 * guest: keep_owner chowns to the guest's uid/gid (root only); else
	 * files belong to the caller. */
	uint32_t uid, gid;
	bool keep_owner;
	/** From the guest: symlinks are copied as symlinks; one whose target is
	 * absolute or climbs out of the copied tree is refused (SV_EUNSAFE)
	 * unless this is set. */
	bool allow_outside_links;
	int agent_timeout_ms; /**< 0 = SV_AGENT_DEFAULT_TIMEOUT_MS */
} sv_copy_options;

#define SV_COPY_OPTIONS_VERSION 1
#define SV_COPY_OPTIONS_INIT                                                                                 \
	{                                                                                                    \
		.version = SV_COPY_OPTIONS_VERSION                                                           \
	}

/** Copies a host file, directory tree or symlink into the guest, as `docker
 * cp SRC ID:DST` does: when guest_dst is an existing directory, src goes
 * inside it under its own name; else it is created as guest_dst (whose
 * parent must exist). Regular files keep mode and mtime and are checked by
 * SHA-256; each lands whole (written to a temporary file, renamed). The
 * host side is read without following symlinks below src. opts may be
 * NULL. */
SV_EXTERN int sv_vm_copy_to(sv_vm *vm, const char *host_src, const char *guest_dst,
			    const sv_copy_options *opts);

/** Copies a guest file, directory tree or symlink to the host, as `docker
 * cp ID:SRC DST` does (same rule for an existing directory). Everything is
 * created relative to the destination directory's descriptor, never
 * following a symlink; names from the guest must be single components
 * (not "", ".", ".." or containing '/'), sizes and SHA-256 digests must
 * match, or the copy fails with SV_EUNSAFE / SV_ECHECKSUM and what was
 * written of the failing file is removed. */
SV_EXTERN int sv_vm_copy_from(sv_vm *vm, const char *guest_src, const char *host_dst,
			      const sv_copy_options *opts);

typedef enum {
	SV_GUEST_FILE = 1,
	SV_GUEST_DIR = 2,
	SV_GUEST_SYMLINK = 3,
	SV_GUEST_OTHER = 4,
} sv_guest_file_type;

typedef struct {
	unsigned int version;
	sv_guest_file_type type;
	uint32_t mode; /**< permission bits */
	uint32_t uid, gid;
	uint64_t size;
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	char *link_target; /**< symlinks; malloc'd, freed by sv_guest_stat_clear */
} sv_guest_stat;

#define SV_GUEST_STAT_VERSION 1
#define SV_GUEST_STAT_INIT                                                                                   \
	{                                                                                                    \
		.version = SV_GUEST_STAT_VERSION                                                             \
	}

/** stat (follow) or lstat of a guest path into *st (whose version the
 * caller set). SV_ENOTFOUND when it does not exist. */
SV_EXTERN int sv_vm_guest_stat(sv_vm *vm, const char *path, bool follow, sv_guest_stat *st);
SV_EXTERN void sv_guest_stat_clear(sv_guest_stat *st);

typedef struct {
	unsigned int version;
	uint32_t mode; /**< 0 = 0755 */
	uint32_t uid, gid;
	bool parents; /**< mkdir -p: existing directories are fine */
} sv_mkdir_options;

#define SV_MKDIR_OPTIONS_VERSION 1
#define SV_MKDIR_OPTIONS_INIT                                                                                \
	{                                                                                                    \
		.version = SV_MKDIR_OPTIONS_VERSION                                                          \
	}

/** Creates a directory in the guest. opts may be NULL. */
SV_EXTERN int sv_vm_guest_mkdir(sv_vm *vm, const char *path, const sv_mkdir_options *opts);

/* ---- mounts ---- */

typedef enum {
	SV_MOUNT_CREATE_NONE = 0, /**< the target must exist */
	SV_MOUNT_CREATE_DIR = 1,  /**< missing directories are made (0755), the target as one */
	SV_MOUNT_CREATE_FILE = 2, /**< missing directories are made, the target as an empty file */
} sv_mount_create;

typedef struct {
	unsigned int version;
	/** The filesystem type ("proc", "tmpfs", "mqueue", "ext4"...) and its
	 * source ("tmpfs", or a guest block device such as "/dev/vdb");
	 * both required. */
	const char *fstype, *source;
	/** mount(2)'s MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC,
	 * MS_SYNCHRONOUS, MS_NOATIME, MS_NODIRATIME, MS_RELATIME,
	 * MS_STRICTATIME; others are refused by the agent (EINVAL). */
	unsigned long flags;
	const char *data; /**< the filesystem's options ("size=64m,mode=1777"), or NULL */
	/** The target is resolved inside this guest directory (NULL = "/"):
	 * "..", absolute symlinks and symlinks climbing out stay inside it
	 * (openat2 RESOLVE_IN_ROOT); a target resolving to root itself is
	 * refused. */
	const char *root;
	sv_mount_create create;
	/** Mount source on a private directory and bind only this entry of
	 * it (one name: no '/', "." or "..") onto the target, with flags;
	 * how a host file copied into a drive is bound into place. NULL =
	 * mount the filesystem itself on the target. */
	const char *subpath;
	int agent_timeout_ms; /**< 0 = SV_AGENT_DEFAULT_TIMEOUT_MS */
} sv_guest_mount_options;

#define SV_GUEST_MOUNT_OPTIONS_VERSION 1
#define SV_GUEST_MOUNT_OPTIONS_INIT                                                                          \
	{                                                                                                    \
		.version = SV_GUEST_MOUNT_OPTIONS_VERSION                                                    \
	}

/** Mounts a filesystem in the guest on target (an absolute path inside
 * opts->root). The mount is the VM's: every later command sees it. Needs
 * an agent that has MOUNT (this release's): an older one is refused with
 * SV_EUNSUPPORTED before anything is sent. Errors carry the guest's errno
 * text: `VM "x": mount tmpfs on /run: mount: Permission denied (guest
 * errno 1)`. */
SV_EXTERN int sv_vm_guest_mount(sv_vm *vm, const char *target, const sv_guest_mount_options *opts);

#ifdef __cplusplus
}
#endif
#endif
