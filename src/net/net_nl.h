/* The one netlink exchange every netlink user in src/net goes through (libmnl;
 * defined in net_link.c). */
#ifndef SV_NET_NET_NL_H
#define SV_NET_NET_NL_H

#include <libmnl/libmnl.h>

/* Sends nlh on a fresh socket of bus (NETLINK_ROUTE, NETLINK_GENERIC) bound
 * to an automatic port id, and feeds every reply to cb until the kernel says
 * done or acks (at most 5 s per reply). Returns 0, or -errno from the
 * kernel's NLMSG_ERROR or a socket call. Never prints, never retries. */
int sv_nl_talk(int bus, struct nlmsghdr *nlh, mnl_cb_t cb, void *data);

/* tb[type] = the attribute of that type (types above max ignored), after a
 * header of hdr_len bytes, or inside nest. tb must hold max + 1 NULLs. */
void sv_nl_parse_attrs(const struct nlmsghdr *nlh, size_t hdr_len, const struct nlattr **tb, int max);
void sv_nl_parse_nested(const struct nlattr *nest, const struct nlattr **tb, int max);

#endif
