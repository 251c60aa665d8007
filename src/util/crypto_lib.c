/* libcrypto's table (see crypto_lib.h). */
#include "util/crypto_lib.h"

static sv_crypto_api api;

static const sv_lazy_symbol symbols[] = SV_LAZY_SYMBOLS(SV_CRYPTO_FUNCTIONS, sv_crypto_api);

static sv_lazy_lib lib = SV_LAZY_LIB_INIT("libcrypto.so.3", "libssl3", symbols, &api, NULL);

int sv_crypto_load(void) { return sv_lazy_lib_load(&lib); }

const sv_crypto_api *sv_crypto(void) { return &api; }

void sv_crypto_use_linked(const sv_crypto_api *linked) { sv_lazy_lib_use(&lib, linked, sizeof(*linked)); }
