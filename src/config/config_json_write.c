/* sv_vm_config_to_json / sv_vm_config_save: a config as a Firecracker
 * --config-file document.
 *
 * Every Firecracker section comes from the shared builders in
 * config_json_build.c, so the file and the API client can never disagree on a
 * field name. smartvm-only fields (VM id, base image, per-drive ephemeral
 * choice) go under one extra top-level key, "smartvm", and only when one of
 * them is set. "drives" is always written (Firecracker requires it), the
 * optional sections only when present. The writer does not validate: it
 * serialises whatever it is given, so a config can be saved and inspected even
 * before it is valid.
 */
#include <smartvm/config.h>

#include "config/config_json.h"
#include "config/config_internal.h"
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

static json_t *drives_array(const sv_vm_config *cfg)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < cfg->n_drives; i++)
		if (json_array_append_new(a, sv_json_drive(&cfg->drives[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *net_ifaces_array(const sv_vm_config *cfg)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < cfg->n_network_interfaces; i++)
		if (json_array_append_new(a, sv_json_net_iface(&cfg->network_interfaces[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* smartvm.network, or NULL when there are no options (or out of memory:
 * *ok says which). */
static json_t *network_object(const sv_vm_net_options *n, bool *ok)
{
	*ok = true;
	if (!n || n->version < 1)
		return NULL;
	json_t *o = json_object(), *pub = json_array();
	*ok = o && pub && (!n->wireguard_config || put(o, "wireguard", json_string(n->wireguard_config))) &&
	      (!n->netns_path || put(o, "netns", json_string(n->netns_path))) &&
	      (!n->existing_taps || put(o, "existing_taps", json_true())) &&
	      (!n->allow_vm_to_vm || put(o, "allow_vm_to_vm", json_true())) &&
	      (!n->allow_host_dns || put(o, "allow_host_dns", json_true()));
	for (size_t i = 0; *ok && i < n->n_publish; i++)
		*ok = json_array_append_new(pub, json_string(n->publish[i])) == 0;
	if (*ok && n->n_publish) {
		*ok = put(o, "publish", pub);
		pub = NULL;
	}
	json_decref(pub);
	if (!*ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The "smartvm" object, or a JSON null when there is nothing smartvm-only to
 * say (the caller then leaves the key out). */
static json_t *smartvm_object(const sv_vm_config *cfg)
{
	json_t *ephemeral = json_object();
	if (!ephemeral)
		return NULL;
	for (size_t i = 0; i < cfg->n_drives; i++) {
		const sv_drive_config *d = &cfg->drives[i];
		if (d->ephemeral == SV_UNSET || !d->drive_id)
			continue;
		if (!put(ephemeral, d->drive_id, json_boolean(d->ephemeral == SV_YES))) {
			json_decref(ephemeral);
			return NULL;
		}
	}
	bool ok;
	json_t *network = network_object(cfg->net, &ok);
	if (!ok) {
		json_decref(ephemeral);
		return NULL;
	}
	if (!cfg->id && !cfg->base_image && json_object_size(ephemeral) == 0 && !network) {
		json_decref(ephemeral);
		return json_null();
	}
	json_t *o = json_object();
	ok = o && (!cfg->id || put(o, "id", json_string(cfg->id))) &&
	     (!cfg->base_image || put(o, "base_image", json_string(cfg->base_image)));
	if (ok && network) {
		ok = put(o, "network", network);
		network = NULL;
	}
	json_decref(network);
	if (!ok) {
		json_decref(o);
		json_decref(ephemeral);
		return NULL;
	}
	if (json_object_size(ephemeral) == 0)
		json_decref(ephemeral);
	else if (!put(o, "ephemeral_drives", ephemeral)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *config_object(const sv_vm_config *cfg)
{
	json_t *root = json_object();
	if (!root)
		return NULL;
	bool ok = put(root, "boot-source", sv_json_boot_source(&cfg->boot_source)) &&
		  put(root, "machine-config", sv_json_machine_config(&cfg->machine_config)) &&
		  put(root, "drives", drives_array(cfg)) &&
		  put(root, "network-interfaces", net_ifaces_array(cfg)) &&
		  (!cfg->vsock || put(root, "vsock", sv_json_vsock(cfg->vsock))) &&
		  (!cfg->balloon || put(root, "balloon", sv_json_balloon(cfg->balloon))) &&
		  (!cfg->mmds || put(root, "mmds-config", sv_json_mmds_config(cfg->mmds))) &&
		  (!cfg->logger || put(root, "logger", sv_json_logger(cfg->logger))) &&
		  (!cfg->metrics || put(root, "metrics", sv_json_metrics(cfg->metrics))) &&
		  (!cfg->entropy || put(root, "entropy", sv_json_entropy(cfg->entropy)));
	json_t *smartvm = ok ? smartvm_object(cfg) : NULL;
	if (!smartvm) {
		json_decref(root);
		return NULL;
	}
	if (json_is_null(smartvm))
		json_decref(smartvm);
	else if (!put(root, "smartvm", smartvm)) {
		json_decref(root);
		return NULL;
	}
	return root;
}

int sv_vm_config_to_json(char **out, const sv_vm_config *cfg)
{
	sv_err_clear();
	*out = NULL;
	if (!cfg)
		return sv_err(SV_EINVAL, "config: NULL");
	int rc = sv_config_check_arrays(cfg);
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
