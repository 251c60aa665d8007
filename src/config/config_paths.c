/* Relative host paths in a VM config, made absolute when the config is made.
 *
 * The VMM runs in the VM directory (so that staged drives can be named
 * relative to it), so a path left relative would be opened from there, not
 * from where the user meant it: `run --kernel ./vmlinux` failed. Paths the
 * caller gives (flags, the C API) are taken from the caller's current
 * directory when the VM is created; a config file's from the file's own
 * directory when it is loaded, so the file means the same wherever smartvm
 * is run from (Firecracker itself would use its own cwd). Symlinks and ".."
 * are left to the kernel, as they would be for the relative path.
 *
 * Invariant: every host path field of sv_vm_config is marked SV_FF_HOST_PATH
 * in config_sections.c.
 */
#include "config/config_paths.h"
#include "config/config_schema.h"

#include "util/error.h"
#include "util/file.h"
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int resolve(const char **slot, const char *base, const char *field)
{
	if (!*slot || !**slot || **slot == '/')
		return 0;
	char *abs = sv_path_absolute(*slot, base);
	if (!abs)
		return sv_err_errno(errno == ENOMEM ? SV_ENOMEM : SV_EIO, errno,
				    "%s: %s: making the path absolute", field, *slot);
	free((void *)(uintptr_t)*slot);
	*slot = abs;
	return 0;
}

/* Every SV_FF_HOST_PATH string of the section, at any depth. */
static int resolve_section(const sv_section *s, void *obj, const char *base, const char *path)
{
	int rc = 0;
	for (size_t i = 0; !rc && i < s->n_fields; i++) {
		const sv_field *f = &s->fields[i];
		char *at = (char *)obj + f->offset;
		char p[SV_CONFIG_PATH_LEN];
		sv_config_path(p, path, sv_field_c(f), 0);
		if (f->kind == SV_FK_STRING && (f->flags & SV_FF_HOST_PATH))
			rc = resolve((const char **)at, base, p);
		else if (f->kind == SV_FK_INLINE)
			rc = resolve_section(f->sub, at, base, p);
		else if (f->kind == SV_FK_SECTION && *(void **)at)
			rc = resolve_section(f->sub, *(void **)at, base, p);
		for (size_t k = 0; !rc && f->kind == SV_FK_ARRAY && k < *(size_t *)((char *)obj + f->aux);
		     k++) {
			char e[SV_CONFIG_PATH_LEN];
			sv_config_path(e, p, NULL, k);
			rc = resolve_section(f->sub, *(char **)at + k * f->sub->size, base, e);
		}
	}
	return rc;
}

int sv_config_resolve_paths(sv_vm_config *cfg, const char *base_dir)
{
	char *cwd = NULL;
	if (!base_dir && !(base_dir = cwd = getcwd(NULL, 0)))
		return sv_err_errno(SV_EIO, errno, "resolving relative paths: the current directory");
	int rc = resolve_section(&sv_cs_vm, cfg, base_dir, "");
	free(cwd);
	return rc;
}
