/* The manager's side of the supervisor fork server (supervisor_server.h):
 * started at the manager's second VM start, ended with the manager. Starting
 * a VM's supervisor through it costs a fork in the server instead of a
 * spawn, an exec with its dynamic loading, and a first-half fork. The first
 * start goes by exec: a manager that starts one VM (every `smartvm run`,
 * every `smartvm-oci create`) would pay for the server's own exec and
 * set-up, and for the spare it forks for a next start that never comes,
 * more than the exec it saves. */
#ifndef SV_VM_VM_FORK_SERVER_H
#define SV_VM_VM_FORK_SERVER_H

#include "vm/supervisor_server.h"
#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

/* Supervisors and the fork server run from the root: in the caller's
 * directory they would keep its mount busy for as long as a detached VM
 * runs. */
#define SV_SUPERVISOR_CWD "/"

/* What the supervisors inherit from the process that starts them and the
 * server could not give them when the starter has changed since the server
 * started: credentials, namespaces, cgroup. */
#define SV_FORK_NAMESPACES 7
typedef struct {
	uid_t euid;
	gid_t egid;
	unsigned long long ns[SV_FORK_NAMESPACES]; /* inode of /proc/thread-self/ns/X */
	char cgroup[1024];			   /* /proc/self/cgroup; "" = cannot tell */
} sv_fork_identity;

typedef struct sv_fork_server {
	pthread_mutex_t lock; /* one request at a time (threads start VMs at once) */
	pid_t owner;	      /* the process that made it: a forked copy must not use it */
	int sock;	      /* -1: not running */
	pid_t pid;
	int pidfd;
	char *program; /* the smartvm-supervisor it runs */
	sv_fork_identity identity;
	int ns_fds[SV_FORK_NAMESPACES]; /* the server's namespaces, held open (-1: not) */
	bool asked_before;		/* a start went by exec for want of a server */
} sv_fork_server;

void sv_fork_server_init(sv_fork_server *s);
/* Ends the server (its supervisors live on) and waits for it. */
void sv_fork_server_stop(sv_fork_server *s);

typedef enum {
	SV_FORK_STARTED,    /* the supervisor runs: *pid, *start_time */
	SV_FORK_NOT_SERVED, /* use the exec path: nothing was sent */
	SV_FORK_LOST,	    /* the server died holding the request: whether it forked the
			       supervisor first, only the status pipe can tell */
} sv_fork_outcome;

/* Starts the supervisor of vm_dir through the server of s (started first if
 * need be, from the second request on; restarted once if it was found
 * dead). fds: SV_FORK_FDS of them in
 * that order, the console -1 for none; they stay ours. Returns 0 with
 * *outcome, or an error (the server could not fork). */
int sv_fork_server_start_supervisor(sv_fork_server *s, const char *program, const int fds[SV_FORK_FDS],
				    const char *vm_dir, sv_fork_outcome *outcome, pid_t *pid,
				    unsigned long long *start_time);

#endif
