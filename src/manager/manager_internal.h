/* What the files of src/manager share; nothing outside src/manager includes
 * this (src/vm gets what it needs through vm/vm_host.h). */
#ifndef SV_MANAGER_MANAGER_INTERNAL_H
#define SV_MANAGER_MANAGER_INTERNAL_H

#include "vm/vm_host.h"
#include <smartvm/manager.h>

/* What this manager hands its VMs; it lives as long as the manager. */
const sv_vm_host *sv_manager__host(const sv_manager *mgr);

/* Adds a VM made by src/vm (a restore) to the registry; SV_EEXISTS if its id
 * is taken here or in runtime_dir. The manager owns it afterwards. */
struct sv_vm;
int sv_manager__register_vm(sv_manager *mgr, struct sv_vm *vm);

#endif
