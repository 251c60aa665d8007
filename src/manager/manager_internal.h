/* Manager internals used by src/vm. */
#ifndef SV_MANAGER_MANAGER_INTERNAL_H
#define SV_MANAGER_MANAGER_INTERNAL_H

#include <smartvm/manager.h>

/* Resolved options: every default applied, strings owned by the manager. */
const sv_manager_options *sv_manager__opts(const sv_manager *mgr);

#endif
