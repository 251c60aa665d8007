/* sv_vm_config_from_json / sv_vm_config_load: Firecracker's --config-file
 * format (plus smartvm's own "smartvm" key) into an owned sv_vm_config, by
 * walking the section tables (config_sections.c).
 *
 * The reader checks shape only: every key is known at its level, every value
 * has the right JSON type, enums are spelled right and unsigned fields are not
 * negative. Rules (ranges, files existing, cross references) belong to
 * sv_vm_config_validate and are not checked here. Errors name the JSON path,
 * with the document's own key spelling: "drives[0].foo: unknown field",
 * "machine-config.vcpu_count: must be an integer". Firecracker fields smartvm
 * does not model (a table's refused list) are refused ("not supported by
 * smartvm") rather than silently dropped, unless they are null; the deprecated
 * vsock.vsock_id carries no meaning and is accepted and dropped. A JSON null
 * counts as absent, as in Firecracker's own GET /vm/config.
 *
 * The config is built directly in its final, owned form; on any error the
 * half-built config is released with sv_vm_config_free, which is safe because
 * every array count is set only together with its allocation.
 */
#include <smartvm/config.h>

#include "config/config_internal.h"
#include "config/config_paths.h"
#include "config/config_schema.h"
#include "util/error.h"
#include "util/file.h"

#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_CONFIG_BYTES (1024 * 1024)
#define JPATH_LEN 256

/* A path too long for the buffer (a hostile document) ends in "...". */
static void mark_truncated(char *dst, int n)
{
	if (n >= JPATH_LEN)
		memcpy(dst + JPATH_LEN - 4, "...", 4);
}

/* "path.key", or just "key" at the top level. */
static void join(char *dst, const char *path, const char *key)
{
	mark_truncated(dst, *path ? snprintf(dst, JPATH_LEN, "%s.%s", path, key)
				  : snprintf(dst, JPATH_LEN, "%s", key));
}

static void index_path(char *dst, const char *path, size_t i)
{
	mark_truncated(dst, snprintf(dst, JPATH_LEN, "%s[%zu]", path, i));
}

static bool in_list(const char *const *list, const char *key)
{
	for (; list && *list; list++)
		if (strcmp(*list, key) == 0)
			return true;
	return false;
}

/* The value at obj[key], NULL when absent or JSON null. */
static json_t *field(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_null(v) ? NULL : v;
}

static int oom(void) { return sv_err(SV_ENOMEM, "reading config: out of memory"); }

static int get_string(json_t *obj, const char *path, const char *key, const char **out)
{
	json_t *v = field(obj, key);
	if (!v)
		return 0;
	char p[JPATH_LEN];
	join(p, path, key);
	if (!json_is_string(v))
		return sv_err(SV_EINVAL, "%s: must be a string", p);
	/* Strings with NUL inside can't be C strings. */
	if (strlen(json_string_value(v)) != json_string_length(v))
		return sv_err(SV_EINVAL, "%s: must not contain NUL characters", p);
	*out = strdup(json_string_value(v));
	return *out ? 0 : oom();
}

static int get_bool(json_t *obj, const char *path, const char *key, bool *out)
{
	json_t *v = field(obj, key);
	if (!v)
		return 0;
	if (!json_is_boolean(v)) {
		char p[JPATH_LEN];
		join(p, path, key);
		return sv_err(SV_EINVAL, "%s: must be a boolean", p);
	}
	*out = json_is_true(v);
	return 0;
}

static int get_uint(json_t *obj, const char *path, const char *key, uint64_t max, uint64_t *out)
{
	json_t *v = field(obj, key);
	if (!v)
		return 0;
	char p[JPATH_LEN];
	join(p, path, key);
	if (!json_is_integer(v))
		return sv_err(SV_EINVAL, "%s: must be an integer", p);
	json_int_t n = json_integer_value(v);
	if (n < 0)
		return sv_err(SV_EINVAL, "%s: must not be negative", p);
	if ((uint64_t)n > max)
		return sv_err(SV_EINVAL, "%s: must be at most %ju", p, (uintmax_t)max);
	*out = (uint64_t)n;
	return 0;
}

/* names[i] is the spelling of enum value i; accepted as written, or in any
 * case when fold_case (Firecracker's logger level is case-insensitive). */
static int get_enum(json_t *obj, const char *path, const char *key, const char *const *names, size_t n,
		    bool fold_case, int *out)
{
	json_t *v = field(obj, key);
	if (!v)
		return 0;
	const char *s = json_string_value(v); /* NULL unless a string */
	for (size_t i = 0; s && i < n; i++)
		if (fold_case ? strcasecmp(s, names[i]) == 0 : strcmp(s, names[i]) == 0) {
			*out = (int)i;
			return 0;
		}
	char p[JPATH_LEN];
	join(p, path, key);
	char list[JPATH_LEN] = "";
	for (size_t i = 0; i < n; i++) {
		size_t used = strlen(list);
		snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", names[i]);
	}
	return sv_err(SV_EINVAL, "%s: must be one of %s", p, list);
}

/* The object at obj[key] (NULL if absent), or an error if it is not one. */
static int get_object(json_t *obj, const char *path, const char *key, json_t **out)
{
	*out = field(obj, key);
	if (*out && !json_is_object(*out)) {
		char p[JPATH_LEN];
		join(p, path, key);
		*out = NULL;
		return sv_err(SV_EINVAL, "%s: must be an object", p);
	}
	return 0;
}

static int get_array(json_t *obj, const char *path, const char *key, json_t **out)
{
	*out = field(obj, key);
	if (*out && !json_is_array(*out)) {
		char p[JPATH_LEN];
		join(p, path, key);
		*out = NULL;
		return sv_err(SV_EINVAL, "%s: must be an array", p);
	}
	return 0;
}

static int read_strv(json_t *a, const char *p, const char ***out, size_t *count)
{
	if (json_array_size(a) == 0)
		return 0;
	const char **v = calloc(json_array_size(a), sizeof(*v));
	if (!v)
		return oom();
	*out = v;
	*count = json_array_size(a);
	for (size_t i = 0; i < *count; i++) {
		json_t *s = json_array_get(a, i);
		if (!json_is_string(s) || strlen(json_string_value(s)) != json_string_length(s))
			return sv_err(SV_EINVAL, "%s[%zu]: must be a string", p, i);
		if (!(v[i] = strdup(json_string_value(s))))
			return oom();
	}
	return 0;
}

/* Checks that every element of the array is an object, before allocating. */
static int check_elements_are_objects(json_t *a, const char *path)
{
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
	{
		if (!json_is_object(v)) {
			char p[JPATH_LEN];
			index_path(p, path, i);
			return sv_err(SV_EINVAL, "%s: must be an object", p);
		}
	}
	return 0;
}

static int read_array(const sv_section *sub, json_t *a, const char *path, void **out, size_t *count)
{
	int rc = 0;
	if (json_array_size(a) == 0 || (rc = check_elements_are_objects(a, path)))
		return rc;
	char *elems = calloc(json_array_size(a), sub->size);
	if (!elems)
		return oom();
	*out = elems;
	*count = json_array_size(a);
	for (size_t i = 0; i < *count; i++) {
		char p[JPATH_LEN];
		index_path(p, path, i);
		if ((rc = sv_config_section_read(sub, json_array_get(a, i), p, elems + i * sub->size)))
			return rc;
	}
	return 0;
}

/* A section held by pointer: allocated before it is read, so that what is
 * read is owned (and freed) even when a later field is wrong. */
static int read_section(const sv_section *sub, json_t *o, const char *p, void **out)
{
	void *obj = calloc(1, sub->size);
	if (!obj)
		return oom();
	*out = obj;
	return sv_config_section_read(sub, o, p, obj);
}

static int read_json_text(json_t *o, const char **out)
{
	*out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	return *out ? 0 : oom();
}

static int read_field(const sv_field *f, json_t *o, const char *path, void *obj)
{
	char *at = (char *)obj + f->offset;
	json_t *v;
	char p[JPATH_LEN];
	join(p, path, f->json);
	int rc;
	switch (f->kind) {
	case SV_FK_STRING:
		return get_string(o, path, f->json, (const char **)at);
	case SV_FK_BOOL:
		return get_bool(o, path, f->json, (bool *)at);
	case SV_FK_U32: {
		uint64_t n = *(uint32_t *)at;
		rc = get_uint(o, path, f->json, UINT32_MAX, &n);
		*(uint32_t *)at = (uint32_t)n;
		return rc;
	}
	case SV_FK_U64:
		return get_uint(o, path, f->json, INT64_MAX, (uint64_t *)at);
	case SV_FK_ENUM: {
		size_t n = 0;
		while (f->names[n])
			n++;
		int i = *(int *)at - f->enum_base;
		rc = get_enum(o, path, f->json, f->names, n, f->flags & SV_FF_FOLD_CASE, &i);
		*(int *)at = i + f->enum_base;
		return rc;
	}
	case SV_FK_IGNORED:
		v = field(o, f->json);
		return v && !json_is_string(v) ? sv_err(SV_EINVAL, "%s: must be a string", p) : 0;
	case SV_FK_INLINE:
	case SV_FK_SECTION:
	case SV_FK_TOKEN_BUCKET:
	case SV_FK_JSON:
		if ((rc = get_object(o, path, f->json, &v)) || !v)
			return rc;
		if (f->kind == SV_FK_INLINE)
			return sv_config_section_read(f->sub, v, p, at);
		if (f->kind == SV_FK_SECTION)
			return read_section(f->sub, v, p, (void **)at);
		if (f->kind == SV_FK_JSON)
			return read_json_text(v, (const char **)at);
		*(bool *)((char *)obj + f->aux) = true;
		return sv_config_section_read(f->sub, v, p, at);
	case SV_FK_ARRAY:
	case SV_FK_STRV:
		if ((rc = get_array(o, path, f->json, &v)) || !v)
			return rc;
		if (f->kind == SV_FK_STRV)
			return read_strv(v, p, (const char ***)at, (size_t *)((char *)obj + f->aux));
		return read_array(f->sub, v, p, (void **)at, (size_t *)((char *)obj + f->aux));
	case SV_FK_TRISTATE:
		break;
	}
	return 0;
}

/* Firecracker's own GET /vm/config writes null for features it has off;
 * null asks for nothing we lack, so a refused key that is null is accepted. */
static int check_keys(const sv_section *s, json_t *o, const char *path, const char *extra)
{
	const char *key;
	json_t *val;
	json_object_foreach(o, key, val)
	{
		bool known = extra && strcmp(key, extra) == 0;
		for (size_t i = 0; !known && i < s->n_fields; i++)
			known = !(s->fields[i].flags & SV_FF_SMARTVM) && strcmp(s->fields[i].json, key) == 0;
		if (known || (in_list(s->refused, key) && json_is_null(val)))
			continue;
		char p[JPATH_LEN];
		join(p, path, key);
		return sv_err(SV_EINVAL, "%s: %s", p,
			      in_list(s->refused, key) ? "not supported by smartvm" : "unknown field");
	}
	return 0;
}

static int read_fields(const sv_section *s, json_t *o, const char *path, void *obj, const char *extra)
{
	int rc = check_keys(s, o, path, extra);
	for (size_t i = 0; !rc && i < s->n_fields; i++)
		if (!(s->fields[i].flags & SV_FF_SMARTVM))
			rc = read_field(&s->fields[i], o, path, obj);
	return rc;
}

int sv_config_section_read(const sv_section *s, json_t *o, const char *path, void *obj)
{
	if (s->version)
		*(unsigned *)((char *)obj + s->version_offset) = s->version;
	return read_fields(s, o, path, obj, NULL);
}

/* Runs after the drives are read: each key names a drive. */
static int read_ephemeral_drives(json_t *sv, sv_vm_config *cfg)
{
	const char *p = "smartvm.ephemeral_drives";
	json_t *o;
	int rc = get_object(sv, "smartvm", "ephemeral_drives", &o);
	if (rc || !o)
		return rc;
	sv_drive_config *drives = (sv_drive_config *)(uintptr_t)cfg->drives;
	const char *drive_id;
	json_t *v;
	json_object_foreach(o, drive_id, v)
	{
		char dp[JPATH_LEN];
		join(dp, p, drive_id);
		if (!json_is_boolean(v))
			return sv_err(SV_EINVAL, "%s: must be a boolean", dp);
		bool found = false;
		for (size_t i = 0; i < cfg->n_drives; i++)
			if (drives[i].drive_id && strcmp(drives[i].drive_id, drive_id) == 0) {
				drives[i].ephemeral = json_is_true(v) ? SV_YES : SV_NO;
				found = true;
			}
		if (!found)
			return sv_err(SV_EINVAL, "%s: no drive with this drive_id", dp);
	}
	return 0;
}

static int read_smartvm(json_t *root, sv_vm_config *cfg)
{
	static const char *const known[] = {"id", "base_image", "ephemeral_drives", "network", "serial", NULL};
	const char *p = "smartvm";
	json_t *o, *net, *serial;
	int rc = get_object(root, "", p, &o);
	if (rc || !o)
		return rc;
	const char *key;
	json_t *val;
	json_object_foreach(o, key, val)
	{
		if (!in_list(known, key))
			return sv_err(SV_EINVAL, "smartvm.%s: unknown field", key);
	}
	if ((rc = get_string(o, p, "id", &cfg->id)) ||
	    (rc = get_string(o, p, "base_image", &cfg->base_image)) || (rc = read_ephemeral_drives(o, cfg)) ||
	    (rc = get_object(o, p, "network", &net)) || (rc = get_object(o, p, "serial", &serial)))
		return rc;
	if (net && (rc = read_section(&sv_cs_net_options, net, "smartvm.network", (void **)&cfg->net)))
		return rc;
	return serial ? read_section(&sv_cs_serial, serial, "smartvm.serial", (void **)&cfg->serial) : 0;
}

static int read_config(json_t *root, sv_vm_config *cfg)
{
	int rc = read_fields(&sv_cs_vm, root, "", cfg, "smartvm");
	return rc ? rc : read_smartvm(root, cfg);
}

int sv_config_from_json_current(sv_vm_config **out, const char *json_text)
{
	sv_err_clear();
	*out = NULL;
	if (!json_text)
		return sv_err(SV_EINVAL, "config: NULL");
	json_error_t jerr;
	json_t *root = json_loads(json_text, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return sv_err(SV_EINVAL, "line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return sv_err(SV_EINVAL, "config: must be a JSON object");
	}
	sv_vm_config *cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		json_decref(root);
		return oom();
	}
	cfg->version = SV_VM_CONFIG_VERSION;
	int rc = read_config(root, cfg);
	json_decref(root);
	if (rc) {
		sv_vm_config_free(cfg);
		return rc;
	}
	*out = cfg;
	return 0;
}

int sv_config_load_current(sv_vm_config **out, const char *path)
{
	sv_err_clear();
	*out = NULL;
	char *text = NULL;
	int rc = sv_read_file(path, MAX_CONFIG_BYTES, &text, NULL);
	if (rc)
		return rc; /* sv_read_file's message already names the path */
	rc = sv_config_from_json_current(out, text);
	free(text);
	if (rc)
		return sv_err_prefix("%s", path);
	/* Its relative paths are the file's, wherever it is loaded from. */
	char *file = sv_path_absolute(path, NULL);
	char *slash = file ? strrchr(file, '/') : NULL;
	if (slash)
		slash[slash == file ? 1 : 0] = '\0';
	rc = file ? sv_config_resolve_paths(*out, file)
		  : sv_err_errno(SV_EIO, errno, "%s: its directory", path);
	free(file);
	if (rc) {
		sv_vm_config_free(*out);
		*out = NULL;
		return sv_err_prefix("%s", path);
	}
	return 0;
}
