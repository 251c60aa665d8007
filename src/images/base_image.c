/* The base-image manager (the seed's BaseImageManager.ensureBaseImage):
 * resolves a plan (bundle id, metadata, artifacts) from the CI bucket or a
 * hosted manifest, then serves it from the cache or downloads it.
 *
 * Invariants: <cache_dir>/<bundle_id> appears only by rename of a complete
 * directory whose every artifact was verified and whose bundle.json is
 * written, so a failed pull leaves the cache as it was (a previous good
 * bundle of the same id stays until the new one replaces it). One process
 * downloads a given bundle at a time (its lock); a hit needs no download.
 * Scratch space: <cache_dir>/.partial-<id>-XXXXXX, always removed. */
#include <smartvm/images.h>

#include "images/bundle_json.h"
#include "images/cache.h"
#include "images/ci_listing.h"
#include "images/download.h"
#include "images/images_defaults.h"
#include "images/manifest.h"
#include "images/release.h"
#include "images/verify.h"
#include "config/config_versions.h"
#include "util/error.h"
#include "util/options_version.h"
#include "util/file.h"
#include "util/trusted_dir.h"
#include "util/log.h"
#include "util/timestamp.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_MANIFEST_BYTES (1u << 20)

const char *sv_base_image_preset_name(sv_base_image_preset p)
{
	switch (p) {
	case SV_BASE_IMAGE_PRESET_LTS:
		return "lts";
	case SV_BASE_IMAGE_PRESET_HOSTED:
		return "hosted";
	default:
		return "latest";
	}
}

int sv_base_image_preset_parse(sv_base_image_preset *out, const char *s)
{
	if (s && !strcmp(s, "latest"))
		*out = SV_BASE_IMAGE_PRESET_LATEST;
	else if (s && !strcmp(s, "lts"))
		*out = SV_BASE_IMAGE_PRESET_LTS;
	else if (s && !strcmp(s, "hosted"))
		*out = SV_BASE_IMAGE_PRESET_HOSTED;
	else
		return sv_err(SV_EINVAL, "preset: \"%s\" is not latest, lts or hosted", s ? s : "");
	return 0;
}

const char *sv_rootfs_type_name(sv_rootfs_type t) { return t == SV_ROOTFS_SQUASHFS ? "squashfs" : "ext4"; }

int sv_base_image_vm_config(sv_vm_config *cfg, sv_drive_config *root_drive, const sv_base_image_bundle *b)
{
	sv_err_clear();
	if (!cfg || !root_drive || !b || !b->kernel_image_path || !b->rootfs_path)
		return sv_err(SV_EINVAL, "base image: bundle, config and root drive are required");
	/* cfg is in the caller's layout: reach its members through it. */
	size_t *n_drives = NULL, drive_size = 0;
	const char **base_image = sv_config_member(cfg, "base_image", NULL, NULL);
	sv_boot_source *boot = sv_config_member(cfg, "boot_source", NULL, NULL);
	const sv_drive_config **drives = sv_config_member(cfg, "drives", &n_drives, &drive_size);
	if (!base_image || !boot || !drives || !n_drives) /* only a version this library does not know */
		return sv_options_check_version("sv_vm_config", cfg->version, SV_VM_CONFIG_VERSION);
	*base_image = b->bundle_id;
	boot->kernel_image_path = b->kernel_image_path;
	boot->boot_args = b->boot_args;
	boot->initrd_path = b->initrd_path;
	/* root_drive has the caller's version's size; these members lead every one. */
	memset(root_drive, 0, drive_size);
	root_drive->drive_id = "rootfs";
	root_drive->path_on_host = b->rootfs_path;
	root_drive->is_root_device = true;
	root_drive->is_read_only = b->rootfs_is_read_only;
	if (!*drives || *n_drives == 0) {
		*drives = root_drive;
		*n_drives = 1;
	}
	return 0;
}

typedef struct {
	const char *role; /* "kernel", "rootfs", "initrd" */
	char *url;	  /* download from here, or */
	char *src_path;	  /* copy from here */
	char *file_name;
	char *sha256; /* expected, or NULL */
	int64_t size; /* expected, or -1 */
} artifact;

typedef struct {
	sv_base_image_bundle *b; /* metadata and sources; paths filled at install */
	artifact arts[3];
	size_t n_arts;
} plan;

typedef struct {
	sv_dl_config dl;
	char *cache_dir;
	char *releases_url;
	char *bucket_url;
	const char *runtime_dir;
	unsigned max_stored;
	sv_arch arch;
} env;

static void plan_clear(plan *p)
{
	sv_base_image_bundle_free(p->b);
	for (size_t i = 0; i < p->n_arts; i++) {
		free(p->arts[i].url);
		free(p->arts[i].src_path);
		free(p->arts[i].file_name);
		free(p->arts[i].sha256);
	}
	memset(p, 0, sizeof(*p));
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static const char *key_basename(const char *key)
{
	const char *slash = strrchr(key, '/');
	return slash ? slash + 1 : key;
}

static int add_artifact(plan *p, const char *role, char *url, char *src_path, const char *file_name,
			const char *sha256, int64_t size)
{
	artifact *a = &p->arts[p->n_arts++];
	*a = (artifact){.role = role,
			.url = url,
			.src_path = src_path,
			.file_name = strdup(file_name),
			.sha256 = dup_or_null(sha256),
			.size = size};
	if ((!url && !src_path) || !a->file_name || (sha256 && !a->sha256))
		return sv_err(SV_ENOMEM, "out of memory");
	return 0;
}

static int plan_ci(plan *p, const env *v, sv_base_image_preset preset)
{
	sv_base_image_bundle *b = p->b;
	const char *arch = sv_arch_name(v->arch);
	int rc = 0;
	if (preset == SV_BASE_IMAGE_PRESET_LTS) {
		b->firecracker_version = strdup(SV_LTS_FIRECRACKER_VERSION);
		b->ci_version = strdup(SV_LTS_CI_VERSION);
		if (!b->firecracker_version || !b->ci_version)
			return sv_err(SV_ENOMEM, "out of memory");
	} else {
		if ((rc = sv_release_resolve(&b->firecracker_version, &v->dl, v->releases_url, NULL)) ||
		    (rc = sv_release_ci_version(&b->ci_version, b->firecracker_version)))
			return rc;
	}
	char *prefix = NULL, *listing = NULL;
	sv_ci_objects objs = {0};
	if (asprintf(&prefix, "firecracker-ci/%s/%s/", b->ci_version, arch) < 0) {
		prefix = NULL;
		rc = sv_err(SV_ENOMEM, "out of memory");
		goto out;
	}
	listing = sv_ci_listing_url(v->bucket_url, prefix);
	if (!listing) {
		rc = sv_last_error_code();
		goto out;
	}
	size_t ki, ri;
	if ((rc = sv_ci_list(&objs, &v->dl, v->bucket_url, prefix)) ||
	    (rc = sv_ci_pick(&ki, &ri, &b->rootfs_type, &objs, prefix, listing)))
		goto out;
	const sv_ci_object *k = &objs.items[ki], *r = &objs.items[ri];
	const char *kname = key_basename(k->key), *rname = key_basename(r->key);
	if (asprintf(&b->bundle_id, "firecracker-ci-%s-%s-%s-%s", b->ci_version, arch, kname, rname) < 0) {
		b->bundle_id = NULL;
		rc = sv_err(SV_ENOMEM, "out of memory");
		goto out;
	}
	b->rootfs_is_read_only = b->rootfs_type == SV_ROOTFS_SQUASHFS;
	b->boot_args = strdup(SV_DEFAULT_BOOT_ARGS);
	b->source_type = SV_BASE_IMAGE_SOURCE_FIRECRACKER_CI;
	b->bucket_url = strdup(v->bucket_url);
	b->kernel_key = strdup(k->key);
	b->rootfs_key = strdup(r->key);
	char *kurl = NULL, *rurl = NULL;
	if (asprintf(&kurl, "%s/%s", v->bucket_url, k->key) < 0)
		kurl = NULL;
	if (asprintf(&rurl, "%s/%s", v->bucket_url, r->key) < 0)
		rurl = NULL;
	b->kernel_url = dup_or_null(kurl);
	b->rootfs_url = dup_or_null(rurl);
	if (!b->boot_args || !b->bucket_url || !b->kernel_key || !b->rootfs_key ||
	    !b->kernel_url || !b->rootfs_url) {
		free(kurl);
		free(rurl);
		rc = sv_err(SV_ENOMEM, "out of memory");
		goto out;
	}
	/* The bucket publishes no checksums; the listing's sizes are still checked. */
	if ((rc = add_artifact(p, "kernel", kurl, NULL, kname, NULL, k->size)))
		goto out;
	rc = add_artifact(p, "rootfs", rurl, NULL, rname, NULL, r->size);
out:
	sv_ci_objects_clear(&objs);
	free(listing);
	free(prefix);
	return rc;
}

/* Relative artifact paths in a local manifest are relative to its directory. */
static char *artifact_source_path(const char *manifest_path, const char *path)
{
	if (path[0] == '/' || !manifest_path)
		return strdup(path);
	const char *slash = strrchr(manifest_path, '/');
	if (!slash)
		return strdup(path);
	char *s = NULL;
	if (asprintf(&s, "%.*s/%s", (int)(slash - manifest_path), manifest_path, path) < 0)
		return NULL;
	return s;
}

static int plan_hosted_artifact(plan *p, const sv_manifest_artifact *a, const char *role,
				const char *manifest_path, char **url_field, char **path_field)
{
	char *url = dup_or_null(a->url);
	char *src = a->path ? artifact_source_path(manifest_path, a->path) : NULL;
	*url_field = dup_or_null(url);
	*path_field = dup_or_null(src);
	if ((a->url && (!url || !*url_field)) || (a->path && (!src || !*path_field))) {
		free(url);
		free(src);
		return sv_err(SV_ENOMEM, "out of memory");
	}
	return add_artifact(p, role, url, src, a->file_name, a->sha256, a->size_bytes);
}

static int plan_hosted(plan *p, const env *v, const char *manifest_url, const char *manifest_path)
{
	sv_base_image_bundle *b = p->b;
	const char *source = manifest_path ? manifest_path : manifest_url;
	char *text = NULL;
	/* Both readers refuse what is not a regular file or is too large, and
	 * their messages name the path or URL. */
	int rc = manifest_path ? sv_read_file(manifest_path, MAX_MANIFEST_BYTES, &text, NULL)
			       : sv_download_memory(&v->dl, manifest_url, MAX_MANIFEST_BYTES, &text, NULL);
	if (rc)
		return rc;
	sv_hosted_manifest m;
	rc = manifest_path ? sv_manifest_parse(&m, text, source)
			   : sv_manifest_parse_remote(&m, text, manifest_url);
	free(text);
	if (rc)
		return rc;
	if (m.arch != v->arch) {
		rc = sv_err(SV_EINVAL, "manifest %s: arch: the bundle is for %s, but %s was requested",
			    source, sv_arch_name(m.arch), sv_arch_name(v->arch));
		goto out;
	}
	b->bundle_id = strdup(m.bundle_id);
	b->firecracker_version = strdup(m.firecracker_version);
	b->boot_args = strdup(m.boot_args);
	b->rootfs_type = m.rootfs_type;
	b->rootfs_is_read_only = m.rootfs_is_read_only;
	b->source_type = SV_BASE_IMAGE_SOURCE_HOSTED_MANIFEST;
	b->manifest_url = manifest_path ? NULL : dup_or_null(manifest_url);
	b->manifest_path = dup_or_null(manifest_path);
	if (!b->bundle_id || !b->firecracker_version || !b->boot_args ||
	    (rc = sv_release_ci_version(&b->ci_version, m.firecracker_version))) {
		rc = rc ? rc : sv_err(SV_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = plan_hosted_artifact(p, &m.kernel, "kernel", manifest_path, &b->kernel_url,
				       &b->kernel_source_path)) ||
	    (rc = plan_hosted_artifact(p, &m.rootfs, "rootfs", manifest_path, &b->rootfs_url,
				       &b->rootfs_source_path)))
		goto out;
	if (m.has_initrd)
		rc = plan_hosted_artifact(p, &m.initrd, "initrd", manifest_path, &b->initrd_url,
					  &b->initrd_source_path);
out:
	sv_manifest_clear(&m);
	return rc;
}

static char **checksum_slot(sv_base_image_bundle *b, const char *role)
{
	if (!strcmp(role, "kernel"))
		return &b->kernel_sha256;
	if (!strcmp(role, "rootfs"))
		return &b->rootfs_sha256;
	return &b->initrd_sha256;
}

static uint64_t *size_slot(sv_base_image_bundle *b, const char *role)
{
	if (!strcmp(role, "kernel"))
		return &b->kernel_bytes;
	if (!strcmp(role, "rootfs"))
		return &b->rootfs_bytes;
	return &b->initrd_bytes;
}

static char **path_slot(sv_base_image_bundle *b, const char *role)
{
	if (!strcmp(role, "kernel"))
		return &b->kernel_image_path;
	if (!strcmp(role, "rootfs"))
		return &b->rootfs_path;
	return &b->initrd_path;
}

/* A cached bundle serves the plan if every checksum the plan knows matches
 * (a hosted manifest republished under the same id with new files is a miss). */
static bool cached_matches(sv_base_image_bundle *cached, const plan *p)
{
	for (size_t i = 0; i < p->n_arts; i++) {
		const artifact *a = &p->arts[i];
		const char *have = *checksum_slot(cached, a->role);
		if (!*path_slot(cached, a->role))
			return false;
		if (a->sha256 && (!have || strcasecmp(have, a->sha256) != 0))
			return false;
		if (a->size >= 0 && *size_slot(cached, a->role) != (uint64_t)a->size)
			return false;
	}
	return true;
}

/* Under the cache lock: serves a cached bundle (stamping the access). Returns
 * 1 with *out set on a hit, 0 on a miss, < 0 on error. */
static int try_cache_hit(sv_base_image_bundle **out, const env *v, const plan *p, const char *final_dir)
{
	int lock = -1;
	int rc = sv_cache_lock(&lock, v->cache_dir);
	if (rc)
		return rc;
	sv_base_image_bundle *b = NULL;
	if (sv_bundle_load(&b, final_dir) != 0 || !cached_matches(b, p)) {
		sv_err_clear();
		sv_base_image_bundle_free(b);
		close(lock);
		return 0;
	}
	rc = sv_cache_touch(b);
	if (!rc)
		rc = sv_cache_evict(v->cache_dir, v->runtime_dir, v->max_stored, b->bundle_id);
	close(lock);
	if (rc) {
		sv_base_image_bundle_free(b);
		return rc;
	}
	*out = b;
	return 1;
}

static void remove_stale_partials(const char *cache_dir, const char *bundle_id)
{
	DIR *d = opendir(cache_dir);
	if (!d)
		return;
	char prefix[256];
	snprintf(prefix, sizeof(prefix), ".partial-%s-", bundle_id);
	struct dirent *de;
	while ((de = readdir(d))) {
		/* The suffix is mkdtemp's six characters; a longer one is another id. */
		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0 ||
		    strlen(de->d_name) != strlen(prefix) + 6)
			continue;
		char *path = sv_path_join(cache_dir, de->d_name);
		if (path)
			sv_rm_rf(path);
		free(path);
	}
	closedir(d);
}

/* Errors name the artifact ("rootfs: downloading ...", "kernel.path: copying ..."). */
static int fetch_artifact(const env *v, artifact *a, const char *dest, char sha[65], uint64_t *size)
{
	if (a->url)
		return sv_download_file(&v->dl, a->url, dest, a->sha256, a->size, sha, size)
			   ? sv_err_prefix("%s", a->role)
			   : 0;
	return sv_copy_verified(a->src_path, dest, a->sha256, a->size, v->dl.max_bytes, sha, size)
		   ? sv_err_prefix("%s.path", a->role)
		   : 0;
}

static int fsync_cache_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return sv_err_errno(SV_EIO, errno, "opening %s", dir);
	int rc = fsync(fd) == 0 ? 0 : sv_err_errno(SV_EIO, errno, "syncing %s", dir);
	close(fd);
	return rc;
}

/* Fetches every artifact into staging, writes bundle.json there, then swaps
 * it into final_dir under the cache lock and evicts. The caller holds the
 * bundle's lock. */
static int download_and_install(sv_base_image_bundle **out, const env *v, plan *p, const char *final_dir)
{
	sv_base_image_bundle *b = p->b;
	char *tmp = NULL, *staging = NULL, *previous = NULL;
	int rc = 0, lock = -1;
	remove_stale_partials(v->cache_dir, b->bundle_id);
	if (asprintf(&tmp, "%s/.partial-%s-XXXXXX", v->cache_dir, b->bundle_id) < 0) {
		tmp = NULL;
		return sv_err(SV_ENOMEM, "out of memory");
	}
	if (!mkdtemp(tmp)) {
		rc = sv_err_errno(SV_EIO, errno, "creating %s", tmp);
		free(tmp);
		return rc;
	}
	staging = sv_path_join(tmp, "bundle");
	previous = sv_path_join(tmp, "previous");
	if (!staging || !previous) {
		rc = sv_err(SV_ENOMEM, "out of memory");
		goto out;
	}
	if (mkdir(staging, 0755) != 0) {
		rc = sv_err_errno(SV_EIO, errno, "creating %s", staging);
		goto out;
	}
	for (size_t i = 0; i < p->n_arts && !rc; i++) {
		artifact *a = &p->arts[i];
		char *dest = sv_path_join(staging, a->file_name);
		char *final_path = sv_path_join(final_dir, a->file_name);
		char sha[65];
		uint64_t size = 0;
		if (!dest || !final_path)
			rc = sv_err(SV_ENOMEM, "out of memory");
		else if (!(rc = fetch_artifact(v, a, dest, sha, &size))) {
			char **sum = checksum_slot(b, a->role);
			free(*sum);
			*sum = strdup(sha);
			*size_slot(b, a->role) = size;
			*path_slot(b, a->role) = final_path;
			final_path = NULL;
			if (!*sum)
				rc = sv_err(SV_ENOMEM, "out of memory");
		}
		free(final_path);
		free(dest);
	}
	if (rc)
		goto out;
	char now[SV_TIMESTAMP_LEN];
	sv_utc_timestamp(now);
	b->created_at = strdup(now);
	b->last_accessed_at = strdup(now);
	b->bundle_dir = strdup(final_dir);
	if (!b->created_at || !b->last_accessed_at || !b->bundle_dir) {
		rc = sv_err(SV_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = sv_bundle_save(b, staging)) || (rc = sv_cache_lock(&lock, v->cache_dir)))
		goto out;
	/* A previous copy (forced re-download, or a damaged one) moves into the
	 * scratch directory and goes with it. */
	if (rename(final_dir, previous) != 0 && errno != ENOENT) {
		rc = sv_err_errno(SV_EIO, errno, "replacing %s", final_dir);
		goto out;
	}
	if (rename(staging, final_dir) != 0) {
		rc = sv_err_errno(SV_EIO, errno, "installing %s", final_dir);
		rename(previous, final_dir);
		goto out;
	}
	if (fsync_cache_dir(v->cache_dir) != 0)
		sv_err_clear();
	rc = sv_cache_evict(v->cache_dir, v->runtime_dir, v->max_stored, b->bundle_id);
	if (!rc) {
		*out = b;
		p->b = NULL;
	}
out:
	if (lock >= 0)
		close(lock);
	sv_err_saved saved;
	sv_err_save(&saved);
	sv_rm_rf(tmp);
	sv_err_restore(&saved);
	free(staging);
	free(previous);
	free(tmp);
	return rc;
}

static void env_clear(env *v)
{
	free(v->cache_dir);
	free(v->releases_url);
	free(v->bucket_url);
}

static int env_resolve(env *v, const sv_base_image_options *o, const sv_ensure_base_image_opts *e)
{
	memset(v, 0, sizeof(*v));
	sv_dl_config_resolve(&v->dl, o->download);
	v->cache_dir = sv_images_cache_dir(o);
	v->releases_url = sv_images_releases_url(o->releases_url);
	v->bucket_url = sv_images_ci_bucket_url(o->ci_bucket_url);
	v->runtime_dir = o->runtime_dir;
	v->max_stored = o->max_stored_base_images ? o->max_stored_base_images : 2;
	v->arch = e->override_arch ? e->arch : o->arch;
	if (!v->cache_dir || !v->releases_url || !v->bucket_url)
		return sv_err(SV_ENOMEM, "out of memory");
	if (v->arch != SV_ARCH_X86_64 && v->arch != SV_ARCH_AARCH64)
		return sv_err(SV_EINVAL, "arch: unknown architecture %d", (int)v->arch);
	if (e->preset != SV_BASE_IMAGE_PRESET_LATEST && e->preset != SV_BASE_IMAGE_PRESET_LTS &&
	    e->preset != SV_BASE_IMAGE_PRESET_HOSTED)
		return sv_err(SV_EINVAL, "preset: unknown preset %d", (int)e->preset);
	return 0;
}

/* Which source the options name: a manifest given in e wins over the preset;
 * the hosted preset takes the manager's manifest; a path wins over a URL. */
static int choose_source(const char **manifest_url, const char **manifest_path,
			 const sv_base_image_options *o, const sv_ensure_base_image_opts *e)
{
	*manifest_url = *manifest_path = NULL;
	if ((e->manifest_path && *e->manifest_path) || (e->manifest_url && *e->manifest_url)) {
		if (e->manifest_path && *e->manifest_path)
			*manifest_path = e->manifest_path;
		else
			*manifest_url = e->manifest_url;
	} else if (e->preset == SV_BASE_IMAGE_PRESET_HOSTED) {
		if (o->hosted_manifest_path && *o->hosted_manifest_path)
			*manifest_path = o->hosted_manifest_path;
		else if (o->hosted_manifest_url && *o->hosted_manifest_url)
			*manifest_url = o->hosted_manifest_url;
		else
			return sv_err(SV_EINVAL,
				      "preset: \"hosted\" needs hosted_manifest_url or hosted_manifest_path");
	}
	return 0;
}

static int ensure(sv_base_image_bundle **out, const env *v, plan *p, bool force)
{
	const char *id = p->b->bundle_id;
	char *final_dir = sv_path_join(v->cache_dir, id);
	int lock = -1;
	int rc = final_dir ? sv_trusted_dir("base_image_cache_dir", v->cache_dir, 0755, NULL)
			   : sv_err(SV_ENOMEM, "out of memory");
	if (!rc && !force)
		rc = try_cache_hit(out, v, p, final_dir);
	if (rc == 0)
		rc = sv_cache_lock_bundle(&lock, v->cache_dir, id);
	/* Whoever held the bundle's lock may just have installed it. */
	if (rc == 0 && !force)
		rc = try_cache_hit(out, v, p, final_dir);
	if (rc == 0)
		rc = download_and_install(out, v, p, final_dir);
	if (lock >= 0)
		close(lock);
	free(final_dir);
	return rc < 0 ? rc : 0;
}

SV_DEFINE_OPTIONS_INIT(sv_base_image_options, SV_BASE_IMAGE_OPTIONS)
SV_DEFINE_OPTIONS_INIT(sv_ensure_base_image_opts, SV_ENSURE_BASE_IMAGE_OPTS)

int sv_ensure_base_image(sv_base_image_bundle **out, const sv_base_image_options *o,
			 const sv_ensure_base_image_opts *e)
{
	sv_err_clear();
	*out = NULL;
	int vrc = SV_CHECK_OPTIONS(o, sv_base_image_options, SV_BASE_IMAGE_OPTIONS);
	if (!vrc)
		vrc = SV_CHECK_OPTIONS(e, sv_ensure_base_image_opts, SV_ENSURE_BASE_IMAGE_OPTS);
	if (!vrc && o)
		vrc = SV_CHECK_OPTIONS(o->download, sv_download_options, SV_DOWNLOAD_OPTIONS);
	if (vrc)
		return vrc;
	static const sv_base_image_options no_options;
	static const sv_ensure_base_image_opts no_ensure;
	if (!o)
		o = &no_options;
	if (!e)
		e = &no_ensure;
	env v;
	plan p = {0};
	const char *manifest_url, *manifest_path;
	int rc = env_resolve(&v, o, e);
	if (!rc)
		rc = choose_source(&manifest_url, &manifest_path, o, e);
	if (!rc && !(p.b = calloc(1, sizeof(*p.b))))
		rc = sv_err(SV_ENOMEM, "out of memory");
	if (rc)
		goto out;
	bool hosted = manifest_url || manifest_path;
	p.b->version = SV_BASE_IMAGE_BUNDLE_VERSION;
	p.b->preset = hosted ? SV_BASE_IMAGE_PRESET_HOSTED : e->preset;
	p.b->arch = v.arch;
	rc = hosted ? plan_hosted(&p, &v, manifest_url, manifest_path) : plan_ci(&p, &v, e->preset);
	if (rc) {
		if (hosted)
			sv_err_prefix("resolving base image from %s",
				      manifest_path ? manifest_path : manifest_url);
		else
			sv_err_prefix("resolving base image (preset %s, %s)",
				      sv_base_image_preset_name(e->preset), sv_arch_name(v.arch));
		goto out;
	}
	rc = ensure(out, &v, &p, e->force_download);
	if (rc)
		sv_err_prefix("ensuring base image \"%s\"", p.b ? p.b->bundle_id : "?");
out:
	plan_clear(&p);
	env_clear(&v);
	return rc;
}
