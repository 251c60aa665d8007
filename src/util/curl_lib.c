/* libcurl's table (see curl_lib.h). */
#include "util/curl_lib.h"

static sv_curl_api api;

static const sv_lazy_symbol symbols[] = SV_LAZY_SYMBOLS(SV_CURL_FUNCTIONS, sv_curl_api);

/* curl_global_init is not thread-safe in every libcurl: made here, once,
 * under the loader's lock. */
static const char *init(void *table)
{
	const sv_curl_api *c = table;
	CURLcode rc = c->global_init(CURL_GLOBAL_DEFAULT);
	return rc == CURLE_OK ? NULL : c->easy_strerror(rc);
}

static sv_lazy_lib lib = SV_LAZY_LIB_INIT("libcurl.so.4", "libcurl4", symbols, &api, init);

int sv_curl_load(void) { return sv_lazy_lib_load(&lib); }

const sv_curl_api *sv_curl(void) { return &api; }
