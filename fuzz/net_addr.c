/* Fuzzes the networking parsers (src/net/net_addr.c): addresses, CIDRs,
 * subnets, interface names, MACs and egress rules, each given the whole input
 * as text. Oracles: a parsed address or CIDR formats back to the same text
 * (the parsers accept only the canonical form); a parsed subnet has a gateway
 * and guests inside it; a parsed egress rule passes the options check. */
#include "fuzz.h"

#include "net/net_addr.h"
#include <smartvm/netadmin.h>
#include <string.h>

static void addresses(const char *text)
{
	uint32_t addr;
	char buf[40];
	if (sv_ipv4_parse(text, &addr)) {
		sv_ipv4_format(addr, buf);
		FZ_CHECK(strcmp(buf, text) == 0);
	}
	int prefix;
	if (sv_ipv4_cidr_parse(text, &addr, &prefix)) {
		FZ_CHECK(prefix >= 0 && prefix <= 32);
		char host[16];
		sv_ipv4_format(addr, host);
		snprintf(buf, sizeof(buf), "%s/%d", host, prefix);
		FZ_CHECK(strcmp(buf, text) == 0);
	}
	sv_ipv4_net net;
	if (sv_subnet_parse(text, &net) == 0) {
		FZ_CHECK(net.prefix >= 1 && net.prefix <= 30);
		FZ_CHECK(sv_subnet_contains(&net, sv_subnet_gateway(&net)));
		FZ_CHECK(sv_subnet_contains(&net, sv_subnet_first_guest(&net)));
		FZ_CHECK(sv_subnet_contains(&net, sv_subnet_last_guest(&net)));
		FZ_CHECK(sv_subnet_first_guest(&net) <= sv_subnet_last_guest(&net));
	}
}

static void names(const char *text)
{
	const char *why = NULL;
	if (sv_ifname_valid(text, &why))
		FZ_CHECK(strlen(text) <= 15 && !strchr(text, '/'));
	else
		FZ_CHECK(why != NULL);
	why = NULL;
	if (sv_mac_valid(text, &why))
		FZ_CHECK(strlen(text) == 17);
	else
		FZ_CHECK(why != NULL);
}

static void egress(const char *text)
{
	sv_egress_action action;
	sv_egress_action_parse(&action, text);
	sv_egress_rule rule;
	char dest[SV_EGRESS_DEST_MAX];
	if (sv_egress_rule_parse(&rule, dest, text) != 0)
		return;
	FZ_CHECK(rule.destination == dest);
	sv_manager_options opts = SV_MANAGER_OPTIONS_INIT;
	opts.egress_rules = &rule;
	opts.n_egress_rules = 1;
	FZ_CHECK(sv_net_validate_options(&opts) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fz_cstr(data, size);
	addresses(text);
	names(text);
	egress(text);
	free(text);
	return 0;
}
