/* The kernel WireGuard backend: a "wireguard" link (rtnetlink) configured with
 * one WG_CMD_SET_DEVICE request over generic netlink, built with libmnl. The
 * machines smartvm is tested on have no WireGuard module, so only the
 * request's bytes are tested (tests/unit/test_net_wg.c); creating the link
 * fails there with SV_EUNSUPPORTED and the userspace backend takes over.
 * A configuration too large for one request (more peers and addresses than
 * sv_wg_config holds) cannot happen: SV_WG_MAX_PEERS peers of
 * SV_WG_MAX_CIDRS addresses fit in BUF_SIZE. */
#include "net/net_wg.h"

#include "net/net_link.h"
#include "net/net_nl.h"
#include "util/error.h"
#include <arpa/inet.h>
#include <errno.h>
#include <linux/genetlink.h>
#include <linux/wireguard.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define BUF_SIZE 32768

static bool put(struct nlmsghdr *nlh, size_t size, uint16_t type, size_t len, const void *data)
{
	return mnl_attr_put_check(nlh, size, type, len, data);
}

static bool put_peer(struct nlmsghdr *nlh, size_t size, const sv_wg_peer *p)
{
	struct nlattr *peer = mnl_attr_nest_start_check(nlh, size, 0);
	if (!peer || !put(nlh, size, WGPEER_A_PUBLIC_KEY, SV_WG_KEY_LEN, p->public_key))
		return false;
	if (p->has_preshared_key && !put(nlh, size, WGPEER_A_PRESHARED_KEY, SV_WG_KEY_LEN, p->preshared_key))
		return false;
	if (p->has_endpoint) {
		struct sockaddr_in sa = {.sin_family = AF_INET,
					 .sin_port = htons(p->endpoint_port),
					 .sin_addr.s_addr = htonl(p->endpoint_addr)};
		if (!put(nlh, size, WGPEER_A_ENDPOINT, sizeof(sa), &sa))
			return false;
	}
	uint16_t keepalive = p->persistent_keepalive;
	uint32_t flags = WGPEER_F_REPLACE_ALLOWEDIPS;
	if (!put(nlh, size, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, sizeof(keepalive), &keepalive) ||
	    !put(nlh, size, WGPEER_A_FLAGS, sizeof(flags), &flags))
		return false;
	struct nlattr *ips = mnl_attr_nest_start_check(nlh, size, WGPEER_A_ALLOWEDIPS);
	if (!ips)
		return false;
	for (size_t i = 0; i < p->n_allowed_ips; i++) {
		struct nlattr *ip = mnl_attr_nest_start_check(nlh, size, 0);
		uint16_t family = AF_INET;
		uint32_t addr = htonl(p->allowed_ips[i].addr);
		uint8_t cidr = (uint8_t)p->allowed_ips[i].prefix;
		if (!ip || !put(nlh, size, WGALLOWEDIP_A_FAMILY, sizeof(family), &family) ||
		    !put(nlh, size, WGALLOWEDIP_A_IPADDR, sizeof(addr), &addr) ||
		    !put(nlh, size, WGALLOWEDIP_A_CIDR_MASK, sizeof(cidr), &cidr))
			return false;
		mnl_attr_nest_end(nlh, ip);
	}
	mnl_attr_nest_end(nlh, ips);
	mnl_attr_nest_end(nlh, peer);
	return true;
}

int sv_wg_genl_build_set(void *buf, size_t size, uint16_t family, uint32_t seq, const char *ifname,
			 const sv_wg_config *cfg, size_t *len)
{
	*len = 0;
	if (size < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct genlmsghdr)))
		return sv_err(SV_EINVAL, "configuring WireGuard interface %s: buffer too small", ifname);
	memset(buf, 0, size);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = family;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	struct genlmsghdr *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = WG_CMD_SET_DEVICE;
	g->version = WG_GENL_VERSION;
	uint32_t flags = WGDEVICE_F_REPLACE_PEERS;
	bool ok = mnl_attr_put_strz_check(nlh, size, WGDEVICE_A_IFNAME, ifname) &&
		  put(nlh, size, WGDEVICE_A_PRIVATE_KEY, SV_WG_KEY_LEN, cfg->private_key) &&
		  put(nlh, size, WGDEVICE_A_FLAGS, sizeof(flags), &flags);
	if (ok && cfg->has_listen_port) {
		uint16_t port = cfg->listen_port;
		ok = put(nlh, size, WGDEVICE_A_LISTEN_PORT, sizeof(port), &port);
	}
	struct nlattr *peers = ok ? mnl_attr_nest_start_check(nlh, size, WGDEVICE_A_PEERS) : NULL;
	ok = peers != NULL;
	for (size_t i = 0; ok && i < cfg->n_peers; i++)
		ok = put_peer(nlh, size, &cfg->peers[i]);
	if (!ok) {
		explicit_bzero(buf, size);
		return sv_err(SV_EINVAL,
			      "configuring WireGuard interface %s: the request does not fit in %zu bytes",
			      ifname, size);
	}
	mnl_attr_nest_end(nlh, peers);
	*len = nlh->nlmsg_len;
	return 0;
}

static int family_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *attr;
	mnl_attr_for_each(attr, nlh, sizeof(struct genlmsghdr))
	{
		if (mnl_attr_get_type(attr) == CTRL_ATTR_FAMILY_ID && mnl_attr_get_payload_len(attr) == 2)
			*(uint16_t *)data = mnl_attr_get_u16(attr);
	}
	return MNL_CB_OK;
}

static int resolve_family(uint16_t *id)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = GENL_ID_CTRL;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	struct genlmsghdr *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = CTRL_CMD_GETFAMILY;
	g->version = 1;
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, WG_GENL_NAME);
	*id = 0;
	int rc = sv_nl_talk(NETLINK_GENERIC, nlh, family_cb, id);
	if (rc == -ENOENT || (!rc && !*id))
		return sv_err(SV_EUNSUPPORTED, "the kernel has no WireGuard (generic netlink family \"%s\")",
			      WG_GENL_NAME);
	if (rc)
		return sv_err_errno(SV_ENETWORK, -rc, "looking up generic netlink family \"%s\"",
				    WG_GENL_NAME);
	return 0;
}

static int kernel_create(const char *ifname) { return sv_nl_link_add_kind(ifname, "wireguard"); }

static int kernel_configure(const char *ifname, const sv_wg_config *cfg)
{
	uint16_t family;
	int rc = resolve_family(&family);
	if (rc)
		return sv_err_prefix("configuring WireGuard interface %s", ifname);
	char *buf = malloc(BUF_SIZE);
	if (!buf)
		return sv_err(SV_ENOMEM, "out of memory");
	size_t len;
	if (!(rc = sv_wg_genl_build_set(buf, BUF_SIZE, family, 0, ifname, cfg, &len))) {
		rc = sv_nl_talk(NETLINK_GENERIC, (struct nlmsghdr *)buf, NULL, NULL);
		if (rc)
			rc = sv_err_errno(SV_ENETWORK, -rc,
					  "configuring WireGuard interface %s (WG_CMD_SET_DEVICE)", ifname);
	}
	explicit_bzero(buf, BUF_SIZE);
	free(buf);
	return rc;
}

const sv_wg_backend sv_wg_kernel_backend = {"kernel", kernel_create, kernel_configure};
