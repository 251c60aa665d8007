/* Versioned public options; see options_version.h. */
#include "util/options_version.h"

#include "util/error.h"
#include <string.h>

int sv_options_check_version(const char *type, unsigned int version, unsigned int known)
{
	if (version >= 1 && version <= known)
		return 0;
	return sv_err(SV_EINVAL,
		      "%s.version is %u, which this library does not know (1 to %u): start from its _INIT "
		      "macro or %s_init()",
		      type, version, known, type);
}

int sv_options_init(void *opts, const void *template, size_t size, const char *type, unsigned int version,
		    unsigned int known)
{
	if (!opts)
		return sv_err(SV_EINVAL, "%s_init: opts is NULL", type);
	int rc = sv_options_check_version(type, version, known);
	if (!rc)
		memcpy(opts, template, size);
	return rc;
}
