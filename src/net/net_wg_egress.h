/* Routing a VM's egress through a WireGuard tunnel of its own (bridge
 * networking): the interface (net_wg.h), a routing table with the tunnel as
 * default route and an unreachable fallback, a rule per VM address, and the
 * firewall elements that keep the VM's traffic inside the tunnel. */
#ifndef SV_NET_NET_WG_EGRESS_H
#define SV_NET_NET_WG_EGRESS_H

#include "net/net_lease.h"
#include "net/net_nft_vm.h"
#include "net/net_wgconf.h"
#include "util/ledger.h"
#include <stddef.h>
#include <stdint.h>

#define SV_WG_UNREACHABLE_METRIC 100000u

/* Under db's lock: picks the interface name, records "wgif" and brings the
 * tunnel up, records "wg" and routes the VM's addresses ips (on db's bridge)
 * through it. The firewall elements go into batch, which the caller applies
 * before the VM runs. *ifname_out gets the interface's name. On failure
 * what was made stays for the ledger replay. */
int sv_wg_egress_setup(sv_lease_db *db, sv_ledger *ledger, const char *vm_id, const uint32_t *ips,
		       size_t n_ips, const sv_wg_config *cfg, sv_nft_batch *batch, char ifname_out[16]);

#endif
