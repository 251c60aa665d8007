/* The wg-quick file parser (src/net/net_wgconf.c): what it reads, and each
 * refusal with its exact message naming the file, the line and the key. */
#include "svtest.h"

#include "net/net_wgconf.h"
#include <smartvm/error.h>
#include <stdio.h>
#include <string.h>

/* Two real keys (wg genkey / wg pubkey) and a preshared one. */
#define PRIV "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
#define PUB "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
#define PSK "FpCyhws9cxwWoV4xELtfJvjJN+zQVRPISllRWgeopVE="

static sv_wg_config cfg;

static int parse(const char *text) { return sv_wg_config_parse(&cfg, text, strlen(text), "wg0.conf"); }

/* Parses text, which must fail with exactly msg. */
static void assert_refused(const char *text, const char *msg)
{
	assert_int_equal(parse(text), SV_EINVAL);
	assert_string_equal(sv_last_error(), msg);
}

/* First in this process, before any parse: the decoder loads libcrypto
 * itself (util/crypto_lib.h) and needs no parse to have done it. */
static void test_a_key_decodes_before_any_config_is_parsed(void **state)
{
	(void)state;
	uint8_t key[SV_WG_KEY_LEN], zero[SV_WG_KEY_LEN] = {0};
	assert_true(sv_wg_key_from_base64(key, PUB));
	assert_memory_not_equal(key, zero, SV_WG_KEY_LEN);
	assert_false(sv_wg_key_from_base64(key, "not a key"));
}

static void test_full_config_is_read(void **state)
{
	(void)state;
	int rc = parse("# comment\n"
		       "[Interface]\n"
		       "PrivateKey = " PRIV "\n"
		       "Address = 10.99.0.2/24, 10.98.0.7\n"
		       "ListenPort = 51820\n"
		       "MTU = 1380\n"
		       "\n"
		       "[Peer]\r\n"
		       "PublicKey = " PUB " # the peer\n"
		       "PresharedKey = " PSK "\n"
		       "Endpoint = 192.0.2.1:51821\n"
		       "AllowedIPs = 0.0.0.0/0, 10.1.2.3/8\n"
		       "PersistentKeepalive = 25\n");
	if (rc)
		fail_msg("%s", sv_last_error());
	assert_int_equal(cfg.n_addresses, 2);
	assert_int_equal(cfg.addresses[0].addr, 0x0a630002);
	assert_int_equal(cfg.addresses[0].prefix, 24);
	assert_int_equal(cfg.addresses[1].addr, 0x0a620007);
	assert_int_equal(cfg.addresses[1].prefix, 32);
	assert_true(cfg.has_listen_port);
	assert_int_equal(cfg.listen_port, 51820);
	assert_int_equal(cfg.mtu, 1380);
	assert_int_equal(cfg.private_key[0], 0xc8);
	assert_int_equal(cfg.n_peers, 1);
	const sv_wg_peer *p = &cfg.peers[0];
	assert_int_equal(p->public_key[0], 0xc5);
	assert_true(p->has_preshared_key);
	assert_true(p->has_endpoint);
	assert_int_equal(p->endpoint_addr, 0xc0000201);
	assert_int_equal(p->endpoint_port, 51821);
	assert_int_equal(p->n_allowed_ips, 2);
	assert_int_equal(p->allowed_ips[0].prefix, 0);
	assert_int_equal(p->allowed_ips[1].addr, 0x0a000000); /* host bits dropped */
	assert_int_equal(p->persistent_keepalive, 25);
}

static void test_keys_and_sections_are_case_insensitive(void **state)
{
	(void)state;
	int rc = parse("[interface]\nprivatekey=" PRIV "\naddress=10.0.0.2\n[PEER]\npublickey=" PUB
		       "\npersistentkeepalive = off\n");
	if (rc)
		fail_msg("%s", sv_last_error());
	assert_int_equal(cfg.peers[0].persistent_keepalive, 0);
	assert_false(cfg.peers[0].has_endpoint);
}

#define HEAD "[Interface]\nPrivateKey = " PRIV "\nAddress = 10.0.0.2/32\n"
#define PEER "[Peer]\nPublicKey = " PUB "\n"

static void test_hooks_are_refused(void **state)
{
	(void)state;
	static const char *const hooks[] = {"PreUp", "PostUp", "PreDown", "PostDown"};
	for (size_t i = 0; i < 4; i++) {
		char text[512], msg[256];
		snprintf(text, sizeof(text), HEAD "%s = iptables -A FORWARD -i %%i -j ACCEPT\n" PEER,
			 hooks[i]);
		snprintf(msg, sizeof(msg),
			 "wg0.conf:4: %s: hooks are not supported: they are shell commands, and smartvm "
			 "never runs a shell",
			 hooks[i]);
		assert_refused(text, msg);
	}
}

static void test_dns_table_saveconfig_and_fwmark_are_refused(void **state)
{
	(void)state;
	assert_refused(
	    HEAD "DNS = 10.0.0.1\n" PEER,
	    "wg0.conf:4: DNS: not supported: wg-quick sets DNS through resolvconf, a hook; configure the "
	    "guest's resolver in the guest");
	assert_refused(HEAD "Table = off\n" PEER, "wg0.conf:4: Table: not supported: smartvm routes the VM's "
						  "traffic through a routing table of its own");
	assert_refused(HEAD "SaveConfig = true\n" PEER,
		       "wg0.conf:4: SaveConfig: not supported: smartvm never writes the file back");
	assert_refused(HEAD "FwMark = 0x10\n" PEER,
		       "wg0.conf:4: FwMark: not supported: smartvm routes by source address, not by mark");
}

static void test_ipv6_is_refused(void **state)
{
	(void)state;
	assert_refused(
	    "[Interface]\nPrivateKey = " PRIV "\nAddress = 10.0.0.2/32, fd00::2/64\n" PEER,
	    "wg0.conf:3: Address: \"fd00::2/64\": IPv6 is not supported (VM networking is IPv4 only)");
	assert_refused(
	    HEAD PEER "AllowedIPs = 0.0.0.0/0, ::/0\n",
	    "wg0.conf:6: AllowedIPs: \"::/0\": IPv6 is not supported (VM networking is IPv4 only)");
	assert_refused(
	    HEAD PEER "Endpoint = [2001:db8::1]:51820\n",
	    "wg0.conf:6: Endpoint: \"[2001:db8::1]:51820\": IPv6 endpoints are not supported (VM networking "
	    "is IPv4 only)");
}

static void test_malformed_keys_are_refused_without_echoing_them(void **state)
{
	(void)state;
	const char *msg =
	    "wg0.conf:2: PrivateKey: not a WireGuard key (base64 of 32 bytes: 44 characters ending in '=')";
	assert_refused("[Interface]\nPrivateKey = c2VjcmV0=\n", msg);
	/* 44 characters, but the last one carries non-zero padding bits. */
	assert_refused("[Interface]\nPrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmn=\n", msg);
	assert_refused("[Interface]\nPrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fB!k=\n", msg);
	assert_refused(
	    HEAD "[Peer]\nPublicKey = " PUB "x\n",
	    "wg0.conf:5: PublicKey: not a WireGuard key (base64 of 32 bytes: 44 characters ending in '=')");
	assert_refused(HEAD PEER "PresharedKey = short\n",
		       "wg0.conf:6: PresharedKey: not a WireGuard key (base64 of 32 bytes: 44 characters "
		       "ending in '=')");
}

static void test_malformed_endpoints_are_refused(void **state)
{
	(void)state;
	assert_refused(
	    HEAD PEER "Endpoint = vpn.example.com:51820\n",
	    "wg0.conf:6: Endpoint: \"vpn.example.com:51820\": the host must be an IPv4 address (smartvm does "
	    "not resolve names)");
	assert_refused(HEAD PEER "Endpoint = 192.0.2.1\n",
		       "wg0.conf:6: Endpoint: \"192.0.2.1\": not HOST:PORT with a port from 1 to 65535");
	assert_refused(HEAD PEER "Endpoint = 192.0.2.1:0\n",
		       "wg0.conf:6: Endpoint: \"192.0.2.1:0\": not HOST:PORT with a port from 1 to 65535");
	assert_refused(
	    HEAD PEER "Endpoint = 192.0.2.1:65536\n",
	    "wg0.conf:6: Endpoint: \"192.0.2.1:65536\": not HOST:PORT with a port from 1 to 65535");
}

static void test_structure_errors(void **state)
{
	(void)state;
	assert_refused("PrivateKey = " PRIV "\n",
		       "wg0.conf:1: PrivateKey: outside a section (expected [Interface] or [Peer] first)");
	assert_refused("[Interface]\nPrivateKey = " PRIV "\nPrivateKey = " PRIV "\n",
		       "wg0.conf:3: PrivateKey: given twice in this section (first on line 2)");
	assert_refused(
	    HEAD "Foo = bar\n",
	    "wg0.conf:4: Foo: unknown key in [Interface] (expected PrivateKey, Address, ListenPort or MTU)");
	assert_refused(HEAD "[Wat]\n",
		       "wg0.conf:4: unknown section \"[Wat]\" (expected [Interface] or [Peer])");
	assert_refused(HEAD "just words\n", "wg0.conf:4: \"just words\": not KEY = VALUE");
	assert_refused(HEAD "[Interface]\n", "wg0.conf:4: a second [Interface] section");
	assert_refused(HEAD "MTU = 100\n", "wg0.conf:4: MTU: \"100\": not an MTU from 576 to 9000");
	assert_refused(HEAD "ListenPort = -1\n",
		       "wg0.conf:4: ListenPort: \"-1\": not a port number (0-65535)");
	assert_refused(HEAD "Address = 10.0.0.300\n",
		       "wg0.conf:4: Address: \"10.0.0.300\": not an IPv4 address or CIDR (a.b.c.d[/prefix])");
	assert_refused(HEAD "Address = 10.0.0.3,,\n", "wg0.conf:4: Address: empty item in the list");
	assert_refused("[Interface]\nPrivateKey = " PRIV "\nAddress =\n", "wg0.conf:3: Address: no value");
}

static void test_incomplete_configs_are_refused(void **state)
{
	(void)state;
	assert_refused("[Interface]\nAddress = 10.0.0.2/32\n" PEER,
		       "wg0.conf: [Interface] PrivateKey: missing");
	assert_refused("[Interface]\nPrivateKey = " PRIV "\n" PEER,
		       "wg0.conf: [Interface] Address: missing (the tunnel's own IPv4 address)");
	assert_refused(HEAD, "wg0.conf: no [Peer] section");
	assert_refused(HEAD PEER "[Peer]\nAllowedIPs = 0.0.0.0/0\n",
		       "wg0.conf: [Peer] number 2: PublicKey: missing");
	static const char nul[] = HEAD PEER "\0";
	assert_int_equal(sv_wg_config_parse(&cfg, nul, sizeof(nul), "wg0.conf"), SV_EINVAL);
	assert_string_equal(sv_last_error(), "wg0.conf: contains a NUL byte (not a text file)");
}

static void test_failed_parse_leaves_no_key_material(void **state)
{
	(void)state;
	static const sv_wg_config zero;
	assert_int_equal(parse(HEAD "PostUp = x\n"), SV_EINVAL);
	assert_memory_equal(&cfg, &zero, sizeof(cfg));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_a_key_decodes_before_any_config_is_parsed),
	    cmocka_unit_test(test_full_config_is_read),
	    cmocka_unit_test(test_keys_and_sections_are_case_insensitive),
	    cmocka_unit_test(test_hooks_are_refused),
	    cmocka_unit_test(test_dns_table_saveconfig_and_fwmark_are_refused),
	    cmocka_unit_test(test_ipv6_is_refused),
	    cmocka_unit_test(test_malformed_keys_are_refused_without_echoing_them),
	    cmocka_unit_test(test_malformed_endpoints_are_refused),
	    cmocka_unit_test(test_structure_errors),
	    cmocka_unit_test(test_incomplete_configs_are_refused),
	    cmocka_unit_test(test_failed_parse_leaves_no_key_material),
	};
	return svt_run_group(tests, NULL, NULL);
}
