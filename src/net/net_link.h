/* Links, addresses and routes over rtnetlink (libmnl). Never runs `ip`.
 * Every call opens its own socket, so callers hold no netlink state. */
#ifndef SV_NET_NET_LINK_H
#define SV_NET_NET_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
	int index;
	int master;	/* 0 = none */
	unsigned flags; /* IFF_* */
	char name[16];
	char kind[16]; /* "bridge", "tun", "veth", ... ("" if none) */
	unsigned char mac[6];
	char alias[160];   /* IFLA_IFALIAS, "" if none (longer ones cut) */
	unsigned tun_type; /* kind "tun": IFF_TUN or IFF_TAP (0 if unknown) */
} sv_nl_link;

/* SV_ENOTFOUND (no message prefix needed by callers) when absent. */
int sv_nl_link_get(const char *name, sv_nl_link *out);
/* All links; *out malloc'd. */
int sv_nl_link_list(sv_nl_link **out, size_t *n_out);

/* Creates a bridge; SV_EEXISTS if a link of that name exists. */
int sv_nl_bridge_add(const char *name);
/* Creates a link of kind ("bridge", "wireguard", ...); SV_EEXISTS if the name
 * is taken, SV_ENOTSUP when the kernel does not know the kind. */
int sv_nl_link_add_kind(const char *name, const char *kind);
int sv_nl_link_set_mtu(const char *name, uint32_t mtu);
/* Sets the link's MAC address. On a bridge this also pins it: one set by
 * hand is kept, where the kernel's own follows the lowest MAC among the
 * ports and so changes as VMs come and go. */
int sv_nl_link_set_mac(const char *name, const unsigned char mac[6]);
/* Deletes a link; success when it is already gone. */
int sv_nl_link_del(const char *name);
/* Deletes the link l (by its index, so a device that took the name since l
 * was read is never hit); success when it is already gone. */
int sv_nl_link_del_checked(const sv_nl_link *l);
/* Sets the interface alias (IFLA_IFALIAS): smartvm's mark on what it made. */
int sv_nl_link_set_alias(const char *name, const char *alias);
/* Sets the master (ifindex; 0 = none). */
int sv_nl_link_set_master(const char *name, int master_index);
int sv_nl_link_set_up(const char *name);

/* Adds addr/prefix (host order) to a link; success if already there. */
int sv_nl_addr_add(const char *name, uint32_t addr, int prefix);
/* True if the link with that index carries addr. */
int sv_nl_addr_has(int index, uint32_t addr, bool *has);

/* The output interface of the main table's IPv4 default route;
 * SV_ENOTFOUND when there is none. */
int sv_nl_default_route_dev(char name[16]);

#endif
