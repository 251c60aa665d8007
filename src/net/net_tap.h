/* Persistent TAP devices created through /dev/net/tun. */
#ifndef SV_NET_NET_TAP_H
#define SV_NET_NET_TAP_H

/* Creates (or re-opens, if a TAP of that name exists) a persistent TAP named
 * name (IFF_TAP | IFF_NO_PI) and lets go of it, so that the VMM can open it. */
int sv_tap_create(const char *name);

#endif
