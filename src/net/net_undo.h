/* Ledger undo handlers for the networking kinds, and how their entries are
 * spelled. Entries (see util/ledger.h), arguments without whitespace:
 *   bridge BRIDGE NET_DIR       the shared bridge (removed when unused and ours)
 *   nft    BRIDGE NET_DIR       the bridge's nftables table (removed when unused)
 *   lease  LEASE_FILE IP,VM,IFACE
 *   tap    NAME [VM/IFACE]      a TAP smartvm created for that VM's interface
 *   port   DEV BRIDGE           an existing device smartvm attached to BRIDGE
 * and, per VM (net_undo_vm.c), LEASES being <net_dir>/<bridge>.leases:
 *   fw      LEASES DEV,MAC,IP,FLAGS,VM   an interface's firewall elements
 *   publish LEASES PROTO,HOSTIP,HOSTPORT,GUESTIP,GUESTPORT,BRIDGE,VM
 *   wgif    NAME,VM LEASES               a WireGuard interface (and its wireguard-go)
 *   wg      LEASES NAME,VM,IP[,IP...]    routing and firewall of a VM's tunnel
 *   nstap   NAME,VM/IFACE NETNS_PATH     a TAP made in someone else's namespace
 *   join    DEV,COOKIE,ADDR/PREFIX,GW NETNS_PATH
 *                                        a TAP joined to DEV there (net_join.h)
 * Each handler checks the identity of what it is about to remove and refuses
 * (SV_EUNSAFE or SV_EINVAL, with a message naming the object) anything that is
 * not smartvm's: the entry is then kept for a later gc, the object left alone.
 */
#ifndef SV_NET_NET_UNDO_H
#define SV_NET_NET_UNDO_H

#include "net/net_lease.h"

/* Registers the handlers above with the ledger. Idempotent. */
void sv_net_register_undo(void);

/* Removes one lease's host device as its undo would: deletes the TAP the
 * lease's VM owns (only if it still is that TAP), detaches a device it
 * adopted from bridge. */
int sv_net_drop_device(const sv_lease *lease, const char *bridge);

/* Deletes TAP name (in the caller's namespace) if it is the one smartvm made
 * for (vm, iface); success when it is gone or another VM's TAP took the
 * name, SV_EUNSAFE for anything else. */
int sv_net_drop_tap(const char *name, const char *vm, const char *iface);

/* Registers the per-VM kinds above (net_undo_vm.c). */
void sv_net_register_undo_vm(void);

#endif
