/* The supervisor fork server: one smartvm-supervisor per manager, started
 * with --fork-server FD on one end of a socket pair (nothing on the
 * filesystem: only the manager's process can reach it), that forks a
 * supervisor per VM instead of the manager spawning and exec'ing one. The
 * server side is supervisor_server.c, the manager's side vm_fork_server.c.
 *
 * The protocol, on a SOCK_STREAM socket pair: the server writes one byte
 * SV_FORK_SERVER_READY once it is up. Then per VM the manager sends an
 * sv_fork_request header (with its rlimits), the fds (SV_FORK_FD_*)
 * attached to it as SCM_RIGHTS, followed by dir_len bytes of the VM
 * directory and env_len bytes of the environment ("NAME=VALUE\0" each). A supervisor the server forked
 * before the request arrived (its spare) reads it, answers with an
 * sv_fork_reply and takes the fds and the environment; the server then
 * forks the next spare. EOF on the socket ends the server (its supervisors
 * live on). */
#ifndef SV_VM_SUPERVISOR_SERVER_H
#define SV_VM_SUPERVISOR_SERVER_H

#include <stdint.h>

#define SV_FORK_SERVER_ARG "--fork-server"
#define SV_FORK_SERVER_READY 'R'
/* The server's last argument: blanks that make room for its supervisors'
 * command lines ("PROGRAM --forked-for VM_DIR"). */
#define SV_FORK_SERVER_TITLE_ROOM (SV_FORK_REQUEST_MAX_DIR + 256)
#define SV_FORK_REQUEST_MAGIC 0x73766b32u /* "svk2" */
/* Bounds the server holds a request to (the manager never comes near). */
#define SV_FORK_REQUEST_MAX_DIR 4096u
#define SV_FORK_REQUEST_MAX_ENV (4u << 20)

/* The fds of a request, in this order; the console is optional (last). */
enum {
	SV_FORK_FD_STATUS,
	SV_FORK_FD_CONTROL,
	SV_FORK_FD_LOCK,
	SV_FORK_FD_LOG,
	SV_FORK_FD_CONSOLE,
	SV_FORK_FDS
};

/* Linux's resource limits (RLIMIT_CPU .. RLIMIT_RTTIME). */
#define SV_FORK_RLIMITS 16

typedef struct {
	uint64_t cur, max;
} sv_fork_rlimit;

typedef struct {
	uint32_t magic;
	uint32_t n_fds; /* SV_FORK_FDS, or one less without a console */
	uint32_t dir_len;
	uint32_t env_len;
	/* The manager's rlimits at this request: an exec'd supervisor (and
	 * its VMM) inherits its caller's, so a forked one takes them from
	 * here, not from the server, which has the caller's of its own start. */
	sv_fork_rlimit rlimits[SV_FORK_RLIMITS];
} sv_fork_request;

typedef struct {
	int32_t err;	     /* 0, or the errno of the failed fork */
	int32_t pid;	     /* the supervisor */
	uint64_t start_time; /* its start time (util/spawn.h) */
} sv_fork_reply;

/* What the program does around each fork. */
typedef struct {
	/* Called in each forked supervisor first: its command line names its
	 * VM (before it reports anything, so before the start that asked for
	 * it returns). The server's own stays as the program set it. */
	void (*set_title)(const char *vm_dir);
	/* In every forked supervisor once its environment is the VM's (the
	 * program sets its log level from it). */
	void (*child_init)(void);
} sv_fork_server_hooks;

/* The server's life on the socket fd: returns when the manager is gone (the
 * program's exit status). */
int sv_supervisor_server_main(int sock, const sv_fork_server_hooks *hooks);

#endif
