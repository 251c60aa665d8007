/* The exec relays of a container: each process `exec` starts in the guest
 * has a host process standing for it (the foreground `exec` itself, or the
 * relay `exec --detach` forks), recorded in the container's directory as
 * exec-PID.json (pid, start time, the command) while it runs. `ps` lists
 * them, `kill --all` signals them too, `delete` and `kill KILL` kill them
 * with the VM. A record whose
 * process is gone (a relay killed with SIGKILL) is ignored and removed by
 * the next listing. */
#ifndef OCI_EXECS_H
#define OCI_EXECS_H

#include "oci_state.h"

#include <stddef.h>
#include <sys/types.h>

typedef struct {
	pid_t pid;
	unsigned long long start_time;
	char *command; /* args[0] of the guest process */
} oci_exec_record;

/* Records this process (getpid()) as the relay of a process running command. */
int oci_execs_add(const oci_dir *d, const char *command);
/* Removes this process's record. */
void oci_execs_remove(const oci_dir *d);
/* The live relays, ordered by pid; *out is freed with oci_execs_free. */
int oci_execs_list(const oci_dir *d, oci_exec_record **out, size_t *n);
void oci_execs_free(oci_exec_record *r, size_t n);
/* Sends sig to every live relay (through a pidfd, after checking its start
 * time; they forward it to their guest processes). SIGKILL: waits for each
 * to die and drops its record. */
void oci_execs_signal_all(const oci_dir *d, int sig);

#endif
