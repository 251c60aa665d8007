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

/* Clears every pointer (and its count) of a byte copy, so that dst never
 * holds what src owns: a failure then frees only dst's own allocations. */
static void clear_pointers(const sv_section *s, void *obj)
{
	for (size_t i = 0; i < s->n_fields; i++) {
		const sv_field *f = &s->fields[i];
		if (f->kind == SV_FK_INLINE)
			clear_pointers(f->sub, AT(obj, f->offset));
		else if (f->kind == SV_FK_STRING || f->kind == SV_FK_JSON || f->kind == SV_FK_SECTION)
			*(void **)AT(obj, f->offset) = NULL;
		else if (f->kind == SV_FK_ARRAY || f->kind == SV_FK_STRV) {
			*(void **)AT(obj, f->offset) = NULL;
			*(size_t *)AT(obj, f->aux) = 0;
		}
	}
}

/* Each element of dst's array starts as a byte copy with its pointers
 * cleared, and counts are set together with their allocation. */
static bool copy_array(const sv_field *f, void *dst, const void *src)
{
	size_t n = *(const size_t *)AT(src, f->aux);
	const char *from = *(char *const *)AT(src, f->offset);
	if (!n)
		return true;
	size_t size = f->kind == SV_FK_STRV ? sizeof(char *) : f->sub->size;
	char *to = calloc(n, size);
	if (!to)
		return false;
	*(void **)AT(dst, f->offset) = to;
	*(size_t *)AT(dst, f->aux) = n;
	for (size_t i = 0; i < n; i++) {
		if (f->kind == SV_FK_STRV) {
			if (!dup_string((const char **)(to + i * size), *(char *const *)(from + i * size)))
				return false;
			continue;
		}
		memcpy(to + i * size, from + i * size, size);
		clear_pointers(f->sub, to + i * size);
		if (!sv_config_section_copy(f->sub, to + i * size, from + i * size))
			return false;
	}
	return true;
}

/* How many bytes of src (a caller's struct of section s) exist: an older
 * version's struct ends before the fields later versions added. */
static size_t caller_size(const sv_section *s, const void *src)
{
	if (s->version && s->v1_size && *(const unsigned *)AT(src, s->version_offset) < 2)
		return s->v1_size;
	return s->size;
}

/* dst's pointers are clear; fills them from src. */
static bool copy_pointers(const sv_section *s, void *dst, const void *src)
{
	size_t have = caller_size(s, src);
	for (size_t i = 0; i < s->n_fields; i++) {
		const sv_field *f = &s->fields[i];
		if (f->offset >= have)
			continue;
		const void *from = AT(src, f->offset);
		void *to = AT(dst, f->offset);
		bool ok = true;
		if (f->kind == SV_FK_INLINE)
			ok = sv_config_section_copy(f->sub, to, from);
		else if (f->kind == SV_FK_STRING || f->kind == SV_FK_JSON)
			ok = dup_string(to, *(const char *const *)from);
		else if (f->kind == SV_FK_ARRAY || f->kind == SV_FK_STRV)
			ok = copy_array(f, dst, src);
		else if (f->kind == SV_FK_SECTION && *(const void *const *)from) {
			void *sub = calloc(1, f->sub->size);
			if (!sub)
				return false;
			memcpy(sub, *(const void *const *)from, caller_size(f->sub, *(const void *const *)from));
			clear_pointers(f->sub, sub);
			*(void **)to = sub;
			ok = sv_config_section_copy(f->sub, sub, *(const void *const *)from);
		}
		if (!ok)
			return false;
	}
	return true;
}

/* dst is a byte copy of src with its pointers cleared. A versioned struct
 * is copied only as far as the caller's version has fields; the copy is of
 * the current version. */
bool sv_config_section_copy(const sv_section *s, void *dst, const void *src)
{
	if (s->version) {
		unsigned *version = (unsigned *)AT(dst, s->version_offset);
		if (*version < 1) {
			memset(dst, 0, s->size); /* refused by validation, which names the field */
			*version = s->version;
			return true;
		}
		*version = s->version;
	}
	return copy_pointers(s, dst, src);
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

int sv_config_check_arrays(const sv_vm_config *cfg) { return check_arrays(&sv_cs_vm, cfg, ""); }

int sv_vm_config_copy(sv_vm_config **out, const sv_vm_config *cfg)
{
	sv_err_clear();
	*out = NULL;
	if (!cfg)
		return sv_err(SV_EINVAL, "config: NULL");
	/* Counts without arrays can't be copied; say so rather than crash. */
	int rc = sv_config_check_arrays(cfg);
	if (rc)
		return rc;
	sv_vm_config *c = malloc(sizeof(*c));
	if (!c)
		return sv_err(SV_ENOMEM, "copying config: out of memory");
	memcpy(c, cfg, sizeof(*c));
	clear_pointers(&sv_cs_vm, c);
	if (!sv_config_section_copy(&sv_cs_vm, c, cfg)) {
		sv_vm_config_free(c);
		return sv_err(SV_ENOMEM, "copying config: out of memory");
	}
	*out = c;
	return 0;
}

void sv_vm_config_free(sv_vm_config *cfg)
{
	if (!cfg)
		return;
	sv_config_section_free(&sv_cs_vm, cfg);
	free(cfg);
}
