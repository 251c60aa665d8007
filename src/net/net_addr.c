/* IPv4 parsing and formatting, the subnet layout, interface-name and MAC
 * checks, egress-rule parsing, and the resolution of the networking options
 * into a plan. Everything here is pure: it never touches the host, so the
 * manager can validate options at creation time and unit tests need no root.
 * Error messages name the option and quote the value. */
#include "net/net_addr.h"

#include "util/error.h"
#include "util/options_version.h"
#include <ctype.h>
#include <errno.h>
#include <smartvm/netadmin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool sv_ipv4_parse(const char *text, uint32_t *out)
{
	uint32_t addr = 0;
	const char *p = text;
	for (int i = 0; i < 4; i++) {
		if (!isdigit((unsigned char)*p))
			return false;
		unsigned v = 0;
		int digits = 0;
		const char *start = p;
		while (isdigit((unsigned char)*p)) {
			v = v * 10 + (unsigned)(*p++ - '0');
			if (++digits > 3)
				return false;
		}
		/* "010" reads as octal to inet_aton; refuse the ambiguity. */
		if (v > 255 || (digits > 1 && *start == '0'))
			return false;
		addr = (addr << 8) | v;
		if (i < 3 && *p++ != '.')
			return false;
	}
	if (*p)
		return false;
	*out = addr;
	return true;
}

void sv_ipv4_format(uint32_t a, char buf[16])
{
	snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

uint32_t sv_ipv4_mask(int prefix)
{
	return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
}

bool sv_ipv4_cidr_parse(const char *text, uint32_t *addr, int *prefix)
{
	const char *slash = strchr(text, '/');
	if (!slash || slash - text > 15)
		return false;
	char host[16];
	memcpy(host, text, (size_t)(slash - text));
	host[slash - text] = '\0';
	const char *p = slash + 1;
	if (!isdigit((unsigned char)p[0]) || strlen(p) > 2 || (p[1] && !isdigit((unsigned char)p[1])) ||
	    (p[0] == '0' && p[1]))
		return false;
	int len = atoi(p);
	if (len > 32 || !sv_ipv4_parse(host, addr))
		return false;
	*prefix = len;
	return true;
}

uint32_t sv_subnet_gateway(const sv_ipv4_net *net)
{
	return net->network + 1;
}

uint32_t sv_subnet_first_guest(const sv_ipv4_net *net)
{
	return net->network + 2;
}

uint32_t sv_subnet_last_guest(const sv_ipv4_net *net)
{
	/* The address before broadcast. */
	return (net->network | ~sv_ipv4_mask(net->prefix)) - 1;
}

bool sv_subnet_contains(const sv_ipv4_net *net, uint32_t addr)
{
	return (addr & sv_ipv4_mask(net->prefix)) == net->network;
}

/* IPv4 ranges a guest subnet must not overlap (RFC 6890), in the order the
 * first overlap is reported, with why. */
static const struct {
	uint32_t network;
	int prefix;
	const char *text, *why;
} unusable[] = {
	{ 0x00000000u, 8, "0.0.0.0/8 (\"this network\")", "its addresses are not valid destinations" },
	{ 0x7f000000u, 8, "127.0.0.0/8 (loopback)", "its addresses never leave a host" },
	{ 0xa9fe0000u, 16, "169.254.0.0/16 (link-local)", "routers do not forward it" },
	{ 0xe0000000u, 4, "224.0.0.0/4 (multicast)", "a guest needs unicast addresses" },
	{ 0xf0000000u, 4, "240.0.0.0/4 (reserved, with the broadcast address 255.255.255.255)",
	  "hosts do not route it" },
};

int sv_subnet_parse(const char *text, sv_ipv4_net *out)
{
	uint32_t addr;
	int prefix;
	if (strchr(text, ':'))
		return sv_err(SV_EINVALID_SUBNET, "subnet \"%s\": IPv6 is not supported, give an IPv4 CIDR (a.b.c.d/prefix)",
			      text);
	if (!sv_ipv4_cidr_parse(text, &addr, &prefix))
		return sv_err(SV_EINVALID_SUBNET, "subnet \"%s\": not an IPv4 CIDR (a.b.c.d/prefix)", text);
	if (prefix > 30)
		return sv_err(SV_EINVALID_SUBNET,
			      "subnet \"%s\": a /%d has no room for the gateway and a guest (the longest prefix is /30)",
			      text, prefix);
	if (prefix < 1)
		return sv_err(SV_EINVALID_SUBNET, "subnet \"%s\": prefix must be between 1 and 30", text);
	uint32_t network = addr & sv_ipv4_mask(prefix);
	if (network != addr) {
		char buf[16];
		sv_ipv4_format(network, buf);
		return sv_err(SV_EINVALID_SUBNET, "subnet \"%s\": host bits are set (the network is %s/%d)", text,
			      buf, prefix);
	}
	for (size_t i = 0; i < sizeof(unusable) / sizeof(unusable[0]); i++) {
		uint32_t mask = sv_ipv4_mask(prefix < unusable[i].prefix ? prefix : unusable[i].prefix);
		if ((network & mask) == (unusable[i].network & mask))
			return sv_err(SV_EINVALID_SUBNET, "subnet \"%s\": overlaps %s: %s", text, unusable[i].text,
				      unusable[i].why);
	}
	*out = (sv_ipv4_net){ .network = network, .prefix = prefix };
	return 0;
}

bool sv_ifname_valid(const char *name, const char **why)
{
	size_t len = strlen(name);
	if (len == 0) {
		*why = "must not be empty";
		return false;
	}
	if (len > 15) {
		*why = "at most 15 bytes";
		return false;
	}
	for (const char *p = name; *p; p++) {
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != '-') {
			*why = "only letters, digits, '_', '.' and '-' are allowed";
			return false;
		}
	}
	if (!strcmp(name, ".") || !strcmp(name, "..")) {
		*why = "\".\" and \"..\" are not interface names";
		return false;
	}
	return true;
}

bool sv_mac_valid(const char *mac, const char **why)
{
	static const char shape[] = "xx:xx:xx:xx:xx:xx";
	if (strlen(mac) != sizeof(shape) - 1) {
		*why = "not a MAC address (aa:bb:cc:dd:ee:ff)";
		return false;
	}
	for (size_t i = 0; shape[i]; i++) {
		bool ok = shape[i] == ':' ? mac[i] == ':' : isxdigit((unsigned char)mac[i]) != 0;
		if (!ok) {
			*why = "not a MAC address (aa:bb:cc:dd:ee:ff)";
			return false;
		}
	}
	unsigned first = (unsigned)strtoul(mac, NULL, 16);
	if (first & 1) {
		*why = "is a multicast address; a guest needs a unicast one";
		return false;
	}
	return true;
}

static int parse_port(const char *text, uint16_t *out)
{
	if (!*text || strlen(text) > 5)
		return -1;
	for (const char *p = text; *p; p++)
		if (!isdigit((unsigned char)*p))
			return -1;
	long v = strtol(text, NULL, 10);
	if (v < 1 || v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

int sv_egress_action_parse(sv_egress_action *out, const char *text)
{
	if (!strcmp(text, "allow"))
		*out = SV_EGRESS_ALLOW;
	else if (!strcmp(text, "deny"))
		*out = SV_EGRESS_DENY;
	else
		return sv_err(SV_EINVAL, "egress action \"%s\": must be allow or deny", text);
	return 0;
}

int sv_egress_rule_parse(sv_egress_rule *out, char *dest_buf, const char *text)
{
	char *copy = strdup(text);
	if (!copy)
		return sv_err(SV_ENOMEM, "out of memory");
	char *fields[5] = { 0 };
	int n = 0;
	for (char *save = copy, *f; n < 5 && (f = strsep(&save, ":"));)
		fields[n++] = f;
	sv_egress_rule r = { 0 };
	int rc = 0;
	uint32_t addr;
	int prefix;
	if (n < 2 || n > 4) {
		rc = sv_err(SV_EINVAL, "egress rule \"%s\": expected allow|deny:CIDR[:proto[:ports]]", text);
		goto out;
	}
	if (strcmp(fields[0], "allow") && strcmp(fields[0], "deny")) {
		rc = sv_err(SV_EINVAL, "egress rule \"%s\": action \"%s\" must be allow or deny", text, fields[0]);
		goto out;
	}
	r.action = fields[0][0] == 'a' ? SV_EGRESS_ALLOW : SV_EGRESS_DENY;
	if (!sv_ipv4_cidr_parse(fields[1], &addr, &prefix)) {
		rc = sv_err(SV_EINVAL, "egress rule \"%s\": destination \"%s\" is not an IPv4 CIDR (a.b.c.d/prefix)",
			    text, fields[1]);
		goto out;
	}
	snprintf(dest_buf, SV_EGRESS_DEST_MAX, "%s", fields[1]);
	r.destination = dest_buf;
	if (n >= 3) {
		static const char *const names[] = { "all", "tcp", "udp", "icmp" };
		r.protocol = (sv_egress_proto)-1;
		for (int i = 0; i < 4; i++)
			if (!strcmp(fields[2], names[i]))
				r.protocol = (sv_egress_proto)i;
		if ((int)r.protocol < 0) {
			rc = sv_err(SV_EINVAL, "egress rule \"%s\": protocol \"%s\" must be tcp, udp, icmp or all", text,
				    fields[2]);
			goto out;
		}
	}
	if (n == 4) {
		if (r.protocol != SV_PROTO_TCP && r.protocol != SV_PROTO_UDP) {
			rc = sv_err(SV_EINVAL, "egress rule \"%s\": ports need protocol tcp or udp", text);
			goto out;
		}
		char *dash = strchr(fields[3], '-');
		if (dash)
			*dash = '\0';
		if (parse_port(fields[3], &r.port_from) || (dash && parse_port(dash + 1, &r.port_to)) ||
		    (dash && r.port_to < r.port_from)) {
			rc = sv_err(SV_EINVAL, "egress rule \"%s\": ports must be N or N-M with 1 <= N <= M <= 65535",
				    text);
			goto out;
		}
	}
	*out = r;
out:
	free(copy);
	return rc;
}

int sv_egress_rule_check(const sv_egress_rule *r, size_t i)
{
	uint32_t addr;
	int prefix;
	if (r->action != SV_EGRESS_ALLOW && r->action != SV_EGRESS_DENY)
		return sv_err(SV_EINVAL, "egress_rules[%zu].action: must be allow or deny", i);
	if (!r->destination || !sv_ipv4_cidr_parse(r->destination, &addr, &prefix))
		return sv_err(SV_EINVAL, "egress_rules[%zu].destination \"%s\": not an IPv4 CIDR (a.b.c.d/prefix)", i,
			      r->destination ? r->destination : "(null)");
	if (r->protocol < SV_PROTO_ALL || r->protocol > SV_PROTO_ICMP)
		return sv_err(SV_EINVAL, "egress_rules[%zu].protocol: must be tcp, udp, icmp or all", i);
	bool has_ports = r->port_from || r->port_to;
	if (has_ports && r->protocol != SV_PROTO_TCP && r->protocol != SV_PROTO_UDP)
		return sv_err(SV_EINVAL, "egress_rules[%zu]: ports need protocol tcp or udp", i);
	if (has_ports && (!r->port_from || (r->port_to && r->port_to < r->port_from)))
		return sv_err(SV_EINVAL, "egress_rules[%zu]: port range %u-%u is empty", i, r->port_from,
			      r->port_to);
	return 0;
}

int sv_net_plan_from_options(sv_net_plan *out, const sv_manager_options *opts)
{
	static const sv_manager_options none = SV_MANAGER_OPTIONS_INIT;
	if (!opts)
		opts = &none;
	sv_net_plan p = { 0 };
	const char *why;
	const char *bridge = opts->bridge_name ? opts->bridge_name : SV_NET_DEFAULT_BRIDGE;
	if (!sv_ifname_valid(bridge, &why))
		return sv_err(SV_EINVAL, "bridge_name \"%s\": %s", bridge, why);
	snprintf(p.bridge, sizeof(p.bridge), "%s", bridge);

	const char *subnet = opts->subnet ? opts->subnet : SV_NET_DEFAULT_SUBNET;
	int rc = sv_subnet_parse(subnet, &p.subnet);
	if (rc)
		return rc;
	char net_text[16];
	sv_ipv4_format(p.subnet.network, net_text);
	snprintf(p.subnet_text, sizeof(p.subnet_text), "%s/%d", net_text, p.subnet.prefix);

	if (opts->n_egress_rules && !opts->egress_rules)
		return sv_err(SV_EINVAL, "egress_rules: NULL with n_egress_rules %zu", opts->n_egress_rules);
	for (size_t i = 0; i < opts->n_egress_rules; i++)
		if ((rc = sv_egress_rule_check(&opts->egress_rules[i], i)))
			return rc;
	p.rules = opts->egress_rules;
	p.n_rules = opts->n_egress_rules;
	switch (opts->egress_default) {
	case SV_EGRESS_DEFAULT:
	case SV_EGRESS_ALLOW:
		p.default_action = SV_EGRESS_ALLOW;
		break;
	case SV_EGRESS_DENY:
		p.default_action = SV_EGRESS_DENY;
		break;
	default:
		return sv_err(SV_EINVAL, "egress_default: must be allow or deny");
	}
	if (opts->outbound_interface) {
		if (!sv_ifname_valid(opts->outbound_interface, &why))
			return sv_err(SV_EINVAL, "outbound_interface \"%s\": %s", opts->outbound_interface, why);
		if (!strcmp(opts->outbound_interface, p.bridge))
			return sv_err(SV_EINVAL, "outbound_interface \"%s\": is the VM bridge itself",
				      opts->outbound_interface);
		snprintf(p.outbound, sizeof(p.outbound), "%s", opts->outbound_interface);
	}
	*out = p;
	return 0;
}

int sv_net_validate_options(const sv_manager_options *opts)
{
	sv_err_clear();
	int rc = SV_CHECK_OPTIONS(opts, sv_manager_options, SV_MANAGER_OPTIONS);
	if (rc)
		return rc;
	sv_net_plan plan;
	return sv_net_plan_from_options(&plan, opts);
}
