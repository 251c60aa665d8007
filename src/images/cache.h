/* The base-image cache directory: <cache_dir>/<bundle_id>/ with bundle.json,
 * a cache-wide lock (<cache_dir>/.lock) guarding installs, access stamps,
 * eviction and removal, and per-bundle locks (<cache_dir>/.<id>.lock)
 * held while one bundle is downloaded. Lock order: bundle lock, then cache
 * lock; never the reverse. */
#ifndef SV_IMAGES_CACHE_H
#define SV_IMAGES_CACHE_H

#include <smartvm/images.h>

#define SV_CACHE_LOCK_TIMEOUT_MS (30 * 60 * 1000)

/* o->cache_dir, else <data_dir>/base-images (malloc'd). */
char *sv_images_cache_dir(const sv_base_image_options *o);

int sv_cache_lock(int *fd_out, const char *cache_dir);
int sv_cache_lock_bundle(int *fd_out, const char *cache_dir, const char *bundle_id);

/* Every loadable bundle, least recently used first (ties broken by the
 * bundle.json modification time). Unloadable directories are skipped. */
int sv_cache_scan(sv_base_image_bundle ***out, size_t *n, const char *cache_dir);

/* Stamps lastAccessedAt = now and saves bundle.json. Caller holds the cache lock. */
int sv_cache_touch(sv_base_image_bundle *b);

/* In a VM directory: the id of the bundle the VM boots from (written by the
 * VM layer, read by the in-use check). */
#define SV_CACHE_VM_BUNDLE_FILE "base-image"

/* Registers the VM directory vm_dir as a user of bundle_id (see cache.c):
 * eviction and removal then keep the bundle while that VM is alive, whatever
 * runtime dir they are given. Takes the cache lock. A bundle that is not in
 * cache_dir is not registered (nothing there to keep). */
int sv_cache_mark_in_use(const char *cache_dir, const char *bundle_id, const char *vm_dir);

/* Evicts least recently used bundles until at most max remain, never keep_id
 * and never one in use (or whose use cannot be told); warns for each. Caller holds the
 * cache lock. */
int sv_cache_evict(const char *cache_dir, const char *runtime_dir, unsigned max,
		   const char *keep_id);

#endif
