/* Hosted manifest parsing (see manifest.h). Unknown keys are rejected by
 * name, so a typo ("sha265") is an error rather than a silently unverified
 * download. Nothing here decides where files go beyond validating names: a
 * file name can never contain a path separator. A remote manifest is data from
 * outside: it never names a host path, and its URLs are resolved with
 * libcurl's URL parser (never by string surgery) against its own URL. */
#include "images/manifest.h"

#include "images/images_defaults.h"
#include "images/release.h"
#include "images/verify.h"
#include "util/curl_lib.h"
#include "util/error.h"
#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool sv_bundle_id_valid(const char *id)
{
	if (!id || !*id || !strcmp(id, ".") || !strcmp(id, ".."))
		return false;
	for (const char *p = id; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-')
			return false;
	return strlen(id) <= 200;
}

void sv_manifest_clear(sv_hosted_manifest *m)
{
	sv_manifest_artifact *arts[] = {&m->kernel, &m->rootfs, &m->initrd};
	for (size_t i = 0; i < 3; i++) {
		free(arts[i]->url);
		free(arts[i]->path);
		free(arts[i]->file_name);
		free(arts[i]->sha256);
	}
	free(m->bundle_id);
	free(m->name);
	free(m->firecracker_version);
	free(m->boot_args);
	memset(m, 0, sizeof(*m));
}

typedef struct {
	const char *source; /* the manifest's path or URL */
	bool remote;	    /* fetched from source (a URL): untrusted */
} ctx;

__attribute__((format(printf, 3, 4))) static int bad(const ctx *c, const char *field, const char *fmt, ...)
{
	char rule[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rule, sizeof(rule), fmt, ap);
	va_end(ap);
	return sv_err(SV_EINVAL, "manifest %s: %s: %s", c->source, field, rule);
}

static int check_keys(const ctx *c, json_t *obj, const char *prefix, const char *const *allowed)
{
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v)
	{
		bool ok = false;
		for (size_t i = 0; allowed[i]; i++)
			ok = ok || !strcmp(key, allowed[i]);
		if (!ok) {
			char field[256];
			snprintf(field, sizeof(field), "%s%s", prefix, key);
			return bad(c, field, "unknown field%s", "");
		}
	}
	return 0;
}

/* Optional string: NULL if absent; error if present and not a string. */
static int get_string(const ctx *c, json_t *obj, const char *key, const char *field, bool required,
		      char **out)
{
	*out = NULL;
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v))
		return required ? bad(c, field, "required%s", "") : 0;
	if (!json_is_string(v))
		return bad(c, field, "must be a string%s", "");
	*out = strdup(json_string_value(v));
	return *out ? 0 : sv_err(SV_ENOMEM, "out of memory");
}

static bool is_plain_file_name(const char *s)
{
	return *s && strcmp(s, ".") && strcmp(s, "..") && !strchr(s, '/') && !strchr(s, '\\') &&
	       strcmp(s, "bundle.json") != 0;
}

static char *basename_of(const char *s)
{
	size_t end = strcspn(s, "?#");
	size_t start = end;
	while (start > 0 && s[start - 1] != '/')
		start--;
	return strndup(s + start, end - start);
}

/* Resolves ref (absolute, or relative to the manifest's URL when remote) into
 * a normalised absolute http(s) URL (malloc'd in *out). */
static int resolve_url(const ctx *c, const char *field, const char *ref, char **out)
{
	*out = NULL;
	int rc = sv_curl_load();
	if (rc)
		return rc;
	const sv_curl_api *curl = sv_curl();
	CURLU *u = curl->url();
	if (!u)
		return sv_err(SV_ENOMEM, "out of memory");
	char *scheme = NULL, *host = NULL, *full = NULL;
	CURLUcode uc = c->remote ? curl->url_set(u, CURLUPART_URL, c->source, 0) : CURLUE_OK;
	if (uc == CURLUE_OK)
		uc = curl->url_set(u, CURLUPART_URL, ref, 0);
	if (uc == CURLUE_OK)
		uc = curl->url_get(u, CURLUPART_SCHEME, &scheme, 0);
	if (uc == CURLUE_OK)
		uc = curl->url_get(u, CURLUPART_HOST, &host, 0);
	if (uc == CURLUE_OK)
		uc = curl->url_get(u, CURLUPART_URL, &full, 0);
	if (uc == CURLUE_OUT_OF_MEMORY)
		rc = sv_err(SV_ENOMEM, "out of memory");
	else if (uc != CURLUE_OK || (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) || !*host)
		rc = bad(c, field, "\"%s\" is not an http or https URL", ref);
	else if (!(*out = strdup(full)))
		rc = sv_err(SV_ENOMEM, "out of memory");
	curl->free(scheme);
	curl->free(host);
	curl->free(full);
	curl->url_cleanup(u);
	return rc;
}

static int parse_artifact(const ctx *c, json_t *root, const char *key, sv_manifest_artifact *a)
{
	static const char *const allowed[] = {"url", "path", "fileName", "sha256", "sizeBytes", NULL};
	char field[64], prefix[32];
	snprintf(prefix, sizeof(prefix), "%s.", key);
	a->size_bytes = -1;
	json_t *obj = json_object_get(root, key);
	if (!json_is_object(obj))
		return bad(c, key, obj ? "must be an object%s" : "required%s", "");
	int rc = check_keys(c, obj, prefix, allowed);
	if (rc)
		return rc;
#define FIELD(name) (snprintf(field, sizeof(field), "%s.%s", key, name), field)
	if ((rc = get_string(c, obj, "url", FIELD("url"), false, &a->url)) ||
	    (rc = get_string(c, obj, "path", FIELD("path"), false, &a->path)) ||
	    (rc = get_string(c, obj, "fileName", FIELD("fileName"), false, &a->file_name)) ||
	    (rc = get_string(c, obj, "sha256", FIELD("sha256"), false, &a->sha256)))
		return rc;
	if (a->path && c->remote)
		return bad(c, FIELD("path"), "not allowed in a remote manifest (use url with sha256)%s", "");
	if (!a->url && !a->path)
		return bad(c, key, c->remote ? "needs url%s" : "needs url or path%s", "");
	if (a->url && a->path)
		return bad(c, key, "url and path are mutually exclusive%s", "");
	if (a->url) {
		char *resolved = NULL;
		if ((rc = resolve_url(c, FIELD("url"), a->url, &resolved)))
			return rc;
		free(a->url);
		a->url = resolved;
	}
	if (a->path && !*a->path)
		return bad(c, FIELD("path"), "must not be empty%s", "");
	if (a->url && !a->sha256) {
		char msg[96];
		snprintf(msg, sizeof(msg), "required when %s.url is set", key);
		return bad(c, FIELD("sha256"), "%s", msg);
	}
	if (a->sha256) {
		if (!sv_sha256_is_hex(a->sha256))
			return bad(c, FIELD("sha256"), "\"%s\" is not 64 hex digits", a->sha256);
		for (char *p = a->sha256; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	}
	json_t *size = json_object_get(obj, "sizeBytes");
	if (size && !json_is_null(size)) {
		if (!json_is_integer(size) || json_integer_value(size) < 0)
			return bad(c, FIELD("sizeBytes"), "must be a non-negative integer%s", "");
		a->size_bytes = json_integer_value(size);
	}
	if (a->file_name) {
		if (!is_plain_file_name(a->file_name))
			return bad(c, FIELD("fileName"),
				   "\"%s\" must be a plain file name (no path separators, not bundle.json)",
				   a->file_name);
	} else {
		a->file_name = basename_of(a->url ? a->url : a->path);
		if (!a->file_name)
			return sv_err(SV_ENOMEM, "out of memory");
		if (!is_plain_file_name(a->file_name))
			return bad(c, FIELD("fileName"), "cannot be derived from \"%s\"; set it",
				   a->url ? a->url : a->path);
	}
#undef FIELD
	return 0;
}

static int parse_all(const ctx *c, json_t *root, sv_hosted_manifest *m)
{
	static const char *const allowed[] = {"schemaVersion",
					      "bundleId",
					      "name",
					      "arch",
					      "firecrackerVersion",
					      "rootfsType",
					      "rootfsIsReadOnly",
					      "bootArgs",
					      "kernel",
					      "rootfs",
					      "initrd",
					      NULL};
	if (!json_is_object(root))
		return sv_err(SV_EINVAL, "manifest %s: must be a JSON object", c->source);
	json_t *schema = json_object_get(root, "schemaVersion");
	if (!schema)
		return bad(c, "schemaVersion", "required%s", "");
	if (!json_is_integer(schema) || json_integer_value(schema) != 1) {
		char *text = json_dumps(schema, JSON_ENCODE_ANY);
		int rc = bad(c, "schemaVersion", "unsupported version %s (only 1 is supported)",
			     text ? text : "?");
		free(text);
		return rc;
	}
	int rc = check_keys(c, root, "", allowed);
	if (rc)
		return rc;
	char *arch = NULL, *type = NULL;
	if ((rc = get_string(c, root, "bundleId", "bundleId", true, &m->bundle_id)) ||
	    (rc = get_string(c, root, "name", "name", false, &m->name)) ||
	    (rc = get_string(c, root, "arch", "arch", true, &arch)) ||
	    (rc = get_string(c, root, "firecrackerVersion", "firecrackerVersion", true,
			     &m->firecracker_version)) ||
	    (rc = get_string(c, root, "rootfsType", "rootfsType", true, &type)) ||
	    (rc = get_string(c, root, "bootArgs", "bootArgs", false, &m->boot_args)))
		goto out;
	if (!sv_bundle_id_valid(m->bundle_id)) {
		rc = bad(c, "bundleId", "\"%s\" may contain only A-Z a-z 0-9 . _ -", m->bundle_id);
		goto out;
	}
	if (!strcmp(arch, "x86_64"))
		m->arch = SV_ARCH_X86_64;
	else if (!strcmp(arch, "aarch64"))
		m->arch = SV_ARCH_AARCH64;
	else {
		rc = bad(c, "arch", "\"%s\" is not x86_64 or aarch64", arch);
		goto out;
	}
	if (!sv_release_tag_valid(m->firecracker_version)) {
		rc = bad(c, "firecrackerVersion", "\"%s\" is not vMAJOR.MINOR.PATCH", m->firecracker_version);
		goto out;
	}
	if (!strcmp(type, "ext4"))
		m->rootfs_type = SV_ROOTFS_EXT4;
	else if (!strcmp(type, "squashfs"))
		m->rootfs_type = SV_ROOTFS_SQUASHFS;
	else {
		rc = bad(c, "rootfsType", "\"%s\" is not ext4 or squashfs", type);
		goto out;
	}
	json_t *ro = json_object_get(root, "rootfsIsReadOnly");
	if (ro && !json_is_null(ro) && !json_is_boolean(ro)) {
		rc = bad(c, "rootfsIsReadOnly", "must be a boolean%s", "");
		goto out;
	}
	m->rootfs_is_read_only =
	    (ro && json_is_boolean(ro)) ? json_is_true(ro) : m->rootfs_type == SV_ROOTFS_SQUASHFS;
	if (!m->boot_args && !(m->boot_args = strdup(SV_DEFAULT_BOOT_ARGS))) {
		rc = sv_err(SV_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = parse_artifact(c, root, "kernel", &m->kernel)) ||
	    (rc = parse_artifact(c, root, "rootfs", &m->rootfs)))
		goto out;
	json_t *initrd = json_object_get(root, "initrd");
	if (initrd && !json_is_null(initrd)) {
		if ((rc = parse_artifact(c, root, "initrd", &m->initrd)))
			goto out;
		m->has_initrd = true;
	}
	if (!strcmp(m->kernel.file_name, m->rootfs.file_name) ||
	    (m->has_initrd && (!strcmp(m->initrd.file_name, m->kernel.file_name) ||
			       !strcmp(m->initrd.file_name, m->rootfs.file_name))))
		rc = bad(c, "fileName", "kernel, rootfs and initrd need distinct file names%s", "");
out:
	free(arch);
	free(type);
	return rc;
}

static int parse(sv_hosted_manifest *out, const char *json_text, const char *source, bool remote)
{
	memset(out, 0, sizeof(*out));
	json_error_t jerr;
	json_t *root = json_loads(json_text, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return sv_err(SV_EINVAL, "manifest %s: invalid JSON at line %d: %s", source, jerr.line,
			      jerr.text);
	ctx c = {.source = source, .remote = remote};
	int rc = parse_all(&c, root, out);
	json_decref(root);
	if (rc)
		sv_manifest_clear(out);
	return rc;
}

int sv_manifest_parse(sv_hosted_manifest *out, const char *json_text, const char *source)
{
	return parse(out, json_text, source, false);
}

int sv_manifest_parse_remote(sv_hosted_manifest *out, const char *json_text, const char *url)
{
	return parse(out, json_text, url, true);
}
