/* The base-image cache: LRU eviction beyond max_stored_base_images (never a
 * bundle a running VM uses), listing, removal, bundle.json, and turning a
 * bundle into a VM config. Bundles come from local manifests: no network. */
#include "svtest.h"

#include "imagesfixture.h"
#include "logcapture.h"
#include "util/file.h"
#include <jansson.h>
#include <smartvm/error.h>
#include <smartvm/images.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

typedef struct {
	char *dir, *cache, *runtime, *src;
	int locks[4]; /* held for the "running" VMs of mark_in_use */
	int n_locks;
	sv_download_options dl;
	sv_base_image_options o;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	f->dir = svt_tmpdir();
	f->cache = sv_path_join(f->dir, "cache");
	f->runtime = sv_path_join(f->dir, "runtime");
	f->src = sv_path_join(f->dir, "src");
	assert_int_equal(sv_mkdir_p(f->src, 0755), 0);
	assert_int_equal(sv_mkdir_p(f->runtime, 0755), 0);
	free(svt_write(f->src, "vmlinux", "kernel"));
	free(svt_write(f->src, "rootfs.ext4", "rootfs"));
	f->dl = (sv_download_options){.version = SV_DOWNLOAD_OPTIONS_VERSION, .max_retries = -1};
	f->o = (sv_base_image_options){.version = SV_BASE_IMAGE_OPTIONS_VERSION,
				       .cache_dir = f->cache,
				       .runtime_dir = f->runtime,
				       .max_stored_base_images = 2,
				       .download = &f->dl};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	for (int i = 0; i < f->n_locks; i++)
		close(f->locks[i]);
	free(f->cache);
	free(f->runtime);
	free(f->src);
	svt_rm_tmpdir(f->dir);
	free(f);
	return 0;
}

static void pull(fixture *f, const char *id)
{
	char name[64], json[1024];
	snprintf(name, sizeof(name), "%s.json", id);
	snprintf(
	    json, sizeof(json),
	    "{\"schemaVersion\":1,\"bundleId\":\"%s\",\"arch\":\"x86_64\",\"firecrackerVersion\":\"v1.7.0\","
	    "\"rootfsType\":\"ext4\",\"kernel\":{\"path\":\"vmlinux\"},\"rootfs\":{\"path\":\"rootfs.ext4\"}"
	    "}",
	    id);
	char *manifest = svt_write(f->src, name, json);
	sv_ensure_base_image_opts e = {.version = SV_ENSURE_BASE_IMAGE_OPTS_VERSION,
				       .manifest_path = manifest};
	sv_base_image_bundle *b = NULL;
	assert_int_equal(sv_ensure_base_image(&b, &f->o, &e), 0);
	assert_string_equal(b->bundle_id, id);
	sv_base_image_bundle_free(b);
	free(manifest);
	usleep(2000); /* distinct access stamps */
}

static bool cached(fixture *f, const char *id)
{
	char *dir = sv_path_join(f->cache, id);
	bool yes = sv_path_exists(dir);
	free(dir);
	return yes;
}

/* A running VM that uses bundle id: its directory names the bundle and its
 * lock is held (as its supervisor holds it). */
static void mark_in_use(fixture *f, const char *vm, const char *id)
{
	char *vm_dir = sv_path_join(f->runtime, vm);
	assert_int_equal(sv_mkdir_p(vm_dir, 0755), 0);
	char text[64];
	snprintf(text, sizeof(text), "%s\n", id);
	free(svt_write(vm_dir, "base-image", text));
	char *lock = svt_write(vm_dir, "lock", "");
	assert_true(f->n_locks < 4);
	int fd = open(lock, O_RDONLY | O_CLOEXEC);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	f->locks[f->n_locks++] = fd;
	free(lock);
	free(vm_dir);
}

static void test_least_recently_used_bundle_is_evicted_with_a_warning(void **state)
{
	fixture *f = *state;
	pull(f, "a");
	pull(f, "b");
	svt_log_begin(SV_LOG_WARN);
	pull(f, "c");
	char *err = svt_log_end();
	assert_false(cached(f, "a"));
	assert_true(cached(f, "b"));
	assert_true(cached(f, "c"));
	assert_string_equal(
	    err,
	    "warning: evicted base image bundle \"a\" (least recently used; keeping at most 2)\n");
	free(err);
}

static void test_access_makes_a_bundle_recently_used(void **state)
{
	fixture *f = *state;
	pull(f, "a");
	pull(f, "b");
	pull(f, "a"); /* a cache hit stamps a */
	pull(f, "c");
	assert_true(cached(f, "a"));
	assert_false(cached(f, "b"));
	assert_true(cached(f, "c"));
}

static void test_bundle_in_use_is_never_evicted(void **state)
{
	fixture *f = *state;
	pull(f, "a");
	pull(f, "b");
	mark_in_use(f, "vm1", "a");
	svt_log_begin(SV_LOG_WARN);
	pull(f, "c");
	char *err = svt_log_end();
	assert_true(cached(f, "a"));
	assert_false(cached(f, "b"));
	assert_true(cached(f, "c"));
	assert_non_null(strstr(err, "evicted base image bundle \"b\""));
	assert_null(strstr(err, "\"a\""));
	free(err);
	/* When every older bundle is in use, the cache stays over the limit. */
	mark_in_use(f, "vm2", "c");
	pull(f, "d");
	assert_true(cached(f, "a"));
	assert_true(cached(f, "c"));
	assert_true(cached(f, "d"));
}

static void test_list_is_least_recently_used_first(void **state)
{
	fixture *f = *state;
	f->o.max_stored_base_images = 5;
	pull(f, "x");
	pull(f, "y");
	pull(f, "x");
	sv_base_image_bundle **all = NULL;
	size_t n = 0;
	assert_int_equal(sv_base_image_list(&all, &n, &f->o), 0);
	assert_int_equal(n, 2);
	assert_string_equal(all[0]->bundle_id, "y");
	assert_string_equal(all[1]->bundle_id, "x");
	assert_int_equal(all[1]->version, SV_BASE_IMAGE_BUNDLE_VERSION); /* read from bundle.json */
	sv_base_image_bundles_free(all, n);
}

static void test_remove_refuses_in_use_and_unknown_bundles(void **state)
{
	fixture *f = *state;
	pull(f, "a");
	mark_in_use(f, "vm1", "a");
	assert_int_equal(sv_base_image_remove(&f->o, "a"), SV_EBUSY);
	assert_string_equal(sv_last_error(), "base image bundle \"a\" is in use by a running VM");
	assert_true(cached(f, "a"));
	char *vm = sv_path_join(f->runtime, "vm1");
	assert_int_equal(sv_rm_rf(vm), 0);
	free(vm);
	assert_int_equal(sv_base_image_remove(&f->o, "a"), 0);
	assert_false(cached(f, "a"));
	assert_int_equal(sv_base_image_remove(&f->o, "a"), SV_ENOTFOUND);
	assert_int_equal(sv_base_image_remove(&f->o, "../a"), SV_EINVAL);
	assert_string_equal(sv_last_error(), "bundle id: \"../a\" may contain only A-Z a-z 0-9 . _ -");
	assert_int_equal(svt_dir_entries(f->cache), 2); /* the two lock files */
}

/* Rewrites one string field of <cache>/<id>/bundle.json. */
static void edit_bundle_json(fixture *f, const char *id, const char *key, const char *value)
{
	char *dir = sv_path_join(f->cache, id);
	char *path = sv_path_join(dir, "bundle.json");
	json_t *o = json_load_file(path, 0, NULL);
	assert_non_null(o);
	json_object_set_new(o, key, json_string(value));
	assert_int_equal(json_dump_file(o, path, 0), 0);
	json_decref(o);
	free(path);
	free(dir);
}

static void test_bundle_json_naming_another_bundle_id_is_never_acted_on(void **state)
{
	fixture *f = *state;
	char *victim = sv_path_join(f->dir, "victim");
	assert_int_equal(sv_mkdir_p(victim, 0755), 0);
	free(svt_write(victim, "keep", "precious"));
	pull(f, "a");
	pull(f, "b");
	/* a's bundle.json now claims to be a bundle outside the cache. */
	edit_bundle_json(f, "a", "bundleId", "../victim");
	/* The scratch name eviction renames "../victim" to must have a parent. */
	char *scratch = sv_path_join(f->cache, ".removing-..");
	assert_int_equal(sv_mkdir_p(scratch, 0755), 0);
	pull(f, "c"); /* two loadable bundles, b and c: nothing to evict */
	char *keep = sv_path_join(victim, "keep");
	assert_true(sv_path_exists(keep));
	assert_true(cached(f, "b"));
	free(scratch);
	sv_base_image_bundle *b = NULL;
	assert_int_equal(sv_base_image_open(&b, &f->o, "a"), SV_EINVAL);
	char expected[512];
	snprintf(expected, sizeof(expected),
		 "base image bundle \"a\": %s/a/bundle.json: bundleId: \"../victim\" is not this bundle's "
		 "directory name",
		 f->cache);
	assert_string_equal(sv_last_error(), expected);
	free(keep);
	free(victim);
}

static void test_bundle_file_replaced_by_a_symlink_is_refused(void **state)
{
	fixture *f = *state;
	pull(f, "a");
	char *dir = sv_path_join(f->cache, "a");
	char *rootfs = sv_path_join(dir, "rootfs.ext4");
	assert_int_equal(unlink(rootfs), 0);
	assert_int_equal(symlink("/etc/passwd", rootfs), 0);
	sv_base_image_bundle *b = NULL;
	assert_int_equal(sv_base_image_open(&b, &f->o, "a"), SV_EINVAL);
	char expected[512];
	snprintf(expected, sizeof(expected),
		 "base image bundle \"a\": %s/bundle.json: %s is missing or not a regular file", dir, rootfs);
	assert_string_equal(sv_last_error(), expected);
	free(rootfs);
	free(dir);
}

static void test_bundle_json_holds_every_seed_field(void **state)
{
	fixture *f = *state;
	pull(f, "a");
	char *path = sv_path_join(f->cache, "a/bundle.json");
	json_error_t jerr;
	json_t *o = json_load_file(path, 0, &jerr);
	assert_non_null(o);
	const char *keys[] = {
	    "preset",	       "arch",	     "ciVersion",  "firecrackerVersion", "bundleId", "bundleDir",
	    "kernelImagePath", "rootfsPath", "rootfsType", "rootfsIsReadOnly",	 "bootArgs", "source",
	    "checksums",       "sizes",	     "createdAt",  "lastAccessedAt"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!json_object_get(o, keys[i]))
			fail_msg("bundle.json lacks %s", keys[i]);
	assert_string_equal(json_string_value(json_object_get(o, "preset")), "hosted");
	assert_string_equal(json_string_value(json_object_get(o, "ciVersion")), "v1.7");
	json_t *src = json_object_get(o, "source");
	assert_string_equal(json_string_value(json_object_get(src, "type")), "hosted-manifest");
	assert_non_null(json_object_get(src, "kernelSourcePath"));
	assert_non_null(json_object_get(json_object_get(o, "checksums"), "rootfsSha256"));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "sizes"), "rootfsBytes")), 6);
	json_decref(o);
	free(path);
}

static void test_vm_config_takes_kernel_rootfs_and_boot_args_from_the_bundle(void **state)
{
	fixture *f = *state;
	pull(f, "a");
	sv_base_image_bundle **all = NULL;
	size_t n = 0;
	assert_int_equal(sv_base_image_list(&all, &n, &f->o), 0);
	assert_int_equal(n, 1);
	sv_vm_config cfg = {.version = SV_VM_CONFIG_VERSION, .machine_config = {.vcpu_count = 1, .mem_size_mib = 128}};
	sv_drive_config root;
	assert_int_equal(sv_base_image_vm_config(&cfg, &root, all[0]), 0);
	assert_string_equal(cfg.base_image, "a");
	assert_string_equal(cfg.boot_source.kernel_image_path, all[0]->kernel_image_path);
	assert_string_equal(cfg.boot_source.boot_args, "console=ttyS0 reboot=k panic=1 pci=off");
	assert_null(cfg.boot_source.initrd_path);
	assert_int_equal(cfg.n_drives, 1);
	assert_ptr_equal(cfg.drives, &root);
	assert_string_equal(root.drive_id, "rootfs");
	assert_string_equal(root.path_on_host, all[0]->rootfs_path);
	assert_true(root.is_root_device);
	assert_false(root.is_read_only);
	sv_base_image_bundles_free(all, n);
}

/* A dead VM's leftovers (its lock free, gc not run yet) do not pin a bundle. */
static void test_a_dead_vm_does_not_keep_its_bundle(void **state)
{
	fixture *f = *state;
	pull(f, "a");
	char *vm_dir = sv_path_join(f->runtime, "gone");
	assert_int_equal(sv_mkdir_p(vm_dir, 0755), 0);
	free(svt_write(vm_dir, "base-image", "a\n"));
	free(svt_write(vm_dir, "lock", ""));
	assert_int_equal(sv_base_image_remove(&f->o, "a"), 0);
	assert_false(cached(f, "a"));
	free(vm_dir);
}

/* When it cannot tell, the in-use check says "in use": an unreadable
 * runtime dir once answered "not in use" and let a live VM's image go. */
static void test_in_use_check_fails_closed(void **state)
{
	fixture *f = *state;
	pull(f, "a");
	char *not_a_dir = svt_write(f->dir, "runtime-file", "");
	f->o.runtime_dir = not_a_dir;
	assert_int_equal(sv_base_image_remove(&f->o, "a"), SV_EUNSAFE);
	char expected[1024];
	snprintf(expected, sizeof(expected),
		 "base image bundle \"a\": cannot tell whether a VM uses it: runtime_dir %s: %s is not a "
		 "directory; "
		 "choose another directory",
		 not_a_dir, not_a_dir);
	assert_string_equal(sv_last_error(), expected);
	assert_true(cached(f, "a"));
	bool in_use = false;
	assert_int_equal(sv_base_image_in_use(&in_use, &f->o, "a"), SV_EUNSAFE);
	assert_true(in_use);
	/* Eviction keeps it too. */
	f->o.max_stored_base_images = 1;
	pull(f, "b");
	assert_true(cached(f, "a"));
	free(not_a_dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_least_recently_used_bundle_is_evicted_with_a_warning, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_access_makes_a_bundle_recently_used, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bundle_in_use_is_never_evicted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_is_least_recently_used_first, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_remove_refuses_in_use_and_unknown_bundles, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bundle_json_naming_another_bundle_id_is_never_acted_on,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bundle_file_replaced_by_a_symlink_is_refused, setup,
					    teardown),

	    cmocka_unit_test_setup_teardown(test_a_dead_vm_does_not_keep_its_bundle, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_in_use_check_fails_closed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bundle_json_holds_every_seed_field, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_vm_config_takes_kernel_rootfs_and_boot_args_from_the_bundle,
					    setup, teardown),
	};
	return svt_run_group(tests, NULL, NULL);
}
