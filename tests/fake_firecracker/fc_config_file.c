/* --config-file: the VM configured and started from one JSON document, the
 * way Firecracker's build_microvm_from_json does it.
 *
 * The whole document is deserialised first (unknown keys and every section's
 * schema), then the logger and the metrics are set up, then the other
 * sections are applied in Firecracker's order through the same handlers the
 * API's PUTs use, and the VM is started. Any refusal is logged and the
 * process exits with Firecracker's BadConfiguration code; the API socket is
 * already bound, and its requests wait until all this is done (one thread,
 * as Firecracker's VMM thread reads requests only once the VM is built).
 */
#include "fake_fc.h"
#include "fc_schema.h"

#include <stdlib.h>
#include <string.h>

/* FcExitCode::BadConfiguration. */
#define EXIT_BAD_CONFIGURATION 152

typedef struct {
	const char *key;
	const fc_schema *schema;
	fc_handler *handler;
	bool array;            /* a list of resources */
	const char *id_field;  /* array elements: the body's id, as the API path's {id} */
} fc_section;

/* VmmConfig's fields, in the order from_json applies them. */
static const fc_section sections[] = {
	{ "logger", &fc_schema_logger, fc_put_logger, false, NULL },
	{ "metrics", &fc_schema_metrics, fc_put_metrics, false, NULL },
	{ "machine-config", &fc_schema_machine_config, fc_put_machine_config, false, NULL },
	{ "cpu-config", NULL, fc_put_cpu_config, false, NULL }, /* a path to the template's file */
	{ "boot-source", &fc_schema_boot_source, fc_put_boot_source, false, NULL },
	{ "drives", &fc_schema_drive, fc_put_drive, true, "drive_id" },
	{ "pmem", &fc_schema_pmem, fc_put_pmem, true, "id" },
	{ "network-interfaces", &fc_schema_net_iface, fc_put_net_iface, true, "iface_id" },
	{ "vsock", &fc_schema_vsock, fc_put_vsock, false, NULL },
	{ "balloon", &fc_schema_balloon, fc_put_balloon, false, NULL },
	{ "mmds-config", &fc_schema_mmds_config, fc_put_mmds_config, false, NULL },
	{ "entropy", &fc_schema_entropy, fc_put_entropy, false, NULL },
	{ "memory-hotplug", &fc_schema_memory_hotplug, fc_put_memory_hotplug, false, NULL },
};
#define N_SECTIONS (sizeof(sections) / sizeof(sections[0]))

/* The document and its path, recorded as one "CONFIG-FILE" line with the
 * outcome (tests read what the VMM was given from it, as from PUTs). */
static json_t *the_doc;
static const char *the_path;

static void refuse(fake_fc *fc, const char *what, const char *why)
{
	if (the_doc)
		fc_record("CONFIG-FILE", the_path, the_doc, 400);
	fc_log(fc, "main", "%s: %s", what, why);
	fflush(NULL);
	fc_exit(fc, EXIT_BAD_CONFIGURATION);
}

static const fc_section *find_section(const char *key)
{
	for (size_t i = 0; i < N_SECTIONS; i++)
		if (!strcmp(sections[i].key, key))
			return &sections[i];
	return NULL;
}

/* serde's pass over the document: NULL, or a malloc'd message. */
static char *deserialize_problem(json_t *doc)
{
	char *why = NULL;
	if (!json_is_object(doc))
		return strdup("invalid type: expected struct VmmConfig");
	const char *key;
	json_t *v;
	json_object_foreach(doc, key, v) {
		const fc_section *s = find_section(key);
		if (!s) {
			if (asprintf(&why, "unknown field `%s`", key) < 0)
				why = NULL;
			return why ? why : strdup("unknown field");
		}
		if (json_is_null(v))
			continue;
		if (!s->schema) {
			if (!json_is_string(v) && asprintf(&why, "%s: invalid type: expected a path", key) < 0)
				why = NULL;
		} else if (s->array) {
			size_t i;
			json_t *e;
			if (!json_is_array(v) && asprintf(&why, "%s: invalid type: expected a sequence", key) < 0)
				why = NULL;
			json_array_foreach(v, i, e) {
				if (why)
					break;
				why = fc_schema_check(s->schema, e);
			}
		} else {
			why = fc_schema_check(s->schema, v);
		}
		if (why)
			return why;
	}
	if (!json_object_get(doc, "boot-source"))
		return strdup("missing field `boot-source`");
	if (!json_object_get(doc, "drives"))
		return strdup("missing field `drives`");
	return NULL;
}

/* "cpu-config" names a file holding the custom CPU template. */
static json_t *cpu_template(fake_fc *fc, const char *path)
{
	char *host = fc_host_path(fc, path);
	json_error_t jerr = { .text = "out of memory" };
	json_t *t = host ? json_load_file(host, JSON_REJECT_DUPLICATES, &jerr) : NULL;
	free(host);
	char *why = t ? fc_schema_check(&fc_schema_cpu_config, t) : NULL;
	if (!t || why) {
		char *msg = NULL;
		if (asprintf(&msg, "%s: %s", path, why ? why : jerr.text) < 0)
			msg = NULL;
		refuse(fc, "Configuration for VMM from one single json failed", msg ? msg : path);
	}
	return t;
}

static void apply(fake_fc *fc, const fc_section *s, json_t *body)
{
	const char *id = s->id_field ? json_string_value(json_object_get(body, s->id_field)) : NULL;
	fc_reply r = { .status = 204 };
	s->handler(fc, id, body, &r);
	json_decref(r.body);
	if (r.status >= 400)
		refuse(fc, "Configuration for VMM from one single json failed", r.fault ? r.fault : "refused");
	free(r.fault);
}

void fc_boot_from_file(fake_fc *fc, const char *path)
{
	char *host = fc_host_path(fc, path);
	json_error_t jerr = { .text = "out of memory" };
	json_t *doc = host ? json_load_file(host, JSON_REJECT_DUPLICATES, &jerr) : NULL;
	free(host);
	if (!doc)
		refuse(fc, "Unable to read the configuration file", jerr.text);
	the_doc = doc;
	the_path = path;
	char *why = deserialize_problem(doc);
	if (why)
		refuse(fc, "Configuration for VMM from one single json failed", why);
	for (size_t i = 0; i < N_SECTIONS; i++) {
		const fc_section *s = &sections[i];
		json_t *v = json_object_get(doc, s->key);
		if (!v || json_is_null(v))
			continue;
		if (!s->schema) {
			json_t *t = cpu_template(fc, json_string_value(v));
			apply(fc, s, t);
			json_decref(t);
		} else if (s->array) {
			size_t j;
			json_t *e;
			json_array_foreach(v, j, e)
				apply(fc, s, e);
		} else {
			apply(fc, s, v);
		}
	}
	json_t *start = json_pack("{s:s}", "action_type", "InstanceStart");
	fc_reply r = { .status = 204 };
	fc_put_actions(fc, NULL, start, &r);
	json_decref(start);
	if (r.status >= 400)
		refuse(fc, "Building VMM configured from cmdline json failed", r.fault ? r.fault : "refused");
	free(r.fault);
	json_decref(r.body);
	fc_record("CONFIG-FILE", path, doc, 204);
	the_doc = NULL;
	json_decref(doc);
}
