/* nftables: one table per bridge, `ip smartvm_<bridge>`, holding
 *   chain postrouting (nat):  ip saddr SUBNET ip daddr != SUBNET oifname OUT masquerade
 *   chain forward (filter):   iifname BRIDGE ip saddr SUBNET <rule i> accept|drop  (in order)
 *                             iifname BRIDGE ip saddr SUBNET <default>
 * Documents are built with jansson and fed to `nft -j -f -` on stdin through
 * sv_run (argv, no shell). Every change is one nft transaction: the table is
 * added, deleted and re-added in the same batch, so it is replaced whole and
 * no half-applied policy is ever visible. Egress rules filter forwarded
 * traffic only; traffic to the host itself (the gateway) is not egress. This
 * file never touches links or leases. */
#include "net/net_nft.h"

#include "util/error.h"
#include "util/spawn.h"
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NFT_TIMEOUT_MS 10000
#define FAMILY "ip"

void sv_nft_table_name(char out[32], const char *bridge)
{
	/* The bridge name as it is: mapping bytes onto '_' made sv-a and sv_a
	 * share one table. nft takes '-' and '.' in names, and an interface
	 * name (15 bytes) always fits. */
	snprintf(out, 32, "smartvm_%s", bridge);
}

static json_t *table_obj(const char *table)
{
	return json_pack("{s:{s:s,s:s}}", "table", "family", FAMILY, "name", table);
}

static json_t *match(json_t *left, const char *op, json_t *right)
{
	return json_pack("{s:{s:s,s:o,s:o}}", "match", "op", op, "left", left, "right", right);
}

static json_t *meta(const char *key)
{
	return json_pack("{s:{s:s}}", "meta", "key", key);
}

static json_t *payload(const char *proto, const char *field)
{
	return json_pack("{s:{s:s,s:s}}", "payload", "protocol", proto, "field", field);
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
	return match(payload("ip", field), op, prefix(net->network, net->prefix));
}

static json_t *from_subnet(const sv_net_plan *plan)
{
	return json_pack("[o,o]", match(meta("iifname"), "==", json_string(plan->bridge)),
			 subnet_match("saddr", "==", &plan->subnet));
}

static json_t *rule(const char *table, const char *chain, json_t *expr)
{
	return json_pack("{s:{s:{s:s,s:s,s:s,s:o}}}", "add", "rule", "family", FAMILY, "table", table, "chain",
			 chain, "expr", expr);
}

static json_t *chain(const char *table, const char *name, const char *type, int prio)
{
	return json_pack("{s:{s:{s:s,s:s,s:s,s:s,s:s,s:i,s:s}}}", "add", "chain", "family", FAMILY, "table", table,
			 "name", name, "type", type, "hook", name, "prio", prio, "policy", "accept");
}

static json_t *verdict(sv_egress_action action)
{
	return json_pack("{s:n}", action == SV_EGRESS_DENY ? "drop" : "accept");
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
		json_array_append_new(expr, match(payload("ip", "daddr"), "==", prefix(addr, len)));
	static const char *const protos[] = { NULL, "tcp", "udp", "icmp" };
	if (r->protocol != SV_PROTO_ALL)
		json_array_append_new(expr, match(meta("l4proto"), "==", json_string(protos[r->protocol])));
	if (r->port_from) {
		json_t *ports = r->port_to && r->port_to != r->port_from
					? json_pack("{s:[i,i]}", "range", r->port_from, r->port_to)
					: json_integer(r->port_from);
		json_array_append_new(expr, match(payload(protos[r->protocol], "dport"), "==", ports));
	}
	json_array_append_new(expr, verdict(r->action));
	return 0;
}

/* The table name of bridge, refusing what is not an interface name: names
 * from files (ledger, lease directory) end up here. */
static int table_for(char table[32], const char *bridge)
{
	const char *why;
	if (!sv_ifname_valid(bridge, &why))
		return sv_err(SV_EINVAL, "nftables table of bridge \"%s\": %s", bridge, why);
	sv_nft_table_name(table, bridge);
	return 0;
}

int sv_nft_build_table(char **out, const sv_net_plan *plan, const char *outbound)
{
	char table[32];
	int rc = table_for(table, plan->bridge);
	const char *why;
	if (!rc && outbound && *outbound && !sv_ifname_valid(outbound, &why))
		rc = sv_err(SV_EINVAL, "outbound interface \"%s\": %s", outbound, why);
	if (rc)
		return rc;
	json_t *cmds = json_array();
	json_t *doc = json_pack("{s:o}", "nftables", cmds);
	if (!doc)
		return sv_err(SV_ENOMEM, "out of memory");
	json_array_append_new(cmds, json_pack("{s:o}", "add", table_obj(table)));
	json_array_append_new(cmds, json_pack("{s:o}", "delete", table_obj(table)));
	json_array_append_new(cmds, json_pack("{s:o}", "add", table_obj(table)));
	json_array_append_new(cmds, chain(table, "postrouting", "nat", 100));
	json_array_append_new(cmds, chain(table, "forward", "filter", 0));

	json_t *nat = json_pack("[o,o]", subnet_match("saddr", "==", &plan->subnet),
				subnet_match("daddr", "!=", &plan->subnet));
	if (outbound && *outbound)
		json_array_append_new(nat, match(meta("oifname"), "==", json_string(outbound)));
	else
		json_array_append_new(nat, match(meta("oifname"), "!=", json_string(plan->bridge)));
	json_array_append_new(nat, json_pack("{s:n}", "masquerade"));
	json_array_append_new(cmds, rule(table, "postrouting", nat));

	for (size_t i = 0; i < plan->n_rules && !rc; i++) {
		json_t *expr = from_subnet(plan);
		if ((rc = append_egress_rule(expr, &plan->rules[i], i)))
			json_decref(expr);
		else
			json_array_append_new(cmds, rule(table, "forward", expr));
	}
	json_t *last = from_subnet(plan);
	json_array_append_new(last, verdict(plan->default_action));
	json_array_append_new(cmds, rule(table, "forward", last));

	if (!rc && !(*out = json_dumps(doc, JSON_COMPACT)))
		rc = sv_err(SV_ENOMEM, "out of memory");
	json_decref(doc);
	return rc;
}

static int run_nft(const char *doc, const char *what)
{
	static const char *const argv[] = { "nft", "-j", "-f", "-", NULL };
	int exit_code = 0;
	char *err = NULL;
	int rc = sv_run(argv, doc, NFT_TIMEOUT_MS, &exit_code, NULL, &err);
	if (rc) {
		free(err);
		return sv_err_prefix("%s", what);
	}
	if (exit_code != 0) {
		size_t n = err ? strlen(err) : 0;
		while (n && (err[n - 1] == '\n' || err[n - 1] == ' '))
			err[--n] = '\0';
		rc = sv_err(SV_ENETWORK, "%s: nft -j -f - exited with %d: %s", what, exit_code,
			    n ? err : "(no message)");
	}
	free(err);
	return rc;
}

int sv_nft_apply(const char *bridge, const char *doc)
{
	char table[32];
	int rc = table_for(table, bridge);
	if (rc)
		return rc;
	char what[64];
	snprintf(what, sizeof(what), "applying nftables table %s", table);
	return run_nft(doc, what);
}

int sv_nft_delete(const char *bridge)
{
	char table[32];
	int rc = table_for(table, bridge);
	if (rc)
		return rc;
	/* Adding first makes the delete succeed when the table is already gone. */
	json_t *doc = json_pack("{s:[{s:o},{s:o}]}", "nftables", "add", table_obj(table), "delete", table_obj(table));
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!text)
		return sv_err(SV_ENOMEM, "out of memory");
	char what[64];
	snprintf(what, sizeof(what), "deleting nftables table %s", table);
	rc = run_nft(text, what);
	free(text);
	return rc;
}

/* Counts this family's tables named exactly `name`, or starting with
 * `prefix`. */
static int count_tables(const char *name, const char *prefix, int *count)
{
	const char *const argv[] = { "nft", "-j", "list", "tables", FAMILY, NULL };
	int exit_code = 0;
	char *out = NULL;
	int rc = sv_run(argv, NULL, NFT_TIMEOUT_MS, &exit_code, &out, NULL);
	if (rc)
		return sv_err_prefix("listing nftables tables");
	json_error_t jerr;
	json_t *doc = exit_code == 0 && out ? json_loads(out, 0, &jerr) : NULL;
	free(out);
	if (!doc)
		return sv_err(SV_ENETWORK, "listing nftables tables: nft -j list tables failed (exit %d)", exit_code);
	*count = 0;
	size_t i;
	json_t *item;
	json_array_foreach(json_object_get(doc, "nftables"), i, item)
	{
		const char *t = json_string_value(json_object_get(json_object_get(item, "table"), "name"));
		if (t && ((name && !strcmp(t, name)) || (prefix && !strncmp(t, prefix, strlen(prefix)))))
			(*count)++;
	}
	json_decref(doc);
	return 0;
}

int sv_nft_exists(const char *bridge, bool *exists)
{
	char table[32];
	int n = 0;
	int rc = table_for(table, bridge);
	if (!rc)
		rc = count_tables(table, NULL, &n);
	*exists = n > 0;
	return rc;
}

int sv_nft_any_table(bool *any)
{
	int n = 0;
	int rc = count_tables(NULL, "smartvm_", &n);
	*any = n > 0;
	return rc;
}
