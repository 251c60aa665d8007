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

#endif
