/* Ledger undo handlers for the networking kinds, and how their entries are
 * spelled. Entries (see util/ledger.h), arguments without whitespace:
 *   bridge BRIDGE NET_DIR       the shared bridge (removed when unused and ours)
 *   nft    BRIDGE NET_DIR       the bridge's nftables table (removed when unused)
 *   lease  LEASE_FILE IP,VM,IFACE
 *   tap    NAME                 a TAP smartvm created
 *   port   DEV BRIDGE           an existing device smartvm attached to BRIDGE
 */
#ifndef SV_NET_NET_UNDO_H
#define SV_NET_NET_UNDO_H

#include "net/net_lease.h"

/* Registers the handlers above with the ledger. Idempotent. */
void sv_net_register_undo(void);

/* Removes one lease's host device as its undo would: deletes a TAP we own
 * (only if it still is a TAP), detaches a device we adopted. */
int sv_net_drop_device(const char *dev, bool owned, const char *bridge);

#endif
