/* The two WireGuard backends' requests, built without a host: wireguard-go's
 * UAPI text and the kernel's WG_CMD_SET_DEVICE generic netlink message. The
 * kernel path cannot run on these machines (no WireGuard module), so its
 * message is checked twice: against golden bytes, and attribute by
 * attribute with libmnl against linux/wireguard.h. */
#include "svtest.h"

#include "net/net_wg.h"
#include "net/net_wgconf.h"
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/wireguard.h>
#include <netinet/in.h>
#include <smartvm/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PRIV "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
#define PUB "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
#define PSK "FpCyhws9cxwWoV4xELtfJvjJN+zQVRPISllRWgeopVE="
/* Read once against linux/wireguard.h: nlmsghdr (len 260, type 0x1d,
 * REQUEST|ACK, seq 7), genlmsghdr (SET_DEVICE, v1), IFNAME, PRIVATE_KEY,
 * FLAGS=REPLACE_PEERS, LISTEN_PORT 51820, PEERS{ {PUBLIC_KEY, PRESHARED_KEY,
 * ENDPOINT 192.0.2.1:51821, KEEPALIVE 25, FLAGS=REPLACE_ALLOWEDIPS,
 * ALLOWEDIPS{0.0.0.0/0, 10.1.0.0/16}} }. */
#define GOLDEN                                                                                               \
	"040100001d0005000700000000000000010100000a000200737677673300000024000300c809f3e5317e9575c9b5ed78"   \
	"b638b7ce530dabe85ddab614220241801ddf06690800050001000000060006006cca0000b0000880ac00008024000100"   \
	"c53201039adba14be71f886da1d8dbe9eebded08cb111b75340078999aa9f038240002001690b2870b3d731c16a15e31"   \
	"10bb5f26f8c937ecd05513c84a59515a07a8a551140004000200ca6dc000020100000000000000000600050019000000"   \
	"08000300020000003c0009801c0000800600010002000000080002000000000005000300000000001c00008006000100"   \
	"02000000080002000a0100000500030010000000"

static const char conf[] = "[Interface]\nPrivateKey = " PRIV "\nAddress = 10.99.0.2/24\nListenPort = 51820\n"
			   "[Peer]\nPublicKey = " PUB "\nPresharedKey = " PSK "\nEndpoint = 192.0.2.1:51821\n"
			   "AllowedIPs = 0.0.0.0/0, 10.1.0.0/16\nPersistentKeepalive = 25\n";

static void load(sv_wg_config *c)
{
	if (sv_wg_config_parse(c, conf, strlen(conf), "wg.conf"))
		fail_msg("%s", sv_last_error());
}

static void test_uapi_request_sets_keys_peers_and_allowed_ips(void **state)
{
	(void)state;
	sv_wg_config c;
	load(&c);
	char *text = NULL;
	assert_int_equal(sv_wg_uapi_set_text(&text, &c), 0);
	assert_string_equal(text,
			    "set=1\n"
			    "private_key=c809f3e5317e9575c9b5ed78b638b7ce530dabe85ddab614220241801ddf0669\n"
			    "listen_port=51820\n"
			    "replace_peers=true\n"
			    "public_key=c53201039adba14be71f886da1d8dbe9eebded08cb111b75340078999aa9f038\n"
			    "preshared_key=1690b2870b3d731c16a15e3110bb5f26f8c937ecd05513c84a59515a07a8a551\n"
			    "endpoint=192.0.2.1:51821\n"
			    "persistent_keepalive_interval=25\n"
			    "replace_allowed_ips=true\n"
			    "allowed_ip=0.0.0.0/0\n"
			    "allowed_ip=10.1.0.0/16\n"
			    "\n");
	free(text);
}

typedef struct {
	const struct nlattr *tb[WGDEVICE_A_MAX + 1];
} attrs;

static int collect(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	tb[mnl_attr_get_type(a) & NLA_TYPE_MASK] = a;
	return MNL_CB_OK;
}

static void test_kernel_request_matches_linux_wireguard_h(void **state)
{
	(void)state;
	sv_wg_config c;
	load(&c);
	unsigned char buf[4096];
	size_t len = 0;
	assert_int_equal(sv_wg_genl_build_set(buf, sizeof(buf), 0x1d, 7, "svwg3", &c, &len), 0);
	const struct nlmsghdr *nlh = (const void *)buf;
	assert_int_equal(nlh->nlmsg_len, len);
	assert_int_equal(nlh->nlmsg_type, 0x1d);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
	assert_int_equal(nlh->nlmsg_seq, 7);
	const struct genlmsghdr *g = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(g->cmd, WG_CMD_SET_DEVICE);
	assert_int_equal(g->version, WG_GENL_VERSION);

	const struct nlattr *dev[WGDEVICE_A_MAX + 1] = {0};
	assert_int_equal(mnl_attr_parse(nlh, sizeof(*g), collect, dev), MNL_CB_OK);
	assert_string_equal(mnl_attr_get_str(dev[WGDEVICE_A_IFNAME]), "svwg3");
	assert_int_equal(mnl_attr_get_payload_len(dev[WGDEVICE_A_PRIVATE_KEY]), 32);
	assert_memory_equal(mnl_attr_get_payload(dev[WGDEVICE_A_PRIVATE_KEY]), c.private_key, 32);
	assert_int_equal(mnl_attr_get_u16(dev[WGDEVICE_A_LISTEN_PORT]), 51820);
	assert_int_equal(mnl_attr_get_u32(dev[WGDEVICE_A_FLAGS]), WGDEVICE_F_REPLACE_PEERS);
	assert_true(dev[WGDEVICE_A_PEERS]->nla_type & NLA_F_NESTED);

	const struct nlattr *peer_list[2] = {0}, *peer[WGPEER_A_MAX + 1] = {0};
	assert_int_equal(mnl_attr_parse_nested(dev[WGDEVICE_A_PEERS], collect, peer_list), MNL_CB_OK);
	assert_int_equal(mnl_attr_parse_nested(peer_list[0], collect, peer), MNL_CB_OK);
	assert_memory_equal(mnl_attr_get_payload(peer[WGPEER_A_PUBLIC_KEY]), c.peers[0].public_key, 32);
	assert_memory_equal(mnl_attr_get_payload(peer[WGPEER_A_PRESHARED_KEY]), c.peers[0].preshared_key, 32);
	const struct sockaddr_in *sa = mnl_attr_get_payload(peer[WGPEER_A_ENDPOINT]);
	assert_int_equal(mnl_attr_get_payload_len(peer[WGPEER_A_ENDPOINT]), sizeof(*sa));
	assert_int_equal(sa->sin_family, AF_INET);
	assert_int_equal(ntohs(sa->sin_port), 51821);
	assert_int_equal(ntohl(sa->sin_addr.s_addr), 0xc0000201);
	assert_int_equal(mnl_attr_get_u16(peer[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL]), 25);
	assert_int_equal(mnl_attr_get_u32(peer[WGPEER_A_FLAGS]), WGPEER_F_REPLACE_ALLOWEDIPS);

	/* Two allowed IPs, each family + address + mask. */
	const struct nlattr *ip;
	int n = 0;
	mnl_attr_for_each_nested(ip, peer[WGPEER_A_ALLOWEDIPS])
	{
		const struct nlattr *a[WGALLOWEDIP_A_MAX + 1] = {0};
		assert_int_equal(mnl_attr_parse_nested(ip, collect, a), MNL_CB_OK);
		assert_int_equal(mnl_attr_get_u16(a[WGALLOWEDIP_A_FAMILY]), AF_INET);
		assert_int_equal(ntohl(mnl_attr_get_u32(a[WGALLOWEDIP_A_IPADDR])), n ? 0x0a010000 : 0);
		assert_int_equal(mnl_attr_get_u8(a[WGALLOWEDIP_A_CIDR_MASK]), n ? 16 : 0);
		n++;
	}
	assert_int_equal(n, 2);
}

/* The same message as bytes, so that any change to it is deliberate. */
static void test_kernel_request_golden_bytes(void **state)
{
	(void)state;
	sv_wg_config c;
	load(&c);
	unsigned char buf[4096];
	size_t len = 0;
	assert_int_equal(sv_wg_genl_build_set(buf, sizeof(buf), 0x1d, 7, "svwg3", &c, &len), 0);
	char hex[2 * sizeof(buf) + 1] = "";
	for (size_t i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", buf[i]);
	assert_string_equal(hex, GOLDEN);
}

static void test_kernel_request_refuses_a_small_buffer(void **state)
{
	(void)state;
	sv_wg_config c;
	load(&c);
	unsigned char buf[64];
	size_t len = 1;
	assert_int_equal(sv_wg_genl_build_set(buf, sizeof(buf), 0x1d, 7, "svwg3", &c, &len), SV_EINVAL);
	assert_int_equal(len, 0);
	assert_string_equal(sv_last_error(),
			    "configuring WireGuard interface svwg3: the request does not fit in 64 bytes");
}

static void test_interface_names_are_checked(void **state)
{
	(void)state;
	uint32_t n = 99;
	assert_true(sv_wg_name_number("svwg0", &n) && n == 0);
	assert_true(sv_wg_name_number("svwg4095", &n) && n == 4095);
	assert_false(sv_wg_name_number("svwg4096", &n));
	assert_false(sv_wg_name_number("svwg01", &n));
	assert_false(sv_wg_name_number("svwg", &n));
	assert_false(sv_wg_name_number("svwg1a", &n));
	assert_false(sv_wg_name_number("eth0", &n));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_uapi_request_sets_keys_peers_and_allowed_ips),
	    cmocka_unit_test(test_kernel_request_matches_linux_wireguard_h),
	    cmocka_unit_test(test_kernel_request_golden_bytes),
	    cmocka_unit_test(test_kernel_request_refuses_a_small_buffer),
	    cmocka_unit_test(test_interface_names_are_checked),
	};
	return svt_run_group(tests, NULL, NULL);
}
