/* Deterministic host-side names for a VM's interfaces: the TAP device name and
 * the guest MAC, both derived from (vm id, iface id) so that every process
 * computes the same ones and no registry of names is needed; and the marks
 * that say which VM a device belongs to. A hash is not one-to-one: a derived
 * name or MAC that is in use is refused at setup (net_tap.c, net_lease.c),
 * never shared. */
#ifndef SV_NET_NET_NAMES_H
#define SV_NET_NET_NAMES_H

#include <stdbool.h>

/* "svt" + 12 hex digits of SHA-256(vm_id "/" iface_id): 15 bytes, unique
 * even for long ids that share a prefix. */
#define SV_TAP_PREFIX "svt"
int sv_net_tap_name(char out[16], const char *vm_id, const char *iface_id);

/* Whether name has the shape sv_net_tap_name gives (prefix + 12 hex digits). */
bool sv_net_tap_name_is_derived(const char *name);

/* "06:xx:xx:xx:xx:xx": locally administered, unicast, from the same hash. */
int sv_net_guest_mac(char out[18], const char *vm_id, const char *iface_id);

/* The marks (interface aliases) smartvm puts on what it creates, so that a
 * cleanup can tell its own device from another that took the name:
 * "smartvm tap <vm_id>/<iface_id>" on a TAP, "smartvm bridge" on a bridge. */
#define SV_NET_ALIAS_MAX 160
#define SV_NET_TAP_ALIAS_PREFIX "smartvm tap "
#define SV_NET_BRIDGE_ALIAS "smartvm bridge"
int sv_net_tap_alias(char out[SV_NET_ALIAS_MAX], const char *vm_id, const char *iface_id);

#endif
