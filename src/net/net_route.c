/* Policy rules and per-table default routes over rtnetlink (see
 * net_route.h). Every request is built with libmnl's helpers and sent
 * through sv_nl_talk; this file never spawns a program. */
#include "net/net_route.h"

#include "net/net_addr.h"
#include "net/net_link.h"
#include "net/net_nl.h"
#include "util/error.h"
#include <arpa/inet.h>
#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static struct nlmsghdr *start(char *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	return nlh;
}

static int rule(bool add, uint32_t src, const char *iif, uint32_t table, uint32_t prio)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh =
	    start(buf, add ? RTM_NEWRULE : RTM_DELRULE, add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	struct fib_rule_hdr *frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	frh->family = AF_INET;
	frh->src_len = 32;
	frh->action = FR_ACT_TO_TBL;
	frh->table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
	mnl_attr_put_u32(nlh, FRA_SRC, htonl(src));
	mnl_attr_put_strz(nlh, FRA_IIFNAME, iif);
	mnl_attr_put_u32(nlh, FRA_TABLE, table);
	mnl_attr_put_u32(nlh, FRA_PRIORITY, prio);
	int rc = sv_nl_talk(NETLINK_ROUTE, nlh, NULL, NULL);
	if ((add && rc == -EEXIST) || (!add && rc == -ENOENT))
		return 0;
	if (rc) {
		char text[16];
		sv_ipv4_format(src, text);
		return sv_err_errno(SV_ENETWORK, -rc, "%s the routing rule \"from %s iif %s lookup %u\"",
				    add ? "adding" : "deleting", text, iif, table);
	}
	return 0;
}

int sv_nl_rule_add(uint32_t src, const char *iif, uint32_t table, uint32_t prio)
{
	return rule(true, src, iif, table, prio);
}

int sv_nl_rule_del(uint32_t src, const char *iif, uint32_t table, uint32_t prio)
{
	return rule(false, src, iif, table, prio);
}

static int table_default(bool add, uint32_t table, const char *dev, uint32_t metric)
{
	sv_nl_link link = {0};
	if (dev) {
		int rc = sv_nl_link_get(dev, &link);
		if (rc == SV_ENOTFOUND && !add)
			return 0; /* its routes went with it */
		if (rc)
			return sv_err_prefix("route of table %u", table);
	}
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh =
	    start(buf, add ? RTM_NEWROUTE : RTM_DELROUTE, add ? NLM_F_CREATE | NLM_F_REPLACE : 0);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = 0;
	rtm->rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = dev ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
	rtm->rtm_type = dev ? RTN_UNICAST : RTN_UNREACHABLE;
	mnl_attr_put_u32(nlh, RTA_TABLE, table);
	mnl_attr_put_u32(nlh, RTA_PRIORITY, metric);
	if (dev)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)link.index);
	int rc = sv_nl_talk(NETLINK_ROUTE, nlh, NULL, NULL);
	if (!add && (rc == -ESRCH || rc == -ENOENT))
		return 0;
	if (rc)
		return sv_err_errno(SV_ENETWORK, -rc, "%s the %s default route of table %u",
				    add ? "adding" : "deleting", dev ? dev : "unreachable", table);
	return 0;
}

int sv_nl_table_default_add(uint32_t table, const char *dev, uint32_t metric)
{
	return table_default(true, table, dev, metric);
}

int sv_nl_table_default_del(uint32_t table, const char *dev, uint32_t metric)
{
	return table_default(false, table, dev, metric);
}

typedef struct {
	uint32_t table;
	bool used;
} table_query;

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	table_query *q = data;
	if (nlh->nlmsg_type != RTM_NEWRULE)
		return MNL_CB_OK;
	const struct fib_rule_hdr *frh = mnl_nlmsg_get_payload(nlh);
	uint32_t table = frh->table;
	const struct nlattr *attr;
	mnl_attr_for_each(attr, nlh, sizeof(*frh))
	{
		if (mnl_attr_get_type(attr) == FRA_TABLE && mnl_attr_get_payload_len(attr) == 4)
			table = mnl_attr_get_u32(attr);
	}
	if (table == q->table)
		q->used = true;
	return MNL_CB_OK;
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	table_query *q = data;
	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return MNL_CB_OK;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	uint32_t table = rtm->rtm_table;
	const struct nlattr *attr;
	mnl_attr_for_each(attr, nlh, sizeof(*rtm))
	{
		if (mnl_attr_get_type(attr) == RTA_TABLE && mnl_attr_get_payload_len(attr) == 4)
			table = mnl_attr_get_u32(attr);
	}
	if (table == q->table)
		q->used = true;
	return MNL_CB_OK;
}

int sv_nl_table_in_use(uint32_t table, bool *used)
{
	table_query q = {.table = table};
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = start(buf, RTM_GETRULE, NLM_F_DUMP);
	struct fib_rule_hdr *frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	frh->family = AF_INET;
	int rc = sv_nl_talk(NETLINK_ROUTE, nlh, rule_cb, &q);
	if (!rc && !q.used) {
		nlh = start(buf, RTM_GETROUTE, NLM_F_DUMP);
		struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
		rtm->rtm_family = AF_INET;
		rc = sv_nl_talk(NETLINK_ROUTE, nlh, route_cb, &q);
	}
	if (rc)
		return sv_err_errno(SV_ENETWORK, -rc, "netlink: listing rules and routes");
	*used = q.used;
	return 0;
}
