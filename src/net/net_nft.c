/* nftables: per bridge, two tables named `smartvm_<bridge>`, one in family ip
 * (NAT, published ports, the gateway's input, forwarding policy) and one in
 * family bridge (what VM ports may send, and to which other VM ports):
 *
 *   ip smartvm_<bridge>
 *     prerouting, output (nat)  fib daddr type local  dnat via maps pub_ip_*,
 *                               then pub_any_* (published ports, net_ports.h)
 *     postrouting (nat)         SUBNET -> not SUBNET out of OUT: masquerade
 *                               SUBNET out of @wg_ifs: masquerade
 *                               127.0.0.0/8 out of BRIDGE: masquerade (a
 *                               published port reached from the host itself)
 *     input (filter)            from BRIDGE and SUBNET: established/related,
 *                               ICMP echo and, from @dns_ok, port 53 pass;
 *                               everything else is rejected (the host's
 *                               services are not the guests')
 *     forward (filter)          from @wg_vms not out of their own tunnel: drop
 *                               VM to VM through the host: drop unless both
 *                               are in @vm_open
 *                               replies of published ports: accept
 *                               the egress rules in order, then the default
 *   bridge smartvm_<bridge>
 *     prerouting (filter)       from @ports: IPv4 and ARP only, and only with
 *                               the (port . MAC . address) of @addrs
 *     forward (filter)          between @ports: drop unless both are in @open
 *
 * Everything per VM lives in the sets and maps, added and removed as
 * elements (net_nft_vm.c); this file writes the rest. Applying it never
 * deletes the tables: they are added if missing and their chains flushed and
 * refilled in one nft transaction, so no half-applied policy is ever visible
 * and the VMs' elements survive a policy change. The sets fail closed: a VM
 * port without its elements can send nothing, an address missing from
 * @vm_open reaches no other VM. Documents are built with jansson and run
 * in-process through libnftables (net_nft_lib.c), each as one transaction;
 * the per-VM elements go as netlink messages (net_nft_elems.c).
 * This file never touches links or leases. */
#include "net/net_nft.h"

#include "net/net_nft_elems.h"
#include "net/net_nft_lib.h"
#include "util/error.h"
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sv_nft_table_name(char out[32], const char *bridge)
{
	/* The bridge name as it is: mapping bytes onto '_' made sv-a and sv_a
	 * share one table. nft takes '-' and '.' in names, and an interface
	 * name (15 bytes) always fits. */
	snprintf(out, 32, "smartvm_%s", bridge);
}

json_t *sv_nft_table_obj(const char *family, const char *table)
{
	return json_pack("{s:{s:s,s:s}}", "table", "family", family, "name", table);
}

json_t *sv_nft_match(json_t *left, const char *op, json_t *right)
{
	return json_pack("{s:{s:s,s:o,s:o}}", "match", "op", op, "left", left, "right", right);
}

json_t *sv_nft_meta(const char *key) { return json_pack("{s:{s:s}}", "meta", "key", key); }

json_t *sv_nft_payload(const char *proto, const char *field)
{
	return json_pack("{s:{s:s,s:s}}", "payload", "protocol", proto, "field", field);
}

static json_t *ct(const char *key) { return json_pack("{s:{s:s}}", "ct", "key", key); }

static json_t *concat2(json_t *a, json_t *b) { return json_pack("{s:[o,o]}", "concat", a, b); }

static json_t *concat3(json_t *a, json_t *b, json_t *c)
{
	return json_pack("{s:[o,o,o]}", "concat", a, b, c);
}

/* An address or prefix as nft's JSON right-hand side. */
static json_t *prefix(uint32_t addr, int len)
{
	char text[16];
	sv_ipv4_format(addr & sv_ipv4_mask(len), text);
	if (len == 32)
		return json_string(text);
	return json_pack("{s:{s:s,s:i}}", "prefix", "addr", text, "len", len);
}

static json_t *subnet_match(const char *field, const char *op, const sv_ipv4_net *net)
{
	return sv_nft_match(sv_nft_payload("ip", field), op, prefix(net->network, net->prefix));
}

static json_t *if_is(const char *key, const char *name)
{
	return sv_nft_match(sv_nft_meta(key), "==", json_string(name));
}

static json_t *from_subnet(const sv_net_plan *plan)
{
	return json_pack("[o,o]", if_is("iifname", plan->bridge), subnet_match("saddr", "==", &plan->subnet));
}

static json_t *verdict(const char *what) { return json_pack("{s:n}", what); }

/* Builds one table's commands into cmds. */
typedef struct {
	json_t *cmds;
	const char *family;
	const char *table;
} builder;

static void add_cmd(builder *b, const char *kind, json_t *obj)
{
	json_object_set_new(obj, "family", json_string(b->family));
	json_object_set_new(obj, "table", json_string(b->table));
	json_array_append_new(b->cmds, json_pack("{s:{s:o}}", "add", kind, obj));
}

static void add_rule(builder *b, const char *chain, json_t *expr)
{
	add_cmd(b, "rule", json_pack("{s:s,s:o}", "chain", chain, "expr", expr));
}

static void add_chain(builder *b, const char *name, const char *type, const char *hook, int prio)
{
	add_cmd(b, "chain",
		json_pack("{s:s,s:s,s:s,s:i,s:s}", "name", name, "type", type, "hook", hook, "prio", prio,
			  "policy", "accept"));
	json_array_append_new(b->cmds, json_pack("{s:{s:{s:s,s:s,s:s}}}", "flush", "chain", "family",
						 b->family, "table", b->table, "name", name));
}

/* type: one type name, or several (a concatenation) separated by '.'. */
static json_t *set_type(const char *type)
{
	if (!strchr(type, '.'))
		return json_string(type);
	json_t *parts = json_array();
	char copy[96];
	snprintf(copy, sizeof(copy), "%s", type);
	for (char *save = NULL, *t = strtok_r(copy, ".", &save); t; t = strtok_r(NULL, ".", &save))
		json_array_append_new(parts, json_string(t));
	return parts;
}

static void add_set(builder *b, const char *name, const char *type)
{
	add_cmd(b, "set", json_pack("{s:s,s:o}", "name", name, "type", set_type(type)));
}

static void add_map(builder *b, const char *name, const char *type, const char *data)
{
	add_cmd(b, "map", json_pack("{s:s,s:o,s:s}", "name", name, "type", set_type(type), "map", data));
}

/* Checks the rule again: the document must be sound whoever built the plan,
 * and protocol indexes protos[] below. */
static int append_egress_rule(json_t *expr, const sv_egress_rule *r, size_t i)
{
	uint32_t addr;
	int len;
	int rc = sv_egress_rule_check(r, i);
	if (rc)
		return rc;
	sv_ipv4_cidr_parse(r->destination, &addr, &len);
	if (len > 0)
		json_array_append_new(expr,
				      sv_nft_match(sv_nft_payload("ip", "daddr"), "==", prefix(addr, len)));
	static const char *const protos[] = {NULL, "tcp", "udp", "icmp"};
	if (r->protocol != SV_PROTO_ALL)
		json_array_append_new(
		    expr, sv_nft_match(sv_nft_meta("l4proto"), "==", json_string(protos[r->protocol])));
	if (r->port_from) {
		json_t *ports = r->port_to && r->port_to != r->port_from
				    ? json_pack("{s:[i,i]}", "range", r->port_from, r->port_to)
				    : json_integer(r->port_from);
		json_array_append_new(
		    expr, sv_nft_match(sv_nft_payload(protos[r->protocol], "dport"), "==", ports));
	}
	json_array_append_new(expr, verdict(r->action == SV_EGRESS_DENY ? "drop" : "accept"));
	return 0;
}

/* The table name of bridge, refusing what is not an interface name: names
 * from files (ledger, lease directory) end up here. */
int sv_nft_table_for(char table[32], const char *bridge)
{
	const char *why;
	if (!sv_ifname_valid(bridge, &why))
		return sv_err(SV_EINVAL, "nftables table of bridge \"%s\": %s", bridge, why);
	sv_nft_table_name(table, bridge);
	return 0;
}

/* dnat to <key> map @<maps>_addr : <key> map @<maps>_port, for local
 * destinations only. */
static json_t *dnat_rule(json_t *key, const char *maps)
{
	char addr_map[32], port_map[32];
	snprintf(addr_map, sizeof(addr_map), "@%s_addr", maps);
	snprintf(port_map, sizeof(port_map), "@%s_port", maps);
	json_t *local = sv_nft_match(json_pack("{s:{s:s,s:[s]}}", "fib", "result", "type", "flags", "daddr"),
				     "==", json_string("local"));
	json_t *dnat =
	    json_pack("{s:{s:s,s:{s:{s:O,s:s}},s:{s:{s:o,s:s}}}}", "dnat", "family", "ip", "addr", "map",
		      "key", key, "data", addr_map, "port", "map", "key", key, "data", port_map);
	return json_pack("[o,o]", local, dnat);
}

static json_t *port_key(bool with_ip)
{
	json_t *proto = sv_nft_meta("l4proto"), *port = sv_nft_payload("th", "dport");
	return with_ip ? concat3(sv_nft_payload("ip", "daddr"), proto, port) : concat2(proto, port);
}

static void ip_sets(builder *b)
{
	add_set(b, "vm_open", "ipv4_addr");
	add_set(b, "dns_ok", "ipv4_addr");
	add_set(b, "wg_vms", "ipv4_addr");
	add_set(b, "wg_routes", "ipv4_addr.ifname");
	add_set(b, "wg_ifs", "ifname");
	/* Address and port in separate maps: nft 1.0.6 crashes on JSON dnat
	 * through one map with concatenated data. */
	add_map(b, "pub_any_addr", "inet_proto.inet_service", "ipv4_addr");
	add_map(b, "pub_any_port", "inet_proto.inet_service", "inet_service");
	add_map(b, "pub_ip_addr", "ipv4_addr.inet_proto.inet_service", "ipv4_addr");
	add_map(b, "pub_ip_port", "ipv4_addr.inet_proto.inet_service", "inet_service");
}

static void ip_nat(builder *b, const sv_net_plan *plan, const char *outbound)
{
	static const char *const hooks[] = {"prerouting", "output"};
	for (int i = 0; i < 2; i++) {
		add_chain(b, hooks[i], "nat", hooks[i], -100);
		add_rule(b, hooks[i], dnat_rule(port_key(true), "pub_ip"));
		add_rule(b, hooks[i], dnat_rule(port_key(false), "pub_any"));
	}
	add_chain(b, "postrouting", "nat", "postrouting", 100);
	json_t *nat = json_pack("[o,o]", subnet_match("saddr", "==", &plan->subnet),
				subnet_match("daddr", "!=", &plan->subnet));
	if (outbound && *outbound)
		json_array_append_new(nat, if_is("oifname", outbound));
	else
		json_array_append_new(nat,
				      sv_nft_match(sv_nft_meta("oifname"), "!=", json_string(plan->bridge)));
	json_array_append_new(nat, verdict("masquerade"));
	add_rule(b, "postrouting", nat);
	add_rule(b, "postrouting",
		 json_pack("[o,o,o]", subnet_match("saddr", "==", &plan->subnet),
			   sv_nft_match(sv_nft_meta("oifname"), "==", json_string("@wg_ifs")),
			   verdict("masquerade")));
	sv_ipv4_net loopback = {0x7f000000, 8};
	add_rule(b, "postrouting",
		 json_pack("[o,o,o]", if_is("oifname", plan->bridge), subnet_match("saddr", "==", &loopback),
			   verdict("masquerade")));
}

static void ip_input(builder *b, const sv_net_plan *plan)
{
	add_chain(b, "input", "filter", "input", 0);
	json_t *r = from_subnet(plan);
	json_array_append_new(r,
			      sv_nft_match(ct("state"), "in", json_pack("[s,s]", "established", "related")));
	json_array_append_new(r, verdict("accept"));
	add_rule(b, "input", r);
	r = from_subnet(plan);
	json_array_append_new(
	    r, sv_nft_match(sv_nft_payload("icmp", "type"), "==", json_string("echo-request")));
	json_array_append_new(r, verdict("accept"));
	add_rule(b, "input", r);
	r = json_pack("[o,o,o,o,o]", if_is("iifname", plan->bridge),
		      sv_nft_match(sv_nft_payload("ip", "saddr"), "==", json_string("@dns_ok")),
		      sv_nft_match(sv_nft_meta("l4proto"), "==", json_pack("{s:[s,s]}", "set", "tcp", "udp")),
		      sv_nft_match(sv_nft_payload("th", "dport"), "==", json_integer(53)), verdict("accept"));
	add_rule(b, "input", r);
	/* reject, not drop: a guest learns at once that the port is closed. */
	r = from_subnet(plan);
	json_array_append_new(r, json_pack("{s:n}", "reject"));
	add_rule(b, "input", r);
}

static int ip_forward(builder *b, const sv_net_plan *plan)
{
	add_chain(b, "forward", "filter", "forward", 0);
	add_rule(b, "forward",
		 json_pack("[o,o,o,o]", if_is("iifname", plan->bridge),
			   sv_nft_match(sv_nft_payload("ip", "saddr"), "==", json_string("@wg_vms")),
			   sv_nft_match(concat2(sv_nft_payload("ip", "saddr"), sv_nft_meta("oifname")),
					"!=", json_string("@wg_routes")),
			   verdict("drop")));
	static const char *const fields[] = {"saddr", "daddr"};
	for (int i = 0; i < 2; i++)
		add_rule(
		    b, "forward",
		    json_pack("[o,o,o,o,o]", if_is("iifname", plan->bridge), if_is("oifname", plan->bridge),
			      subnet_match(fields[i], "==", &plan->subnet),
			      sv_nft_match(sv_nft_payload("ip", fields[i]), "!=", json_string("@vm_open")),
			      verdict("drop")));
	add_rule(b, "forward",
		 json_pack("[o,o,o,o]", if_is("iifname", plan->bridge),
			   sv_nft_match(ct("direction"), "==", json_string("reply")),
			   sv_nft_match(ct("status"), "in", json_string("dnat")), verdict("accept")));
	int rc = 0;
	for (size_t i = 0; i < plan->n_rules && !rc; i++) {
		json_t *expr = from_subnet(plan);
		if ((rc = append_egress_rule(expr, &plan->rules[i], i)))
			json_decref(expr);
		else
			add_rule(b, "forward", expr);
	}
	json_t *last = from_subnet(plan);
	json_array_append_new(last, verdict(plan->default_action == SV_EGRESS_DENY ? "drop" : "accept"));
	add_rule(b, "forward", last);
	return rc;
}

static json_t *from_vm_port(void)
{
	return sv_nft_match(sv_nft_meta("iifname"), "==", json_string("@ports"));
}

static json_t *ether_type(const char *op, json_t *type)
{
	return sv_nft_match(sv_nft_payload("ether", "type"), op, type);
}

static void bridge_table(builder *b)
{
	add_set(b, "ports", "ifname");
	add_set(b, "addrs", "ifname.ether_addr.ipv4_addr");
	add_set(b, "open", "ifname");
	add_chain(b, "prerouting", "filter", "prerouting", -200);
	add_rule(b, "prerouting",
		 json_pack("[o,o,o,o]", from_vm_port(), ether_type("==", json_string("ip")),
			   sv_nft_match(concat3(sv_nft_meta("iifname"), sv_nft_payload("ether", "saddr"),
						sv_nft_payload("ip", "saddr")),
					"!=", json_string("@addrs")),
			   verdict("drop")));
	/* ARP twice: the frame's sender MAC and the one ARP claims. */
	for (int i = 0; i < 2; i++) {
		json_t *mac =
		    i == 0 ? sv_nft_payload("ether", "saddr") : sv_nft_payload("arp", "saddr ether");
		add_rule(b, "prerouting",
			 json_pack("[o,o,o,o]", from_vm_port(), ether_type("==", json_string("arp")),
				   sv_nft_match(concat3(sv_nft_meta("iifname"), mac,
							sv_nft_payload("arp", "saddr ip")),
						"!=", json_string("@addrs")),
				   verdict("drop")));
	}
	add_rule(b, "prerouting",
		 json_pack("[o,o,o]", from_vm_port(),
			   ether_type("!=", json_pack("{s:[s,s]}", "set", "ip", "arp")), verdict("drop")));
	add_chain(b, "forward", "filter", "forward", 0);
	static const char *const sides[] = {"iifname", "oifname"};
	for (int i = 0; i < 2; i++)
		add_rule(b, "forward",
			 json_pack("[o,o,o,o]", from_vm_port(),
				   sv_nft_match(sv_nft_meta("oifname"), "==", json_string("@ports")),
				   sv_nft_match(sv_nft_meta(sides[i]), "!=", json_string("@open")),
				   verdict("drop")));
}

int sv_nft_build_table(char **out, const sv_net_plan *plan, const char *outbound)
{
	char table[32];
	int rc = sv_nft_table_for(table, plan->bridge);
	const char *why;
	if (!rc && outbound && *outbound && !sv_ifname_valid(outbound, &why))
		rc = sv_err(SV_EINVAL, "outbound interface \"%s\": %s", outbound, why);
	if (rc)
		return rc;
	json_t *cmds = json_array();
	json_t *doc = json_pack("{s:o}", "nftables", cmds);
	if (!doc)
		return sv_err(SV_ENOMEM, "out of memory");
	builder ip = {cmds, "ip", table}, br = {cmds, "bridge", table};
	json_array_append_new(cmds, json_pack("{s:o}", "add", sv_nft_table_obj("ip", table)));
	ip_sets(&ip);
	ip_nat(&ip, plan, outbound);
	ip_input(&ip, plan);
	rc = ip_forward(&ip, plan);
	json_array_append_new(cmds, json_pack("{s:o}", "add", sv_nft_table_obj("bridge", table)));
	bridge_table(&br);
	if (!rc && !(*out = json_dumps(doc, JSON_COMPACT)))
		rc = sv_err(SV_ENOMEM, "out of memory");
	json_decref(doc);
	return rc;
}

int sv_nft_run(const char *doc, const char *what) { return sv_nft_lib_run(doc, what, NULL); }

int sv_nft_apply(const char *bridge, const char *doc)
{
	char table[32];
	int rc = sv_nft_table_for(table, bridge);
	if (rc)
		return rc;
	char what[64];
	snprintf(what, sizeof(what), "applying nftables tables %s", table);
	return sv_nft_run(doc, what);
}

/* Counts, in nft's JSON listing `out`, the tables whose name starts with
 * `prefix`; -1 if out is not such a listing. */
static int count_listed(const char *out, const char *prefix, int *count)
{
	json_error_t jerr;
	json_t *doc = out ? json_loads(out, 0, &jerr) : NULL;
	if (!json_is_array(json_object_get(doc, "nftables"))) {
		json_decref(doc);
		return -1;
	}
	*count = 0;
	size_t i;
	json_t *item;
	json_array_foreach(json_object_get(doc, "nftables"), i, item)
	{
		const char *t = json_string_value(json_object_get(json_object_get(item, "table"), "name"));
		if (t && !strncmp(t, prefix, strlen(prefix)))
			(*count)++;
	}
	json_decref(doc);
	return 0;
}

int sv_nft_delete(const char *bridge, bool *any_left)
{
	char table[32];
	int rc = sv_nft_table_for(table, bridge);
	if (rc)
		return rc;
	/* Adding first makes the delete succeed when a table is already gone. */
	json_t *doc =
	    json_pack("{s:[{s:o},{s:o},{s:o},{s:o}]}", "nftables", "add", sv_nft_table_obj("ip", table),
		      "delete", sv_nft_table_obj("ip", table), "add", sv_nft_table_obj("bridge", table),
		      "delete", sv_nft_table_obj("bridge", table));
	/* The listing in the same transaction sees the tables as the deletes
	 * left them: one run instead of two. */
	if (doc && any_left)
		json_array_append_new(json_object_get(doc, "nftables"),
				      json_pack("{s:{s:{s:s}}}", "list", "tables", "family", "ip"));
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!text)
		return sv_err(SV_ENOMEM, "out of memory");
	char what[64], *out = NULL;
	snprintf(what, sizeof(what), "deleting nftables tables %s", table);
	rc = sv_nft_lib_run(text, what, any_left ? &out : NULL);
	free(text);
	int n = 0;
	if (!rc && any_left && count_listed(out, "smartvm_", &n) != 0)
		rc = sv_err(SV_ENETWORK, "%s: nft listed no tables after the deletes", what);
	if (any_left)
		*any_left = n > 0;
	free(out);
	return rc;
}

int sv_nft_exists(const char *bridge, bool *exists)
{
	/* One netlink lookup, not a listing through libnftables: the
	 * supervisor's replay asks this for every VM it removes. */
	char table[32];
	*exists = false;
	int rc = sv_nft_table_for(table, bridge);
	return rc ? rc : sv_nft_elems_table_exists(table, exists);
}
