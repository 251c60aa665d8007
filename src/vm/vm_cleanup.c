/* Cleanup of one VM directory: the ledger replay with every undo handler
 * registered. Kept apart from vm.c so that the supervisor, which needs only
 * this, does not link the VMM clients (libcurl and its dependencies) and
 * starts quickly. */
#include "vm/vm_internal.h"

#include "util/ledger.h"
#include "vm/vm_net.h"
#include <pthread.h>

static void register_undo_once(void)
{
	sv_vm_net_register_undo();
	sv_vm__jail_register_undo();
}

int sv_vm__cleanup_dir(const char *dir)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, register_undo_once);
	return sv_ledger_replay(dir);
}
