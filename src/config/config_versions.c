/* The ABI boundary of the VM config (README, "Library contract"): which
 * layouts of sv_vm_config this library knows, and the public calls that take
 * or hand out a config in a caller's layout. A caller's config of an older
 * version is converted to the library's (config_copy.c's walker over the two
 * descriptions) before anything reads it, and answers are converted back to
 * the version the caller names; everything behind this file sees only
 * SV_VM_CONFIG_VERSION.
 */
#include "config/config_internal.h"
#include "config/config_schema.h"
#include "config/config_versions.h"
#include <smartvm/config.h>

#include "util/error.h"
#include "util/options_version.h"

#include <stdlib.h>
#include <string.h>

const sv_section *sv_config_layout(unsigned version)
{
	switch (version) {
	case 1:
		return &sv_cs_vm_v1;
	case SV_VM_CONFIG_VERSION:
		return &sv_cs_vm;
	default:
		return NULL;
	}
}

/* SV_EINVAL naming sv_vm_config.version unless this library knows it. */
static int check_version(unsigned version)
{
	int rc = sv_options_check_version("sv_vm_config", version, SV_VM_CONFIG_VERSION);
	/* Every version up to the current one keeps its layout (config_layout_vN.c). */
	if (!rc && !sv_config_layout(version))
		rc = sv_err(SV_EINVAL, "sv_vm_config.version %u: this library has no layout for it", version);
	return rc;
}

int sv_config_convert(void **out, unsigned to_version, const void *cfg, unsigned from_version)
{
	*out = NULL;
	const sv_section *to = sv_config_layout(to_version), *from = sv_config_layout(from_version);
	int rc = check_version(to_version);
	if (!rc)
		rc = check_version(from_version);
	/* Counts without arrays can't be copied; say so rather than crash. */
	if (rc || (rc = sv_config_check_arrays(from, cfg)))
		return rc;
	void *c = calloc(1, to->size);
	if (!c)
		return sv_err(SV_ENOMEM, "copying config: out of memory");
	*(unsigned *)c = to_version;
	rc = sv_config_section_convert(to, c, from, cfg, "", to_version);
	if (rc) {
		sv_vm_config_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

int sv_config_accept(const sv_vm_config **use, sv_vm_config **owned, const sv_vm_config *cfg)
{
	*use = cfg;
	*owned = NULL;
	if (!cfg)
		return sv_err(SV_EINVAL, "config: NULL");
	if (cfg->version == SV_VM_CONFIG_VERSION)
		return 0;
	int rc = sv_config_convert((void **)owned, SV_VM_CONFIG_VERSION, cfg, cfg->version);
	*use = *owned;
	return rc;
}

int sv_vm_config_init(sv_vm_config *cfg, unsigned int version)
{
	sv_err_clear();
	const sv_section *layout = sv_config_layout(version);
	if (!cfg)
		return sv_err(SV_EINVAL, "sv_vm_config_init: cfg is NULL");
	int rc = check_version(version);
	if (rc)
		return rc;
	memset(cfg, 0, layout->size);
	cfg->version = version;
	return 0;
}

/* An answer of the library's version, handed out in the caller's. */
static int answer_in(sv_vm_config **out, unsigned version, sv_vm_config *cur)
{
	if (version == SV_VM_CONFIG_VERSION) {
		*out = cur;
		return 0;
	}
	int rc = sv_config_convert((void **)out, version, cur, SV_VM_CONFIG_VERSION);
	sv_vm_config_free(cur);
	return rc;
}

int sv_vm_config_from_json(sv_vm_config **out, unsigned int version, const char *json_text)
{
	sv_err_clear();
	*out = NULL;
	int rc = check_version(version);
	sv_vm_config *cur = NULL;
	if (rc || (rc = sv_config_from_json_current(&cur, json_text)))
		return rc;
	return answer_in(out, version, cur);
}

int sv_vm_config_load(sv_vm_config **out, unsigned int version, const char *path)
{
	sv_err_clear();
	*out = NULL;
	int rc = check_version(version);
	sv_vm_config *cur = NULL;
	if (rc || (rc = sv_config_load_current(&cur, path)))
		return rc;
	rc = answer_in(out, version, cur);
	return rc ? sv_err_prefix("%s", path) : 0;
}

int sv_vm_config_validate(const sv_vm_config *cfg)
{
	sv_err_clear();
	const sv_vm_config *use;
	sv_vm_config *owned;
	int rc = sv_config_accept(&use, &owned, cfg);
	if (!rc)
		rc = sv_config_validate_current(use);
	sv_vm_config_free(owned);
	return rc;
}

int sv_vm_config_to_json(char **out, const sv_vm_config *cfg)
{
	sv_err_clear();
	*out = NULL;
	const sv_vm_config *use;
	sv_vm_config *owned;
	int rc = sv_config_accept(&use, &owned, cfg);
	if (!rc)
		rc = sv_config_to_json_current(out, use);
	sv_vm_config_free(owned);
	return rc;
}

void *sv_config_member(sv_vm_config *cfg, const char *name, size_t **count, size_t *elem_size)
{
	const sv_section *layout = sv_config_layout(cfg->version);
	for (size_t i = 0; layout && i < layout->n_fields; i++) {
		const sv_field *f = &layout->fields[i];
		if (strcmp(sv_field_c(f), name))
			continue;
		bool array = f->kind == SV_FK_ARRAY;
		if (count)
			*count = array || f->kind == SV_FK_STRV ? (size_t *)((char *)cfg + f->aux) : NULL;
		if (elem_size)
			*elem_size = array ? f->sub->size : 0;
		return (char *)cfg + f->offset;
	}
	return NULL;
}
