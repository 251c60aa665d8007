/* What a VM needs from the manager that made it, handed down so that src/vm
 * never reaches up into src/manager. The manager owns all of it and outlives
 * its VMs. */
#ifndef SV_VM_VM_HOST_H
#define SV_VM_VM_HOST_H

#include "util/inotify_once.h"
#include "util/verified_files.h"
#include <smartvm/manager.h>

typedef struct sv_vm_host {
	const sv_manager_options *opts; /* resolved: every default applied */
	sv_inotify_once *inotify;	/* for the VMs' waits on their directories */
	sv_verified_files *verified;	/* snapshot files hashed by this manager's restores */
	struct sv_fork_server *fork_server; /* forks the VMs' supervisors (vm_fork_server.h) */
} sv_vm_host;

#endif
