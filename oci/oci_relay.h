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

typedef struct {
	const oci_bundle *bundle;
	const oci_dir *dir;
	const oci_globals *globals;
	const char *id;
	int ready_fd; /* "ok" or the error text, then closed */
	int tty_fd;   /* the pty slave for process.terminal, else -1 */
} oci_relay_args;

/* Runs in the child; never returns. */
void oci_relay_main(const oci_relay_args *a) __attribute__((noreturn));

/* For `start`: asks the container process in d to run the process. 0 once
 * it runs; SV_EINVALID_STATE etc. with the relay's message otherwise. */
int oci_relay_request_start(const oci_dir *d, const char *id);

#endif
