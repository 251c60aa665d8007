/* config.json -> oci_bundle (see oci_bundle.h). The parser trusts nothing in
 * the file: every field is type-checked before use, numbers are range-checked,
 * and the only host path it yields (root.path) is checked to be a directory
 * here; the rootfs builder reads it without following links out of it. */
#include "oci_bundle.h"

#include "oci_hooks.h"

#include "util/error.h"
#include "util/file.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <smartvm/error.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CONFIG_NAME "config.json"
#define CONFIG_MAX_BYTES (4u << 20)
#define MAX_VCPUS 32
#define MIN_MEM_MIB 64
#define MAX_MEM_MIB (1u << 20)

static int field_err(const char *field, const char *what)
{
	return sv_err(SV_EINVAL, CONFIG_NAME ": %s: %s", field, what);
}

/* The member name of obj, which must have type `type` when present.
 * *out NULL when absent (or JSON null). */
static int get_typed(json_t *obj, const char *key, const char *field, json_type type, const char *type_name,
		     json_t **out)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (json_typeof(v) != type && !(type == JSON_TRUE && json_is_boolean(v)))
		return sv_err(SV_EINVAL, CONFIG_NAME ": %s: expected %s", field, type_name);
	*out = v;
	return 0;
}

static int get_string(json_t *obj, const char *key, const char *field, const char **out)
{
	json_t *v;
	int rc = get_typed(obj, key, field, JSON_STRING, "a string", &v);
	*out = v ? json_string_value(v) : NULL;
	return rc;
}

static int get_u32(json_t *obj, const char *key, const char *field, bool *present, uint32_t *out)
{
	json_t *v;
	int rc = get_typed(obj, key, field, JSON_INTEGER, "an integer", &v);
	*present = v != NULL;
	if (rc || !v)
		return rc;
	json_int_t n = json_integer_value(v);
	if (n < 0 || n > UINT32_MAX)
		return field_err(field, "out of range (0 to 4294967295)");
	*out = (uint32_t)n;
	return 0;
}

/* A JSON array of strings -> NULL-terminated malloc'd vector. */
static int string_array(json_t *arr, const char *field, char ***out)
{
	size_t n = json_array_size(arr), i;
	char **v = calloc(n + 1, sizeof(*v));
	if (!v)
		return sv_err(SV_ENOMEM, "out of memory");
	json_t *item;
	json_array_foreach(arr, i, item)
	{
		if (!json_is_string(item)) {
			char path[96];
			snprintf(path, sizeof(path), "%s[%zu]", field, i);
			for (size_t j = 0; j < i; j++)
				free(v[j]);
			free(v);
			return field_err(path, "expected a string");
		}
		v[i] = strdup(json_string_value(item));
	}
	*out = v;
	return 0;
}

static int parse_user(oci_bundle *b, json_t *process)
{
	json_t *user;
	int rc = get_typed(process, "user", "process.user", JSON_OBJECT, "an object", &user);
	if (rc || !user)
		return rc;
	bool has;
	if ((rc = get_u32(user, "uid", "process.user.uid", &has, &b->uid)) ||
	    (rc = get_u32(user, "gid", "process.user.gid", &has, &b->gid)))
		return rc;
	json_t *groups;
	if ((rc = get_typed(user, "additionalGids", "process.user.additionalGids", JSON_ARRAY, "an array",
			    &groups)) ||
	    !groups)
		return rc;
	b->n_groups = json_array_size(groups);
	b->groups = calloc(b->n_groups ? b->n_groups : 1, sizeof(*b->groups));
	if (!b->groups)
		return sv_err(SV_ENOMEM, "out of memory");
	for (size_t i = 0; i < b->n_groups; i++) {
		json_t *g = json_array_get(groups, i);
		if (!json_is_integer(g) || json_integer_value(g) < 0 || json_integer_value(g) > UINT32_MAX) {
			char path[64];
			snprintf(path, sizeof(path), "process.user.additionalGids[%zu]", i);
			return field_err(path, "expected an integer from 0 to 4294967295");
		}
		b->groups[i] = (uint32_t)json_integer_value(g);
	}
	return 0;
}

/* The process object's fields (config.json's process, or exec --process's
 * whole file): fields are named process.* either way. */
static int parse_process_object(oci_bundle *b, json_t *process)
{
	json_t *args, *env, *term;
	const char *cwd;
	int rc;
	if ((rc = get_typed(process, "args", "process.args", JSON_ARRAY, "an array", &args)))
		return rc;
	if (!args || json_array_size(args) == 0)
		return field_err("process.args", "must not be empty");
	if ((rc = string_array(args, "process.args", &b->args)))
		return rc;
	if (!b->args[0][0])
		return field_err("process.args[0]", "must not be empty");
	if ((rc = get_typed(process, "env", "process.env", JSON_ARRAY, "an array", &env)))
		return rc;
	json_t *no_env = env ? NULL : json_array();
	rc = string_array(env ? env : no_env, "process.env", &b->env);
	json_decref(no_env);
	if (rc)
		return rc;
	if ((rc = get_string(process, "cwd", "process.cwd", &cwd)))
		return rc;
	if (!cwd || cwd[0] != '/')
		return field_err("process.cwd", cwd ? "must be an absolute path" : "missing");
	b->cwd = strdup(cwd);
	if ((rc = get_typed(process, "terminal", "process.terminal", JSON_TRUE, "a boolean", &term)))
		return rc;
	b->terminal = term && json_is_true(term);
	if ((rc = oci_rlimits_parse(&b->limits, process, "process")))
		return rc;
	return parse_user(b, process);
}

static int parse_process(oci_bundle *b, json_t *root)
{
	json_t *process;
	int rc = get_typed(root, "process", "process", JSON_OBJECT, "an object", &process);
	if (rc)
		return rc;
	if (!process)
		return field_err("process", "missing (a container needs a process to run)");
	return parse_process_object(b, process);
}

static int parse_root(oci_bundle *b, json_t *root)
{
	json_t *r, *ro;
	const char *path;
	int rc = get_typed(root, "root", "root", JSON_OBJECT, "an object", &r);
	if (rc)
		return rc;
	if (!r)
		return field_err("root", "missing");
	if ((rc = get_string(r, "path", "root.path", &path)))
		return rc;
	if (!path || !*path)
		return field_err("root.path", "missing");
	if ((rc = get_typed(r, "readonly", "root.readonly", JSON_TRUE, "a boolean", &ro)))
		return rc;
	b->root_readonly = ro && json_is_true(ro);
	b->root_path = sv_path_absolute(path, b->bundle_dir);
	return b->root_path ? 0 : sv_err(SV_ENOMEM, "out of memory");
}

/* After parsing: root.path must be a directory on this host. */
static int check_root_dir(const oci_bundle *b)
{
	struct stat st;
	if (stat(b->root_path, &st) < 0)
		return sv_err_errno(SV_EINVAL, errno, CONFIG_NAME ": root.path: %s", b->root_path);
	if (!S_ISDIR(st.st_mode))
		return sv_err(SV_EINVAL, CONFIG_NAME ": root.path: %s: not a directory", b->root_path);
	return 0;
}

/* An annotation holding a decimal number in [min, max]. */
static int annotation_u32(json_t *ann, const char *key, uint32_t min, uint32_t max, uint32_t *out)
{
	json_t *v = json_object_get(ann, key);
	if (!v)
		return 0;
	const char *s = json_string_value(v);
	char *end = NULL;
	errno = 0;
	unsigned long n = s && *s >= '0' && *s <= '9' ? strtoul(s, &end, 10) : 0;
	if (!end || *end || errno || n < min || n > max)
		return sv_err(SV_EINVAL,
			      CONFIG_NAME ": annotations.\"%s\": \"%s\" is not a number from %u to %u", key,
			      s ? s : "", min, max);
	*out = (uint32_t)n;
	return 0;
}

static int parse_annotations(oci_bundle *b, json_t *root)
{
	json_t *ann, *v;
	const char *key;
	int rc = get_typed(root, "annotations", "annotations", JSON_OBJECT, "an object", &ann);
	if (rc)
		return rc;
	json_object_foreach(ann, key, v)
	{
		if (!json_is_string(v)) {
			char path[300];
			snprintf(path, sizeof(path), "annotations.\"%.200s\"", key);
			return field_err(path, "expected a string");
		}
	}
	b->vcpus = OCI_DEFAULT_VCPUS;
	b->mem_mib = OCI_DEFAULT_MEM_MIB;
	if ((rc = annotation_u32(ann, OCI_ANNOTATION_VCPUS, 1, MAX_VCPUS, &b->vcpus)) ||
	    (rc = annotation_u32(ann, OCI_ANNOTATION_MEM, MIN_MEM_MIB, MAX_MEM_MIB, &b->mem_mib)))
		return rc;
	const char *cri = json_string_value(json_object_get(ann, OCI_ANNOTATION_CRI_TYPE)),
		   *crio = json_string_value(json_object_get(ann, OCI_ANNOTATION_CRIO_TYPE));
	b->pod_sandbox = (cri && !strcmp(cri, "sandbox")) || (crio && !strcmp(crio, "sandbox"));
	const char *image = json_string_value(json_object_get(ann, OCI_ANNOTATION_IMAGE));
	b->image = strdup(image && *image ? image : "minimal");
	b->annotations_json = ann ? json_dumps(ann, JSON_COMPACT) : strdup("{}");
	return b->image && b->annotations_json ? 0 : sv_err(SV_ENOMEM, "out of memory");
}

/* cgroupsPath and resources, kept for oci_cgroup.c (which checks them). */
static int parse_cgroups(oci_bundle *b, json_t *linux_)
{
	const char *path;
	json_t *res;
	int rc;
	if ((rc = get_string(linux_, "cgroupsPath", "linux.cgroupsPath", &path)) ||
	    (rc = get_typed(linux_, "resources", "linux.resources", JSON_OBJECT, "an object", &res)))
		return rc;
	if ((path && *path && !(b->cgroups_path = strdup(path))) ||
	    (res && !(b->resources_json = json_dumps(res, JSON_COMPACT))))
		return sv_err(SV_ENOMEM, "out of memory");
	return 0;
}

static int parse_linux(oci_bundle *b, json_t *root)
{
	json_t *linux_, *nss, *ns;
	size_t i;
	int rc = get_typed(root, "linux", "linux", JSON_OBJECT, "an object", &linux_);
	if (rc || !linux_)
		return rc;
	if ((rc = get_typed(linux_, "namespaces", "linux.namespaces", JSON_ARRAY, "an array", &nss)))
		return rc;
	json_array_foreach(nss, i, ns)
	{
		char field[64];
		const char *type, *path;
		snprintf(field, sizeof(field), "linux.namespaces[%zu]", i);
		if (!json_is_object(ns))
			return field_err(field, "expected an object");
		snprintf(field, sizeof(field), "linux.namespaces[%zu].type", i);
		if ((rc = get_string(ns, "type", field, &type)))
			return rc;
		if (!type)
			return field_err(field, "missing");
		snprintf(field, sizeof(field), "linux.namespaces[%zu].path", i);
		if ((rc = get_string(ns, "path", field, &path)))
			return rc;
		if (!strcmp(type, "network") && path && *path && !b->pod_sandbox && !b->netns_path &&
		    !(b->netns_path = strdup(path)))
			return sv_err(SV_ENOMEM, "out of memory");
	}
	return parse_cgroups(b, linux_);
}

/* The parse proper, on the text of the bundle's config.json. */
static int parse_config(oci_bundle *b, const char *text)
{
	json_error_t jerr;
	json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	int rc;
	if (!root)
		return sv_err(SV_EINVAL, CONFIG_NAME ": line %d: %s", jerr.line, jerr.text);
	const char *version, *hostname;
	if (!json_is_object(root)) {
		rc = sv_err(SV_EINVAL, CONFIG_NAME ": expected a JSON object");
	} else if ((rc = get_string(root, "ociVersion", "ociVersion", &version))) {
	} else if (!version) {
		rc = field_err("ociVersion", "missing");
	} else if (strncmp(version, "1.", 2) != 0) {
		rc =
		    sv_err(SV_EINVAL,
			   CONFIG_NAME ": ociVersion: \"%s\" is not supported (major version 1 is)", version);
	} else if ((rc = parse_root(b, root)) || (rc = parse_process(b, root)) ||
		   (rc = parse_annotations(b, root)) || (rc = parse_linux(b, root)) ||
		   (rc = oci_mounts_parse(&b->mounts, root, b->bundle_dir)) ||
		   (rc = oci_hooks_parse(root, &b->hooks_json)) ||
		   (rc = get_string(root, "hostname", "hostname", &hostname))) {
	} else if (hostname && *hostname && !(b->hostname = strdup(hostname))) {
		rc = sv_err(SV_ENOMEM, "out of memory");
	}
	json_decref(root);
	return rc;
}

int oci_bundle_parse(oci_bundle *b, const char *bundle_dir, const char *text)
{
	*b = (oci_bundle){0};
	b->bundle_dir = sv_path_absolute(bundle_dir, NULL);
	int rc = b->bundle_dir ? parse_config(b, text) : sv_err(SV_ENOMEM, "out of memory");
	if (rc < 0)
		oci_bundle_free(b);
	return rc;
}

int oci_process_parse(oci_bundle *b, const char *source, const char *text)
{
	json_error_t jerr;
	*b = (oci_bundle){0};
	json_t *process = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	int rc = !process		 ? sv_err(SV_EINVAL, "line %d: %s", jerr.line, jerr.text)
		 : !json_is_object(process) ? sv_err(SV_EINVAL, "expected a JSON object (the spec's process)")
					    : parse_process_object(b, process);
	json_decref(process);
	if (rc < 0) {
		/* Name the file the caller gave, not config.json. */
		const char *msg = sv_last_error(), *prefix = CONFIG_NAME ": ";
		const char *field = strncmp(msg, prefix, strlen(prefix)) ? msg : msg + strlen(prefix);
		char *copy = strdup(field);
		rc = sv_err(rc, "%s: %s", source, copy ? copy : field);
		free(copy);
		oci_bundle_free(b);
	}
	return rc;
}

int oci_bundle_load(oci_bundle *b, const char *bundle_dir)
{
	char *text = NULL, *abs = sv_path_absolute(bundle_dir, NULL);
	char *path = abs ? sv_path_join(abs, CONFIG_NAME) : NULL;
	int rc =
	    path ? sv_read_file(path, CONFIG_MAX_BYTES, &text, NULL) : sv_err(SV_ENOMEM, "out of memory");
	if (rc < 0) {
		*b = (oci_bundle){0};
		sv_err_prefix("bundle %s", abs ? abs : bundle_dir);
	} else if ((rc = oci_bundle_parse(b, abs, text)) == 0 &&
		   ((rc = check_root_dir(b)) < 0 || (rc = oci_mounts_check(&b->mounts)) < 0)) {
		oci_bundle_free(b);
	}
	free(text);
	free(path);
	free(abs);
	return rc;
}

static void free_strv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void oci_bundle_free(oci_bundle *b)
{
	free(b->bundle_dir);
	free(b->root_path);
	free_strv(b->args);
	free_strv(b->env);
	free(b->cwd);
	free(b->groups);
	free(b->hostname);
	free(b->image);
	free(b->annotations_json);
	oci_mounts_free(&b->mounts);
	free(b->hooks_json);
	free(b->netns_path);
	free(b->cgroups_path);
	free(b->resources_json);
	*b = (oci_bundle){0};
}
