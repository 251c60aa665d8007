/* Firecracker's operations on a booted (or, for snapshot load, a fresh)
 * microVM, each one request through sv_fc_request: PUT /snapshot/create and
 * /snapshot/load, PUT/PATCH/GET /mmds, PATCH /balloon and
 * /balloon/statistics, GET /balloon/statistics, PATCH /balloon/hinting/start
 * and /stop, GET /balloon/hinting/status, PATCH and GET /hotplug/memory,
 * PATCH /drives/{id} and /network-interfaces/{id}, and the FlushMetrics
 * action.
 *
 * Field names are those of firecracker-api-v1.16.1.yaml; rate limiters come
 * from the shared builder in config/config_json.h. MMDS contents pass through
 * as JSON text: this file checks they parse, never what they hold. Never
 * waits, signals or touches files: the VM layer owns paths and processes. */
#include "vmm/firecracker/fc_live.h"

#include "config/config_json.h"
#include "util/curl_lib.h"
#include "util/error.h"
#include "vmm/firecracker/fc_api.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sends body (stolen; NULL means its builder ran out of memory). */
static int send_body(sv_vmm *vmm, const char *method, const char *path, json_t *body)
{
	if (!body)
		return sv_err(SV_ENOMEM, "%s %s: building the body: out of memory", method, path);
	int rc = sv_fc_request(vmm, method, path, body, NULL);
	json_decref(body);
	return rc;
}

/* "<collection>/<escaped id>", malloc'd; NULL with the error set. */
static char *by_id(const char *collection, const char *id)
{
	if (sv_curl_load() != 0)
		return NULL;
	const sv_curl_api *curl = sv_curl();
	char *escaped = curl->easy_escape(NULL, id, 0);
	char *path = NULL;
	if (!escaped || asprintf(&path, "%s/%s", collection, escaped) < 0) {
		path = NULL;
		sv_err(SV_ENOMEM, "out of memory");
	}
	curl->free(escaped);
	return path;
}

int sv_fc_version(sv_vmm *vmm, char **version_out)
{
	*version_out = NULL;
	json_t *reply = NULL;
	int rc = sv_fc_request(vmm, "GET", "/version", NULL, &reply);
	if (rc)
		return rc;
	const char *v = json_string_value(json_object_get(reply, "firecracker_version"));
	if (v)
		*version_out = strdup(v);
	json_decref(reply);
	if (!v)
		return sv_err(SV_EVMM, "GET /version: the answer has no firecracker_version");
	return *version_out ? 0 : sv_err(SV_ENOMEM, "out of memory");
}

int sv_fc_snapshot_create(sv_vmm *vmm, const sv_vmm_snapshot_create *p)
{
	return send_body(vmm, "PUT", "/snapshot/create",
		    json_pack("{s:s, s:s, s:s}", "snapshot_type", p->diff ? "Diff" : "Full", "snapshot_path",
			      p->state_path, "mem_file_path", p->mem_path));
}

static json_t *load_body(const sv_vmm_snapshot_load *p)
{
	json_t *overrides = json_array();
	for (size_t i = 0; overrides && i < p->n_net_overrides; i++)
		json_array_append_new(overrides, json_pack("{s:s, s:s}", "iface_id", p->net_overrides[i].iface_id,
							   "host_dev_name", p->net_overrides[i].host_dev_name));
	json_t *body = json_pack("{s:s, s:{s:s, s:s}, s:b, s:b}", "snapshot_path", p->state_path, "mem_backend",
				 "backend_type", p->uffd ? "Uffd" : "File", "backend_path", p->mem_path,
				 "track_dirty_pages", p->track_dirty_pages, "resume_vm", p->resume);
	if (body && overrides && json_array_size(overrides))
		json_object_set(body, "network_overrides", overrides);
	json_decref(overrides);
	if (body && p->vsock_uds_path)
		json_object_set_new(body, "vsock_override", json_pack("{s:s}", "uds_path", p->vsock_uds_path));
	if (body && p->clock_realtime)
		json_object_set_new(body, "clock_realtime", json_true());
	return body;
}

int sv_fc_snapshot_load(sv_vmm *vmm, const sv_vmm_snapshot_load *p)
{
	int rc;
	/* Logger and metrics are process-wide, not in the snapshot, and the only
	 * resources Firecracker accepts before a load. */
	const sv_vm_config *o = p->outputs;
	if (o && o->logger && (rc = send_body(vmm, "PUT", "/logger", sv_json_logger(o->logger))))
		return rc;
	if (o && o->metrics && (rc = send_body(vmm, "PUT", "/metrics", sv_json_metrics(o->metrics))))
		return rc;
	return send_body(vmm, "PUT", "/snapshot/load", load_body(p));
}

/* Parses MMDS contents the caller gave as text. */
static int mmds_send(sv_vmm *vmm, const char *method, const char *json)
{
	json_error_t jerr;
	json_t *body = json_loads(json ? json : "", JSON_DECODE_ANY, &jerr);
	if (!body)
		return sv_err(SV_EINVAL, "MMDS data: not JSON: %s (line %d, column %d)", jerr.text, jerr.line,
			      jerr.column);
	return send_body(vmm, method, "/mmds", body);
}

int sv_fc_mmds_put(sv_vmm *vmm, const char *json)
{
	return mmds_send(vmm, "PUT", json);
}

int sv_fc_mmds_patch(sv_vmm *vmm, const char *json)
{
	return mmds_send(vmm, "PATCH", json);
}

int sv_fc_mmds_get(sv_vmm *vmm, char **json_out)
{
	return sv_fc_request_text(vmm, "GET", "/mmds", NULL, json_out);
}

int sv_fc_balloon_set(sv_vmm *vmm, uint32_t amount_mib)
{
	return send_body(vmm, "PATCH", "/balloon", json_pack("{s:I}", "amount_mib", (json_int_t)amount_mib));
}

int sv_fc_balloon_stats_interval(sv_vmm *vmm, uint32_t seconds)
{
	return send_body(vmm, "PATCH", "/balloon/statistics",
		    json_pack("{s:I}", "stats_polling_interval_s", (json_int_t)seconds));
}

int sv_fc_balloon_stats(sv_vmm *vmm, char **json_out)
{
	return sv_fc_request_text(vmm, "GET", "/balloon/statistics", NULL, json_out);
}

int sv_fc_balloon_hinting_start(sv_vmm *vmm, bool acknowledge_on_stop)
{
	return send_body(vmm, "PATCH", "/balloon/hinting/start",
			 json_pack("{s:b}", "acknowledge_on_stop", acknowledge_on_stop));
}

int sv_fc_balloon_hinting_stop(sv_vmm *vmm)
{
	return sv_fc_request(vmm, "PATCH", "/balloon/hinting/stop", NULL, NULL);
}

int sv_fc_balloon_hinting_status(sv_vmm *vmm, char **json_out)
{
	return sv_fc_request_text(vmm, "GET", "/balloon/hinting/status", NULL, json_out);
}

int sv_fc_memory_hotplug_set(sv_vmm *vmm, uint32_t requested_size_mib)
{
	return send_body(vmm, "PATCH", "/hotplug/memory",
			 json_pack("{s:I}", "requested_size_mib", (json_int_t)requested_size_mib));
}

int sv_fc_memory_hotplug_status(sv_vmm *vmm, char **json_out)
{
	return sv_fc_request_text(vmm, "GET", "/hotplug/memory", NULL, json_out);
}

int sv_fc_drive_update(sv_vmm *vmm, const char *drive_id, const char *path, const sv_rate_limiter *rl)
{
	char *ep = by_id("/drives", drive_id);
	json_t *body = json_pack("{s:s}", "drive_id", drive_id);
	if (body && path)
		json_object_set_new(body, "path_on_host", json_string(path));
	if (body && rl)
		json_object_set_new(body, "rate_limiter", sv_json_rate_limiter(rl));
	int rc = ep ? send_body(vmm, "PATCH", ep, body) : (json_decref(body), sv_last_error_code());
	free(ep);
	return rc;
}

int sv_fc_iface_update(sv_vmm *vmm, const char *iface_id, const sv_rate_limiter *rx, const sv_rate_limiter *tx)
{
	char *ep = by_id("/network-interfaces", iface_id);
	json_t *body = json_pack("{s:s}", "iface_id", iface_id);
	if (body && rx)
		json_object_set_new(body, "rx_rate_limiter", sv_json_rate_limiter(rx));
	if (body && tx)
		json_object_set_new(body, "tx_rate_limiter", sv_json_rate_limiter(tx));
	int rc = ep ? send_body(vmm, "PATCH", ep, body) : (json_decref(body), sv_last_error_code());
	free(ep);
	return rc;
}

/* PATCH /pmem/{id} with a PartialPmem: only the rate limiter changes after boot. */
int sv_fc_pmem_update(sv_vmm *vmm, const char *pmem_id, const sv_rate_limiter *rl)
{
	char *ep = by_id("/pmem", pmem_id);
	json_t *body = json_pack("{s:s}", "id", pmem_id);
	if (body)
		json_object_set_new(body, "rate_limiter", sv_json_rate_limiter(rl));
	int rc = ep ? send_body(vmm, "PATCH", ep, body) : (json_decref(body), sv_last_error_code());
	free(ep);
	return rc;
}

int sv_fc_flush_metrics(sv_vmm *vmm)
{
	return send_body(vmm, "PUT", "/actions", json_pack("{s:s}", "action_type", "FlushMetrics"));
}
