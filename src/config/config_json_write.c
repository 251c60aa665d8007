/* sv_vm_config_to_json / sv_vm_config_save: a config as a Firecracker
 * --config-file document.
 *
 * Every Firecracker section comes from the shared builder in
 * config_json_build.c, so the file and the API client can never disagree on a
 * field name. smartvm-only fields (VM id, base image, per-drive ephemeral
 * choice) go under one extra top-level key, "smartvm", and only when one of
 * them is set. "drives" is always written (Firecracker requires it), the
 * optional sections only when present. The writer does not validate: it
 * serialises whatever it is given, so a config can be saved and inspected even
 * before it is valid.
 */
#include <smartvm/config.h>

#include "config/config_internal.h"
#include "config/config_schema.h"
#include "util/error.h"
#include "util/file.h"

#include <stdlib.h>
#include <string.h>

static bool put(json_t *obj, const char *key, json_t *val)
{
	if (!val)
		return false;
	return json_object_set_new(obj, key, val) == 0;
}

/* Each drive's ephemeral choice, keyed by its drive id. */
static bool put_ephemeral_drives(json_t *o, const sv_vm_config *cfg)
{
	json_t *ephemeral = json_object();
	for (size_t i = 0; ephemeral && i < cfg->n_drives; i++) {
		const sv_drive_config *d = &cfg->drives[i];
		if (d->ephemeral != SV_UNSET && d->drive_id &&
		    !put(ephemeral, d->drive_id, json_boolean(d->ephemeral == SV_YES))) {
			json_decref(ephemeral);
			return false;
		}
	}
	if (ephemeral && json_object_size(ephemeral) == 0) {
		json_decref(ephemeral);
		return true;
	}
	return put(o, "ephemeral_drives", ephemeral);
}

/* The "smartvm" object; left out of root when there is nothing smartvm-only
 * to say. */
static bool put_smartvm(json_t *root, const sv_vm_config *cfg)
{
	json_t *o = json_object();
	json_t *network = cfg->net ? sv_config_section_json(&sv_cs_net_options, cfg->net) : json_object();
	bool ok = o && network && (!cfg->id || put(o, "id", json_string(cfg->id))) &&
		  (!cfg->base_image || put(o, "base_image", json_string(cfg->base_image))) &&
		  put_ephemeral_drives(o, cfg);
	if (ok && json_object_size(network)) {
		ok = put(o, "network", network);
		network = NULL;
	}
	json_decref(network);
	if (ok && cfg->serial)
		ok = put(o, "serial", sv_config_section_json(&sv_cs_serial, cfg->serial));
	if (ok && json_object_size(o))
		return put(root, "smartvm", o);
	json_decref(o);
	return ok;
}

static json_t *config_object(const sv_vm_config *cfg)
{
	json_t *root = sv_config_section_json(&sv_cs_vm, cfg);
	if (root && !put_smartvm(root, cfg)) {
		json_decref(root);
		return NULL;
	}
	return root;
}

int sv_config_to_json_current(char **out, const sv_vm_config *cfg)
{
	sv_err_clear();
	*out = NULL;
	if (!cfg)
		return sv_err(SV_EINVAL, "config: NULL");
	int rc = sv_config_check_arrays(&sv_cs_vm, cfg);
	if (rc)
		return rc;
	json_t *root = config_object(cfg);
	if (!root)
		return sv_err(SV_ENOMEM, "serialising config: out of memory");
	char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (!text)
		return sv_err(SV_ENOMEM, "serialising config: out of memory");
	*out = text;
	return 0;
}

int sv_vm_config_save(const sv_vm_config *cfg, const char *path)
{
	char *text = NULL;
	int rc = sv_vm_config_to_json(&text, cfg);
	if (rc || !text)
		return sv_err_prefix("saving config to %s", path);
	size_t len = strlen(text);
	/* A trailing newline keeps the file friendly to text tools. */
	text[len] = '\n';
	rc = sv_write_file_atomic(path, text, len + 1, 0644);
	free(text);
	return rc;
}
