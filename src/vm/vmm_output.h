/* The supervisor's side of what a VMM prints (see vmm_output.c): its stdout
 * (the guest's serial console) and its stderr (the VMM's own messages) kept
 * apart, each in a capped, rotated log in the VM directory, with the last
 * lines of each kept in memory for the exit report. */
#ifndef SV_VM_VMM_OUTPUT_H
#define SV_VM_VMM_OUTPUT_H

#include "vm/console_hub.h"
#include <poll.h>
#include <stdbool.h>
#include <sys/types.h>

/* Each log holds at most this many bytes; when full it becomes <name>.1
 * (replacing the one before) and a fresh log starts, so a VM never keeps
 * more than twice this per log however much its guest prints. */
#define SV_VMM_LOG_MAX_BYTES (1024 * 1024)

typedef struct sv_vmm_output sv_vmm_output;

/* Sets up the relay, which the caller's poll loop then drives (below): stdout_fd (read end of the VMM's
 * stdout) to <vm_dir>/console.log, and to console_pipe when >= 0 (the
 * orchestrator reading a command's output; while it does not read, the VMM's
 * console waits, nothing is dropped); stderr_fd to <vm_dir>/vmm.log. The
 * logs are opened relative to the directory's fd, never through a link.
 * hub (may be NULL): `smartvm attach`'s clients, driven from the same
 * loop, get the console too. Takes ownership of the three fds and the hub
 * (also on failure). */
int sv_vmm_output_start(sv_vmm_output **out, int stdout_fd, int stderr_fd, int console_pipe,
			sv_console_hub *hub, const char *vm_dir);

/* How many pollfds sv_vmm_output_poll_prepare fills. */
#define SV_VMM_OUTPUT_POLLFDS (3 + SV_CONSOLE_HUB_POLLFDS)

/* Fills p[0..SV_VMM_OUTPUT_POLLFDS) with what the relay waits for (fd -1 for
 * nothing) and returns how long the caller's poll may wait at most for it,
 * in ms (-1: no limit; the end of a pause that lets the console's bytes
 * gather). After poll, sv_vmm_output_poll_done does what is ready without
 * blocking. */
int sv_vmm_output_poll_prepare(sv_vmm_output *o, struct pollfd *p);
void sv_vmm_output_poll_done(sv_vmm_output *o, const struct pollfd *p);

/* After the VMM ended: reads what is left and hands it on, for at most
 * drain_ms, then closes the console pipe. */
void sv_vmm_output_finish(sv_vmm_output *o, int drain_ms);

/* The last lines of the console / of the VMM's stderr, escaped and indented
 * for quoting (util/escape.h); "" when there were none. Call after finish.
 * malloc'd (NULL on OOM). */
char *sv_vmm_output_console_tail(sv_vmm_output *o);
char *sv_vmm_output_stderr_tail(sv_vmm_output *o);

void sv_vmm_output_free(sv_vmm_output *o);

#endif
