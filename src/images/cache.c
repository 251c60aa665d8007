/* The base-image cache (see cache.h): listing, access stamps, LRU eviction
 * and removal. A bundle a running VM uses is never removed: a VM started from
 * a bundle has <runtime_dir>/<vm_id>/base-image naming it, and the VM layer
 * deletes that directory on cleanup, so its presence means "in use". */
#include "images/cache.h"

#include "images/bundle_json.h"
#include "images/images_defaults.h"
#include "images/manifest.h"
#include "util/error.h"
#include "util/file.h"
#include "util/log.h"
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int sv_cache_lock(int *fd_out, const char *cache_dir)
{
	char *path = sv_path_join(cache_dir, ".lock");
	if (!path)
		return sv_err(SV_ENOMEM, "out of memory");
	int rc = sv_lock_file(path, SV_CACHE_LOCK_TIMEOUT_MS, fd_out);
	free(path);
	return rc;
}

int sv_cache_lock_bundle(int *fd_out, const char *cache_dir, const char *bundle_id)
{
	char *path = NULL;
	if (asprintf(&path, "%s/.%s.lock", cache_dir, bundle_id) < 0)
		return sv_err(SV_ENOMEM, "out of memory");
	int rc = sv_lock_file(path, SV_CACHE_LOCK_TIMEOUT_MS, fd_out);
	free(path);
	return rc;
}

typedef struct {
	sv_base_image_bundle *b;
	struct timespec mtime;
} entry;

static int cmp_lru(const void *pa, const void *pb)
{
	const entry *a = pa, *b = pb;
	/* ISO 8601 UTC stamps of one fixed format order as strings. */
	int c = strcmp(a->b->last_accessed_at, b->b->last_accessed_at);
	if (c)
		return c;
	if (a->mtime.tv_sec != b->mtime.tv_sec)
		return a->mtime.tv_sec < b->mtime.tv_sec ? -1 : 1;
	if (a->mtime.tv_nsec != b->mtime.tv_nsec)
		return a->mtime.tv_nsec < b->mtime.tv_nsec ? -1 : 1;
	return strcmp(a->b->bundle_id, b->b->bundle_id);
}

int sv_cache_scan(sv_base_image_bundle ***out, size_t *n, const char *cache_dir)
{
	*out = NULL;
	*n = 0;
	DIR *d = opendir(cache_dir);
	if (!d)
		return 0; /* no cache yet: no bundles */
	entry *entries = NULL;
	size_t len = 0, cap = 0;
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d)) && !rc) {
		if (!sv_bundle_id_valid(de->d_name) || de->d_name[0] == '.')
			continue;
		char *dir = sv_path_join(cache_dir, de->d_name);
		char *json = dir ? sv_path_join(dir, "bundle.json") : NULL;
		sv_base_image_bundle *b = NULL;
		struct stat st;
		if (!json) {
			rc = sv_err(SV_ENOMEM, "out of memory");
		} else if (stat(json, &st) == 0 && sv_bundle_load(&b, dir) == 0) {
			if (len == cap) {
				cap = cap ? cap * 2 : 8;
				entry *e = realloc(entries, cap * sizeof(*e));
				if (!e)
					rc = sv_err(SV_ENOMEM, "out of memory");
				else
					entries = e;
			}
			if (!rc)
				entries[len++] = (entry){ .b = b, .mtime = st.st_mtim };
			else
				sv_base_image_bundle_free(b);
		}
		free(json);
		free(dir);
	}
	closedir(d);
	sv_err_clear();
	if (!rc && len) {
		qsort(entries, len, sizeof(*entries), cmp_lru);
		*out = calloc(len, sizeof(**out));
		if (!*out)
			rc = sv_err(SV_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < len; i++) {
		if (rc)
			sv_base_image_bundle_free(entries[i].b);
		else
			(*out)[i] = entries[i].b;
	}
	if (!rc)
		*n = len;
	free(entries);
	return rc;
}

int sv_cache_touch(sv_base_image_bundle *b)
{
	char now[32];
	sv_images_now_iso(now);
	char *stamp = strdup(now);
	if (!stamp)
		return sv_err(SV_ENOMEM, "out of memory");
	free(b->last_accessed_at);
	b->last_accessed_at = stamp;
	return sv_bundle_save(b, b->bundle_dir);
}

bool sv_base_image_in_use(const char *runtime_dir, const char *bundle_id)
{
	char *rt = sv_images_runtime_dir(runtime_dir);
	DIR *d = rt ? opendir(rt) : NULL;
	bool used = false;
	struct dirent *de;
	while (d && !used && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *path = NULL;
		if (asprintf(&path, "%s/%s/base-image", rt, de->d_name) < 0)
			break;
		char *text = NULL;
		if (sv_read_file(path, 4096, &text, NULL) == 0) {
			text[strcspn(text, "\r\n")] = '\0';
			used = !strcmp(text, bundle_id);
		}
		free(text);
		free(path);
	}
	if (d)
		closedir(d);
	free(rt);
	return used;
}

/* Moves the bundle directory out of the way first, so a half-removed bundle
 * is never seen under its own name. */
static int remove_bundle_dir(const char *cache_dir, const char *bundle_id)
{
	char *dir = sv_path_join(cache_dir, bundle_id);
	char *trash = NULL;
	int rc = 0;
	if (!dir || asprintf(&trash, "%s/.removing-%s-%d", cache_dir, bundle_id, (int)getpid()) < 0) {
		free(dir);
		return sv_err(SV_ENOMEM, "out of memory");
	}
	sv_rm_rf(trash);
	if (rename(dir, trash) != 0)
		rc = sv_err_errno(SV_EIO, errno, "removing %s", dir);
	else
		rc = sv_rm_rf(trash);
	free(trash);
	free(dir);
	return rc;
}

int sv_cache_evict(const char *cache_dir, const char *runtime_dir, unsigned max,
		   const char *keep_id)
{
	sv_base_image_bundle **all = NULL;
	size_t n = 0;
	int rc = sv_cache_scan(&all, &n, cache_dir);
	if (rc)
		return rc;
	size_t remaining = n;
	for (size_t i = 0; i < n && remaining > max; i++) {
		const char *id = all[i]->bundle_id;
		if (keep_id && !strcmp(id, keep_id))
			continue;
		if (sv_base_image_in_use(runtime_dir, id)) {
			sv_info("keeping base image bundle \"%s\": a running VM uses it", id);
			continue;
		}
		int r = remove_bundle_dir(cache_dir, id);
		if (r) {
			sv_warn("evicting base image bundle \"%s\": %s", id, sv_last_error());
			continue;
		}
		remaining--;
		sv_warn("evicted base image bundle \"%s\" (least recently used; keeping at most %u)", id,
			max);
	}
	if (remaining > max)
		sv_warn("%zu base image bundles cached, more than %u: the others are in use", remaining,
			max);
	sv_base_image_bundles_free(all, n);
	sv_err_clear();
	return 0;
}

static char *resolved_cache_dir(const sv_base_image_options *o)
{
	if (o && o->cache_dir && *o->cache_dir)
		return strdup(o->cache_dir);
	char *data = sv_images_data_dir(o ? o->data_dir : NULL);
	char *dir = data ? sv_path_join(data, "base-images") : NULL;
	free(data);
	return dir;
}

char *sv_images_cache_dir(const sv_base_image_options *o)
{
	return resolved_cache_dir(o);
}

int sv_base_image_list(sv_base_image_bundle ***out, size_t *n, const sv_base_image_options *o)
{
	sv_err_clear();
	char *dir = resolved_cache_dir(o);
	if (!dir)
		return sv_err(SV_ENOMEM, "out of memory");
	int rc = sv_cache_scan(out, n, dir);
	free(dir);
	return rc;
}

int sv_base_image_open(sv_base_image_bundle **out, const sv_base_image_options *o,
		       const char *bundle_id)
{
	sv_err_clear();
	*out = NULL;
	if (!sv_bundle_id_valid(bundle_id))
		return sv_err(SV_EINVAL, "bundle id: \"%s\" may contain only A-Z a-z 0-9 . _ -",
			      bundle_id ? bundle_id : "");
	char *dir = resolved_cache_dir(o);
	char *bundle_dir = dir ? sv_path_join(dir, bundle_id) : NULL;
	int rc = 0, lock = -1;
	sv_base_image_bundle *b = NULL;
	if (!bundle_dir)
		rc = sv_err(SV_ENOMEM, "out of memory");
	else if (!sv_path_exists(bundle_dir))
		rc = sv_err(SV_ENOTFOUND, "base image bundle \"%s\" is not cached in %s", bundle_id, dir);
	else if (!(rc = sv_cache_lock(&lock, dir))) {
		rc = sv_bundle_load(&b, bundle_dir);
		if (rc == SV_ENOTFOUND)
			rc = sv_err(SV_ENOTFOUND, "base image bundle \"%s\" is not cached in %s", bundle_id,
				    dir);
		else if (rc)
			sv_err_prefix("base image bundle \"%s\"", bundle_id);
		else
			rc = sv_cache_touch(b);
		close(lock);
	}
	if (rc)
		sv_base_image_bundle_free(b);
	else
		*out = b;
	free(bundle_dir);
	free(dir);
	return rc;
}

int sv_base_image_remove(const sv_base_image_options *o, const char *bundle_id)
{
	sv_err_clear();
	if (!sv_bundle_id_valid(bundle_id))
		return sv_err(SV_EINVAL, "bundle id: \"%s\" may contain only A-Z a-z 0-9 . _ -",
			      bundle_id ? bundle_id : "");
	char *dir = resolved_cache_dir(o);
	if (!dir)
		return sv_err(SV_ENOMEM, "out of memory");
	char *bundle_dir = sv_path_join(dir, bundle_id);
	int lock = -1;
	int rc = 0;
	if (!bundle_dir)
		rc = sv_err(SV_ENOMEM, "out of memory");
	else if (!sv_path_exists(bundle_dir))
		rc = sv_err(SV_ENOTFOUND, "base image bundle \"%s\" is not cached in %s", bundle_id, dir);
	else if (!(rc = sv_cache_lock(&lock, dir))) {
		if (sv_base_image_in_use(o ? o->runtime_dir : NULL, bundle_id))
			rc = sv_err(SV_EBUSY, "base image bundle \"%s\" is in use by a running VM",
				    bundle_id);
		else if (!sv_path_exists(bundle_dir))
			rc = sv_err(SV_ENOTFOUND, "base image bundle \"%s\" is not cached in %s",
				    bundle_id, dir);
		else
			rc = remove_bundle_dir(dir, bundle_id);
		close(lock);
	}
	free(bundle_dir);
	free(dir);
	return rc;
}
