/* The versions of sv_vm_config this library knows (config_versions.c), for
 * the public calls outside src/config that take a caller's config. */
#ifndef SV_CONFIG_CONFIG_VERSIONS_H
#define SV_CONFIG_CONFIG_VERSIONS_H

#include <smartvm/config.h>
#include <stddef.h>

/* The ABI boundary (README, "Library contract"): the public functions that
 * take a caller's config see it through this. *use is cfg when it has the
 * library's version, else a conversion to it in *owned (free it with
 * sv_vm_config_free when done). SV_EINVAL naming sv_vm_config.version for a
 * version this library does not know. */
int sv_config_accept(const sv_vm_config **use, sv_vm_config **owned, const sv_vm_config *cfg);

/* A deep copy of cfg (the layout of from_version) in the layout of
 * to_version; a field the older layout lacks must be unset in cfg. */
int sv_config_convert(void **out, unsigned to_version, const void *cfg, unsigned from_version);

/* The address of top-level member `name` (its C name) in cfg's layout; for
 * an array, the address of its count in *count (else NULL) and the size of
 * an element in *elem_size (else 0). NULL when cfg's version has no such
 * member (or is unknown). For calls that fill a caller's config in place. */
void *sv_config_member(sv_vm_config *cfg, const char *name, size_t **count, size_t *elem_size);

#endif
