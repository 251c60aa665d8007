/* TAP names and guest MACs derived from (vm id, iface id) through SHA-256.
 * Invariant: a name is a pure function of the two ids, fits IFNAMSIZ, and the
 * MAC is locally administered unicast (first octet 0x06), so it never clashes
 * with a vendor's address. Never consults the host. */
#include "net/net_names.h"

#include "util/error.h"
#include "util/sha256.h"
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int hash_ids(unsigned char digest[32], const char *vm_id, const char *iface_id)
{
	sv_sha256 h;
	if (sv_sha256_init(&h) != 0)
		return sv_err(SV_EIO, "hashing interface id \"%s/%s\": SHA-256 failed", vm_id, iface_id);
	/* The separator keeps ("a/b", "c") apart from ("a", "b/c") only because
	 * ids cannot contain '/'. */
	sv_sha256_update(&h, vm_id, strlen(vm_id));
	sv_sha256_update(&h, "/", 1);
	sv_sha256_update(&h, iface_id, strlen(iface_id));
	if (sv_sha256_final(&h, digest) != 0)
		return sv_err(SV_EIO, "hashing interface id \"%s/%s\": SHA-256 failed", vm_id, iface_id);
	return 0;
}

int sv_net_tap_name(char out[16], const char *vm_id, const char *iface_id)
{
	unsigned char d[32];
	int rc = hash_ids(d, vm_id, iface_id);
	if (rc)
		return rc;
	snprintf(out, 16, SV_TAP_PREFIX "%02x%02x%02x%02x%02x%02x", d[0], d[1], d[2], d[3], d[4], d[5]);
	return 0;
}

bool sv_net_tap_name_is_derived(const char *name)
{
	size_t prefix = strlen(SV_TAP_PREFIX);
	if (strlen(name) != prefix + 12 || strncmp(name, SV_TAP_PREFIX, prefix))
		return false;
	for (const char *p = name + prefix; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

int sv_net_tap_alias(char out[SV_NET_ALIAS_MAX], const char *vm_id, const char *iface_id)
{
	int n = snprintf(out, SV_NET_ALIAS_MAX, SV_NET_TAP_ALIAS_PREFIX "%s/%s", vm_id, iface_id);
	if (n < 0 || n >= SV_NET_ALIAS_MAX)
		return sv_err(SV_EINVAL, "interface id \"%s/%s\": too long for a device alias", vm_id, iface_id);
	return 0;
}

int sv_net_guest_mac(char out[18], const char *vm_id, const char *iface_id)
{
	unsigned char d[32];
	int rc = hash_ids(d, vm_id, iface_id);
	if (rc)
		return rc;
	/* Bytes 6.. so the MAC and the TAP name don't share digits. */
	snprintf(out, 18, "06:%02x:%02x:%02x:%02x:%02x", d[6], d[7], d[8], d[9], d[10]);
	return 0;
}
