/* Helpers shared by the files of src/config. */
#ifndef SV_CONFIG_CONFIG_INTERNAL_H
#define SV_CONFIG_CONFIG_INTERNAL_H

#include <smartvm/config.h>

/* A count without its array (or a NULL MMDS interface name) would make a
 * copy or a builder read NULL: SV_EINVAL naming the field instead. */
int sv_config_check_arrays(const sv_vm_config *cfg);

#endif
