/* The container's process on the host: the pid engines see in `state` and
 * the pid file. It is the child `create` forks; it boots the VM, waits for
 * `start` on the control socket, runs process.args in the guest through the
 * agent and stands for it until it ends:
 *   - the stdio create was given (conmon's pipes), or the terminal's pty
 *     slave, is relayed to and from the guest process;
 *   - signals it receives are sent to the guest process (SIGKILL cannot be:
 *     `kill ... KILL` kills this process and then the VM);
 *   - it exits as the guest process did: the same code, or killed by the
 *     same signal;
 *   - the VM is killed before it exits, so a stopped container has no VM. */
#ifndef OCI_RELAY_H
#define OCI_RELAY_H

#include "oci_bundle.h"
#include "oci_globals.h"
#include "oci_state.h"

#include <smartvm/agent.h>

typedef struct {
	const oci_bundle *bundle;
	const oci_dir *dir;
	const oci_globals *globals;
	const char *id;
	int ready_fd; /* "ok" or the error text, then closed */
	int tty_fd;   /* the pty slave for process.terminal, else -1 */
	/* The container process sets these for itself while the process runs:
	 * its control socket and VM, for pause and resume. Else -1 and NULL. */
	int ctl_fd;
	sv_vm *vm;
} oci_relay_args;

/* Runs in the child; never returns. */
void oci_relay_main(const oci_relay_args *a) __attribute__((noreturn));

/* The pieces exec's relay shares (oci_exec.c), for one process each:
 * forwarded signals are caught (to a wake-up pipe, once per process); the
 * sv_exec options of a->bundle's process with the engine's stdio or
 * a->tty_fd; the wait that forwards signals and resizes until the guest
 * process ends (*code, *sig); and the end of this process the way the
 * guest process ended. */
void oci_relay_catch_signals(void);
void oci_relay_exec_options(sv_exec_options *o, const oci_relay_args *a);
void oci_relay_run_process(sv_exec *e, const oci_relay_args *a, int *code, int *sig);
void oci_relay_exit_like(int code, int sig) __attribute__((noreturn));

/* Sends request ("pause", "resume") to the container process on its
 * control socket and waits at most timeout_ms for its answer. 0 when it
 * did it; SV_EPROCESS with its message otherwise. */
int oci_relay_request(const oci_dir *d, const char *id, const char *request, int timeout_ms);

/* For `start`: asks the container process in d to run the process. 0 once
 * it runs; SV_EINVALID_STATE etc. with the relay's message otherwise. */
int oci_relay_request_start(const oci_dir *d, const char *id);

#endif
