/* Manager internals used by src/vm. */
#ifndef SV_MANAGER_MANAGER_INTERNAL_H
#define SV_MANAGER_MANAGER_INTERNAL_H

#include <smartvm/manager.h>

/* Resolved options: every default applied, strings owned by the manager. */
const sv_manager_options *sv_manager__opts(const sv_manager *mgr);

/* A non-blocking inotify instance for this manager's waits (created on first
 * use, closed with the manager); -1 if inotify is unavailable. */
int sv_manager__inotify_fd(sv_manager *mgr);

#endif
