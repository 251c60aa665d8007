/* Fuzzes the wg-quick file parser (src/net/net_wgconf.c): a WireGuard config
 * is a file the user hands smartvm, often written by someone else. Oracles: a
 * parsed config has a key, an address and peers within their bounds, and
 * every prefix is a valid IPv4 prefix; a rejected one leaves no key material
 * behind; a base64 key that decodes encodes back to the same text (only the
 * canonical form is accepted). */
#include "fuzz.h"

#include "net/net_wgconf.h"
#include <openssl/evp.h>
#include <string.h>

static void check_cidrs(const sv_wg_cidr *c, size_t n)
{
	FZ_CHECK(n <= SV_WG_MAX_CIDRS);
	for (size_t i = 0; i < n; i++)
		FZ_CHECK(c[i].prefix >= 0 && c[i].prefix <= 32);
}

static void keys(const char *text)
{
	uint8_t key[SV_WG_KEY_LEN];
	if (!sv_wg_key_from_base64(key, text))
		return;
	unsigned char back[64];
	FZ_CHECK(EVP_EncodeBlock(back, key, SV_WG_KEY_LEN) == 44);
	FZ_CHECK(memcmp(back, text, 44) == 0 && text[44] == '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static sv_wg_config c; /* 10 KiB: not on the stack */
	static const sv_wg_config zero;
	if (sv_wg_config_parse(&c, (const char *)data, size, "fuzz.conf") == 0) {
		FZ_CHECK(c.n_addresses >= 1);
		check_cidrs(c.addresses, c.n_addresses);
		FZ_CHECK(c.n_peers >= 1 && c.n_peers <= SV_WG_MAX_PEERS);
		FZ_CHECK(c.mtu == 0 || (c.mtu >= 576 && c.mtu <= 9000));
		for (size_t i = 0; i < c.n_peers; i++) {
			check_cidrs(c.peers[i].allowed_ips, c.peers[i].n_allowed_ips);
			FZ_CHECK(!c.peers[i].has_endpoint || c.peers[i].endpoint_port > 0);
		}
	} else {
		FZ_CHECK(memcmp(&c, &zero, sizeof(c)) == 0);
	}
	char *text = fz_cstr(data, size);
	keys(text);
	free(text);
	return 0;
}
