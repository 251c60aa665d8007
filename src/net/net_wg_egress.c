/* A VM's egress through its own WireGuard tunnel (net_wg_egress.h).
 *
 * Leak-proof by construction, in this order: the VM's table first gets an
 * "unreachable" default route, then the default route through the tunnel,
 * and only then the rules that send the VM's addresses to that table. When
 * the tunnel goes down its route goes with it and the unreachable one
 * answers: nothing falls through to the main table and the host's default
 * route. The firewall adds a second wall: from @wg_vms, forwarding out of
 * any interface but the VM's own tunnel is dropped (net_nft.c), and the
 * tunnel's traffic is masqueraded as its Address (@wg_ifs). */
#include "net/net_wg_egress.h"

#include "net/net_addr.h"
#include "net/net_route.h"
#include "net/net_wg.h"
#include "util/error.h"
#include "util/fault.h"
#include "util/log.h"
#include <stdio.h>
#include <string.h>

int sv_wg_egress_setup(sv_lease_db *db, sv_ledger *ledger, const char *vm_id, const uint32_t *ips,
		       size_t n_ips, const sv_wg_config *cfg, sv_nft_batch *batch, char ifname_out[16])
{
	char name[16], owner[96], alias[96], spec[512];
	uint32_t table;
	const char *backend = NULL;
	int rc = sv_wg_pick(name, &table);
	if (rc)
		return rc;
	snprintf(owner, sizeof(owner), "%s,%s", name, vm_id);
	sv_wg_alias(alias, vm_id);
	if ((rc = sv_ledger_record(ledger, "wgif", owner, db->lease_path)) ||
	    (rc = SV_FAULT_POINT("launch.wireguard")) || (rc = sv_wg_up(name, alias, cfg, &backend)))
		return rc;
	sv_debug("VM \"%s\": WireGuard interface %s (%s backend), table %u", vm_id, name, backend, table);
	int len = snprintf(spec, sizeof(spec), "%s,%s", name, vm_id);
	for (size_t i = 0; i < n_ips && len < (int)sizeof(spec) - 17; i++) {
		char ip[16];
		sv_ipv4_format(ips[i], ip);
		len += snprintf(spec + len, sizeof(spec) - (size_t)len, ",%s", ip);
	}
	if ((rc = sv_ledger_record(ledger, "wg", db->lease_path, spec)) ||
	    (rc = SV_FAULT_POINT("launch.wireguard_route")) || (rc = sv_nl_table_default_add(table, NULL, SV_WG_UNREACHABLE_METRIC)) ||
	    (rc = sv_nl_table_default_add(table, name, 0)))
		return rc;
	for (size_t i = 0; i < n_ips; i++) {
		if ((rc = sv_nl_rule_add(ips[i], db->bridge, table, SV_WG_RULE_PRIO)))
			return rc;
		sv_nft_batch_wg(batch, true, ips[i], name);
	}
	snprintf(ifname_out, 16, "%s", name);
	return 0;
}
