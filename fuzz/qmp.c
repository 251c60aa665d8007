/* Fuzzes the QMP client (src/vmm/qemu/qmp.c) and the QEMU backend's reading
 * of QMP answers (qemu_ops.c, qemu_balloon.c): everything QEMU sends is the
 * input, served on a unix socket. The backend connects (greeting and
 * capabilities negotiation), then asks what `smartvm inspect`, `version`,
 * `pause` and `balloon stats` ask; each answer comes from the rest of the
 * input. Oracle: whatever a successful call hands back is valid JSON. */
#include "fuzz.h"

#include "fz_server.h"
#include "vmm/vmm.h"

static fz_server *server;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	server = fz_server_start("qmp", FZ_SERVE_STREAM);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const sv_vmm_ops *ops = &sv_vmm_qemu_ops;
	sv_vmm *vmm = fz_vmm_connect(server, ops, data, size);
	if (!vmm)
		return 0;
	/* From the greeting, which the connection required. */
	FZ_CHECK(fz_vmm_get(vmm, ops->version, false) == 0);
	fz_vmm_get(vmm, ops->instance_info, true);
	fz_vmm_get(vmm, ops->running_config, true);
	ops->pause(vmm);
	fz_vmm_get(vmm, ops->balloon_stats, true);
	ops->disconnect(vmm);
	return 0;
}
