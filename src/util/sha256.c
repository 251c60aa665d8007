/* SHA-256 (see sha256.h). */
#include "util/sha256.h"

#include "util/crypto_lib.h"
#include "util/error.h"
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Every function after a successful init uses the table: a context exists
 * only once libcrypto is loaded. */
int sv_sha256_init(sv_sha256 *h)
{
	h->ctx = NULL;
	if (sv_crypto_load() != 0)
		return sv_err_prefix("SHA-256");
	const sv_crypto_api *c = sv_crypto();
	h->ctx = c->md_ctx_new();
	if (!h->ctx || c->digest_init(h->ctx, c->sha256(), NULL) != 1) {
		sv_sha256_free(h);
		return sv_err(SV_ENOMEM, "initialising SHA-256");
	}
	return 0;
}

void sv_sha256_update(sv_sha256 *h, const void *data, size_t len)
{
	sv_crypto()->digest_update(h->ctx, data, len);
}

int sv_sha256_final(sv_sha256 *h, unsigned char out[32])
{
	unsigned char md[EVP_MAX_MD_SIZE] = {0};
	unsigned int n = 0;
	bool ok = h->ctx && sv_crypto()->digest_final(h->ctx, md, &n) == 1 && n == 32;
	sv_sha256_free(h);
	memcpy(out, md, 32);
	return ok ? 0 : sv_err(SV_EIO, "SHA-256 failed");
}

void sv_sha256_final_hex(sv_sha256 *h, char out[65])
{
	unsigned char md[32] = {0};
	sv_sha256_final(h, md);
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = '\0';
}

void sv_sha256_free(sv_sha256 *h)
{
	if (h->ctx)
		sv_crypto()->md_ctx_free(h->ctx);
	h->ctx = NULL;
}

void sv_sha256_prepare(void)
{
	/* Without its clean-up at exit: each child would run it, to free what
	 * the kernel frees anyway. Only the first initialisation decides. */
	if (sv_crypto_load() != 0) {
		sv_err_clear(); /* the child that needs a digest reports it */
		return;
	}
	sv_crypto()->init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
	sv_sha256 h;
	char hex[65];
	if (sv_sha256_init(&h) == 0)
		sv_sha256_final_hex(&h, hex);
	else
		sv_err_clear(); /* the child that needs a digest reports it */
}

bool sv_sha256_is_hex(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!isxdigit((unsigned char)s[n]))
			return false;
	return n == 64;
}

int sv_sha256_fd(int fd, const char *what, char out[65], uint64_t *size_out)
{
	/* On the heap: a static __thread buffer would add its size to the TLS
	 * of every thread of every program that links the library. */
	enum { CHUNK = 1 << 20 };
	sv_sha256 h;
	int rc = sv_sha256_init(&h);
	if (rc)
		return rc;
	unsigned char *buf = malloc(CHUNK);
	if (!buf) {
		sv_sha256_free(&h);
		return sv_err(SV_ENOMEM, "hashing %s: out of memory", what);
	}
	uint64_t off = 0;
	for (;;) {
		ssize_t n = pread(fd, buf, CHUNK, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = sv_err_errno(SV_EIO, errno, "reading %s", what);
			break;
		}
		if (n == 0)
			break;
		sv_sha256_update(&h, buf, (size_t)n);
		off += (uint64_t)n;
	}
	free(buf);
	if (rc) {
		sv_sha256_free(&h);
		return rc;
	}
	sv_sha256_final_hex(&h, out);
	if (size_out)
		*size_out = off;
	return 0;
}
