/* rtnetlink through libmnl: links (bridge create, master, up, delete),
 * IPv4 addresses and the default route. One socket per call, bound to an
 * automatic port id, with a receive timeout so that no call can hang on a
 * silent kernel. Messages are built only with libmnl's helpers. This file must
 * never spawn `ip` or any other program. */
#include "net/net_link.h"

#include "net/net_nl.h"
#include "util/array.h"
#include "util/error.h"
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define NL_TIMEOUT_S 5
#define NL_BUF_SIZE 32768

int sv_nl_talk(int bus, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	struct mnl_socket *nl = mnl_socket_open2(bus, SOCK_CLOEXEC);
	if (!nl)
		return -errno;
	int rc = 0;
	struct timeval tv = {.tv_sec = NL_TIMEOUT_S};
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		rc = -errno;
		goto out;
	}
	unsigned seq = (unsigned)time(NULL);
	unsigned portid = mnl_socket_get_portid(nl);
	nlh->nlmsg_seq = seq;
	/* NLM_F_EXCL shares a bit with NLM_F_DUMP: test both bits. */
	if ((nlh->nlmsg_flags & NLM_F_DUMP) != NLM_F_DUMP)
		nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		rc = -errno;
		goto out;
	}
	char *buf = malloc(NL_BUF_SIZE);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, NL_BUF_SIZE);
		if (n < 0) {
			rc = errno == EAGAIN ? -ETIMEDOUT : -errno;
			break;
		}
		int ret = mnl_cb_run(buf, (size_t)n, seq, portid, cb, data);
		if (ret < 0) {
			rc = -errno;
			break;
		}
		if (ret == MNL_CB_STOP)
			break;
	}
	free(buf);
out:
	mnl_socket_close(nl);
	return rc;
}

static int nl_talk(struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	return sv_nl_talk(NETLINK_ROUTE, nlh, cb, data);
}

static struct nlmsghdr *start_msg(char *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	return nlh;
}

static struct ifinfomsg *put_ifinfo(struct nlmsghdr *nlh)
{
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	return ifm;
}

static int collect_attr(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = ((const struct nlattr ***)data)[0];
	int max = (int)(intptr_t)((const struct nlattr ***)data)[1];
	int type = mnl_attr_get_type(attr);
	if (type <= max)
		tb[type] = attr;
	return MNL_CB_OK;
}

void sv_nl_parse_attrs(const struct nlmsghdr *nlh, size_t hdr_len, const struct nlattr **tb, int max)
{
	const void *ctx[2] = {tb, (void *)(intptr_t)max};
	mnl_attr_parse(nlh, (unsigned)hdr_len, collect_attr, ctx);
}

void sv_nl_parse_nested(const struct nlattr *nest, const struct nlattr **tb, int max)
{
	const void *ctx[2] = {tb, (void *)(intptr_t)max};
	mnl_attr_parse_nested(nest, collect_attr, ctx);
}

static void parse_link(const struct nlmsghdr *nlh, sv_nl_link *l)
{
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFLA_MAX + 1] = {0};
	sv_nl_parse_attrs(nlh, sizeof(*ifm), tb, IFLA_MAX);
	memset(l, 0, sizeof(*l));
	l->index = ifm->ifi_index;
	l->flags = ifm->ifi_flags;
	if (tb[IFLA_IFNAME])
		snprintf(l->name, sizeof(l->name), "%s", mnl_attr_get_str(tb[IFLA_IFNAME]));
	if (tb[IFLA_MASTER])
		l->master = (int)mnl_attr_get_u32(tb[IFLA_MASTER]);
	if (tb[IFLA_ADDRESS] && mnl_attr_get_payload_len(tb[IFLA_ADDRESS]) == 6)
		memcpy(l->mac, mnl_attr_get_payload(tb[IFLA_ADDRESS]), 6);
	if (tb[IFLA_IFALIAS])
		snprintf(l->alias, sizeof(l->alias), "%.*s", (int)mnl_attr_get_payload_len(tb[IFLA_IFALIAS]),
			 (const char *)mnl_attr_get_payload(tb[IFLA_IFALIAS]));
	if (tb[IFLA_LINKINFO]) {
		const struct nlattr *info[IFLA_INFO_MAX + 1] = {0};
		sv_nl_parse_nested(tb[IFLA_LINKINFO], info, IFLA_INFO_MAX);
		if (info[IFLA_INFO_KIND])
			snprintf(l->kind, sizeof(l->kind), "%s", mnl_attr_get_str(info[IFLA_INFO_KIND]));
		if (!strcmp(l->kind, "tun") && info[IFLA_INFO_DATA]) {
			const struct nlattr *tun[IFLA_TUN_MAX + 1] = {0};
			sv_nl_parse_nested(info[IFLA_INFO_DATA], tun, IFLA_TUN_MAX);
			if (tun[IFLA_TUN_TYPE])
				l->tun_type = mnl_attr_get_u8(tun[IFLA_TUN_TYPE]);
		}
	}
}

static int one_link_cb(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type == RTM_NEWLINK)
		parse_link(nlh, data);
	return MNL_CB_OK;
}

static int link_get(const char *name, int index, sv_nl_link *out)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = start_msg(buf, RTM_GETLINK, 0);
	struct ifinfomsg *ifm = put_ifinfo(nlh);
	if (name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	else
		ifm->ifi_index = index;
	out->index = 0;
	int rc = nl_talk(nlh, one_link_cb, out);
	if (rc == -ENODEV || (rc == 0 && out->index == 0))
		return sv_err(SV_ENOTFOUND, "link %s: no such device", name ? name : "(by index)");
	if (rc)
		return sv_err_errno(SV_ENETWORK, -rc, "netlink: getting link %s", name ? name : "(by index)");
	return 0;
}

int sv_nl_link_get(const char *name, sv_nl_link *out) { return link_get(name, 0, out); }

typedef struct {
	sv_nl_link *items;
	size_t n, cap;
	bool oom;
} link_vec;

static int all_links_cb(const struct nlmsghdr *nlh, void *data)
{
	link_vec *v = data;
	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	sv_nl_link *items = sv_array_grow(v->items, &v->cap, v->n, sizeof(*items), 16);
	if (!items) {
		v->oom = true;
		return MNL_CB_OK;
	}
	v->items = items;
	parse_link(nlh, &v->items[v->n++]);
	return MNL_CB_OK;
}

int sv_nl_link_list(sv_nl_link **out, size_t *n_out)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = start_msg(buf, RTM_GETLINK, NLM_F_DUMP);
	put_ifinfo(nlh);
	link_vec v = {0};
	int rc = nl_talk(nlh, all_links_cb, &v);
	if (rc || v.oom) {
		free(v.items);
		return rc ? sv_err_errno(SV_ENETWORK, -rc, "netlink: listing links")
			  : sv_err(SV_ENOMEM, "out of memory");
	}
	*out = v.items;
	*n_out = v.n;
	return 0;
}

int sv_nl_bridge_add(const char *name) { return sv_nl_link_add_kind(name, "bridge"); }

int sv_nl_link_del(const char *name)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = start_msg(buf, RTM_DELLINK, 0);
	put_ifinfo(nlh);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	int rc = nl_talk(nlh, NULL, NULL);
	if (rc && rc != -ENODEV)
		return sv_err_errno(SV_ENETWORK, -rc, "deleting link %s", name);
	return 0;
}

int sv_nl_link_del_checked(const sv_nl_link *l)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = start_msg(buf, RTM_DELLINK, 0);
	struct ifinfomsg *ifm = put_ifinfo(nlh);
	/* By index: the kernel hands out new indexes to new devices, so one that
	 * took the name after l was read is never hit. */
	ifm->ifi_index = l->index;
	int rc = nl_talk(nlh, NULL, NULL);
	if (rc && rc != -ENODEV)
		return sv_err_errno(SV_ENETWORK, -rc, "deleting link %s", l->name);
	return 0;
}

int sv_nl_link_set_alias(const char *name, const char *alias)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = start_msg(buf, RTM_NEWLINK, 0);
	put_ifinfo(nlh);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_strz(nlh, IFLA_IFALIAS, alias);
	int rc = nl_talk(nlh, NULL, NULL);
	if (rc)
		return sv_err_errno(SV_ENETWORK, -rc, "marking %s as smartvm's (alias \"%s\")", name, alias);
	return 0;
}

int sv_nl_link_set_master(const char *name, int master_index)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = start_msg(buf, RTM_NEWLINK, 0);
	put_ifinfo(nlh);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master_index);
	int rc = nl_talk(nlh, NULL, NULL);
	if (rc)
		return sv_err_errno(
		    SV_ENETWORK, -rc,
		    master_index ? "attaching %s to its bridge" : "detaching %s from its bridge", name);
	return 0;
}

int sv_nl_link_set_up(const char *name)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = start_msg(buf, RTM_NEWLINK, 0);
	struct ifinfomsg *ifm = put_ifinfo(nlh);
	ifm->ifi_flags = IFF_UP;
	ifm->ifi_change = IFF_UP;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	int rc = nl_talk(nlh, NULL, NULL);
	if (rc)
		return sv_err_errno(SV_ENETWORK, -rc, "bringing %s up", name);
	return 0;
}

int sv_nl_link_set_mac(const char *name, const unsigned char mac[6])
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = start_msg(buf, RTM_NEWLINK, 0);
	put_ifinfo(nlh);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	int rc = nl_talk(nlh, NULL, NULL);
	if (rc)
		return sv_err_errno(SV_ENETWORK, -rc, "setting the MAC address of %s", name);
	return 0;
}

int sv_nl_link_set_mtu(const char *name, uint32_t mtu)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = start_msg(buf, RTM_NEWLINK, 0);
	put_ifinfo(nlh);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	int rc = nl_talk(nlh, NULL, NULL);
	if (rc)
		return sv_err_errno(SV_ENETWORK, -rc, "setting the MTU of %s to %u", name, mtu);
	return 0;
}

int sv_nl_link_add_kind(const char *name, const char *kind)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = start_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	put_ifinfo(nlh);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	struct nlattr *linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
	mnl_attr_nest_end(nlh, linkinfo);
	int rc = nl_talk(nlh, NULL, NULL);
	if (rc == -EEXIST)
		return sv_err(SV_EEXISTS, "creating %s link %s: a link of that name exists", kind, name);
	if (rc == -EOPNOTSUPP)
		return sv_err(SV_EUNSUPPORTED, "creating %s link %s: the kernel has no %s support", kind,
			      name, kind);
	if (rc)
		return sv_err_errno(SV_ENETWORK, -rc, "creating %s link %s", kind, name);
	return 0;
}

int sv_nl_addr_add(const char *name, uint32_t addr, int prefix)
{
	sv_nl_link link;
	int rc = sv_nl_link_get(name, &link);
	if (rc)
		return sv_err_prefix("adding an address to %s", name);
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = start_msg(buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned)link.index;
	uint32_t be = htonl(addr);
	uint32_t bcast = htonl(addr | (prefix >= 32 ? 0 : (0xffffffffu >> prefix)));
	mnl_attr_put_u32(nlh, IFA_LOCAL, be);
	mnl_attr_put_u32(nlh, IFA_ADDRESS, be);
	if (prefix < 31)
		mnl_attr_put_u32(nlh, IFA_BROADCAST, bcast);
	rc = nl_talk(nlh, NULL, NULL);
	if (rc && rc != -EEXIST) {
		char text[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &be, text, sizeof(text));
		return sv_err_errno(SV_ENETWORK, -rc, "adding address %s/%d to %s", text, prefix, name);
	}
	return 0;
}

typedef struct {
	int index;
	uint32_t addr_be;
	bool found;
} addr_query;

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	addr_query *q = data;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	if (nlh->nlmsg_type != RTM_NEWADDR || (int)ifa->ifa_index != q->index)
		return MNL_CB_OK;
	const struct nlattr *tb[IFA_MAX + 1] = {0};
	sv_nl_parse_attrs(nlh, sizeof(*ifa), tb, IFA_MAX);
	const struct nlattr *a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (a && mnl_attr_get_payload_len(a) == 4 && mnl_attr_get_u32(a) == q->addr_be)
		q->found = true;
	return MNL_CB_OK;
}

int sv_nl_addr_has(int index, uint32_t addr, bool *has)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = start_msg(buf, RTM_GETADDR, NLM_F_DUMP);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	addr_query q = {.index = index, .addr_be = htonl(addr)};
	int rc = nl_talk(nlh, addr_cb, &q);
	if (rc)
		return sv_err_errno(SV_ENETWORK, -rc, "netlink: listing addresses");
	*has = q.found;
	return 0;
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	int *oif = data;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	if (nlh->nlmsg_type != RTM_NEWROUTE || *oif || rtm->rtm_family != AF_INET || rtm->rtm_dst_len != 0 ||
	    rtm->rtm_type != RTN_UNICAST)
		return MNL_CB_OK;
	const struct nlattr *tb[RTA_MAX + 1] = {0};
	sv_nl_parse_attrs(nlh, sizeof(*rtm), tb, RTA_MAX);
	uint32_t table = tb[RTA_TABLE] ? mnl_attr_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
	if (table != RT_TABLE_MAIN)
		return MNL_CB_OK;
	if (tb[RTA_OIF]) {
		*oif = (int)mnl_attr_get_u32(tb[RTA_OIF]);
	} else if (tb[RTA_MULTIPATH] &&
		   mnl_attr_get_payload_len(tb[RTA_MULTIPATH]) >= sizeof(struct rtnexthop)) {
		const struct rtnexthop *nh = mnl_attr_get_payload(tb[RTA_MULTIPATH]);
		*oif = nh->rtnh_ifindex;
	}
	return MNL_CB_OK;
}

int sv_nl_default_route_dev(char name[16])
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = start_msg(buf, RTM_GETROUTE, NLM_F_DUMP);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	int oif = 0;
	int rc = nl_talk(nlh, route_cb, &oif);
	if (rc)
		return sv_err_errno(SV_ENETWORK, -rc, "netlink: listing routes");
	if (!oif)
		return sv_err(SV_ENOTFOUND, "no IPv4 default route");
	sv_nl_link link;
	if ((rc = link_get(NULL, oif, &link)))
		return sv_err_prefix("default route");
	snprintf(name, 16, "%s", link.name);
	return 0;
}
