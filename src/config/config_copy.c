/* Deep copies and freeing of sv_vm_config.
 *
 * A config the library hands out owns every byte it points at: strings,
 * arrays, optional sections, rate limiters and the MMDS interface list are all
 * separate heap allocations, so sv_vm_config_free() can release them by
 * casting const away. free() tolerates half-built configs (NULL pointers with
 * counts that match what was allocated), which is what the copy and the JSON
 * reader leave behind when they fail midway. Never frees caller-owned
 * (borrowed) configs: only ones produced here or by config_json_read.c.
 */
#include "config/config_internal.h"
#include "config/config_schema.h"
#include <smartvm/config.h>

#include "util/error.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* const is a promise to callers, not to the allocator. */
static void free_const(const void *p) { free((void *)(uintptr_t)p); }

static bool dup_string(const char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return true;
	*dst = strdup(src);
	return *dst != NULL;
}

static bool dup_rate_limiter(const sv_rate_limiter **dst, const sv_rate_limiter *src)
{
	*dst = NULL;
	if (!src)
		return true;
	sv_rate_limiter *rl = malloc(sizeof(*rl));
	if (!rl)
		return false;
	*rl = *src;
	*dst = rl;
	return true;
}

int sv_config_replace_string(const char **field, const char *value)
{
	const char *copy;
	if (!dup_string(&copy, value))
		return sv_err(SV_ENOMEM, "out of memory");
	free_const(*field);
	*field = copy;
	return 0;
}

int sv_config_replace_rate_limiter(const sv_rate_limiter **field, const sv_rate_limiter *value)
{
	const sv_rate_limiter *copy;
	if (!dup_rate_limiter(&copy, value))
		return sv_err(SV_ENOMEM, "out of memory");
	free_const(*field);
	*field = copy;
	return 0;
}

#define AT(obj, off) ((char *)(obj) + (off))

static size_t scalar_size(sv_field_kind k)
{
	switch (k) {
	case SV_FK_BOOL:
		return sizeof(bool);
	case SV_FK_U32:
		return sizeof(uint32_t);
	case SV_FK_U64:
		return sizeof(uint64_t);
	case SV_FK_ENUM:
	case SV_FK_TRISTATE:
		return sizeof(int);
	case SV_FK_TOKEN_BUCKET:
		return sizeof(sv_token_bucket);
	default:
		return 0;
	}
}

static const sv_field *field_named(const sv_section *s, const sv_field *like)
{
	for (size_t i = 0; i < s->n_fields; i++)
		if (s->fields[i].kind == like->kind && !strcmp(sv_field_c(&s->fields[i]), sv_field_c(like)))
			return &s->fields[i];
	return NULL;
}

static bool field_is_set(const sv_field *f, const void *obj)
{
	const char *at = AT(obj, f->offset);
	switch (f->kind) {
	case SV_FK_INLINE:
		for (size_t i = 0; i < f->sub->n_fields; i++)
			if (field_is_set(&f->sub->fields[i], at))
				return true;
		return false;
	case SV_FK_STRING:
	case SV_FK_JSON:
	case SV_FK_SECTION:
		return *(const void *const *)at != NULL;
	case SV_FK_ARRAY:
	case SV_FK_STRV:
		return *(const size_t *)AT(obj, f->aux) != 0;
	case SV_FK_TOKEN_BUCKET:
		return *(const bool *)AT(obj, f->aux);
	case SV_FK_IGNORED:
		return false;
	default:
		for (size_t k = 0; k < scalar_size(f->kind); k++)
			if (at[k])
				return true;
		return false;
	}
}

static int no_memory(const char *path) { return sv_err(SV_ENOMEM, "%s: out of memory", *path ? path : "config"); }

static int dup_into(const char **dst, const char *src, const char *path)
{
	return dup_string(dst, src) ? 0 : no_memory(path);
}

/* An array of sub objects (ARRAY) or of strings (STRV); the count is set
 * together with its allocation, so a failure midway frees what was made. */
static int convert_array(const sv_field *g, void *dst, const sv_field *f, const void *src, const char *path,
			 unsigned to_version)
{
	size_t n = *(const size_t *)AT(src, f->aux);
	const char *from = *(char *const *)AT(src, f->offset);
	if (!n)
		return 0;
	if (!from)
		return sv_err(SV_EINVAL, "%s: NULL array with n_%s = %zu", path, sv_field_c(f), n);
	bool strv = f->kind == SV_FK_STRV;
	size_t to_size = strv ? sizeof(char *) : g->sub->size, from_size = strv ? sizeof(char *) : f->sub->size;
	char *to = calloc(n, to_size);
	if (!to)
		return no_memory(path);
	*(void **)AT(dst, g->offset) = to;
	*(size_t *)AT(dst, g->aux) = n;
	int rc = 0;
	for (size_t i = 0; !rc && i < n; i++) {
		char e[SV_CONFIG_PATH_LEN];
		sv_config_path(e, path, NULL, i);
		if (strv)
			rc = dup_into((const char **)(to + i * to_size), *(char *const *)(from + i * from_size), e);
		else
			rc = sv_config_section_convert(g->sub, to + i * to_size, f->sub, from + i * from_size, e,
						       to_version);
	}
	return rc;
}

/* Copies field f of src into field g of dst (same C name and kind). */
static int convert_field(const sv_field *g, void *dst, const sv_field *f, const void *src, const char *path,
			 unsigned to_version)
{
	const void *from = AT(src, f->offset);
	void *to = AT(dst, g->offset);
	switch (f->kind) {
	case SV_FK_INLINE:
		return sv_config_section_convert(g->sub, to, f->sub, from, path, to_version);
	case SV_FK_STRING:
	case SV_FK_JSON:
		return dup_into(to, *(const char *const *)from, path);
	case SV_FK_ARRAY:
	case SV_FK_STRV:
		return convert_array(g, dst, f, src, path, to_version);
	case SV_FK_SECTION: {
		const void *obj = *(const void *const *)from;
		if (!obj)
			return 0;
		void *sub = calloc(1, g->sub->size);
		if (!sub)
			return no_memory(path);
		*(void **)to = sub;
		return sv_config_section_convert(g->sub, sub, f->sub, obj, path, to_version);
	}
	case SV_FK_TOKEN_BUCKET:
		*(bool *)AT(dst, g->aux) = *(const bool *)AT(src, f->aux);
		/* fall through */
	default:
		memcpy(to, from, scalar_size(f->kind));
		return 0;
	}
}

/* How many bytes of src (a caller's struct of section s) exist: an options
 * struct of an older version ends before the fields later versions added. */
static size_t caller_size(const sv_section *s, const void *src)
{
	if (s->version && s->v1_size && *(const unsigned *)AT(src, s->version_offset) < 2)
		return s->v1_size;
	return s->size;
}

int sv_config_section_convert(const sv_section *ds, void *dst, const sv_section *ss, const void *src,
			      const char *path, unsigned to_version)
{
	if (ss->version) {
		/* A versioned options struct (sv_vm_net_options) inside the config:
		 * the copy is of the library's version; one that never started from
		 * its _INIT stays empty (its validation names it). */
		*(unsigned *)AT(dst, ds->version_offset) = ds->version;
		if (*(const unsigned *)AT(src, ss->version_offset) < 1)
			return 0;
	}
	int rc = 0;
	size_t have = caller_size(ss, src);
	for (size_t i = 0; !rc && i < ss->n_fields; i++) {
		const sv_field *f = &ss->fields[i];
		if (f->kind == SV_FK_IGNORED || f->offset >= have)
			continue;
		char p[SV_CONFIG_PATH_LEN];
		sv_config_path(p, path, sv_field_c(f), 0);
		const sv_field *g = field_named(ds, f);
		if (g)
			rc = convert_field(g, dst, f, src, p, to_version);
		else if (field_is_set(f, src))
			rc = sv_err(SV_EINVAL, "%s: not in sv_vm_config version %u", p, to_version);
	}
	return rc;
}

void sv_config_section_free(const sv_section *s, void *obj)
{
	for (size_t i = 0; i < s->n_fields; i++) {
		const sv_field *f = &s->fields[i];
		void *at = AT(obj, f->offset);
		if (f->kind == SV_FK_INLINE)
			sv_config_section_free(f->sub, at);
		else if (f->kind == SV_FK_STRING || f->kind == SV_FK_JSON)
			free_const(*(const char **)at);
		else if (f->kind == SV_FK_SECTION && *(void **)at) {
			sv_config_section_free(f->sub, *(void **)at);
			free(*(void **)at);
		} else if ((f->kind == SV_FK_ARRAY || f->kind == SV_FK_STRV) && *(void **)at) {
			size_t n = *(size_t *)AT(obj, f->aux);
			size_t size = f->kind == SV_FK_STRV ? sizeof(char *) : f->sub->size;
			for (size_t k = 0; k < n; k++)
				if (f->kind == SV_FK_STRV)
					free_const(*(const char **)AT(*(void **)at, k * size));
				else
					sv_config_section_free(f->sub, AT(*(void **)at, k * size));
			free(*(void **)at);
		}
	}
}

static int check_arrays(const sv_section *s, const void *obj, const char *path);

static int check_array_field(const sv_field *f, const void *obj, const char *p)
{
	size_t n = *(const size_t *)AT(obj, f->aux);
	const char *elems = *(const char *const *)AT(obj, f->offset);
	if (n && !elems)
		return sv_err(SV_EINVAL, "%s: NULL array with n_%s = %zu", p, sv_field_c(f), n);
	int rc = 0;
	for (size_t k = 0; !rc && k < n; k++) {
		char e[SV_CONFIG_PATH_LEN];
		sv_config_path(e, p, NULL, k);
		if (f->kind == SV_FK_ARRAY)
			rc = check_arrays(f->sub, elems + k * f->sub->size, e);
		else if (!((const char *const *)elems)[k])
			rc = sv_err(SV_EINVAL, "%s: is required", e);
	}
	return rc;
}

/* Paths are C ones: "drives", "mmds.network_interfaces", "net.publish". */
static int check_arrays(const sv_section *s, const void *obj, const char *path)
{
	if (s->version && *(const unsigned *)AT(obj, s->version_offset) < 1)
		return 0;
	int rc = 0;
	for (size_t i = 0; !rc && i < s->n_fields; i++) {
		const sv_field *f = &s->fields[i];
		const void *at = AT(obj, f->offset);
		char p[SV_CONFIG_PATH_LEN];
		sv_config_path(p, path, sv_field_c(f), 0);
		if (f->kind == SV_FK_INLINE)
			rc = check_arrays(f->sub, at, p);
		else if (f->kind == SV_FK_SECTION && *(const void *const *)at)
			rc = check_arrays(f->sub, *(const void *const *)at, p);
		else if (f->kind == SV_FK_ARRAY || f->kind == SV_FK_STRV)
			rc = check_array_field(f, obj, p);
	}
	return rc;
}

int sv_config_check_arrays(const sv_section *layout, const void *cfg) { return check_arrays(layout, cfg, ""); }

int sv_vm_config_copy(sv_vm_config **out, const sv_vm_config *cfg)
{
	sv_err_clear();
	*out = NULL;
	if (!cfg)
		return sv_err(SV_EINVAL, "config: NULL");
	return sv_config_convert((void **)out, cfg->version, cfg, cfg->version);
}

void sv_vm_config_free(sv_vm_config *cfg)
{
	if (!cfg)
		return;
	/* Only configs of a known version come from the library. */
	const sv_section *layout = sv_config_layout(cfg->version);
	if (layout)
		sv_config_section_free(layout, cfg);
	free(cfg);
}
