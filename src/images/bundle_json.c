/* bundle.json reading and writing (see bundle_json.h). Field names are the
 * seed's, camelCase; absent optional values are omitted, never written as
 * null. What bundle.json says is checked against where it is: its bundleId
 * must be its directory's name (eviction and removal act on that id), and the
 * files it names must be regular files in that directory, never symlinks. */
#include "images/bundle_json.h"

#include "images/manifest.h"
#include "util/error.h"
#include "util/file.h"
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void sv_base_image_bundle_free(sv_base_image_bundle *b)
{
	if (!b)
		return;
	char **strings[] = {
	    &b->ci_version,
	    &b->firecracker_version,
	    &b->bundle_id,
	    &b->bundle_dir,
	    &b->kernel_image_path,
	    &b->rootfs_path,
	    &b->initrd_path,
	    &b->boot_args,
	    &b->bucket_url,
	    &b->kernel_key,
	    &b->rootfs_key,
	    &b->manifest_url,
	    &b->manifest_path,
	    &b->kernel_url,
	    &b->rootfs_url,
	    &b->initrd_url,
	    &b->kernel_source_path,
	    &b->rootfs_source_path,
	    &b->initrd_source_path,
	    &b->kernel_sha256,
	    &b->rootfs_sha256,
	    &b->initrd_sha256,
	    &b->created_at,
	    &b->last_accessed_at,
	};
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		free(*strings[i]);
	free(b);
}

void sv_base_image_bundles_free(sv_base_image_bundle **bundles, size_t n)
{
	if (!bundles)
		return;
	for (size_t i = 0; i < n; i++)
		sv_base_image_bundle_free(bundles[i]);
	free(bundles);
}

static void set_str(json_t *obj, const char *key, const char *value)
{
	if (value)
		json_object_set_new(obj, key, json_string(value));
}

static void set_size(json_t *obj, const char *key, uint64_t value)
{
	if (value)
		json_object_set_new(obj, key, json_integer((json_int_t)value));
}

int sv_bundle_to_json(char **out, const sv_base_image_bundle *b)
{
	json_t *o = json_object();
	json_t *src = json_object();
	json_t *sums = json_object();
	json_t *sizes = json_object();
	if (!o || !src || !sums || !sizes) {
		json_decref(o);
		json_decref(src);
		json_decref(sums);
		json_decref(sizes);
		return sv_err(SV_ENOMEM, "out of memory");
	}
	set_str(o, "preset", sv_base_image_preset_name(b->preset));
	set_str(o, "arch", sv_arch_name(b->arch));
	set_str(o, "ciVersion", b->ci_version ? b->ci_version : "");
	set_str(o, "firecrackerVersion", b->firecracker_version);
	set_str(o, "bundleId", b->bundle_id);
	set_str(o, "bundleDir", b->bundle_dir);
	set_str(o, "kernelImagePath", b->kernel_image_path);
	set_str(o, "rootfsPath", b->rootfs_path);
	set_str(o, "initrdPath", b->initrd_path);
	set_str(o, "rootfsType", sv_rootfs_type_name(b->rootfs_type));
	json_object_set_new(o, "rootfsIsReadOnly", json_boolean(b->rootfs_is_read_only));
	set_str(o, "bootArgs", b->boot_args);
	set_str(src, "type",
		b->source_type == SV_BASE_IMAGE_SOURCE_FIRECRACKER_CI ? "firecracker-ci" : "hosted-manifest");
	set_str(src, "bucketUrl", b->bucket_url);
	set_str(src, "kernelKey", b->kernel_key);
	set_str(src, "rootfsKey", b->rootfs_key);
	set_str(src, "manifestUrl", b->manifest_url);
	set_str(src, "manifestPath", b->manifest_path);
	set_str(src, "kernelUrl", b->kernel_url);
	set_str(src, "rootfsUrl", b->rootfs_url);
	set_str(src, "initrdUrl", b->initrd_url);
	set_str(src, "kernelSourcePath", b->kernel_source_path);
	set_str(src, "rootfsSourcePath", b->rootfs_source_path);
	set_str(src, "initrdSourcePath", b->initrd_source_path);
	json_object_set_new(o, "source", src);
	set_str(sums, "kernelSha256", b->kernel_sha256);
	set_str(sums, "rootfsSha256", b->rootfs_sha256);
	set_str(sums, "initrdSha256", b->initrd_sha256);
	json_object_set_new(o, "checksums", sums);
	set_size(sizes, "kernelBytes", b->kernel_bytes);
	set_size(sizes, "rootfsBytes", b->rootfs_bytes);
	set_size(sizes, "initrdBytes", b->initrd_bytes);
	json_object_set_new(o, "sizes", sizes);
	set_str(o, "createdAt", b->created_at);
	set_str(o, "lastAccessedAt", b->last_accessed_at);
	*out = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	return *out ? 0 : sv_err(SV_ENOMEM, "out of memory");
}

int sv_base_image_bundle_to_json(char **out, const sv_base_image_bundle *b)
{
	sv_err_clear();
	*out = NULL;
	return sv_bundle_to_json(out, b);
}

int sv_bundle_save(const sv_base_image_bundle *b, const char *bundle_dir)
{
	char *text = NULL;
	int rc = sv_bundle_to_json(&text, b);
	if (rc)
		return rc;
	char *path = sv_path_join(bundle_dir, "bundle.json");
	if (!path)
		rc = sv_err(SV_ENOMEM, "out of memory");
	else
		rc = sv_write_file_atomic(path, text, strlen(text), 0644);
	free(path);
	free(text);
	return rc;
}

static char *dup_str(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_string(v) ? strdup(json_string_value(v)) : NULL;
}

static uint64_t get_size(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
}

/* A recorded path, re-rooted in the directory the bundle really is in. */
static char *rebase(const char *dir, json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_string(v))
		return NULL;
	const char *p = json_string_value(v);
	const char *base = strrchr(p, '/');
	base = base ? base + 1 : p;
	if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
		return NULL;
	return sv_path_join(dir, base);
}

/* True if the last component of dir is name. */
static bool dir_is_named(const char *dir, const char *name)
{
	size_t end = strlen(dir);
	while (end > 1 && dir[end - 1] == '/')
		end--;
	size_t start = end;
	while (start > 0 && dir[start - 1] != '/')
		start--;
	return end - start == strlen(name) && !strncmp(dir + start, name, end - start);
}

static bool is_regular_file_in(int dfd, const char *path)
{
	const char *base = strrchr(path, '/');
	struct stat st;
	return fstatat(dfd, base ? base + 1 : path, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

static int from_json(sv_base_image_bundle *b, json_t *o, int dfd, const char *dir, const char *path)
{
	const char *preset = json_string_value(json_object_get(o, "preset"));
	const char *arch = json_string_value(json_object_get(o, "arch"));
	const char *type = json_string_value(json_object_get(o, "rootfsType"));
	json_t *src = json_object_get(o, "source");
	json_t *sums = json_object_get(o, "checksums");
	json_t *sizes = json_object_get(o, "sizes");
	if (!preset || sv_base_image_preset_parse(&b->preset, preset) != 0)
		return sv_err(SV_EINVAL, "%s: preset: missing or unknown", path);
	if (!arch || sv_arch_parse(&b->arch, arch) != 0)
		return sv_err(SV_EINVAL, "%s: arch: missing or unknown", path);
	if (!type || (strcmp(type, "ext4") && strcmp(type, "squashfs")))
		return sv_err(SV_EINVAL, "%s: rootfsType: missing or unknown", path);
	b->rootfs_type = strcmp(type, "squashfs") ? SV_ROOTFS_EXT4 : SV_ROOTFS_SQUASHFS;
	b->rootfs_is_read_only = json_is_true(json_object_get(o, "rootfsIsReadOnly"));
	b->ci_version = dup_str(o, "ciVersion");
	b->firecracker_version = dup_str(o, "firecrackerVersion");
	b->bundle_id = dup_str(o, "bundleId");
	b->bundle_dir = strdup(dir);
	b->kernel_image_path = rebase(dir, o, "kernelImagePath");
	b->rootfs_path = rebase(dir, o, "rootfsPath");
	b->initrd_path = rebase(dir, o, "initrdPath");
	b->boot_args = dup_str(o, "bootArgs");
	b->created_at = dup_str(o, "createdAt");
	b->last_accessed_at = dup_str(o, "lastAccessedAt");
	const char *stype = json_string_value(json_object_get(src, "type"));
	b->source_type = stype && !strcmp(stype, "firecracker-ci") ? SV_BASE_IMAGE_SOURCE_FIRECRACKER_CI
								   : SV_BASE_IMAGE_SOURCE_HOSTED_MANIFEST;
	b->bucket_url = dup_str(src, "bucketUrl");
	b->kernel_key = dup_str(src, "kernelKey");
	b->rootfs_key = dup_str(src, "rootfsKey");
	b->manifest_url = dup_str(src, "manifestUrl");
	b->manifest_path = dup_str(src, "manifestPath");
	b->kernel_url = dup_str(src, "kernelUrl");
	b->rootfs_url = dup_str(src, "rootfsUrl");
	b->initrd_url = dup_str(src, "initrdUrl");
	b->kernel_source_path = dup_str(src, "kernelSourcePath");
	b->rootfs_source_path = dup_str(src, "rootfsSourcePath");
	b->initrd_source_path = dup_str(src, "initrdSourcePath");
	b->kernel_sha256 = dup_str(sums, "kernelSha256");
	b->rootfs_sha256 = dup_str(sums, "rootfsSha256");
	b->initrd_sha256 = dup_str(sums, "initrdSha256");
	b->kernel_bytes = get_size(sizes, "kernelBytes");
	b->rootfs_bytes = get_size(sizes, "rootfsBytes");
	b->initrd_bytes = get_size(sizes, "initrdBytes");
	if (!b->bundle_id || !b->firecracker_version || !b->kernel_image_path || !b->rootfs_path ||
	    !b->boot_args || !b->created_at || !b->last_accessed_at || !b->bundle_dir || !b->ci_version)
		return sv_err(SV_EINVAL, "%s: a required field is missing", path);
	if (!sv_bundle_id_valid(b->bundle_id) || !dir_is_named(dir, b->bundle_id))
		return sv_err(SV_EINVAL, "%s: bundleId: \"%s\" is not this bundle's directory name", path,
			      b->bundle_id);
	const char *files[] = {b->kernel_image_path, b->rootfs_path, b->initrd_path};
	for (size_t i = 0; i < 3; i++)
		if (files[i] && !is_regular_file_in(dfd, files[i]))
			return sv_err(SV_EINVAL, "%s: %s is missing or not a regular file", path, files[i]);
	return 0;
}

int sv_bundle_load(sv_base_image_bundle **out, const char *bundle_dir)
{
	*out = NULL;
	char *path = sv_path_join(bundle_dir, "bundle.json");
	if (!path)
		return sv_err(SV_ENOMEM, "out of memory");
	char *text = NULL;
	/* Neither the directory nor bundle.json may be a symlink. */
	int dfd = open(bundle_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int rc = 0;
	if (dfd < 0)
		rc = errno == ENOENT ? sv_err(SV_ENOTFOUND, "reading %s: no such directory", path)
				     : sv_err_errno(errno == ELOOP || errno == ENOTDIR ? SV_EUNSAFE : SV_EIO,
						    errno, "opening %s", bundle_dir);
	else
		rc = sv_read_file_at(dfd, bundle_dir, "bundle.json", 1 << 20, &text, NULL);
	if (rc) {
		if (dfd >= 0)
			close(dfd);
		free(path);
		return rc;
	}
	json_error_t jerr;
	json_t *o = json_loads(text, 0, &jerr);
	free(text);
	sv_base_image_bundle *b = calloc(1, sizeof(*b));
	if (!o)
		rc = sv_err(SV_EINVAL, "%s: invalid JSON: %s", path, jerr.text);
	else if (!b)
		rc = sv_err(SV_ENOMEM, "out of memory");
	else {
		b->version = SV_BASE_IMAGE_BUNDLE_VERSION;
		rc = from_json(b, o, dfd, bundle_dir, path);
	}
	json_decref(o);
	close(dfd);
	free(path);
	if (rc) {
		sv_base_image_bundle_free(b);
		return rc;
	}
	*out = b;
	return 0;
}
