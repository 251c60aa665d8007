/* The Firecracker connection object and the one request path every API call
 * takes (see fc_api.h): JSON out, status and fault_message back, errors that
 * name the endpoint.
 *
 * Invariant: every message set here starts with "<METHOD> <path>" so callers
 * can prefix what they were doing and the whole story reads in one line.
 * Never builds JSON by hand; never retries (a refused request is an answer).
 */
#include "vmm/firecracker/fc_api.h"

#include "util/error.h"
#include "util/escape.h"
#include "vmm/firecracker/fc_http.h"
#include <stdlib.h>
#include <string.h>

typedef struct {
	sv_vmm base; /* first: sv_vmm * <-> fc_conn * */
	sv_fc_http *http;
} fc_conn;

static fc_conn *as_fc(sv_vmm *vmm)
{
	if (!vmm || vmm->ops != &sv_vmm_firecracker_ops)
		return NULL;
	return (fc_conn *)vmm;
}

/* Firecracker's fault_message, or the body itself when it is not the
 * expected {"fault_message": "..."}, escaped: it goes into a message, and a
 * VMM the guest took over could put anything there (malloc'd). */
static char *fault_of(const char *body)
{
	json_t *j = json_loads(body, JSON_DECODE_ANY, NULL);
	const char *msg = json_string_value(json_object_get(j, "fault_message"));
	const char *text = msg ? msg : (body[0] ? body : "(no fault_message)");
	char *out = sv_escape_text(text, strlen(text), NULL);
	json_decref(j);
	return out;
}

int sv_fc_request_text(sv_vmm *vmm, const char *method, const char *path, json_t *body, char **text_out)
{
	*text_out = NULL;
	fc_conn *c = as_fc(vmm);
	if (!c)
		return sv_err(SV_EINVAL, "%s %s: not a Firecracker connection", method, path);
	char *payload = NULL;
	if (body) {
		payload = json_dumps(body, JSON_COMPACT);
		if (!payload)
			return sv_err(SV_ENOMEM, "%s %s: serialising the body failed", method, path);
	}
	long status = 0;
	char *resp = NULL;
	int rc = sv_fc_http_send(c->http, method, path, payload, &status, &resp);
	free(payload);
	if (rc)
		return rc;
	if (status < 200 || status > 299) {
		char *fault = fault_of(resp);
		rc = sv_err(SV_EVMM, "%s %s: %ld %s", method, path, status, fault ? fault : resp);
		free(fault);
		free(resp);
		return rc;
	}
	*text_out = resp;
	return 0;
}

int sv_fc_request(sv_vmm *vmm, const char *method, const char *path, json_t *body, json_t **reply)
{
	if (reply)
		*reply = NULL;
	char *text = NULL;
	int rc = sv_fc_request_text(vmm, method, path, body, &text);
	if (rc)
		return rc;
	if (reply && text[0]) {
		json_error_t jerr;
		*reply = json_loads(text, JSON_DECODE_ANY, &jerr);
		if (!*reply) {
			rc = sv_err(SV_EVMM, "%s %s: the answer is not JSON: %s", method, path, jerr.text);
			free(text);
			return rc;
		}
	}
	free(text);
	return 0;
}

int sv_fc_connect(sv_vmm **out, const char *socket_path, int api_timeout_ms)
{
	*out = NULL;
	fc_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return sv_err(SV_ENOMEM, "out of memory");
	c->base.ops = &sv_vmm_firecracker_ops;
	int rc = sv_fc_http_open(&c->http, socket_path, api_timeout_ms);
	if (rc) {
		free(c);
		return rc;
	}
	/* Ask who is there: proves something listens and answers like
	 * Firecracker before any configuration is sent. */
	json_t *info = NULL;
	rc = sv_fc_request(&c->base, "GET", "/", NULL, &info);
	if (rc == 0 && !json_is_string(json_object_get(info, "state")))
		rc = sv_err(SV_EVMM, "GET /: the answer is not Firecracker's InstanceInfo");
	json_decref(info);
	if (rc) {
		sv_fc_disconnect(&c->base);
		return sv_err_prefix("connecting to the Firecracker API at %s", socket_path);
	}
	*out = &c->base;
	return 0;
}

void sv_fc_disconnect(sv_vmm *vmm)
{
	fc_conn *c = as_fc(vmm);
	if (!c)
		return;
	sv_fc_http_close(c->http);
	free(c);
}
