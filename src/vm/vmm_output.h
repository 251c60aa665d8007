/* The supervisor's side of what a VMM prints (see vmm_output.c): its stdout
 * (the guest's serial console) and its stderr (the VMM's own messages) kept
 * apart, each in a capped, rotated log in the VM directory, with the last
 * lines of each kept in memory for the exit report. */
#ifndef SV_VM_VMM_OUTPUT_H
#define SV_VM_VMM_OUTPUT_H

#include "vm/console_hub.h"
#include <stdbool.h>
#include <sys/types.h>

/* Each log holds at most this many bytes; when full it becomes <name>.1
 * (replacing the one before) and a fresh log starts, so a VM never keeps
 * more than twice this per log however much its guest prints. */
#define SV_VMM_LOG_MAX_BYTES (1024 * 1024)

typedef struct sv_vmm_output sv_vmm_output;

/* Starts relaying on a thread of its own: stdout_fd (read end of the VMM's
 * stdout) to <vm_dir>/console.log, and to console_pipe when >= 0 (the
 * orchestrator reading a command's output; while it does not read, the VMM's
 * console waits, nothing is dropped); stderr_fd to <vm_dir>/vmm.log. The
 * logs are opened relative to the directory's fd, never through a link.
 * hub (may be NULL): `smartvm attach`'s clients, driven from the same
 * thread, get the console too. Takes ownership of the three fds and the hub
 * (also on failure). */
int sv_vmm_output_start(sv_vmm_output **out, int stdout_fd, int stderr_fd, int console_pipe,
			sv_console_hub *hub, const char *vm_dir);

/* After the VMM ended: lets the relay read what is left and hand it on, for
 * at most drain_ms, then stops it and closes the console pipe. */
void sv_vmm_output_finish(sv_vmm_output *o, int drain_ms);

/* The last lines of the console / of the VMM's stderr, escaped and indented
 * for quoting (util/escape.h); "" when there were none. Call after finish.
 * malloc'd (NULL on OOM). */
char *sv_vmm_output_console_tail(sv_vmm_output *o);
char *sv_vmm_output_stderr_tail(sv_vmm_output *o);

void sv_vmm_output_free(sv_vmm_output *o);

#endif
