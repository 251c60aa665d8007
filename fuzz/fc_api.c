/* Fuzzes the Firecracker API client (src/vmm/firecracker/fc_api.c,
 * fc_http.c, fc_live.c) on what Firecracker answers: the input is the HTTP
 * response every request gets, served on a unix socket. The backend connects
 * (GET /, which must look like InstanceInfo), then asks for the version, the
 * instance info, the running config, the MMDS data and the balloon
 * statistics. Oracle: a successful call hands back what it promised (text). */
#include "fuzz.h"

#include "fz_server.h"
#include "vmm/vmm.h"
#include <jansson.h>

static fz_server *server;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	server = fz_server_start("fcapi", FZ_SERVE_AFTER_REQUEST);
	return 0;
}

static void check_text(int rc, char *text)
{
	if (rc == 0)
		FZ_CHECK(text);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const sv_vmm_ops *ops = &sv_vmm_firecracker_ops;
	fz_server_set_reply(server, data, size);
	sv_vmm *vmm = NULL;
	if (ops->connect(&vmm, fz_server_socket(server), 2000) != 0)
		return 0;
	char *text = NULL;
	int rc = ops->version(vmm, &text);
	check_text(rc, text);
	text = NULL;
	rc = ops->instance_info(vmm, &text);
	check_text(rc, text);
	text = NULL;
	rc = ops->running_config(vmm, &text);
	check_text(rc, text);
	text = NULL;
	rc = ops->mmds_get(vmm, &text);
	check_text(rc, text);
	text = NULL;
	rc = ops->balloon_stats(vmm, &text);
	check_text(rc, text);
	ops->pause(vmm);
	ops->disconnect(vmm);
	return 0;
}
