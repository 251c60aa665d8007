/* Fuzzes the Firecracker API client (src/vmm/firecracker/fc_api.c,
 * fc_http.c, fc_live.c) on what Firecracker answers: the input is the HTTP
 * response every request gets, served on a unix socket. The backend connects
 * (GET /, which must look like InstanceInfo), then asks for the version, the
 * instance info, the running config, the MMDS data and the balloon
 * statistics. Oracle: a successful call hands back what it promised (text). */
#include "fuzz.h"

#include "fz_server.h"
#include "vmm/vmm.h"

static fz_server *server;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	server = fz_server_start("fcapi", FZ_SERVE_AFTER_REQUEST);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const sv_vmm_ops *ops = &sv_vmm_firecracker_ops;
	sv_vmm *vmm = fz_vmm_connect(server, ops, data, size);
	if (!vmm)
		return 0;
	fz_vmm_get(vmm, ops->version, false);
	fz_vmm_get(vmm, ops->instance_info, false);
	fz_vmm_get(vmm, ops->running_config, false);
	fz_vmm_get(vmm, ops->mmds_get, false);
	fz_vmm_get(vmm, ops->balloon_stats, false);
	ops->pause(vmm);
	ops->disconnect(vmm);
	return 0;
}
