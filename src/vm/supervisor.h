/* The per-VM supervisor process (the conmon / containerd-shim pattern). */
#ifndef SV_VM_SUPERVISOR_H
#define SV_VM_SUPERVISOR_H

/* The supervisor program's work (src/vm/supervisor_main.c holds its main).
 * Returns the exit status; SV_SUPERVISOR_USAGE for a command line it does
 * not understand (the program prints the usage: the library prints
 * nothing). */
#define SV_SUPERVISOR_USAGE 2
int sv_supervisor_main(int argc, char **argv);

#include <stdbool.h>

/* What a supervisor is handed: the write end of the status pipe, the read
 * end of the control pipe, the VM directory's lock, the console pipe's write
 * end (-1: none); the VM directory; its own start time when its starter
 * has read it already (0: it reads it). */
typedef struct {
	int status_fd, control_fd, lock_fd, console_fd;
	const char *vm_dir;
	unsigned long long start_time;
} sv_supervisor_fds;

/* The supervisor's life once it is nobody's child but its starter's that
 * will not wait for it (after the exec path's first-half fork, or forked by
 * the fork server). reaped_by_kernel: nobody will read our CPU from our
 * zombie, so the trace gets a total (see util/trace.h). */
int sv_supervisor_run(const sv_supervisor_fds *fds, bool reaped_by_kernel);

#endif
