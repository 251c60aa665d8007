/* A config section as Firecracker JSON, walking its description
 * (config_schema.h). The --config-file writer and the API client both send
 * exactly what this returns, so they can never disagree on a field name.
 *
 * Unset optional fields (NULL strings and sections, absent token buckets,
 * SV_FF_ZERO_UNSET fields at zero, enum values below their spelled range) are
 * omitted so Firecracker applies its own defaults. SV_FF_SMARTVM fields never
 * appear: Firecracker rejects unknown fields. No validation here; NULL only
 * when memory runs out.
 */
#include "config/config_json.h"
#include "config/config_schema.h"

#include <stdint.h>
#include <string.h>

#define AT(obj, off) ((const char *)(obj) + (off))

/* Steals val (jansson's *_set_new drops it even when the set fails); false if
 * val is NULL (a failed constructor) or the set fails. */
static bool put(json_t *obj, const char *key, json_t *val)
{
	return val && json_object_set_new(obj, key, val) == 0;
}

static json_t *strv_json(const char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_string(v[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *array_json(const sv_section *sub, const void *elems, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, sv_config_section_json(sub, AT(elems, i * sub->size))) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static size_t name_count(const char *const *names)
{
	size_t n = 0;
	while (names[n])
		n++;
	return n;
}

/* The field's value, or NULL with *omit set when it is left out (*omit
 * clear and NULL: out of memory). */
static json_t *field_json(const sv_field *f, const void *obj, bool *omit)
{
	const void *p = AT(obj, f->offset);
	bool unset0 = f->flags & SV_FF_ZERO_UNSET;
	*omit = false;
	switch (f->kind) {
	case SV_FK_STRING:
		*omit = !*(const char *const *)p;
		return *omit ? NULL : json_string(*(const char *const *)p);
	case SV_FK_JSON: {
		const char *text = *(const char *const *)p;
		*omit = !text;
		json_t *v = text ? json_loads(text, JSON_REJECT_DUPLICATES, NULL) : NULL;
		/* Text that is not JSON is written as a string: the file stays
		 * inspectable, and reading it back names the field. */
		return v || !text ? v : json_string(text);
	}
	case SV_FK_BOOL:
		*omit = unset0 && !*(const bool *)p;
		return *omit ? NULL : json_boolean(*(const bool *)p);
	case SV_FK_U32:
		*omit = unset0 && !*(const uint32_t *)p;
		return *omit ? NULL : json_integer(*(const uint32_t *)p);
	case SV_FK_U64: /* validation keeps these below 2^63 */
		*omit = unset0 && !*(const uint64_t *)p;
		return *omit ? NULL : json_integer((json_int_t) * (const uint64_t *)p);
	case SV_FK_ENUM: {
		int i = *(const int *)p - f->enum_base;
		*omit = (unset0 && *(const int *)p == 0) || i < 0;
		/* An out-of-range value writes the first spelling, the VMM default. */
		return *omit ? NULL : json_string(f->names[(size_t)i < name_count(f->names) ? i : 0]);
	}
	case SV_FK_INLINE:
		return sv_config_section_json(f->sub, p);
	case SV_FK_SECTION:
		*omit = !*(const void *const *)p;
		return *omit ? NULL : sv_config_section_json(f->sub, *(const void *const *)p);
	case SV_FK_ARRAY:
		*omit = unset0 && !*(const size_t *)AT(obj, f->aux);
		return *omit ? NULL
			     : array_json(f->sub, *(const void *const *)p, *(const size_t *)AT(obj, f->aux));
	case SV_FK_STRV:
		*omit = unset0 && !*(const size_t *)AT(obj, f->aux);
		return *omit ? NULL
			     : strv_json(*(const char *const *const *)p, *(const size_t *)AT(obj, f->aux));
	case SV_FK_TOKEN_BUCKET:
		*omit = !*(const bool *)AT(obj, f->aux);
		return *omit ? NULL : sv_config_section_json(f->sub, p);
	case SV_FK_TRISTATE:
	case SV_FK_IGNORED:
		break;
	}
	*omit = true;
	return NULL;
}

json_t *sv_config_section_json(const sv_section *s, const void *obj)
{
	if (s->version && *(const unsigned *)AT(obj, s->version_offset) < 1)
		return json_object(); /* a version-0 struct has no fields we may read */
	json_t *o = json_object();
	for (size_t i = 0; o && i < s->n_fields; i++) {
		const sv_field *f = &s->fields[i];
		if (f->flags & SV_FF_SMARTVM)
			continue;
		bool omit;
		json_t *v = field_json(f, obj, &omit);
		if (!omit && !put(o, f->json, v)) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}
