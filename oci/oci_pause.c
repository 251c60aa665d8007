/* `pause ID` and `resume ID`: the container's VM is paused and resumed as a
 * whole (the library's sv_vm_pause/sv_vm_resume: its vCPUs stop), so every
 * process in it, the container's and exec's, stops and goes on together.
 * The container process does it (it holds the VM's VMM connection; QEMU's
 * QMP takes one client), asked on its control socket. The status is
 * recorded in state.json ("paused"). Only a running
 * container is paused (a created one has no process to pause yet); while
 * paused, exec is refused unless --ignore-paused (then it waits for the
 * resume), and signals wait in the VM's agent channel until the resume. */
#include "oci_commands.h"

#include "oci_log.h"
#include "oci_relay.h"

#include <smartvm/error.h>
#include <string.h>
#include <unistd.h>

/* sv_vm_pause waits for another live operation at most the API timeout. */
#define PAUSE_TIMEOUT_MS 30000

static int pause_or_resume(const oci_globals *g, int argc, char **argv, bool pause)
{
	const char *cmd = pause ? "pause" : "resume";
	if (argc != 2 || argv[1][0] == '-')
		return oci_log_error("usage: smartvm-oci %s ID", cmd);
	oci_dir d;
	oci_state s;
	int code = oci_container_open(g, argv[1], &d, &s), lock = -1;
	if (code)
		return code;
	oci_status from = pause ? OCI_RUNNING : OCI_PAUSED, to = pause ? OCI_PAUSED : OCI_RUNNING;
	/* Under the lock kill and delete take: the VM is not torn down meanwhile. */
	if (oci_dir_lock(&d, &lock) < 0) {
		code = oci_log_error("container \"%s\": %s", s.id, sv_last_error());
	} else if (s.status != from) {
		code = oci_log_error(pause ? "container \"%s\" is %s, not running: only a running container "
					     "can be paused"
					   : "container \"%s\" is %s, not paused: nothing to resume",
				     s.id, oci_status_name(s.status));
	} else if (oci_relay_request(&d, s.id, cmd, PAUSE_TIMEOUT_MS) < 0) {
		code = oci_log_error("%s container \"%s\": %s", pause ? "pausing" : "resuming", s.id,
				     sv_last_error());
	} else {
		s.status = to;
		if (oci_state_write(&d, &s) < 0)
			code = oci_log_error("container \"%s\": %s", s.id, sv_last_error());
	}
	if (lock >= 0)
		close(lock);
	oci_state_free(&s);
	oci_dir_close(&d);
	return code;
}

int oci_cmd_pause(const oci_globals *g, int argc, char **argv) { return pause_or_resume(g, argc, argv, true); }

int oci_cmd_resume(const oci_globals *g, int argc, char **argv) { return pause_or_resume(g, argc, argv, false); }
