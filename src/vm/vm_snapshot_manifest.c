/* The snapshot manifest's parser (see vm_snapshot_manifest.h). Checks shape
 * only: the files themselves, the host and the VMM are vm_snapshot.c's. A
 * snapshot directory is trusted like a config file (restore refuses one
 * another user could write), so this guards against a damaged or hand-edited
 * manifest, not against its author. */
#include "vm/vm_snapshot_manifest.h"

#include "util/error.h"
#include <stdbool.h>
#include <string.h>

int sv_snapshot_is_plain_relative(const char *p)
{
	if (!p || !*p || p[0] == '/')
		return 0;
	for (const char *c = p; *c;) {
		const char *end = strchr(c, '/');
		size_t n = end ? (size_t)(end - c) : strlen(c);
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		c += n + (end ? 1 : 0);
	}
	return 1;
}

int sv_snapshot_is_drive_file(const char *p)
{
	size_t n = strlen(SV_SNAPSHOT_DRIVES_DIR);
	return p && !strncmp(p, SV_SNAPSHOT_DRIVES_DIR "/", n + 1) && !strchr(p + n + 1, '/') &&
	       sv_snapshot_is_plain_relative(p);
}

static bool is_sha256_hex(const char *s)
{
	return s && strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

static int bad(const char *shown, const char *field, const char *why)
{
	return sv_err(SV_EINVAL, "snapshot manifest %s: %s: %s", shown, field, why);
}

static int check_files(json_t *m, const char *shown)
{
	json_t *files = json_object_get(m, "files"), *sizes = json_object_get(m, "sizes"), *v;
	const char *name;
	if (!json_is_object(files))
		return bad(shown, "files", "must be an object of name -> SHA-256");
	if (!json_is_object(sizes) || json_object_size(sizes) != json_object_size(files))
		return bad(shown, "sizes", "must be an object with the size of every file");
	if (!json_object_get(files, SV_SNAPSHOT_STATE_FILE))
		return bad(shown, "files", "lists no " SV_SNAPSHOT_STATE_FILE);
	json_object_foreach(files, name, v)
	{
		json_t *size = json_object_get(sizes, name);
		if (!sv_snapshot_is_plain_relative(name) || !is_sha256_hex(json_string_value(v)))
			return sv_err(SV_EINVAL, "snapshot manifest %s: files: entry \"%s\" is malformed",
				      shown, name);
		if (!json_is_integer(size) || json_integer_value(size) < 0)
			return sv_err(SV_EINVAL, "snapshot manifest %s: sizes: no size for \"%s\"", shown,
				      name);
	}
	return 0;
}

static int check_drives(json_t *m, const char *shown)
{
	json_t *drives = json_object_get(m, "drives"), *d;
	json_t *files = json_object_get(m, "files");
	size_t i;
	if (!json_is_array(drives))
		return bad(shown, "drives", "must be an array");
	json_array_foreach(drives, i, d)
	{
		const char *id = json_string_value(json_object_get(d, "drive_id"));
		const char *vp = json_string_value(json_object_get(d, "vmm_path"));
		json_t *file = json_object_get(d, "file");
		bool ro = json_is_true(json_object_get(d, "read_only"));
		bool ok = id && *id && vp && json_is_boolean(json_object_get(d, "read_only"));
		if (ok && file) /* a staged copy, restored to the same place in the new VM dir */
			ok = json_is_string(file) && json_object_get(files, json_string_value(file)) &&
			     sv_snapshot_is_drive_file(json_string_value(file)) && sv_snapshot_is_drive_file(vp);
		else if (ok) /* the caller's read-only file, used in place */
			ok = ro && vp[0] == '/';
		if (!ok)
			return sv_err(SV_EINVAL, "snapshot manifest %s: drives[%zu] (\"%s\") is malformed",
				      shown, i, id ? id : "?");
	}
	return 0;
}

static int check_network(json_t *m, const char *shown)
{
	json_t *net = json_object_get(m, "network"), *n;
	size_t i;
	if (!net)
		return 0;
	if (!json_is_array(net))
		return bad(shown, "network", "must be an array");
	json_array_foreach(net, i, n)
	{
		const char *keys[] = {"iface_id", "guest_mac", "host_dev_name"};
		bool ok = json_is_object(n);
		for (size_t k = 0; ok && k < 3; k++) {
			json_t *v = json_object_get(n, keys[k]);
			ok = !v || json_is_string(v);
		}
		if (!ok)
			return sv_err(SV_EINVAL, "snapshot manifest %s: network[%zu] is malformed", shown, i);
	}
	return 0;
}

int sv_snapshot_manifest_parse(const char *text, size_t len, const char *shown, json_t **out)
{
	*out = NULL;
	json_error_t jerr;
	json_t *m = json_loadb(text, len, 0, &jerr);
	if (!m)
		return sv_err(SV_EINVAL, "%s: not a smartvm snapshot manifest: %s", shown, jerr.text);
	int rc = 0;
	const char *type = json_string_value(json_object_get(m, "snapshot_type"));
	json_t *version = json_object_get(m, "format_version");
	if (!json_is_object(m) ||
	    strcmp(json_string_value(json_object_get(m, "format")) ?: "", SV_SNAPSHOT_FORMAT))
		rc = sv_err(SV_EINVAL, "%s: not a smartvm snapshot manifest", shown);
	else if (!json_is_integer(version) || json_integer_value(version) != SV_SNAPSHOT_FORMAT_VERSION)
		rc = sv_err(SV_EUNSUPPORTED,
			    "snapshot manifest %s: format_version %lld; this smartvm reads version %d "
			    "(take the snapshot again with it)",
			    shown, json_is_integer(version) ? (long long)json_integer_value(version) : 0LL,
			    SV_SNAPSHOT_FORMAT_VERSION);
	else if (!json_is_string(json_object_get(m, "arch")))
		rc = bad(shown, "arch", "must be a string");
	else if (!json_is_string(json_object_get(m, "vmm")))
		rc = bad(shown, "vmm", "must be a string");
	else if (!json_is_string(json_object_get(m, "vmm_version")))
		rc = bad(shown, "vmm_version", "must be a string");
	else if (!type || (strcmp(type, "Full") && strcmp(type, "Diff")))
		rc = bad(shown, "snapshot_type", "must be \"Full\" or \"Diff\"");
	else if (!json_is_object(json_object_get(m, "config")))
		rc = bad(shown, "config", "must be an object");
	if (!rc && !(rc = check_files(m, shown)) && !(rc = check_drives(m, shown)))
		rc = check_network(m, shown);
	if (rc) {
		json_decref(m);
		return rc;
	}
	*out = m;
	return 0;
}
