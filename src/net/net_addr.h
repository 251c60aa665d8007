/* IPv4 addresses, the VM subnet, interface names and the networking options
 * resolved into one plan. Pure functions: nothing here touches the host. */
#ifndef SV_NET_NET_ADDR_H
#define SV_NET_NET_ADDR_H

#include <smartvm/manager.h>
#include <smartvm/net.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SV_NET_DEFAULT_BRIDGE "svbr0"
#define SV_NET_DEFAULT_SUBNET "172.30.0.0/24"
#define SV_IPV4_CIDR_MAX 19 /* "255.255.255.255/32" + NUL */

/* An IPv4 network; addresses in host byte order. */
typedef struct {
	uint32_t network;
	int prefix;
} sv_ipv4_net;

/* The networking options with defaults applied and every value checked. The
 * egress rules are borrowed from the options they were resolved from. */
typedef struct {
	char bridge[16];
	sv_ipv4_net subnet;
	char subnet_text[SV_IPV4_CIDR_MAX];
	const sv_egress_rule *rules;
	size_t n_rules;
	sv_egress_action default_action; /* ALLOW or DENY, never DEFAULT */
	char outbound[16];               /* "" = the default route's interface */
} sv_net_plan;

/* "a.b.c.d" strictly (no leading zeros that would read as octal, no junk). */
bool sv_ipv4_parse(const char *text, uint32_t *out);
void sv_ipv4_format(uint32_t addr, char buf[16]);
/* "a.b.c.d/p" with 0 <= p <= 32; host bits may be set (see *host_bits). */
bool sv_ipv4_cidr_parse(const char *text, uint32_t *addr, int *prefix);
uint32_t sv_ipv4_mask(int prefix);

/* The subnet's layout: the gateway is the first usable address, guests run
 * from the second usable one to the last before broadcast. */
uint32_t sv_subnet_gateway(const sv_ipv4_net *net);
uint32_t sv_subnet_first_guest(const sv_ipv4_net *net);
uint32_t sv_subnet_last_guest(const sv_ipv4_net *net);
bool sv_subnet_contains(const sv_ipv4_net *net, uint32_t addr);

/* Checks a subnet option; SV_EINVALID_SUBNET with a message naming the value. */
int sv_subnet_parse(const char *text, sv_ipv4_net *out);

/* Checks a Linux interface name; on failure *why says what is wrong. */
bool sv_ifname_valid(const char *name, const char **why);

/* Checks an "aa:bb:cc:dd:ee:ff" unicast MAC. */
bool sv_mac_valid(const char *mac, const char **why);

/* Checks egress rule number i (named egress_rules[i] in the message). */
int sv_egress_rule_check(const sv_egress_rule *r, size_t i);

/* Resolves and validates the networking options (NULL opts = defaults). */
int sv_net_plan_from_options(sv_net_plan *out, const sv_manager_options *opts);

#endif
