/* The resources all VMs on one bridge share: the bridge itself (with the
 * gateway address) and the nftables table. Both functions must be called
 * with the bridge's lease db open (its flock held), which is what makes
 * "create if absent" and "remove when unused" safe across processes. */
#ifndef SV_NET_NET_BRIDGE_H
#define SV_NET_NET_BRIDGE_H

#include "net/net_addr.h"
#include "net/net_lease.h"

/* Creates the bridge if absent (marking it ours in the state file first,
 * then adding the gateway address and bringing it up); an existing bridge of
 * someone else's is used untouched. */
int sv_net_bridge_ensure(sv_lease_db *db, const sv_net_plan *plan);

/* Enables forwarding and (re)applies the bridge's nftables table; outbound
 * "" picks the default route's interface. The table persists after the last
 * VM: unless force, when the document equals the one last applied (recorded
 * in <net_dir>/<bridge>.nft, removed with the table) nothing runs. */
int sv_net_table_ensure(const sv_net_plan *plan, const char *net_dir, bool force);

/* When the bridge has no lease left: deletes its nftables table (table) and,
 * when no smartvm table is left at all, puts IPv4 forwarding back if smartvm
 * switched it on; (bridge) deletes the bridge if smartvm created it, it
 * still carries smartvm's alias (else SV_EUNSAFE, the bridge left alone) and
 * no port remains, then forgets the bridge's state. Succeeds when things are
 * already gone. */
int sv_net_release_unused(sv_lease_db *db, bool table, bool bridge);

#endif
