/* Fuzzes the QMP client (src/vmm/qemu/qmp.c) and the QEMU backend's reading
 * of QMP answers (qemu_ops.c, qemu_balloon.c): everything QEMU sends is the
 * input, served on a unix socket. The backend connects (greeting and
 * capabilities negotiation), then asks what `smartvm inspect`, `version`,
 * `pause` and `balloon stats` ask; each answer comes from the rest of the
 * input. Oracle: whatever a successful call hands back is valid JSON. */
#include "fuzz.h"

#include "fz_server.h"
#include "vmm/vmm.h"
#include <jansson.h>

static fz_server *server;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	server = fz_server_start("qmp", FZ_SERVE_STREAM);
	return 0;
}

static void check_json(int rc, char *text)
{
	if (rc == 0) {
		FZ_CHECK(text);
		json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
		FZ_CHECK(j);
		json_decref(j);
	}
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const sv_vmm_ops *ops = &sv_vmm_qemu_ops;
	fz_server_set_reply(server, data, size);
	sv_vmm *vmm = NULL;
	if (ops->connect(&vmm, fz_server_socket(server), 2000) != 0)
		return 0;
	char *text = NULL;
	int rc = ops->version(vmm, &text);
	FZ_CHECK(rc == 0 && text);
	free(text);
	text = NULL;
	rc = ops->instance_info(vmm, &text);
	check_json(rc, text);
	text = NULL;
	rc = ops->running_config(vmm, &text);
	check_json(rc, text);
	ops->pause(vmm);
	text = NULL;
	rc = ops->balloon_stats(vmm, &text);
	check_json(rc, text);
	ops->disconnect(vmm);
	return 0;
}
