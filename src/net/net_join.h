/* Joining a VM's TAP to an interface someone else made in a network
 * namespace (net.join_dev: CNI's eth0, a veth whose other end is on the
 * engine's bridge), the way tc-redirect-tap and Kata's tcfilter mode do:
 * an ingress qdisc on each with a filter redirecting every frame to the
 * other. The guest takes the interface's MAC (so frames need no rewriting)
 * and its IPv4 address, prefix and default gateway; the address is moved
 * off the interface for the VM's life, so that the namespace's own stack
 * claims nothing the guest owns, and put back (with the default route)
 * when the VM is cleaned up, so that the engine finds the namespace as it
 * left it (CNI's DEL looks the interface up by its addresses).
 *
 * Ledger entry (recorded before anything is changed):
 *   join DEV,COOKIE,ADDR/PREFIX,GATEWAY|- NETNS_PATH
 * COOKIE (32 hex digits, random per VM) is carried by the redirect on DEV:
 * the undo acts only when DEV's ingress qdisc holds it, i.e. only on what
 * this VM did (a crash before the redirect was added changed nothing yet). */
#ifndef SV_NET_NET_JOIN_H
#define SV_NET_NET_JOIN_H

#include "util/ledger.h"
#include <smartvm/config.h>
#include <smartvm/net.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
	int index;
	char name[16];
	unsigned char mac[6];
	uint32_t addr; /* host byte order */
	int prefix;
	uint32_t gateway; /* the namespace's default route through it; 0 = none */
} sv_net_join_info;

/* Reads dev in the calling thread's namespace: it must exist, be no TAP
 * or loopback, be up and have an IPv4 address (the first one is the
 * guest's). Errors name dev and say what is missing. */
int sv_net_join_read(const char *dev, sv_net_join_info *out);

/* Records the join in ledger, then redirects dev <-> tap both ways and
 * moves dev's address off it. In the namespace netns_path (the calling
 * thread must be in it already; netns_path is what the undo enters). */
int sv_net_join(sv_ledger *ledger, const char *netns_path, const sv_net_join_info *j, const char *tap);

/* The guest's side: tap gets j's address, mask and gateway, and cfg's
 * boot_args an ip= argument with them unless it has one already. */
int sv_net_join_guest(sv_vm_config *cfg, const sv_net_join_info *j, sv_tap_device *tap);

/* Whether boot args hold an ip= argument (a word starting "ip="). */
bool sv_boot_args_have_ip(const char *args);

/* Registers the "join" undo (from sv_net_register_undo_vm). */
void sv_net_register_undo_join(void);

#endif
