/* The ingress qdisc and redirect filter of net_tc.h, built with libmnl's
 * helpers only. The filter is u32 with one key matching everything (the
 * host kernel here has no matchall classifier; u32 is what tc-redirect-tap
 * uses too) and a mirred "egress redirect" action, which hands the frame to
 * the target device's transmit path untouched. The action's cookie is how
 * a cleanup recognises its own qdisc. */
#include "net/net_tc.h"

#include "net/net_nl.h"
#include "util/error.h"
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#define INGRESS_HANDLE TC_H_MAKE(TC_H_INGRESS, 0) /* "ffff:" */
/* Our one filter's priority on the qdisc (tc's "pref"). */
#define REDIRECT_PRIO 1

static struct tcmsg *start_tc(char *buf, uint16_t type, uint16_t flags, int ifindex)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	struct tcmsg *tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));
	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = ifindex;
	return tcm;
}

int sv_tc_ingress_add(int ifindex, const char *dev)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct tcmsg *tcm = start_tc(buf, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, ifindex);
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	tcm->tcm_parent = TC_H_INGRESS;
	tcm->tcm_handle = INGRESS_HANDLE;
	mnl_attr_put_strz(nlh, TCA_KIND, "ingress");
	int rc = sv_nl_talk(NETLINK_ROUTE, nlh, NULL, NULL);
	if (rc == -EEXIST)
		return sv_err(SV_EEXISTS,
			      "%s has an ingress qdisc already (another VM or tool redirects its traffic); "
			      "it is left alone",
			      dev);
	if (rc)
		return sv_err_errno(SV_ENETWORK, -rc, "adding an ingress qdisc to %s", dev);
	return 0;
}

int sv_tc_ingress_del(int ifindex, const char *dev)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct tcmsg *tcm = start_tc(buf, RTM_DELQDISC, 0, ifindex);
	tcm->tcm_parent = TC_H_INGRESS;
	tcm->tcm_handle = INGRESS_HANDLE;
	int rc = sv_nl_talk(NETLINK_ROUTE, (struct nlmsghdr *)buf, NULL, NULL);
	/* ENOENT / EINVAL: no ingress qdisc; ENODEV: no device. */
	if (rc && rc != -ENOENT && rc != -EINVAL && rc != -ENODEV)
		return sv_err_errno(SV_ENETWORK, -rc, "removing the ingress qdisc of %s", dev);
	return 0;
}

int sv_tc_redirect_add(int ifindex, const char *dev, int target_ifindex, const char *target,
		       const unsigned char cookie[SV_TC_COOKIE_LEN])
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct tcmsg *tcm = start_tc(buf, RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, ifindex);
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	tcm->tcm_parent = INGRESS_HANDLE;
	tcm->tcm_info = TC_H_MAKE((uint32_t)REDIRECT_PRIO << 16, htons(ETH_P_ALL));
	mnl_attr_put_strz(nlh, TCA_KIND, "u32");
	struct nlattr *opts = mnl_attr_nest_start(nlh, TCA_OPTIONS);
	/* One key, mask 0 value 0 at offset 0: every frame matches. */
	struct {
		struct tc_u32_sel sel;
		struct tc_u32_key key;
	} sel = {.sel = {.flags = TC_U32_TERMINAL, .nkeys = 1}};
	mnl_attr_put(nlh, TCA_U32_SEL, sizeof(sel), &sel);
	struct nlattr *acts = mnl_attr_nest_start(nlh, TCA_U32_ACT);
	struct nlattr *act = mnl_attr_nest_start(nlh, 1); /* the first action */
	mnl_attr_put_strz(nlh, TCA_ACT_KIND, "mirred");
	struct nlattr *aopts = mnl_attr_nest_start(nlh, TCA_ACT_OPTIONS);
	struct tc_mirred parms = {
	    .action = TC_ACT_STOLEN, .eaction = TCA_EGRESS_REDIR, .ifindex = (uint32_t)target_ifindex};
	mnl_attr_put(nlh, TCA_MIRRED_PARMS, sizeof(parms), &parms);
	mnl_attr_nest_end(nlh, aopts);
	mnl_attr_put(nlh, TCA_ACT_COOKIE, SV_TC_COOKIE_LEN, cookie);
	mnl_attr_nest_end(nlh, act);
	mnl_attr_nest_end(nlh, acts);
	mnl_attr_nest_end(nlh, opts);
	int rc = sv_nl_talk(NETLINK_ROUTE, nlh, NULL, NULL);
	if (rc)
		return sv_err_errno(SV_ENETWORK, -rc, "redirecting the frames arriving at %s to %s", dev,
				    target);
	return 0;
}

typedef struct {
	const unsigned char *cookie;
	bool found;
} cookie_query;

static bool action_has_cookie(const struct nlattr *act, const unsigned char *cookie)
{
	const struct nlattr *tb[TCA_ACT_MAX + 1] = {0};
	sv_nl_parse_nested(act, tb, TCA_ACT_MAX);
	return tb[TCA_ACT_COOKIE] && mnl_attr_get_payload_len(tb[TCA_ACT_COOKIE]) == SV_TC_COOKIE_LEN &&
	       !memcmp(mnl_attr_get_payload(tb[TCA_ACT_COOKIE]), cookie, SV_TC_COOKIE_LEN);
}

static int filter_cb(const struct nlmsghdr *nlh, void *data)
{
	cookie_query *q = data;
	if (nlh->nlmsg_type != RTM_NEWTFILTER)
		return MNL_CB_OK;
	const struct nlattr *tb[TCA_MAX + 1] = {0};
	sv_nl_parse_attrs(nlh, sizeof(struct tcmsg), tb, TCA_MAX);
	if (!tb[TCA_KIND] || strcmp(mnl_attr_get_str(tb[TCA_KIND]), "u32") || !tb[TCA_OPTIONS])
		return MNL_CB_OK;
	const struct nlattr *u32[TCA_U32_MAX + 1] = {0};
	sv_nl_parse_nested(tb[TCA_OPTIONS], u32, TCA_U32_MAX);
	if (!u32[TCA_U32_ACT])
		return MNL_CB_OK;
	const struct nlattr *act;
	mnl_attr_for_each_nested(act, u32[TCA_U32_ACT])
	{
		if (action_has_cookie(act, q->cookie))
			q->found = true;
	}
	return MNL_CB_OK;
}

int sv_tc_ingress_has_cookie(int ifindex, const unsigned char cookie[SV_TC_COOKIE_LEN], bool *found)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct tcmsg *tcm = start_tc(buf, RTM_GETTFILTER, NLM_F_DUMP, ifindex);
	tcm->tcm_parent = INGRESS_HANDLE;
	cookie_query q = {cookie, false};
	int rc = sv_nl_talk(NETLINK_ROUTE, (struct nlmsghdr *)buf, filter_cb, &q);
	*found = false;
	/* No ingress qdisc (EINVAL) or no device: nothing of ours there. */
	if (rc == -EINVAL || rc == -ENODEV || rc == -ENOENT)
		return 0;
	if (rc)
		return sv_err_errno(SV_ENETWORK, -rc, "netlink: listing the ingress filters");
	*found = q.found;
	return 0;
}
