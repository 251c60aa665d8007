/* Firecracker's API as smartvm calls it: one generic request over a
 * connection made by sv_vmm_firecracker_ops.connect(), with Firecracker's
 * answers mapped to smartvm errors. The backend's operations (fc_backend.c)
 * and later live operations (snapshots, MMDS data, balloon, PATCH of drives
 * and interfaces) are all built on sv_fc_request.
 */
#ifndef SV_VMM_FC_API_H
#define SV_VMM_FC_API_H

#include "vmm/vmm.h"
#include <jansson.h>

/* Sends `method path` with body (NULL = none; not stolen) on a Firecracker
 * connection. On success (2xx) returns 0 and, if reply is not NULL, sets
 * *reply to the parsed response body (a new reference; NULL for an empty
 * body, as with 204). Errors:
 *   SV_EVMM      Firecracker refused: "PUT /drives/rootfs: 400 <fault_message>"
 *   SV_ETIMEOUT  no answer within the connection's timeout
 *   SV_EIO       transport failure (nobody listening, connection reset, ...)
 *   SV_EINVAL    vmm is not a Firecracker connection
 * Every message starts with "<method> <path>". */
int sv_fc_request(sv_vmm *vmm, const char *method, const char *path, json_t *body, json_t **reply);

/* Same, handing back the raw response body (malloc'd, "" when empty). */
int sv_fc_request_text(sv_vmm *vmm, const char *method, const char *path, json_t *body, char **text_out);

/* Connection life (the ops' connect/disconnect). */
int sv_fc_connect(sv_vmm **out, const char *socket_path, int api_timeout_ms);
void sv_fc_disconnect(sv_vmm *vmm);

#endif
