/* Hosted base-image manifests (schemaVersion 1, the seed's
 * IBaseImageHostedManifest plus an optional initrd artifact): parsing and
 * validation. Every violation is SV_EINVAL with a message naming the field,
 * e.g. "manifest m.json: kernel.sha256: required when kernel.url is set".
 * Pure: no network, no disk. */
#ifndef SV_IMAGES_MANIFEST_H
#define SV_IMAGES_MANIFEST_H

#include <smartvm/images.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
	char *url;	    /* absolute http(s) URL (normalised, resolved), or NULL */
	char *path;	    /* local path as written (local manifests only), or NULL */
	char *file_name;    /* plain name: given, or the basename of url/path */
	char *sha256;	    /* lowercase hex or NULL (required with url) */
	int64_t size_bytes; /* -1 = not given */
} sv_manifest_artifact;

typedef struct {
	char *bundle_id;
	char *name;
	sv_arch arch;
	char *firecracker_version;
	sv_rootfs_type rootfs_type;
	bool rootfs_is_read_only; /* default: true for squashfs, false for ext4 */
	char *boot_args;	  /* default SV_DEFAULT_BOOT_ARGS */
	sv_manifest_artifact kernel, rootfs, initrd;
	bool has_initrd;
} sv_hosted_manifest;

/* A local manifest (the caller's own file; source is its path, naming it in
 * messages): artifacts are absolute http(s) URLs, each with a sha256, or
 * paths (absolute, or relative to the manifest's directory; the caller
 * resolves them), sha256 optional. */
int sv_manifest_parse(sv_hosted_manifest *out, const char *json_text, const char *source);

/* A remote manifest fetched from url (untrusted): artifacts are http(s) URLs
 * only, relative ones resolved against url, each with a mandatory sha256;
 * "path" is refused ("kernel.path: not allowed in a remote manifest"). */
int sv_manifest_parse_remote(sv_hosted_manifest *out, const char *json_text, const char *url);
void sv_manifest_clear(sv_hosted_manifest *m);

/* True for a non-empty [A-Za-z0-9._-]+ that is not "." or "..". */
bool sv_bundle_id_valid(const char *id);

#endif
