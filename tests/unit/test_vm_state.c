/* VM state machine and manager registry, without any VMM: calls in the wrong
 * state are refused with a message naming the state and the allowed ones. */
#include "svtest.h"

#include "util/file.h"
#include "util/state_dirs.h"

#include <smartvm/smartvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
	char *dir;
	char *kernel;
	sv_manager *mgr;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	f->dir = svt_tmpdir();
	f->kernel = svt_write(f->dir, "vmlinux", "kernel");
	char *data = NULL, *runtime = NULL;
	assert_true(asprintf(&data, "%s/data", f->dir) > 0);
	assert_true(asprintf(&runtime, "%s/runtime", f->dir) > 0);
	sv_manager_options o = {
	    .version = SV_MANAGER_OPTIONS_VERSION, .data_dir = data, .runtime_dir = runtime};
	assert_int_equal(sv_manager_new(&f->mgr, &o), 0);
	free(data);
	free(runtime);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	sv_manager_free(f->mgr);
	free(f->kernel);
	svt_rm_tmpdir(f->dir);
	free(f);
	return 0;
}

static sv_vm *make_vm(fixture *f, const char *id)
{
	sv_vm_config cfg = {.version = SV_VM_CONFIG_VERSION,  .id = id, .boot_source = { .kernel_image_path = f->kernel },
			     .machine_config = { .vcpu_count = 1, .mem_size_mib = 128 } };
	sv_vm *vm = NULL;
	assert_int_equal(sv_manager_create_vm(&vm, f->mgr, &cfg), 0);
	return vm;
}

static void test_new_vm_is_created_and_touches_nothing(void **state)
{
	fixture *f = *state;
	sv_vm *vm = make_vm(f, "web");
	assert_int_equal(sv_vm_get_state(vm), SV_VM_CREATED);
	assert_string_equal(sv_vm_state_name(sv_vm_get_state(vm)), "created");
	assert_int_equal(sv_vm_pid(vm), 0);
	assert_int_equal(svt_dir_entries(sv_manager_runtime_dir(f->mgr)), 0);
}

static void test_pause_before_start_names_state(void **state)
{
	fixture *f = *state;
	sv_vm *vm = make_vm(f, "web");
	assert_int_equal(sv_vm_pause(vm), SV_EINVALID_STATE);
	assert_string_equal(sv_last_error(), "VM \"web\" is created; pause is allowed when running");
	assert_int_equal(sv_vm_resume(vm), SV_EINVALID_STATE);
	assert_string_equal(sv_last_error(), "VM \"web\" is created; resume is allowed when paused");
	assert_int_equal(sv_vm_stop(vm, 0), SV_EINVALID_STATE);
	assert_string_equal(sv_last_error(), "VM \"web\" is created; stop is allowed when running|paused|error");
	assert_int_equal(sv_vm_kill(vm), SV_EINVALID_STATE);
	assert_string_equal(sv_last_error(), "VM \"web\" is created; kill is allowed when configuring|running|paused|error");
	assert_int_equal(sv_vm_remove(vm, SV_VM_REMOVE_FORCE), SV_EINVALID_STATE);
	assert_string_equal(sv_last_error(), "VM \"web\" is created; there is nothing to remove");
	assert_int_equal(sv_vm_detach(vm), SV_EINVALID_STATE);
	char *info = NULL;
	assert_int_equal(sv_vm_instance_info(vm, &info), SV_EINVALID_STATE);
	assert_null(info);
	assert_int_equal(sv_vm_get_state(vm), SV_VM_CREATED);
}

static void test_duplicate_id_is_refused(void **state)
{
	fixture *f = *state;
	make_vm(f, "web");
	sv_vm_config cfg = {.version = SV_VM_CONFIG_VERSION,  .id = "web", .boot_source = { .kernel_image_path = f->kernel },
			     .machine_config = { .vcpu_count = 1, .mem_size_mib = 128 } };
	sv_vm *vm = NULL;
	assert_int_equal(sv_manager_create_vm(&vm, f->mgr, &cfg), SV_EEXISTS);
	assert_string_equal(sv_last_error(), "id: a VM with id \"web\" already exists");
	assert_null(vm);
}

static void test_invalid_config_is_refused_at_create(void **state)
{
	fixture *f = *state;
	sv_vm_config cfg = {.version = SV_VM_CONFIG_VERSION,  .id = "bad id", .boot_source = { .kernel_image_path = f->kernel },
			     .machine_config = { .vcpu_count = 1, .mem_size_mib = 128 } };
	sv_vm *vm = NULL;
	assert_int_equal(sv_manager_create_vm(&vm, f->mgr, &cfg), SV_EINVAL);
	svt_assert_contains(sv_last_error(), "id: ");
	assert_int_equal(svt_dir_entries(sv_manager_runtime_dir(f->mgr)), 0);
}

static void test_generated_ids_are_unique_and_valid(void **state)
{
	fixture *f = *state;
	sv_vm *a = make_vm(f, NULL), *b = make_vm(f, NULL);
	assert_string_not_equal(sv_vm_id(a), sv_vm_id(b));
	assert_int_equal(strncmp(sv_vm_id(a), "vm-", 3), 0);
	assert_int_equal(strspn(sv_vm_id(a), "abcdefghijklmnopqrstuvwxyz0123456789-"), strlen(sv_vm_id(a)));
	assert_ptr_equal(sv_manager_get_vm(f->mgr, sv_vm_id(b)), b);
	sv_vm_config *given = NULL;
	assert_int_equal(sv_vm_config_get(&given, a, SV_VM_CONFIG_VERSION), 0);
	assert_string_equal(given->id, sv_vm_id(a));
	sv_vm_config_free(given);
}

static void test_attach_refuses_unknown_and_traversal_ids(void **state)
{
	fixture *f = *state;
	sv_vm *vm = NULL;
	assert_int_equal(sv_manager_attach_vm(&vm, f->mgr, "nope"), SV_ENOTFOUND);
	svt_assert_contains(sv_last_error(), "no VM with id \"nope\"");
	assert_int_equal(sv_manager_attach_vm(&vm, f->mgr, "../data"), SV_ENOTFOUND);
	assert_int_equal(sv_manager_attach_vm(&vm, f->mgr, ".."), SV_ENOTFOUND);
}

static void test_defaults_follow_the_seed(void **state)
{
	(void)state;
	sv_manager *m = NULL;
	unsetenv("SMARTVM_DATA_DIR");
	unsetenv("SMARTVM_RUNTIME_DIR");
	assert_int_equal(sv_manager_new(&m, NULL), 0);
	const sv_manager_options *o = sv_manager_options_get(m);
	/* Not the seed's /tmp/.smartvm and /dev/shm/.smartvm/runtime, which
	 * every local user can write (util/state_dirs.h); as root: */
	char *data = sv_state_dir_default(SV_STATE_DATA, geteuid());
	char *rt = sv_state_dir_default(SV_STATE_RUNTIME, geteuid());
	char *images = sv_path_join(data, "base-images");
	if (geteuid() == 0) {
		assert_string_equal(data, "/var/lib/smartvm");
		assert_string_equal(rt, "/run/smartvm");
	}
	assert_string_equal(o->data_dir, data);
	assert_string_equal(o->runtime_dir, rt);
	assert_int_equal(o->ephemeral_writable_drives, SV_YES);
	assert_string_equal(o->firecracker_version, "latest");
	assert_int_equal(o->arch, SV_ARCH_X86_64);
	assert_string_equal(o->bridge_name, "svbr0");
	assert_string_equal(o->subnet, "172.30.0.0/24");
	assert_string_equal(o->base_image_cache_dir, images);
	free(data);
	free(rt);
	free(images);
	assert_int_equal(o->max_stored_base_images, 2);
	assert_int_equal(o->stop_timeout_ms, 10000);
	sv_manager_free(m);

	setenv("SMARTVM_DATA_DIR", "/var/tmp/sv-data", 1);
	assert_int_equal(sv_manager_new(&m, NULL), 0);
	assert_string_equal(sv_manager_data_dir(m), "/var/tmp/sv-data");
	assert_string_equal(sv_manager_options_get(m)->base_image_cache_dir, "/var/tmp/sv-data/base-images");
	sv_manager_free(m);
	unsetenv("SMARTVM_DATA_DIR");

	sv_manager_options rel = {.version = SV_MANAGER_OPTIONS_VERSION, .data_dir = "relative/dir"};
	assert_int_equal(sv_manager_new(&m, &rel), SV_EINVAL);
	assert_string_equal(sv_last_error(), "data_dir: must be an absolute path");
	assert_null(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_new_vm_is_created_and_touches_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pause_before_start_names_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_id_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_config_is_refused_at_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_generated_ids_are_unique_and_valid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attach_refuses_unknown_and_traversal_ids, setup, teardown),
		cmocka_unit_test(test_defaults_follow_the_seed),
	};
	return svt_run_group(tests, NULL, NULL);
}
