/* Manager internals used by src/vm. */
#ifndef SV_MANAGER_MANAGER_INTERNAL_H
#define SV_MANAGER_MANAGER_INTERNAL_H

#include <smartvm/manager.h>

/* Resolved options: every default applied, strings owned by the manager. */
const sv_manager_options *sv_manager__opts(const sv_manager *mgr);

/* A non-blocking inotify instance for this manager's waits (created on first
 * use, closed with the manager); -1 if inotify is unavailable. */
int sv_manager__inotify_fd(sv_manager *mgr);

/* Adds a VM made by src/vm (a restore) to the registry; SV_EEXISTS if its id
 * is taken here or in runtime_dir. The manager owns it afterwards. */
struct sv_vm;
int sv_manager__register_vm(sv_manager *mgr, struct sv_vm *vm);

#endif
