/* IPv4 forwarding, which NAT needs. smartvm turns it on and, when its last
 * table is gone, back off again, but only if it was smartvm that turned it on:
 * a marker file under the net directory says so, written before the switch
 * (so a crash leaves at worst a marker, never an unexplained change). Callers
 * hold the net directory's lock. */
#ifndef SV_NET_NET_FORWARD_H
#define SV_NET_NET_FORWARD_H

/* net.ipv4.ip_forward = 1 in the caller's network namespace. */
int sv_net_forwarding_on(const char *net_dir);

/* Puts ip_forward back to 0 if smartvm turned it on. Call once no smartvm
 * table remains. */
int sv_net_forwarding_restore(const char *net_dir);

/* net.ipv4.conf.<bridge>.route_localnet = 1, which a published port needs
 * to be reached at 127.0.0.1 from the host itself (the connection leaves by
 * the bridge with its loopback source, then is masqueraded). Scoped to the
 * bridge; switched back (same marker scheme, "<bridge>.route_localnet") when
 * the bridge's table goes. */
int sv_net_route_localnet_on(const char *net_dir, const char *bridge);
int sv_net_route_localnet_restore(const char *net_dir, const char *bridge);

#endif
