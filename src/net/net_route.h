/* Policy routing over rtnetlink (libmnl): the rule that sends a VM's traffic
 * to a routing table of its own, the routes of that table, and the question
 * "does anything still use table T". Never runs `ip`. */
#ifndef SV_NET_NET_ROUTE_H
#define SV_NET_NET_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

/* "from SRC/32 iif IIF lookup TABLE priority PRIO". Adding one that exists
 * and deleting one that is gone are success. */
int sv_nl_rule_add(uint32_t src, const char *iif, uint32_t table, uint32_t prio);
int sv_nl_rule_del(uint32_t src, const char *iif, uint32_t table, uint32_t prio);

/* A default route in table: through dev (a point-to-point link, no gateway),
 * or, with dev NULL, an "unreachable" one, each with its metric. Added or
 * replaced; deleting one that is gone is success. */
int sv_nl_table_default_add(uint32_t table, const char *dev, uint32_t metric);
int sv_nl_table_default_del(uint32_t table, const char *dev, uint32_t metric);

/* Whether any IPv4 rule looks up table, or any route lives in it. */
int sv_nl_table_in_use(uint32_t table, bool *used);

#endif
