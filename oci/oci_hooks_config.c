/* config.json's hooks checked as the bundle is read (see oci_hooks.h); on
 * its own so that the config fuzz harness has it without the runner. */
#include "oci_hooks.h"

#include "util/error.h"

#include <smartvm/error.h>
#include <stdio.h>
#include <string.h>

#define CONFIG_NAME "config.json"

static const char *const run_kinds[] = {"prestart", "createRuntime", "poststart", "poststop"};
static const char *const refused_kinds[] = {"createContainer", "startContainer"};

static int field_err(const char *field, const char *what)
{
	return sv_err(SV_EINVAL, CONFIG_NAME ": %s: %s", field, what);
}

static int check_strings(json_t *arr, const char *field)
{
	if (!arr)
		return 0;
	if (!json_is_array(arr))
		return field_err(field, "expected an array");
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
	{
		if (!json_is_string(v)) {
			char item[160];
			snprintf(item, sizeof(item), "%s[%zu]", field, i);
			return field_err(item, "expected a string");
		}
	}
	return 0;
}

static int check_hook(json_t *h, const char *field)
{
	char sub[140];
	if (!json_is_object(h))
		return field_err(field, "expected an object");
	json_t *path = json_object_get(h, "path"), *timeout = json_object_get(h, "timeout");
	snprintf(sub, sizeof(sub), "%s.path", field);
	if (!json_is_string(path))
		return field_err(sub, path ? "expected a string" : "missing");
	if (json_string_value(path)[0] != '/')
		return field_err(sub, "must be an absolute path (hooks are not looked up in PATH)");
	int rc;
	snprintf(sub, sizeof(sub), "%s.args", field);
	if ((rc = check_strings(json_object_get(h, "args"), sub)))
		return rc;
	snprintf(sub, sizeof(sub), "%s.env", field);
	if ((rc = check_strings(json_object_get(h, "env"), sub)))
		return rc;
	snprintf(sub, sizeof(sub), "%s.timeout", field);
	if (timeout && (!json_is_integer(timeout) || json_integer_value(timeout) <= 0 ||
			json_integer_value(timeout) > 86400))
		return field_err(sub, "expected seconds from 1 to 86400");
	return 0;
}

int oci_hooks_parse(json_t *root, char **out)
{
	*out = NULL;
	json_t *hooks = json_object_get(root, "hooks");
	if (!hooks || json_is_null(hooks))
		return 0;
	if (!json_is_object(hooks))
		return field_err("hooks", "expected an object");
	for (size_t k = 0; k < sizeof(refused_kinds) / sizeof(*refused_kinds); k++) {
		json_t *arr = json_object_get(hooks, refused_kinds[k]);
		if (json_array_size(arr) > 0) {
			char field[64];
			snprintf(field, sizeof(field), "hooks.%s", refused_kinds[k]);
			return field_err(field, "runs inside the container, which is a VM here: smartvm-oci runs "
						"only prestart, createRuntime, poststart and poststop (on the host)");
		}
	}
	for (size_t k = 0; k < sizeof(run_kinds) / sizeof(*run_kinds); k++) {
		char field[64];
		snprintf(field, sizeof(field), "hooks.%s", run_kinds[k]);
		json_t *arr = json_object_get(hooks, run_kinds[k]), *h;
		if (!arr || json_is_null(arr))
			continue;
		if (!json_is_array(arr))
			return field_err(field, "expected an array");
		size_t i;
		json_array_foreach(arr, i, h)
		{
			char item[96];
			snprintf(item, sizeof(item), "%s[%zu]", field, i);
			int rc = check_hook(h, item);
			if (rc)
				return rc;
		}
	}
	*out = json_dumps(hooks, JSON_COMPACT);
	return *out ? 0 : sv_err(SV_ENOMEM, "out of memory");
}

