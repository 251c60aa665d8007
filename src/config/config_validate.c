/* sv_vm_config_validate: every rule a VM config must satisfy before anything
 * is created for it, walking the section tables (config_sections.c).
 *
 * Each field gets the generic rules its description asks for (required,
 * non-empty, bounds, enum spelling) and then its own rule hook; each section
 * then gets its cross-field hook (config_rules.c). Checks run in table order
 * and stop at the first broken rule, whose message is "<field path>: <rule>"
 * with the C (= Firecracker) snake_case path, e.g.
 * "drives[1].rate_limiter.bandwidth.size: must be greater than 0".
 */
#include "config/config_internal.h"
#include "config/config_schema.h"
#include "net/net_options.h"
#include <smartvm/config.h>

#include "util/error.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define AT(obj, off) ((const char *)(obj) + (off))

static int check_section(const sv_section *s, const void *obj, const char *path, const sv_check_ctx *ctx);

static int one_of(const char *path, const char *const *names)
{
	char list[256] = "";
	for (size_t i = 0; names[i]; i++) {
		size_t used = strlen(list);
		snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", names[i]);
	}
	return sv_err(SV_EINVAL, "%s: must be one of %s", path, list);
}

static int check_string(const sv_field *f, const char *path, const char *s)
{
	if (!s)
		return f->flags & SV_FF_REQUIRED ? sv_err(SV_EINVAL, "%s: is required", path) : 0;
	if (!*s && (f->flags & SV_FF_NONEMPTY))
		return sv_err(SV_EINVAL, "%s: must not be empty", path);
	for (size_t i = 0; f->names && f->names[i]; i++)
		if (strcmp(s, f->names[i]) == 0)
			return 0;
	return f->names ? one_of(path, f->names) : 0;
}

static int check_bounds(const sv_field *f, const char *path, uint64_t v)
{
	if ((v == 0 && (f->flags & SV_FF_ZERO_UNSET)) || (v >= f->min && (!f->max || v <= f->max)))
		return 0;
	if (f->flags & SV_FF_RANGE_MSG)
		return sv_err(SV_EINVAL, "%s: must be between %" PRIu64 " and %" PRIu64 " (got %" PRIu64 ")",
			      path, f->min, f->max, v);
	if (v < f->min && f->min == 1)
		return sv_err(SV_EINVAL, "%s: must be greater than 0", path);
	if (v < f->min)
		return sv_err(SV_EINVAL, "%s: must be at least %" PRIu64 " (got %" PRIu64 ")", path, f->min,
			      v);
	return sv_err(SV_EINVAL, "%s: must be at most %" PRIu64, path, f->max);
}

static int check_enum(const sv_field *f, const char *path, int v)
{
	size_t n = 0;
	while (f->names[n])
		n++;
	/* Below the spelled range is the "unset" value, when there is one. */
	if ((v >= 0 && v < f->enum_base) || (v >= f->enum_base && (size_t)(v - f->enum_base) < n))
		return 0;
	return one_of(path, f->names);
}

static int check_array(const sv_field *f, const void *obj, const char *path, const sv_vm_config *cfg)
{
	size_t n = *(const size_t *)AT(obj, f->aux);
	const void *elems = *(const void *const *)AT(obj, f->offset);
	if (n && !elems)
		return sv_err(SV_EINVAL, "%s: NULL array with n_%s = %zu", path, sv_field_c(f), n);
	int rc = 0;
	for (size_t i = 0; !rc && i < n; i++) {
		char p[SV_CONFIG_PATH_LEN];
		sv_config_path(p, path, NULL, i);
		if (f->kind == SV_FK_STRV) {
			if (!((const char *const *)elems)[i])
				rc = sv_err(SV_EINVAL, "%s: is required", p);
			continue;
		}
		sv_check_ctx ctx = {.cfg = cfg, .elems = elems, .index = i};
		rc = check_section(f->sub, AT(elems, i * f->sub->size), p, &ctx);
	}
	return rc;
}

static int check_field(const sv_field *f, const void *obj, const char *path, const sv_check_ctx *ctx)
{
	const void *at = AT(obj, f->offset);
	sv_check_ctx top = {.cfg = ctx->cfg};
	int rc = 0;
	switch (f->kind) {
	case SV_FK_STRING:
		rc = check_string(f, path, *(const char *const *)at);
		break;
	case SV_FK_U32:
		rc = check_bounds(f, path, *(const uint32_t *)at);
		break;
	case SV_FK_U64:
		rc = check_bounds(f, path, *(const uint64_t *)at);
		break;
	case SV_FK_ENUM:
		rc = check_enum(f, path, *(const int *)at);
		break;
	case SV_FK_TRISTATE: {
		int v = *(const int *)at;
		if (v != SV_UNSET && v != SV_YES && v != SV_NO)
			rc = sv_err(SV_EINVAL, "%s: must be SV_UNSET, SV_YES or SV_NO", path);
		break;
	}
	case SV_FK_INLINE:
		rc = check_section(f->sub, at, path, &top);
		break;
	case SV_FK_SECTION:
		if (*(const void *const *)at)
			rc = check_section(f->sub, *(const void *const *)at, path, &top);
		break;
	case SV_FK_TOKEN_BUCKET:
		if (*(const bool *)AT(obj, f->aux))
			rc = check_section(f->sub, at, path, &top);
		break;
	case SV_FK_ARRAY:
	case SV_FK_STRV:
		rc = check_array(f, obj, path, ctx->cfg);
		break;
	case SV_FK_JSON:
	case SV_FK_BOOL:
	case SV_FK_IGNORED:
		break;
	}
	if (!rc && f->check)
		rc = f->check(path, at, ctx);
	return rc;
}

static int check_section(const sv_section *s, const void *obj, const char *path, const sv_check_ctx *ctx)
{
	/* Versioned options are the owning layer's to check (the version first). */
	if (s->version)
		return 0;
	int rc = 0;
	for (size_t i = 0; !rc && i < s->n_fields; i++) {
		char p[SV_CONFIG_PATH_LEN];
		sv_config_path(p, path, sv_field_c(&s->fields[i]), 0);
		rc = check_field(&s->fields[i], obj, p, ctx);
	}
	if (!rc && s->check)
		rc = s->check(path, obj, ctx);
	return rc;
}

int sv_config_validate_current(const sv_vm_config *cfg)
{
	sv_err_clear();
	if (!cfg)
		return sv_err(SV_EINVAL, "config: NULL");
	sv_check_ctx ctx = {.cfg = cfg};
	int rc = check_section(&sv_cs_vm, cfg, "", &ctx);
	return rc ? rc : sv_net_check_vm_options(cfg);
}
