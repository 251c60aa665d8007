/* OpenSSL's libcrypto, loaded at its first use (util/lazy_lib.h says why):
 * SHA-256 (util/sha256.c, the one hasher) and WireGuard keys' base64
 * (net/net_wgconf.c) call it through this table. sv_crypto_load() before
 * the first call in a path that may be the process's first use of it;
 * sv_crypto() after. The supervisor links libcrypto statically and hands
 * its functions over instead (sv_crypto_use_linked). */
#ifndef SV_UTIL_CRYPTO_LIB_H
#define SV_UTIL_CRYPTO_LIB_H

#include "util/lazy_lib.h"
#include <openssl/crypto.h>
#include <openssl/evp.h>

#define SV_CRYPTO_FUNCTIONS(X, T)                                                                            \
	X(T, init_crypto, OPENSSL_init_crypto)                                                               \
	X(T, md_ctx_new, EVP_MD_CTX_new)                                                                     \
	X(T, md_ctx_free, EVP_MD_CTX_free)                                                                   \
	X(T, digest_init, EVP_DigestInit_ex)                                                                 \
	X(T, digest_update, EVP_DigestUpdate)                                                                \
	X(T, digest_final, EVP_DigestFinal_ex)                                                               \
	X(T, sha256, EVP_sha256)                                                                             \
	X(T, decode_block, EVP_DecodeBlock)

SV_LAZY_TABLE(SV_CRYPTO_FUNCTIONS, sv_crypto_api);

/* 0 once libcrypto is loaded; otherwise an sv_err that says why. */
int sv_crypto_load(void);

/* Its functions: only after sv_crypto_load() returned 0. */
const sv_crypto_api *sv_crypto(void);

/* In a program that links libcrypto: `static const sv_crypto_api linked =
 * SV_LAZY_LINKED(SV_CRYPTO_FUNCTIONS, sv_crypto_api);` handed over before
 * any digest, so that nothing is loaded. */
void sv_crypto_use_linked(const sv_crypto_api *linked);

#endif
