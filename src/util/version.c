/* The library version, from the build. */
#include "sv_build_config.h"
#include <smartvm/smartvm.h>

const char *sv_version(void)
{
	return SV_VERSION;
}
