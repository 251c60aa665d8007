/* SHA-256 (OpenSSL EVP): streaming, and of a whole file. The one hasher of
 * the library: downloads and copies (images/verify.c), snapshot files
 * (vm_snapshot.c) and the image builder use it. */
#ifndef SV_UTIL_SHA256_H
#define SV_UTIL_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct evp_md_ctx_st EVP_MD_CTX;

typedef struct {
	EVP_MD_CTX *ctx;
} sv_sha256;

int sv_sha256_init(sv_sha256 *h);
void sv_sha256_update(sv_sha256 *h, const void *data, size_t len);
/* The 32 bytes of the digest; frees the context. */
int sv_sha256_final(sv_sha256 *h, unsigned char out[32]);
/* Writes 64 lowercase hex digits + NUL and frees the context. */
void sv_sha256_final_hex(sv_sha256 *h, char out[65]);
void sv_sha256_free(sv_sha256 *h);

/* Makes one digest and drops it. OpenSSL sets itself up (its configuration,
 * its providers and tables) at a process's first digest; a process that
 * forks many hashing children calls this first, so that they inherit that
 * set-up instead of each building its own. Called before any other use of
 * OpenSSL in the process, it also leaves out OpenSSL's clean-up at exit,
 * which every child would run. */
void sv_sha256_prepare(void);

/* True for exactly 64 hex digits. */
bool sv_sha256_is_hex(const char *s);

/* The SHA-256 of everything in the file fd refers to, from its start (pread:
 * fd's offset does not move), as hex; *size_out (may be NULL) gets the bytes
 * read. Errors read "reading <what>: <strerror>". */
int sv_sha256_fd(int fd, const char *what, char out[65], uint64_t *size_out);

#endif
