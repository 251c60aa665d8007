/* The base-image cache (see cache.h): listing, access stamps, LRU eviction
 * and removal. A bundle a running VM uses is never removed. A VM started from
 * a bundle names it in <vm_dir>/base-image and registers its directory in
 * <cache_dir>/.in-use/<bundle_id>.<random>; the bundle is in use while such a
 * VM is alive, judged from the VM itself (util/vm_alive.h), wherever its
 * runtime dir is. VM directories in the runtime dir the caller names count
 * too (VMs started before the registry existed). When the check cannot tell
 * (an unreadable directory or record), the answer is "in use": failing closed
 * keeps a live VM's image; failing open once let eviction delete it. */
#include "images/cache.h"

#include "images/bundle_json.h"
#include "images/images_defaults.h"
#include "images/manifest.h"
#include "util/array.h"
#include "util/error.h"
#include "util/options_version.h"
#include "util/file.h"
#include "util/log.h"
#include "util/timestamp.h"
#include "util/trusted_dir.h"
#include "util/vm_alive.h"
#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IN_USE_DIR ".in-use"
#define WHAT_CACHE "base_image_cache_dir" /* names the option in refusals */

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
	int cfd = -1;
	int rc = sv_trusted_dir_existing(WHAT_CACHE, cache_dir, &cfd);
	if (rc == SV_ENOTFOUND) {
		sv_err_clear();
		return 0; /* no cache yet: no bundles */
	}
	if (rc)
		return rc;
	DIR *d = fdopendir(cfd);
	if (!d) {
		close(cfd);
		return sv_err_errno(SV_EIO, errno, "listing %s", cache_dir);
	}
	entry *entries = NULL;
	size_t len = 0, cap = 0;
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
			entry *e = sv_array_grow(entries, &cap, len, sizeof(*e), 8);
			if (!e)
				rc = sv_err(SV_ENOMEM, "out of memory");
			else
				entries = e;
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
	char now[SV_TIMESTAMP_LEN];
	sv_utc_timestamp(now);
	char *stamp = strdup(now);
	if (!stamp)
		return sv_err(SV_ENOMEM, "out of memory");
	free(b->last_accessed_at);
	b->last_accessed_at = stamp;
	return sv_bundle_save(b, b->bundle_dir);
}

int sv_cache_mark_in_use(const char *cache_dir, const char *bundle_id, const char *vm_dir)
{
	int cfd = -1, ufd = -1, lock = -1;
	int rc = sv_trusted_dir_existing(WHAT_CACHE, cache_dir, &cfd);
	struct stat st;
	if (rc == SV_ENOTFOUND) {
		sv_err_clear(); /* no cache: the bundle is not from here */
		return 0;
	}
	if (rc)
		return rc;
	/* Under the cache lock, so an eviction deciding right now either sees
	 * this record or has already removed the bundle (then there is nothing
	 * to register, and the boot fails on its missing files). */
	if ((rc = sv_cache_lock(&lock, cache_dir)))
		goto out;
	if (fstatat(cfd, bundle_id, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		/* Not from this cache (a library caller's own bundle): nothing
		 * here to protect. */
		sv_debug("base image \"%s\" is not in %s; not registering its use", bundle_id, cache_dir);
		goto out;
	}
	if ((rc = sv_trusted_subdir(WHAT_CACHE, cfd, cache_dir, IN_USE_DIR, 0755, &ufd)))
		goto out;
	char name[256], *text = NULL, *dir_path = sv_path_join(cache_dir, IN_USE_DIR);
	snprintf(name, sizeof(name), "%s.%016llx", bundle_id, sv_random_u64());
	if (!dir_path || asprintf(&text, "%s\n", vm_dir) < 0)
		rc = sv_err(SV_ENOMEM, "out of memory");
	else
		rc = sv_write_file_atomic_at(ufd, dir_path, name, text, strlen(text), 0644);
	free(text);
	free(dir_path);
out:
	if (lock >= 0)
		close(lock);
	if (ufd >= 0)
		close(ufd);
	close(cfd);
	return rc;
}

/* Does the VM at vm_dir, alive, use bundle_id? 1 yes, 0 no, < 0 cannot tell. */
static int vm_dir_uses(const char *vm_dir, const char *bundle_id)
{
	int alive = sv_vm_dir_alive(vm_dir);
	if (alive <= 0)
		return alive;
	/* The directory may since hold another VM: ask it what it boots. */
	int dfd = open(vm_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char *text = NULL;
	int rc = dfd < 0
		     ? (errno == ENOENT ? SV_ENOTFOUND : sv_err_errno(SV_EIO, errno, "opening %s", vm_dir))
		     : sv_read_file_at(dfd, vm_dir, SV_CACHE_VM_BUNDLE_FILE, 4096, &text, NULL);
	if (dfd >= 0)
		close(dfd);
	if (rc == SV_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	text[strcspn(text, "\r\n")] = '\0';
	int used = !strcmp(text, bundle_id);
	free(text);
	return used;
}

/* The registered users of bundle_id in <cache_dir>/.in-use; records of dead
 * VMs are removed when prune (the caller holds the cache lock). */
static int registered_use(const char *cache_dir, const char *bundle_id, bool prune, bool *used)
{
	int cfd = -1, ufd = -1;
	int rc = sv_trusted_dir_existing(WHAT_CACHE, cache_dir, &cfd);
	if (!rc)
		rc = sv_trusted_subdir_existing(WHAT_CACHE, cfd, cache_dir, IN_USE_DIR, &ufd);
	if (cfd >= 0)
		close(cfd);
	if (rc == SV_ENOTFOUND) {
		sv_err_clear();
		return 0;
	}
	if (rc)
		return rc;
	char *dir_path = sv_path_join(cache_dir, IN_USE_DIR);
	int dup_fd = dup(ufd);
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	if (!d || !dir_path) {
		rc = sv_err_errno(SV_EIO, errno, "listing %s/%s", cache_dir, IN_USE_DIR);
		if (dup_fd >= 0 && !d)
			close(dup_fd);
	}
	for (struct dirent *de; !rc && !*used && d && (de = readdir(d));) {
		const char *dot = strrchr(de->d_name, '.');
		size_t n = dot ? (size_t)(dot - de->d_name) : 0;
		if (!dot || n != strlen(bundle_id) || strncmp(de->d_name, bundle_id, n))
			continue;
		char *text = NULL;
		if ((rc = sv_read_file_at(ufd, dir_path, de->d_name, 8192, &text, NULL)) == SV_ENOTFOUND) {
			rc = 0; /* pruned by someone else meanwhile */
			continue;
		}
		if (rc)
			break;
		text[strcspn(text, "\n")] = '\0';
		int u = vm_dir_uses(text, bundle_id);
		if (u < 0)
			rc = u;
		else if (u)
			*used = true;
		else if (prune && unlinkat(ufd, de->d_name, 0) == 0)
			sv_debug("base image \"%s\": dropped the record of %s, no longer running", bundle_id,
				 text);
		free(text);
	}
	if (d)
		closedir(d);
	close(ufd);
	free(dir_path);
	return rc;
}

/* VMs in runtime_dir whose base-image names bundle_id and that are alive. */
static int runtime_dir_use(const char *runtime_dir, const char *bundle_id, bool *used)
{
	char *rt = sv_images_runtime_dir(runtime_dir);
	int rtfd = -1;
	int rc = rt ? sv_trusted_dir_existing("runtime_dir", rt, &rtfd) : sv_err(SV_ENOMEM, "out of memory");
	if (rc == SV_ENOTFOUND) {
		sv_err_clear();
		free(rt);
		return 0;
	}
	DIR *d = rc ? NULL : fdopendir(rtfd);
	if (!rc && !d) {
		rc = sv_err_errno(SV_EIO, errno, "listing %s", rt);
		close(rtfd);
	}
	for (struct dirent *de; !rc && !*used && d && (de = readdir(d));) {
		if (de->d_name[0] == '.')
			continue;
		char *vm_dir = sv_path_join(rt, de->d_name);
		int u = vm_dir ? vm_dir_uses(vm_dir, bundle_id) : sv_err(SV_ENOMEM, "out of memory");
		free(vm_dir);
		if (u < 0)
			rc = u;
		else if (u)
			*used = true;
	}
	if (d)
		closedir(d);
	free(rt);
	return rc;
}

static int in_use(bool *used, const char *cache_dir, const char *runtime_dir, const char *bundle_id,
		  bool prune)
{
	*used = false;
	int rc = registered_use(cache_dir, bundle_id, prune, used);
	if (!rc && !*used)
		rc = runtime_dir_use(runtime_dir, bundle_id, used);
	if (rc) {
		*used = true; /* fail closed */
		return sv_err_prefix("base image bundle \"%s\": cannot tell whether a VM uses it", bundle_id);
	}
	return 0;
}

int sv_base_image_in_use(bool *used, const sv_base_image_options *o, const char *bundle_id)
{
	sv_err_clear();
	int vrc = SV_CHECK_OPTIONS(o, sv_base_image_options, SV_BASE_IMAGE_OPTIONS);
	if (vrc)
		return vrc;
	*used = true;
	char *dir = sv_images_cache_dir(o);
	int rc = dir ? in_use(used, dir, o ? o->runtime_dir : NULL, bundle_id, false)
		     : sv_err(SV_ENOMEM, "out of memory");
	free(dir);
	return rc;
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
		bool used = true;
		if (in_use(&used, cache_dir, runtime_dir, id, true) != 0) {
			sv_warn("keeping %s", sv_last_error());
			continue;
		}
		if (used) {
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

/* The cache dir passes sv_trusted_dir's checks (or does not exist yet). */
static int check_cache_dir(const char *dir)
{
	int rc = sv_trusted_dir_existing(WHAT_CACHE, dir, NULL);
	if (rc == SV_ENOTFOUND) {
		sv_err_clear();
		return 0;
	}
	return rc;
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
	int vrc = SV_CHECK_OPTIONS(o, sv_base_image_options, SV_BASE_IMAGE_OPTIONS);
	if (vrc)
		return vrc;
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
	int vrc = SV_CHECK_OPTIONS(o, sv_base_image_options, SV_BASE_IMAGE_OPTIONS);
	if (vrc)
		return vrc;
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
	else if ((rc = check_cache_dir(dir)))
		;
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
	int vrc = SV_CHECK_OPTIONS(o, sv_base_image_options, SV_BASE_IMAGE_OPTIONS);
	if (vrc)
		return vrc;
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
	else if ((rc = check_cache_dir(dir)))
		;
	else if (!sv_path_exists(bundle_dir))
		rc = sv_err(SV_ENOTFOUND, "base image bundle \"%s\" is not cached in %s", bundle_id, dir);
	else if (!(rc = sv_cache_lock(&lock, dir))) {
		bool used = true;
		if ((rc = in_use(&used, dir, o ? o->runtime_dir : NULL, bundle_id, true)))
			;
		else if (used)
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
