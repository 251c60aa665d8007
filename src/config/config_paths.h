/* Relative host paths of a VM config made absolute (config_paths.c). */
#ifndef SV_CONFIG_CONFIG_PATHS_H
#define SV_CONFIG_CONFIG_PATHS_H

#include <smartvm/config.h>

/* Replaces every relative host path in cfg (a config the library owns: a
 * copy or a loaded one) with base_dir/path; base_dir NULL = the current
 * directory. Absolute and empty paths are kept as they are. */
int sv_config_resolve_paths(sv_vm_config *cfg, const char *base_dir);

#endif
