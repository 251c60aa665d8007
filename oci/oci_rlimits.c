/* process.rlimits, process.noNewPrivileges (see oci_rlimits.h). The spec
 * names resources "RLIMIT_<NAME>" and asks a runtime to refuse one it does
 * not know, or one given twice, rather than run the process without it. */
#include "oci_rlimits.h"

#include "util/error.h"

#include <smartvm/error.h>
#include <stdio.h>
#include <string.h>

#define CONFIG_NAME "config.json"

/* The u64 member key of entry; hard and soft are required by the spec.
 * Jansson holds integers as signed 64-bit, so RLIM_INFINITY written as
 * 18446744073709551615 does not parse at all; -1 stands for it here. */
static int limit_value(json_t *entry, const char *key, const char *field, uint64_t *out)
{
	json_t *v = json_object_get(entry, key);
	char path[128];
	snprintf(path, sizeof(path), "%s.%s", field, key);
	if (!v)
		return sv_err(SV_EINVAL, CONFIG_NAME ": %s: missing", path);
	if (!json_is_integer(v) || json_integer_value(v) < -1)
		return sv_err(SV_EINVAL, CONFIG_NAME ": %s: expected an integer from 0 (or -1: unlimited)",
			      path);
	json_int_t n = json_integer_value(v);
	*out = n == -1 ? SV_RLIM_INFINITY : (uint64_t)n;
	return 0;
}

static int parse_one(oci_process_limits *out, json_t *entry, const char *field)
{
	char path[128];
	if (!json_is_object(entry))
		return sv_err(SV_EINVAL, CONFIG_NAME ": %s: expected an object", field);
	snprintf(path, sizeof(path), "%s.type", field);
	json_t *t = json_object_get(entry, "type");
	if (!json_is_string(t))
		return sv_err(SV_EINVAL, CONFIG_NAME ": %s: %s", path, t ? "expected a string" : "missing");
	const char *name = json_string_value(t);
	int res = strncmp(name, "RLIMIT_", 7) == 0 ? sv_rlimit_by_name(name) : -1;
	if (res < 0)
		return sv_err(SV_EINVAL, CONFIG_NAME ": %s: \"%.64s\" is not a Linux resource limit (RLIMIT_NOFILE, ...)",
			      path, name);
	for (size_t j = 0; j < out->n; j++)
		if (out->items[j].resource == res)
			return sv_err(SV_EINVAL, CONFIG_NAME ": %s: %s is given twice", path, name);
	sv_exec_rlimit *r = &out->items[out->n];
	r->resource = res;
	int rc;
	if ((rc = limit_value(entry, "soft", field, &r->soft)) || (rc = limit_value(entry, "hard", field, &r->hard)))
		return rc;
	if (r->soft > r->hard)
		return sv_err(SV_EINVAL, CONFIG_NAME ": %s.soft: above hard", field);
	out->n++;
	return 0;
}

int oci_rlimits_parse(oci_process_limits *out, json_t *process, const char *prefix)
{
	char field[96];
	*out = (oci_process_limits){0};
	json_t *nnp = json_object_get(process, "noNewPrivileges");
	if (nnp && !json_is_null(nnp) && !json_is_boolean(nnp))
		return sv_err(SV_EINVAL, CONFIG_NAME ": %s.noNewPrivileges: expected a boolean", prefix);
	out->no_new_privs = json_is_true(nnp);
	json_t *arr = json_object_get(process, "rlimits");
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return sv_err(SV_EINVAL, CONFIG_NAME ": %s.rlimits: expected an array", prefix);
	/* Each resource once, so more than there are is a duplicate. */
	size_t i;
	json_t *entry;
	json_array_foreach(arr, i, entry)
	{
		snprintf(field, sizeof(field), "%s.rlimits[%zu]", prefix, i);
		if (i >= SV_EXEC_MAX_RLIMITS)
			return sv_err(SV_EINVAL, CONFIG_NAME ": %s: more entries than Linux has resources (%d)",
				      field, SV_EXEC_MAX_RLIMITS);
		int rc = parse_one(out, entry, field);
		if (rc)
			return rc;
	}
	return 0;
}

void oci_rlimits_apply(const oci_process_limits *l, sv_exec_options *o)
{
	o->rlimits = l->n ? l->items : NULL;
	o->n_rlimits = l->n;
	o->no_new_privs = l->no_new_privs;
}
