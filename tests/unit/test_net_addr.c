/* Networking options, addresses, names and the nftables document: pure
 * functions, no root and no host access. */
#include "svtest.h"

#include "net/net_addr.h"
#include "net/net_names.h"
#include "net/net_nft.h"
#include <jansson.h>
#include <smartvm/error.h>
#include <smartvm/netadmin.h>
#include <stdlib.h>
#include <string.h>

static void expect_subnet_error(const char *subnet, const char *message)
{
	sv_manager_options opts = {.version = SV_MANAGER_OPTIONS_VERSION, .subnet = subnet};
	assert_int_equal(sv_net_validate_options(&opts), SV_EINVALID_SUBNET);
	assert_string_equal(sv_last_error(), message);
}

static void test_default_options_are_valid(void **state)
{
	(void)state;
	sv_net_plan plan;
	assert_int_equal(sv_net_plan_from_options(&plan, NULL), 0);
	assert_string_equal(plan.bridge, "svbr0");
	assert_string_equal(plan.subnet_text, "172.30.0.0/24");
	assert_int_equal(plan.default_action, SV_EGRESS_ALLOW);
	assert_int_equal(sv_net_validate_options(NULL), 0);
}

static void test_subnet_prefix_0_is_rejected(void **state)
{
	(void)state;
	expect_subnet_error("0.0.0.0/0", "subnet \"0.0.0.0/0\": prefix must be between 1 and 30");
}

static void test_subnet_ipv6_is_rejected(void **state)
{
	(void)state;
	expect_subnet_error("fd00::/64", "subnet \"fd00::/64\": IPv6 is not supported, give an IPv4 CIDR (a.b.c.d/prefix)");
}

static void test_subnet_garbage_is_rejected(void **state)
{
	(void)state;
	expect_subnet_error("garbage", "subnet \"garbage\": not an IPv4 CIDR (a.b.c.d/prefix)");
	expect_subnet_error("10.0.0.256/24", "subnet \"10.0.0.256/24\": not an IPv4 CIDR (a.b.c.d/prefix)");
	expect_subnet_error("10.0.0.0/24x", "subnet \"10.0.0.0/24x\": not an IPv4 CIDR (a.b.c.d/prefix)");
	expect_subnet_error("10.0.0.0", "subnet \"10.0.0.0\": not an IPv4 CIDR (a.b.c.d/prefix)");
	expect_subnet_error("010.0.0.0/8", "subnet \"010.0.0.0/8\": not an IPv4 CIDR (a.b.c.d/prefix)");
}

static void test_subnet_with_host_bits_names_the_network(void **state)
{
	(void)state;
	expect_subnet_error("172.30.0.5/24", "subnet \"172.30.0.5/24\": host bits are set (the network is 172.30.0.0/24)");
}

/* Ranges that cannot carry a guest's traffic, each refused with the reason. */
static void test_subnet_in_an_unusable_range_is_rejected(void **state)
{
	(void)state;
	expect_subnet_error("127.0.0.0/8", "subnet \"127.0.0.0/8\": overlaps 127.0.0.0/8 (loopback): its addresses "
					   "never leave a host");
	expect_subnet_error("127.1.0.0/16", "subnet \"127.1.0.0/16\": overlaps 127.0.0.0/8 (loopback): its addresses "
					    "never leave a host");
	expect_subnet_error("224.0.0.0/24", "subnet \"224.0.0.0/24\": overlaps 224.0.0.0/4 (multicast): a guest needs "
					    "unicast addresses");
	expect_subnet_error("239.1.0.0/16", "subnet \"239.1.0.0/16\": overlaps 224.0.0.0/4 (multicast): a guest needs "
					    "unicast addresses");
	expect_subnet_error("0.0.0.0/8", "subnet \"0.0.0.0/8\": overlaps 0.0.0.0/8 (\"this network\"): its addresses "
					 "are not valid destinations");
	expect_subnet_error("0.0.0.0/24", "subnet \"0.0.0.0/24\": overlaps 0.0.0.0/8 (\"this network\"): its addresses "
					  "are not valid destinations");
	expect_subnet_error("240.0.0.0/4", "subnet \"240.0.0.0/4\": overlaps 240.0.0.0/4 (reserved, with the broadcast "
					   "address 255.255.255.255): hosts do not route it");
	expect_subnet_error("255.255.255.252/30", "subnet \"255.255.255.252/30\": overlaps 240.0.0.0/4 (reserved, with "
						  "the broadcast address 255.255.255.255): hosts do not route it");
	expect_subnet_error("169.254.0.0/24", "subnet \"169.254.0.0/24\": overlaps 169.254.0.0/16 (link-local): routers "
					      "do not forward it");
	/* A wide subnet is refused for the first unusable range inside it. */
	expect_subnet_error("0.0.0.0/1", "subnet \"0.0.0.0/1\": overlaps 0.0.0.0/8 (\"this network\"): its addresses "
					 "are not valid destinations");
	expect_subnet_error("128.0.0.0/1", "subnet \"128.0.0.0/1\": overlaps 169.254.0.0/16 (link-local): routers do "
					   "not forward it");
	expect_subnet_error("192.0.0.0/2", "subnet \"192.0.0.0/2\": overlaps 224.0.0.0/4 (multicast): a guest needs "
					   "unicast addresses");
	/* Neighbours of those ranges are fine. */
	sv_ipv4_net net;
	assert_int_equal(sv_subnet_parse("126.255.255.0/24", &net), 0);
	assert_int_equal(sv_subnet_parse("128.0.0.0/24", &net), 0);
	assert_int_equal(sv_subnet_parse("223.255.255.0/24", &net), 0);
	assert_int_equal(sv_subnet_parse("1.0.0.0/8", &net), 0);
	assert_int_equal(sv_subnet_parse("169.253.0.0/16", &net), 0);
	assert_int_equal(sv_subnet_parse("10.0.0.0/8", &net), 0);
}

/* A /31 or /32 has no room for the gateway and a guest. */
static void test_subnet_too_small_for_gateway_and_guest_says_why(void **state)
{
	(void)state;
	expect_subnet_error("10.0.0.0/31", "subnet \"10.0.0.0/31\": a /31 has no room for the gateway and a guest (the "
					   "longest prefix is /30)");
	expect_subnet_error("10.0.0.1/32", "subnet \"10.0.0.1/32\": a /32 has no room for the gateway and a guest (the "
					   "longest prefix is /30)");
}

static void test_subnet_layout_puts_gateway_first_and_guests_after(void **state)
{
	(void)state;
	sv_ipv4_net net;
	assert_int_equal(sv_subnet_parse("192.168.4.0/30", &net), 0);
	char a[16];
	sv_ipv4_format(sv_subnet_gateway(&net), a);
	assert_string_equal(a, "192.168.4.1");
	sv_ipv4_format(sv_subnet_first_guest(&net), a);
	assert_string_equal(a, "192.168.4.2");
	sv_ipv4_format(sv_subnet_last_guest(&net), a);
	assert_string_equal(a, "192.168.4.2");
	assert_int_equal(sv_subnet_parse("10.0.0.0/8", &net), 0);
	sv_ipv4_format(sv_subnet_last_guest(&net), a);
	assert_string_equal(a, "10.255.255.254");
	sv_ipv4_format(sv_ipv4_mask(net.prefix), a);
	assert_string_equal(a, "255.0.0.0");
}

static void test_bridge_name_too_long_is_rejected(void **state)
{
	(void)state;
	sv_manager_options opts = {.version = SV_MANAGER_OPTIONS_VERSION, .bridge_name = "bridge-name-of-16"};
	assert_int_equal(sv_net_validate_options(&opts), SV_EINVAL);
	assert_string_equal(sv_last_error(), "bridge_name \"bridge-name-of-16\": at most 15 bytes");
	opts.bridge_name = "exactly15bytes.";
	assert_int_equal(sv_net_validate_options(&opts), 0);
}

static void test_bridge_name_with_space_is_rejected(void **state)
{
	(void)state;
	sv_manager_options opts = {.version = SV_MANAGER_OPTIONS_VERSION, .bridge_name = "my bridge"};
	assert_int_equal(sv_net_validate_options(&opts), SV_EINVAL);
	assert_string_equal(sv_last_error(), "bridge_name \"my bridge\": only letters, digits, '_', '.' and '-' are allowed");
	opts.bridge_name = "";
	assert_int_equal(sv_net_validate_options(&opts), SV_EINVAL);
	assert_string_equal(sv_last_error(), "bridge_name \"\": must not be empty");
}

static void test_egress_rule_parses_all_fields(void **state)
{
	(void)state;
	sv_egress_rule r;
	char dest[SV_EGRESS_DEST_MAX];
	assert_int_equal(sv_egress_rule_parse(&r, dest, "deny:10.0.0.0/8:tcp:8000-8080"), 0);
	assert_int_equal(r.action, SV_EGRESS_DENY);
	assert_string_equal(r.destination, "10.0.0.0/8");
	assert_ptr_equal(r.destination, dest);
	assert_int_equal(r.protocol, SV_PROTO_TCP);
	assert_int_equal(r.port_from, 8000);
	assert_int_equal(r.port_to, 8080);
	assert_int_equal(sv_egress_rule_parse(&r, dest, "allow:0.0.0.0/0"), 0);
	assert_int_equal(r.action, SV_EGRESS_ALLOW);
	assert_int_equal(r.protocol, SV_PROTO_ALL);
	assert_int_equal(r.port_from, 0);
	assert_int_equal(sv_egress_rule_parse(&r, dest, "allow:1.2.3.4/32:udp:53"), 0);
	assert_int_equal(r.port_from, 53);
	assert_int_equal(r.port_to, 0);
}

static void expect_rule_error(const char *text, const char *message)
{
	sv_egress_rule r;
	char dest[SV_EGRESS_DEST_MAX];
	assert_int_equal(sv_egress_rule_parse(&r, dest, text), SV_EINVAL);
	assert_string_equal(sv_last_error(), message);
}

static void test_egress_rule_errors_quote_the_rule(void **state)
{
	(void)state;
	expect_rule_error("block:10.0.0.0/8", "egress rule \"block:10.0.0.0/8\": action \"block\" must be allow or deny");
	expect_rule_error("deny", "egress rule \"deny\": expected allow|deny:CIDR[:proto[:ports]]");
	expect_rule_error("deny:10.0.0.0", "egress rule \"deny:10.0.0.0\": destination \"10.0.0.0\" is not an IPv4 CIDR (a.b.c.d/prefix)");
	expect_rule_error("deny:10.0.0.0/8:sctp", "egress rule \"deny:10.0.0.0/8:sctp\": protocol \"sctp\" must be tcp, udp, icmp or all");
	expect_rule_error("deny:10.0.0.0/8:icmp:80", "egress rule \"deny:10.0.0.0/8:icmp:80\": ports need protocol tcp or udp");
	expect_rule_error("deny:10.0.0.0/8:tcp:90-80",
			  "egress rule \"deny:10.0.0.0/8:tcp:90-80\": ports must be N or N-M with 1 <= N <= M <= 65535");
	expect_rule_error("deny:10.0.0.0/8:tcp:0", "egress rule \"deny:10.0.0.0/8:tcp:0\": ports must be N or N-M with 1 <= N <= M <= 65535");
}

static void test_egress_rules_in_options_are_checked(void **state)
{
	(void)state;
	sv_egress_rule rules[] = {
		{ .action = SV_EGRESS_ALLOW, .destination = "10.0.0.0/8" },
		{ .action = SV_EGRESS_DENY, .destination = "nowhere" },
	};
	sv_manager_options opts = {
	    .version = SV_MANAGER_OPTIONS_VERSION, .egress_rules = rules, .n_egress_rules = 2};
	assert_int_equal(sv_net_validate_options(&opts), SV_EINVAL);
	assert_string_equal(sv_last_error(), "egress_rules[1].destination \"nowhere\": not an IPv4 CIDR (a.b.c.d/prefix)");
	rules[1] = (sv_egress_rule){ .action = SV_EGRESS_DENY, .destination = "0.0.0.0/0", .protocol = SV_PROTO_ICMP,
				     .port_from = 1 };
	assert_int_equal(sv_net_validate_options(&opts), SV_EINVAL);
	assert_string_equal(sv_last_error(), "egress_rules[1]: ports need protocol tcp or udp");
}

static void test_tap_names_are_short_unique_and_stable(void **state)
{
	(void)state;
	char a[16], b[16], c[16];
	const char *long_a = "vm-with-a-very-long-identifier-that-goes-on-and-on-until-64-aaaa";
	const char *long_b = "vm-with-a-very-long-identifier-that-goes-on-and-on-until-64-aaab";
	assert_int_equal(sv_net_tap_name(a, long_a, "eth0"), 0);
	assert_int_equal(sv_net_tap_name(b, long_b, "eth0"), 0);
	assert_int_equal(sv_net_tap_name(c, long_a, "eth0"), 0);
	assert_int_equal(strlen(a), 15);
	assert_string_not_equal(a, b);
	assert_string_equal(a, c);
	assert_int_equal(strncmp(a, "svt", 3), 0);
	assert_int_equal(sv_net_tap_name(c, long_a, "eth1"), 0);
	assert_string_not_equal(a, c);
	/* Stable across versions (gc finds the TAPs of VMs an older smartvm
	 * started): SHA-256 of "vm1/eth0", its first six bytes. */
	assert_int_equal(sv_net_tap_name(a, "vm1", "eth0"), 0);
	assert_string_equal(a, "svt4a7c7b5a6ade");
}

static void test_macs_are_locally_administered_unicast_and_stable(void **state)
{
	(void)state;
	char m1[18], m2[18], m3[18];
	assert_int_equal(sv_net_guest_mac(m1, "web", "eth0"), 0);
	assert_int_equal(sv_net_guest_mac(m2, "web", "eth0"), 0);
	assert_int_equal(sv_net_guest_mac(m3, "web", "eth1"), 0);
	assert_string_equal(m1, m2);
	assert_string_not_equal(m1, m3);
	assert_int_equal(sv_net_guest_mac(m3, "vm1", "eth0"), 0);
	assert_string_equal(m3, "06:19:04:9d:10:2d"); /* bytes 6-10 of that digest */
	assert_int_equal(strlen(m1), 17);
	assert_int_equal(strncmp(m1, "06:", 3), 0);
	const char *why;
	assert_true(sv_mac_valid(m1, &why));
	assert_false(sv_mac_valid("01:00:5e:00:00:01", &why));
	assert_string_equal(why, "is a multicast address; a guest needs a unicast one");
	assert_false(sv_mac_valid("06:00:00:00:00", &why));
}

static json_t *find_rules(json_t *doc, const char *family, const char *chain)
{
	json_t *out = json_array(), *cmd;
	size_t i;
	json_array_foreach(json_object_get(doc, "nftables"), i, cmd)
	{
		json_t *rule = json_object_get(json_object_get(cmd, "add"), "rule");
		if (rule && !strcmp(json_string_value(json_object_get(rule, "chain")), chain) &&
		    !strcmp(json_string_value(json_object_get(rule, "family")), family))
			json_array_append(out, json_object_get(rule, "expr"));
	}
	return out;
}

static void test_nft_document_orders_rules_then_default(void **state)
{
	(void)state;
	sv_egress_rule rules[] = {
		{ .action = SV_EGRESS_ALLOW, .destination = "192.0.2.0/24", .protocol = SV_PROTO_TCP, .port_from = 80,
		  .port_to = 90 },
		{ .action = SV_EGRESS_DENY, .destination = "0.0.0.0/0", .protocol = SV_PROTO_ICMP },
	};
	sv_manager_options opts = {.version = SV_MANAGER_OPTIONS_VERSION,
				   .bridge_name = "br-x.1",
				   .egress_rules = rules,
				   .n_egress_rules = 2,
				   .egress_default = SV_EGRESS_DENY};
	sv_net_plan plan;
	assert_int_equal(sv_net_plan_from_options(&plan, &opts), 0);
	char *text = NULL;
	assert_int_equal(sv_nft_build_table(&text, &plan, "eth9"), 0);
	json_error_t err;
	json_t *doc = json_loads(text, 0, &err);
	assert_non_null(doc);
	char table[32];
	sv_nft_table_name(table, "br-x.1");
	assert_string_equal(table, "smartvm_br-x.1");

	json_t *nat = find_rules(doc, "ip", "postrouting");
	assert_int_equal(json_array_size(nat), 3); /* out of OUT, out of a tunnel, 127/8 to the bridge */
	char *nat_text = json_dumps(json_array_get(nat, 0), JSON_COMPACT);
	assert_non_null(strstr(nat_text, "{\"masquerade\":null}"));
	assert_non_null(strstr(nat_text, "\"right\":\"eth9\""));
	assert_non_null(strstr(nat_text, "{\"prefix\":{\"addr\":\"172.30.0.0\",\"len\":24}}"));

	/* Tunnel leak, VM to VM twice and published-port replies come first. */
	json_t *fwd = find_rules(doc, "ip", "forward");
	assert_int_equal(json_array_size(fwd), 4 + 3);
	char *r0 = json_dumps(json_array_get(fwd, 4), JSON_COMPACT);
	char *r1 = json_dumps(json_array_get(fwd, 5), JSON_COMPACT);
	char *r2 = json_dumps(json_array_get(fwd, 6), JSON_COMPACT);
	assert_non_null(strstr(r0, "{\"range\":[80,90]}"));
	assert_non_null(strstr(r0, "{\"accept\":null}"));
	assert_non_null(strstr(r1, "\"right\":\"icmp\""));
	assert_null(strstr(r1, "daddr")); /* 0.0.0.0/0 matches any destination */
	assert_non_null(strstr(r1, "{\"drop\":null}"));
	assert_non_null(strstr(r2, "{\"drop\":null}"));
	assert_non_null(strstr(r2, "\"right\":\"br-x.1\""));
	free(r0);
	free(r1);
	free(r2);
	free(nat_text);
	json_decref(nat);
	json_decref(fwd);
	json_decref(doc);
	free(text);
}

/* One table per bridge name: names that differ only in '-', '_' or '.' once
 * mapped to the same table. The longest bridge name still fits. */
static void test_nft_table_names_are_one_per_bridge(void **state)
{
	(void)state;
	const char *bridges[] = { "sv-a", "sv_a", "sv.a", "sv--a", "sv-_a", "exactly15bytes." };
	char names[6][32];
	for (int i = 0; i < 6; i++) {
		sv_nft_table_name(names[i], bridges[i]);
		assert_int_equal(strncmp(names[i], "smartvm_", 8), 0);
		assert_string_equal(names[i] + 8, bridges[i]);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(names[i], names[j]);
	}
}

/* The nft document checks each rule itself, whoever built the plan: an
 * out-of-range protocol once indexed past the protocol names. */
static void test_nft_document_refuses_unchecked_rules(void **state)
{
	(void)state;
	sv_net_plan plan;
	assert_int_equal(sv_net_plan_from_options(&plan, NULL), 0);
	sv_egress_rule bad[] = {
		{ .action = SV_EGRESS_DENY, .destination = "10.0.0.0/8", .protocol = (sv_egress_proto)7 },
		{ .action = SV_EGRESS_DENY, .destination = "10.0.0.0/8", .protocol = SV_PROTO_ICMP, .port_from = 22 },
		{ .action = (sv_egress_action)9, .destination = "10.0.0.0/8" },
		{ .action = SV_EGRESS_DENY, .destination = "10.0.0.0/8\"}" },
	};
	const char *want[] = {
		"egress_rules[0].protocol: must be tcp, udp, icmp or all",
		"egress_rules[0]: ports need protocol tcp or udp",
		"egress_rules[0].action: must be allow or deny",
		"egress_rules[0].destination \"10.0.0.0/8\"}\": not an IPv4 CIDR (a.b.c.d/prefix)",
	};
	for (int i = 0; i < 4; i++) {
		plan.rules = &bad[i];
		plan.n_rules = 1;
		char *doc = NULL;
		assert_int_equal(sv_nft_build_table(&doc, &plan, ""), SV_EINVAL);
		assert_string_equal(sv_last_error(), want[i]);
		assert_null(doc);
	}
	/* A table is only ever named after a valid bridge name. */
	snprintf(plan.bridge, sizeof(plan.bridge), "a b");
	char *doc = NULL;
	plan.n_rules = 0;
	assert_int_equal(sv_nft_build_table(&doc, &plan, ""), SV_EINVAL);
	assert_string_equal(sv_last_error(), "nftables table of bridge \"a b\": only letters, digits, '_', '.' and '-' "
					     "are allowed");
	assert_int_equal(sv_nft_delete("../etc", NULL), SV_EINVAL);
	assert_string_equal(sv_last_error(), "nftables table of bridge \"../etc\": only letters, digits, '_', '.' and "
					     "'-' are allowed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_options_are_valid),
		cmocka_unit_test(test_subnet_prefix_0_is_rejected),
		cmocka_unit_test(test_subnet_ipv6_is_rejected),
		cmocka_unit_test(test_subnet_garbage_is_rejected),
		cmocka_unit_test(test_subnet_with_host_bits_names_the_network),
		cmocka_unit_test(test_subnet_in_an_unusable_range_is_rejected),
		cmocka_unit_test(test_subnet_too_small_for_gateway_and_guest_says_why),
		cmocka_unit_test(test_subnet_layout_puts_gateway_first_and_guests_after),
		cmocka_unit_test(test_bridge_name_too_long_is_rejected),
		cmocka_unit_test(test_bridge_name_with_space_is_rejected),
		cmocka_unit_test(test_egress_rule_parses_all_fields),
		cmocka_unit_test(test_egress_rule_errors_quote_the_rule),
		cmocka_unit_test(test_egress_rules_in_options_are_checked),
		cmocka_unit_test(test_tap_names_are_short_unique_and_stable),
		cmocka_unit_test(test_macs_are_locally_administered_unicast_and_stable),
		cmocka_unit_test(test_nft_document_orders_rules_then_default),
		cmocka_unit_test(test_nft_table_names_are_one_per_bridge),
		cmocka_unit_test(test_nft_document_refuses_unchecked_rules),
	};
	return svt_run_group(tests, NULL, NULL);
}
