/* A VM's TAP joined to an interface of someone else's namespace (see
 * net_join.h). Everything goes through rtnetlink with libmnl; nothing here
 * runs `ip` or `tc`. The interface itself is never created or deleted:
 * it is the engine's (CNI deletes it with the namespace). */
#include "net/net_join.h"

#include "net/net_addr.h"
#include "net/net_link.h"
#include "net/net_netns.h"
#include "net/net_nl.h"
#include "net/net_tc.h"
#include "util/error.h"
#include "util/fault.h"
#include "util/ledger.h"
#include "util/log.h"
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
	int index;
	uint32_t addr_be;
	int prefix;
	uint32_t gw_be;
	bool found;
} ifaddr_query;

static struct nlmsghdr *start_msg(char *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	return nlh;
}

static int first_addr_cb(const struct nlmsghdr *nlh, void *data)
{
	ifaddr_query *q = data;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	if (nlh->nlmsg_type != RTM_NEWADDR || q->found || (int)ifa->ifa_index != q->index ||
	    ifa->ifa_family != AF_INET)
		return MNL_CB_OK;
	const struct nlattr *tb[IFA_MAX + 1] = {0};
	sv_nl_parse_attrs(nlh, sizeof(*ifa), tb, IFA_MAX);
	const struct nlattr *a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (a && mnl_attr_get_payload_len(a) == 4) {
		q->addr_be = mnl_attr_get_u32(a);
		q->prefix = ifa->ifa_prefixlen;
		q->found = true;
	}
	return MNL_CB_OK;
}

static int gateway_cb(const struct nlmsghdr *nlh, void *data)
{
	ifaddr_query *q = data;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	if (nlh->nlmsg_type != RTM_NEWROUTE || q->gw_be || rtm->rtm_family != AF_INET ||
	    rtm->rtm_dst_len != 0 || rtm->rtm_type != RTN_UNICAST)
		return MNL_CB_OK;
	const struct nlattr *tb[RTA_MAX + 1] = {0};
	sv_nl_parse_attrs(nlh, sizeof(*rtm), tb, RTA_MAX);
	uint32_t table = tb[RTA_TABLE] ? mnl_attr_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
	if (table == RT_TABLE_MAIN && tb[RTA_OIF] && (int)mnl_attr_get_u32(tb[RTA_OIF]) == q->index &&
	    tb[RTA_GATEWAY] && mnl_attr_get_payload_len(tb[RTA_GATEWAY]) == 4)
		q->gw_be = mnl_attr_get_u32(tb[RTA_GATEWAY]);
	return MNL_CB_OK;
}

int sv_net_join_read(const char *dev, sv_net_join_info *out)
{
	sv_nl_link link;
	memset(out, 0, sizeof(*out));
	int rc = sv_nl_link_get(dev, &link);
	if (rc == SV_ENOTFOUND)
		return sv_err(SV_ENOTFOUND,
			      "%s: no such interface in the namespace (the engine's network "
			      "plugin made none?)",
			      dev);
	if (rc)
		return rc;
	if (link.flags & IFF_LOOPBACK)
		return sv_err(SV_EINVAL, "%s: the loopback interface cannot be joined to a VM", dev);
	if (!strcmp(link.kind, "tun"))
		return sv_err(SV_EINVAL, "%s: a TUN/TAP device, not the engine's interface", dev);
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = start_msg(buf, RTM_GETADDR, NLM_F_DUMP);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifaddr_query q = {.index = link.index};
	if ((rc = sv_nl_talk(NETLINK_ROUTE, nlh, first_addr_cb, &q)))
		return sv_err_errno(SV_ENETWORK, -rc, "netlink: listing the addresses of %s", dev);
	if (!q.found)
		return sv_err(SV_EINVAL,
			      "%s: has no IPv4 address to give the VM (the engine's IPAM gave it none)", dev);
	nlh = start_msg(buf, RTM_GETROUTE, NLM_F_DUMP);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	if ((rc = sv_nl_talk(NETLINK_ROUTE, nlh, gateway_cb, &q)))
		return sv_err_errno(SV_ENETWORK, -rc, "netlink: listing routes");
	out->index = link.index;
	snprintf(out->name, sizeof(out->name), "%s", link.name);
	memcpy(out->mac, link.mac, 6);
	out->addr = ntohl(q.addr_be);
	out->prefix = q.prefix;
	out->gateway = ntohl(q.gw_be);
	return 0;
}

/* Deletes (add false) or adds addr/prefix on index. */
static int change_addr(bool add, int index, uint32_t addr, int prefix, const char *dev)
{
	if (add)
		return sv_nl_addr_add(dev, addr, prefix);
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = start_msg(buf, RTM_DELADDR, 0);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)prefix;
	ifa->ifa_index = (unsigned)index;
	mnl_attr_put_u32(nlh, IFA_LOCAL, htonl(addr));
	int rc = sv_nl_talk(NETLINK_ROUTE, nlh, NULL, NULL);
	if (rc && rc != -EADDRNOTAVAIL)
		return sv_err_errno(SV_ENETWORK, -rc, "moving the address off %s", dev);
	return 0;
}

/* "default via gateway dev index" in the main table; one there is fine. */
static int default_route_add(int index, uint32_t gateway, const char *dev)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = start_msg(buf, RTM_NEWROUTE, NLM_F_CREATE);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put_u32(nlh, RTA_GATEWAY, htonl(gateway));
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)index);
	int rc = sv_nl_talk(NETLINK_ROUTE, nlh, NULL, NULL);
	if (rc && rc != -EEXIST)
		return sv_err_errno(SV_ENETWORK, -rc, "restoring the default route through %s", dev);
	return 0;
}

static void cookie_hex(const unsigned char c[SV_TC_COOKIE_LEN], char out[2 * SV_TC_COOKIE_LEN + 1])
{
	for (int i = 0; i < SV_TC_COOKIE_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", c[i]);
}

static bool cookie_parse(const char *hex, unsigned char c[SV_TC_COOKIE_LEN])
{
	if (strlen(hex) != 2 * SV_TC_COOKIE_LEN || strspn(hex, "0123456789abcdef") != strlen(hex))
		return false;
	for (int i = 0; i < SV_TC_COOKIE_LEN; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		c[i] = (unsigned char)v;
	}
	return true;
}

int sv_net_join(sv_ledger *ledger, const char *netns_path, const sv_net_join_info *j, const char *tap)
{
	unsigned char cookie[SV_TC_COOKIE_LEN];
	if (getrandom(cookie, sizeof(cookie), 0) != (ssize_t)sizeof(cookie))
		return sv_err_errno(SV_EIO, errno, "getrandom");
	char hex[2 * SV_TC_COOKIE_LEN + 1], addr[16], gw[16] = "-", entry[128];
	cookie_hex(cookie, hex);
	sv_ipv4_format(j->addr, addr);
	if (j->gateway)
		sv_ipv4_format(j->gateway, gw);
	snprintf(entry, sizeof(entry), "%s,%s,%s/%d,%s", j->name, hex, addr, j->prefix, gw);
	sv_nl_link t;
	int rc = sv_nl_link_get(tap, &t);
	if (rc || (rc = sv_ledger_record(ledger, "join", entry, netns_path)) ||
	    (rc = SV_FAULT_POINT("launch.join")) || (rc = sv_tc_ingress_add(j->index, j->name)))
		return rc;
	if ((rc = sv_tc_redirect_add(j->index, j->name, t.index, tap, cookie))) {
		/* The qdisc was ours a moment ago but carries no cookie yet. */
		sv_tc_ingress_del(j->index, j->name);
		return rc;
	}
	if ((rc = sv_tc_ingress_add(t.index, tap)) ||
	    (rc = sv_tc_redirect_add(t.index, tap, j->index, j->name, cookie)))
		return rc;
	return change_addr(false, j->index, j->addr, j->prefix, j->name);
}

bool sv_boot_args_have_ip(const char *args)
{
	for (const char *p = args; p && (p = strstr(p, "ip=")); p += 3)
		if (p == args || p[-1] == ' ')
			return true;
	return false;
}

int sv_net_join_guest(sv_vm_config *cfg, const sv_net_join_info *j, sv_tap_device *tap)
{
	sv_ipv4_format(j->addr, tap->guest_ip);
	sv_ipv4_format(sv_ipv4_mask(j->prefix), tap->subnet_mask);
	if (j->gateway)
		sv_ipv4_format(j->gateway, tap->gateway_ip);
	const char *args = cfg->boot_source.boot_args;
	if (sv_boot_args_have_ip(args))
		return 0;
	char *joined = NULL;
	/* client::gateway:netmask:hostname:device:autoconf, as vm_net.c writes it. */
	if (asprintf(&joined, "%s%sip=%s::%s:%s::eth0:off", args ? args : "", args && *args ? " " : "",
		     tap->guest_ip, tap->gateway_ip, tap->subnet_mask) < 0)
		return sv_err(SV_ENOMEM, "out of memory");
	free((char *)cfg->boot_source.boot_args);
	cfg->boot_source.boot_args = joined;
	return 0;
}

typedef struct {
	char dev[16];
	unsigned char cookie[SV_TC_COOKIE_LEN];
	uint32_t addr, gateway;
	int prefix;
} join_entry;

static int unjoin(void *arg)
{
	const join_entry *e = arg;
	sv_nl_link link;
	int rc = sv_nl_link_get(e->dev, &link);
	if (rc == SV_ENOTFOUND) {
		sv_err_clear();
		return 0; /* the engine removed it: nothing of ours is left on it */
	}
	bool ours = false;
	if (rc || (rc = sv_tc_ingress_has_cookie(link.index, e->cookie, &ours)))
		return rc;
	if (!ours)
		return 0; /* never redirected (so never moved its address), or undone already */
	if ((rc = change_addr(true, link.index, e->addr, e->prefix, e->dev)) ||
	    (e->gateway && (rc = default_route_add(link.index, e->gateway, e->dev))))
		return rc;
	return sv_tc_ingress_del(link.index, e->dev);
}

static int undo_join(const char *text, const char *netns)
{
	join_entry e = {0};
	char hex[40] = "", addr[20] = "", gw[20] = "";
	int end = 0;
	const char *why;
	bool ok = text && netns &&
		  sscanf(text, "%15[^,],%39[^,],%19[^,],%19[^,]%n", e.dev, hex, addr, gw, &end) == 4 &&
		  !text[end] && sv_ifname_valid(e.dev, &why) && cookie_parse(hex, e.cookie) &&
		  sv_ipv4_cidr_parse(addr, &e.addr, &e.prefix) &&
		  (!strcmp(gw, "-") || sv_ipv4_parse(gw, &e.gateway));
	if (!ok)
		return sv_err(
		    SV_EINVAL,
		    "ledger entry for a joined interface: \"%s\" is not DEV,COOKIE,ADDR/PREFIX,GATEWAY",
		    text ? text : "");
	int fd;
	if (sv_netns_open("namespace of the ledger entry", netns, &fd)) {
		sv_debug("interface %s: %s; nothing left to undo", e.dev, sv_last_error());
		sv_err_clear();
		return 0; /* the namespace is gone, and its interfaces with it */
	}
	int rc = sv_netns_run(fd, unjoin, &e);
	close(fd);
	return rc ? sv_err_prefix("in network namespace %s", netns) : 0;
}

void sv_net_register_undo_join(void) { sv_ledger_register("join", undo_join); }
