/* The per-VM resource ledger (STYLE.md): an append-only text file in the VM
 * directory naming every host resource the VM creates, written *before* the
 * resource is created. Cleanup replays it backwards, undoing each entry and
 * tolerating what is already gone. The same replay serves in-process cleanup,
 * the supervisor when the VMM dies, and `smartvm gc` after a crash.
 *
 * Line format: "<kind> <arg1> [<arg2>]\n", arguments percent-encoded (so
 * paths with spaces survive); handlers receive them decoded.
 * Kinds and how they are undone:
 *   dir PATH            rm -rf PATH (the VM directory itself is always last)
 *   file PATH           unlink PATH
 *   pid PID STARTTIME   SIGKILL it if it is still that process
 *   tap NAME            delete the link          (src/net)
 *   lease FILE IP       release the address lease (src/net)
 *   bridge NAME         delete the bridge if no port uses it (src/net)
 *   nft TABLE           delete the nftables table if no VM uses it (src/net)
 *   netvm VMID          per-VM nft elements / rules (src/net)
 */
#ifndef SV_UTIL_LEDGER_H
#define SV_UTIL_LEDGER_H

#include <stddef.h>

typedef struct sv_ledger sv_ledger;

/* Opens (creating) <vm_dir>/ledger for appending. */
int sv_ledger_open(sv_ledger **out, const char *vm_dir);
void sv_ledger_close(sv_ledger *ledger);

/* Appends and fsyncs one entry. Call before creating the resource. */
int sv_ledger_record(sv_ledger *ledger, const char *kind, const char *arg1, const char *arg2);

/* An undo handler: undoes one entry; must succeed when the resource is gone. */
typedef int (*sv_ledger_undo_fn)(const char *arg1, const char *arg2);

/* Registers the undo for a kind (src/net registers its kinds at library load). */
void sv_ledger_register(const char *kind, sv_ledger_undo_fn undo);

/* Replays <vm_dir>/ledger backwards, then removes vm_dir. Every entry is tried
 * even if earlier ones fail; returns the first failure. A missing vm_dir or
 * ledger is success. */
int sv_ledger_replay(const char *vm_dir);

#endif
