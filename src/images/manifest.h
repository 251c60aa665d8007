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
	char *url;        /* http(s) URL, or NULL */
	char *path;       /* local path as written, or NULL */
	char *file_name;  /* plain name: given, or the basename of url/path */
	char *sha256;     /* lowercase hex or NULL (required with url) */
	int64_t size_bytes; /* -1 = not given */
} sv_manifest_artifact;

typedef struct {
	char *bundle_id;
	char *name;
	sv_arch arch;
	char *firecracker_version;
	sv_rootfs_type rootfs_type;
	bool rootfs_is_read_only;  /* default: true for squashfs, false for ext4 */
	char *boot_args;           /* default SV_DEFAULT_BOOT_ARGS */
	sv_manifest_artifact kernel, rootfs, initrd;
	bool has_initrd;
} sv_hosted_manifest;

/* source names the manifest in messages (its URL or path). */
int sv_manifest_parse(sv_hosted_manifest *out, const char *json_text, const char *source);
void sv_manifest_clear(sv_hosted_manifest *m);

/* True for a non-empty [A-Za-z0-9._-]+ that is not "." or "..". */
bool sv_bundle_id_valid(const char *id);

#endif
