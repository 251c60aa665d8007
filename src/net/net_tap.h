/* Persistent TAP devices created through /dev/net/tun. */
#ifndef SV_NET_NET_TAP_H
#define SV_NET_NET_TAP_H

/* Creates a persistent TAP named name (IFF_TAP | IFF_NO_PI), marks it with
 * alias (see net_names.h) and lets go of it, so that the VMM can open it.
 * SV_EEXISTS when a device of that name exists: it is never adopted. */
int sv_tap_create(const char *name, const char *alias);

#endif
