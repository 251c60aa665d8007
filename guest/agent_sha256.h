/* SHA-256 (FIPS 180-4) for the static guest agent, which links libc only:
 * a static libcrypto would be most of the binary (see guest/README.md).
 * The host checks every digest with OpenSSL, and a unit test compares this
 * one with OpenSSL's. */
#ifndef SV_GUEST_AGENT_SHA256_H
#define SV_GUEST_AGENT_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
	uint32_t h[8];
	uint64_t bytes;
	uint8_t block[64];
	size_t used;
} agent_sha256;

void agent_sha256_init(agent_sha256 *c);
void agent_sha256_update(agent_sha256 *c, const void *data, size_t len);
void agent_sha256_final(agent_sha256 *c, uint8_t out[32]);

#endif
