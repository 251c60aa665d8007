/* Placeholder until host networking lands (branch net): VMs whose interfaces
 * all name an existing host device work; anything else is refused clearly. */
#include "vm/vm_net.h"

#include "util/error.h"
#include <stdio.h>
#include <string.h>

int sv_vm_net_setup(const sv_manager_options *opts, const char *data_dir, const char *vm_id,
		    sv_ledger *ledger, sv_vm_config *cfg, sv_tap_device *taps)
{
	(void)opts; (void)data_dir; (void)vm_id; (void)ledger;
	for (size_t i = 0; i < cfg->n_network_interfaces; i++) {
		const sv_net_iface_config *n = &cfg->network_interfaces[i];
		if (!n->host_dev_name)
			return sv_err(SV_EUNSUPPORTED, "network_interfaces[%zu].host_dev_name: required (automatic TAP setup is not built in yet)", i);
		snprintf(taps[i].iface_id, sizeof(taps[i].iface_id), "%s", n->iface_id);
		snprintf(taps[i].tap_name, sizeof(taps[i].tap_name), "%s", n->host_dev_name);
		snprintf(taps[i].mac, sizeof(taps[i].mac), "%s", n->guest_mac ? n->guest_mac : "");
	}
	return 0;
}

void sv_vm_net_register_undo(void)
{
}
