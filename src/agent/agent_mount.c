/* sv_vm_guest_mount (include/smartvm/agent.h): one MOUNT request. */
#include "agent/agent_client.h"
#include "agent/agent_fs.h"

#include "util/error.h"
#include "util/options_version.h"
#include <smartvm/agent.h>
#include <smartvm/error.h>
#include <stdio.h>
#include <stdlib.h>

int sv_vm_guest_mount(sv_vm *vm, const char *target, const sv_guest_mount_options *given)
{
	sv_err_clear();
	int rc = SV_CHECK_OPTIONS(given, sv_guest_mount_options, SV_GUEST_MOUNT_OPTIONS);
	if (rc)
		return rc;
	if (!given || !given->fstype || !given->source || !target || target[0] != '/')
		return sv_err(SV_EINVAL, "VM \"%s\": mount: fstype, source and an absolute target are needed",
			      sv_vm_id(vm));
	const sv_guest_mount_options *o = given;
	char what[300];
	snprintf(what, sizeof(what), "mount %.40s on %.200s", o->fstype, target);
	sva_client c;
	if ((rc = sva_client_open(&c, vm, what,
				  o->agent_timeout_ms ? o->agent_timeout_ms : SV_AGENT_DEFAULT_TIMEOUT_MS)))
		return rc;
	if (!(c.features & SVA_FEATURE_MOUNT)) {
		rc = sv_err(SV_EUNSUPPORTED,
			    "VM \"%s\": %s: its agent (%s) has no MOUNT: the image needs this release's "
			    "smartvm-agent",
			    c.vm_id, what, c.agent_version ? c.agent_version : "?");
		sva_client_close(&c);
		return rc;
	}
	uint8_t *buf = malloc(SVA_MAX_FRAME);
	if (!buf) {
		sva_client_close(&c);
		return sv_err(SV_ENOMEM, "out of memory");
	}
	uint32_t ch = sva_client_channel(&c);
	sva_msg m;
	sva_msg_begin(&m, buf, SVA_MAX_FRAME, SVA_MOUNT, ch);
	sva_msg_str(&m, 1, target);
	sva_msg_str(&m, 2, o->fstype);
	sva_msg_str(&m, 3, o->source);
	sva_msg_u32(&m, 4, (uint32_t)o->flags);
	if (o->data)
		sva_msg_str(&m, 5, o->data);
	if (o->root)
		sva_msg_str(&m, 6, o->root);
	sva_msg_u32(&m, 7, (uint32_t)o->create);
	if (o->subpath)
		sva_msg_str(&m, 8, o->subpath);
	sva_frame f;
	if (sva_msg_end(&m) < 0)
		rc = sv_err(SV_EINVAL, "VM \"%s\": %s: the request exceeds 64 KiB", c.vm_id, what);
	else if ((rc = sva_client_send_msg(&c, &m)) == 0 && (rc = sva_fs_answer(&c, what, ch, &f)) == 0 &&
		 f.type != SVA_OK)
		rc = sv_err(SV_EIO, "VM \"%s\": %s: the agent answered %s instead of OK", c.vm_id, what,
			    sva_type_name(f.type) ? sva_type_name(f.type) : "an unknown message");
	free(buf);
	sva_client_close(&c);
	return rc;
}
