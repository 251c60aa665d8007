/* Helpers shared by the files of src/config. */
#ifndef SV_CONFIG_CONFIG_INTERNAL_H
#define SV_CONFIG_CONFIG_INTERNAL_H

#include <smartvm/config.h>

#include "config/config_versions.h"

struct sv_section;

/* A count without its array (or a NULL MMDS interface name) would make a
 * copy or a builder read NULL: SV_EINVAL naming the field instead. cfg has
 * the layout described by `layout` (sv_config_layout). */
int sv_config_check_arrays(const struct sv_section *layout, const void *cfg);

/* The library's own versions of the public calls, on configs of
 * SV_VM_CONFIG_VERSION. */
int sv_config_from_json_current(sv_vm_config **out, const char *json_text);
int sv_config_load_current(sv_vm_config **out, const char *path);
int sv_config_validate_current(const sv_vm_config *cfg);
int sv_config_to_json_current(char **out, const sv_vm_config *cfg);

/* In a config the library owns (a deep copy, config_copy.c): replaces what
 * a field points at with a copy of value, freeing the old one. 0, or
 * SV_ENOMEM with the field unchanged. */
int sv_config_replace_string(const char **field, const char *value);
int sv_config_replace_rate_limiter(const sv_rate_limiter **field, const sv_rate_limiter *value);

#endif
