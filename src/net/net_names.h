/* Deterministic host-side names for a VM's interfaces: the TAP device name and
 * the guest MAC, both derived from (vm id, iface id) so that every process
 * computes the same ones and no registry of names is needed. */
#ifndef SV_NET_NET_NAMES_H
#define SV_NET_NET_NAMES_H

/* "svt" + 12 hex digits of SHA-256(vm_id "/" iface_id): 15 bytes, unique
 * even for long ids that share a prefix. */
#define SV_TAP_PREFIX "svt"
int sv_net_tap_name(char out[16], const char *vm_id, const char *iface_id);

/* "06:xx:xx:xx:xx:xx": locally administered, unicast, from the same hash. */
int sv_net_guest_mac(char out[18], const char *vm_id, const char *iface_id);

#endif
