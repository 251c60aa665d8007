/* The fake's HTTP side: collects each request's body, routes it through one
 * table, answers the way Firecracker's API server does, and records it.
 *
 * Order of checks follows Firecracker: method and path first ("Invalid request
 * method and/or path"), then the body's presence ("Empty PUT request."), the
 * resource id in the path, the body's JSON and schema ("An error occurred when
 * deserializing the json body of a request: ..."), and only then the handler,
 * which applies VM-state rules (pre-boot only, post-boot only) and semantics.
 *
 * Adding an endpoint = one row in `routes` plus its handler (and schema).
 * This file never decides semantics; handlers never see HTTP.
 */
#include "fake_fc.h"
#include "fc_schema.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Firecracker's API server refuses bodies over 50 KiB; so do we. */
#define MAX_BODY_BYTES (50 * 1024)

typedef struct {
	const char *method;
	const char *path;        /* fixed path, or the prefix before "/{id}" */
	bool with_id;            /* path is "<path>/{id}" */
	const fc_schema *schema; /* body schema; NULL = no body */
	fc_handler *handler;
} fc_route;

static const fc_route routes[] = {
	{ "GET", "/", false, NULL, fc_get_instance_info },
	{ "GET", "/version", false, NULL, fc_get_version },
	{ "GET", "/vm/config", false, NULL, fc_get_vm_config },
	{ "GET", "/machine-config", false, NULL, fc_get_machine_config },
	{ "PUT", "/machine-config", false, &fc_schema_machine_config, fc_put_machine_config },
	{ "PUT", "/boot-source", false, &fc_schema_boot_source, fc_put_boot_source },
	{ "PUT", "/drives", true, &fc_schema_drive, fc_put_drive },
	{ "PUT", "/network-interfaces", true, &fc_schema_net_iface, fc_put_net_iface },
	{ "PUT", "/vsock", false, &fc_schema_vsock, fc_put_vsock },
	{ "PUT", "/balloon", false, &fc_schema_balloon, fc_put_balloon },
	{ "PUT", "/mmds/config", false, &fc_schema_mmds_config, fc_put_mmds_config },
	{ "PUT", "/logger", false, &fc_schema_logger, fc_put_logger },
	{ "PUT", "/metrics", false, &fc_schema_metrics, fc_put_metrics },
	{ "PUT", "/entropy", false, &fc_schema_entropy, fc_put_entropy },
	{ "PUT", "/pmem", true, &fc_schema_pmem, fc_put_pmem },
	{ "PUT", "/hotplug/memory", false, &fc_schema_memory_hotplug, fc_put_memory_hotplug },
	{ "PUT", "/serial", false, &fc_schema_serial, fc_put_serial },
	{ "PUT", "/cpu-config", false, &fc_schema_cpu_config, fc_put_cpu_config },
	{ "PUT", "/actions", false, &fc_schema_action, fc_put_actions },
	{ "PATCH", "/vm", false, &fc_schema_vm_state, fc_patch_vm },
	{ "PUT", "/mmds", false, &fc_schema_mmds_contents, fc_put_mmds },
	{ "PATCH", "/mmds", false, &fc_schema_mmds_contents, fc_patch_mmds },
	{ "GET", "/mmds", false, NULL, fc_get_mmds },
	{ "GET", "/balloon", false, NULL, fc_get_balloon },
	{ "PATCH", "/balloon", false, &fc_schema_balloon_update, fc_patch_balloon },
	{ "GET", "/balloon/statistics", false, NULL, fc_get_balloon_stats },
	{ "PATCH", "/balloon/statistics", false, &fc_schema_balloon_stats_update, fc_patch_balloon_stats },
	{ "PATCH", "/balloon/hinting/start", false, &fc_schema_balloon_start_cmd, fc_patch_balloon_hinting_start },
	{ "PATCH", "/balloon/hinting/stop", false, NULL, fc_patch_balloon_hinting_stop },
	{ "GET", "/balloon/hinting/status", false, NULL, fc_get_balloon_hinting_status },
	{ "PATCH", "/hotplug/memory", false, &fc_schema_memory_hotplug_update, fc_patch_memory_hotplug },
	{ "GET", "/hotplug/memory", false, NULL, fc_get_memory_hotplug },
	{ "PATCH", "/drives", true, &fc_schema_partial_drive, fc_patch_drive },
	{ "PATCH", "/network-interfaces", true, &fc_schema_partial_net_iface, fc_patch_net_iface },
	{ "PATCH", "/pmem", true, &fc_schema_partial_pmem, fc_patch_pmem },
	{ "PUT", "/snapshot/create", false, &fc_schema_snapshot_create, fc_put_snapshot_create },
	{ "PUT", "/snapshot/load", false, &fc_schema_snapshot_load, fc_put_snapshot_load },
};

/* One per connection request: the body as it arrives. */
typedef struct {
	char *buf;
	size_t len;
	bool too_big;
} fc_request;

static fake_fc *the_fc;
static struct MHD_Connection **stalled;
static size_t n_stalled;

void fc_fail(fc_reply *r, const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	free(r->fault);
	if (vasprintf(&r->fault, f, ap) < 0)
		r->fault = NULL;
	va_end(ap);
	r->status = 400;
}

void fc_ok_json(fc_reply *r, json_t *body)
{
	json_decref(r->body);
	r->body = body;
	r->status = 200;
}

/* Firecracker's rule for resource ids in paths. */
static bool check_id(const char *id, fc_reply *r)
{
	if (!id[0]) {
		fc_fail(r, "Empty ID in request.");
		return false;
	}
	for (const char *p = id; *p; p++) {
		bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			  *p == '_' || *p == '-';
		if (!ok) {
			fc_fail(r, "API Resource IDs can only contain alphanumeric characters, underscores and hyphens.");
			return false;
		}
	}
	return true;
}

/* The route for method + url; *id_out points into url for "{id}" routes. */
static const fc_route *find_route(const char *method, const char *url, const char **id_out)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const fc_route *rt = &routes[i];
		if (strcmp(rt->method, method))
			continue;
		if (!rt->with_id) {
			if (!strcmp(rt->path, url))
				return rt;
			continue;
		}
		size_t n = strlen(rt->path);
		if (strncmp(url, rt->path, n))
			continue;
		if (url[n] == '\0') {
			*id_out = "";
			return rt;
		}
		if (url[n] == '/' && !strchr(url + n + 1, '/')) {
			*id_out = url + n + 1;
			return rt;
		}
	}
	return NULL;
}

void fc_record(const char *method, const char *url, json_t *body, int status)
{
	if (the_fc->record_fd < 0)
		return;
	json_t *line = json_pack("{s:s, s:s, s:O?, s:i}", "method", method, "path", url, "body", body,
				 "status", status);
	if (status == 0)
		json_object_set_new(line, "status", json_null());
	char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;
	json_decref(line);
	if (!text)
		return;
	size_t len = strlen(text);
	text[len] = '\n'; /* replaces the NUL; written with its length */
	/* O_APPEND and one write per line: lines never interleave. */
	if (write(the_fc->record_fd, text, len + 1) < 0)
		fprintf(stderr, "fake-firecracker: recording a request: %s\n", strerror(errno));
	free(text);
}

static enum MHD_Result send_reply(struct MHD_Connection *c, const fc_reply *r)
{
	struct MHD_Response *resp;
	char *text = NULL;
	if (r->status == 400 || r->status >= 500) {
		json_t *err = json_pack("{s:s}", "fault_message", r->fault ? r->fault : "");
		text = err ? json_dumps(err, JSON_COMPACT) : NULL;
		json_decref(err);
	} else if (r->body) {
		text = json_dumps(r->body, JSON_COMPACT | JSON_ENCODE_ANY);
	}
	if (text)
		resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	else
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Server", "Firecracker API");
	if (text)
		MHD_add_response_header(resp, "Content-Type", "application/json");
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Everything from "route found" to "handler answered"; fills r. */
static void dispatch(const char *method, const char *url, fc_request *req, json_t **body_out, fc_reply *r)
{
	const char *id = NULL;
	const fc_route *rt = find_route(method, url, &id);
	if (!rt) {
		fc_fail(r, "Invalid request method and/or path: %s %s.", method, url);
		return;
	}
	if (req->too_big) {
		fc_fail(r, "Request payload with size %zu is larger than the limit of %d allowed by server.",
			req->len, MAX_BODY_BYTES);
		return;
	}
	json_t *body = NULL;
	if (req->len) {
		json_error_t jerr;
		body = json_loadb(req->buf, req->len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
		if (!body && rt->schema) {
			fc_fail(r, "An error occurred when deserializing the json body of a request: %s at line %d column %d",
				jerr.text, jerr.line, jerr.column);
			return;
		}
		*body_out = body;
	}
	if (!rt->schema && req->len) {
		fc_fail(r, "%s request cannot have a body.", method);
		return;
	}
	if (rt->schema && !req->len) {
		fc_fail(r, "Empty %s request.", method);
		return;
	}
	if (rt->with_id && !check_id(id, r))
		return;
	if (rt->schema) {
		char *why = fc_schema_check(rt->schema, body);
		if (why) {
			fc_fail(r, "An error occurred when deserializing the json body of a request: %s", why);
			free(why);
			return;
		}
	}
	r->status = 204;
	rt->handler(the_fc, rt->with_id ? id : NULL, body, r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	(void)cls;
	(void)version;
	fc_request *req = *con_cls;
	if (!req) {
		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		*con_cls = req;
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (req->len + *upload_data_size > MAX_BODY_BYTES) {
			req->too_big = true;
			req->len += *upload_data_size;
		} else {
			char *nb = realloc(req->buf, req->len + *upload_data_size + 1);
			if (!nb)
				return MHD_NO;
			req->buf = nb;
			memcpy(req->buf + req->len, upload_data, *upload_data_size);
			req->len += *upload_data_size;
			req->buf[req->len] = '\0';
		}
		*upload_data_size = 0;
		return MHD_YES;
	}

	if (the_fc->die_path && !strcmp(url, the_fc->die_path)) {
		/* Like a VMM that fails mid-request: its reason on stderr, no answer. */
		fprintf(stderr,
			"Error: injected fatal error on %s %s (FAKE_FC_DIE_ON_PATH)\n"
			"\x1b]0;VMM-TITLE\x07"
			"and a terminal escape\n",
			method, url);
		fflush(stderr);
		_exit(1);
	}
	if (the_fc->stall_path && !strcmp(url, the_fc->stall_path)) {
		json_t *body = req->len && !req->too_big ? json_loadb(req->buf, req->len, JSON_DECODE_ANY, NULL) : NULL;
		fc_record(method, url, body, 0);
		json_decref(body);
		struct MHD_Connection **ns = realloc(stalled, (n_stalled + 1) * sizeof(*ns));
		if (!ns)
			return MHD_NO;
		stalled = ns;
		stalled[n_stalled++] = c;
		MHD_suspend_connection(c);
		return MHD_YES;
	}

	fc_reply r = { .status = 400 };
	json_t *body = NULL;
	dispatch(method, url, req, &body, &r);
	fc_record(method, url, body, r.status);
	enum MHD_Result ret = send_reply(c, &r);
	json_decref(body);
	json_decref(r.body);
	free(r.fault);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	fc_request *req = *con_cls;
	if (req) {
		free(req->buf);
		free(req);
		*con_cls = NULL;
	}
}

struct MHD_Daemon *fc_router_start(fake_fc *fc, int listen_fd)
{
	the_fc = fc;
	/* Driven from our own poll loop (MHD_USE_EPOLL, no internal thread): the
	 * handlers and the guest timers then share one thread. Suspend/resume
	 * lets a stalled request sit without blocking the others. */
	return MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL, on_request, NULL,
				MHD_OPTION_LISTEN_SOCKET, listen_fd,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)0,
				MHD_OPTION_END);
}

void fc_router_stop(struct MHD_Daemon *d)
{
	for (size_t i = 0; i < n_stalled; i++)
		MHD_resume_connection(stalled[i]);
	free(stalled);
	stalled = NULL;
	n_stalled = 0;
	MHD_stop_daemon(d);
}
