/* The guest agent's own SHA-256 (guest/agent_sha256.c) against OpenSSL's,
 * for every length around the block boundaries and in odd pieces. */
#include "svtest.h"

#include "../../guest/agent_sha256.c"
#include <openssl/evp.h>

static void check(const uint8_t *data, size_t len, size_t piece)
{
	agent_sha256 c;
	agent_sha256_init(&c);
	for (size_t off = 0; off < len; off += piece)
		agent_sha256_update(&c, data + off, len - off < piece ? len - off : piece);
	uint8_t ours[32], theirs[32];
	agent_sha256_final(&c, ours);
	unsigned int n = 32;
	assert_int_equal(EVP_Digest(data, len, theirs, &n, EVP_sha256(), NULL), 1);
	assert_memory_equal(ours, theirs, 32);
}

static void test_matches_openssl_for_every_length_and_split(void **state)
{
	(void)state;
	static uint8_t data[1000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 131 + 7);
	for (size_t len = 0; len < 300; len++)
		for (size_t piece = 1; piece <= 70; piece += 23)
			check(data, len, piece);
	check(data, sizeof(data), 1000);
}

static void test_known_vector(void **state)
{
	(void)state;
	agent_sha256 c;
	agent_sha256_init(&c);
	agent_sha256_update(&c, "abc", 3);
	uint8_t d[32];
	agent_sha256_final(&c, d);
	static const uint8_t want[32] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
					 0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
					 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
	assert_memory_equal(d, want, 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_matches_openssl_for_every_length_and_split),
	    cmocka_unit_test(test_known_vector),
	};
	return svt_run_group(tests, NULL, NULL);
}
