/* The Firecracker backend's command line (no process is started). */
#include "svtest.h"

#include "vmm/vmm.h"
#include <smartvm/error.h>
#include <smartvm/manager.h>
#include <string.h>

static void test_argv_names_the_api_socket_in_the_vm_dir_and_the_id(void **state)
{
	(void)state;
	sv_vm_config cfg = SV_VM_CONFIG_INIT;
	sv_vmm_launch l = { .vm_id = "web-1", .vm_dir = "/run/smartvm/web-1", .binary = "/opt/fc/firecracker", .cfg = &cfg };
	char **argv = NULL;
	assert_int_equal(sv_vmm_firecracker_ops.build_argv(&l, &argv), 0);
	const char *want[] = { "/opt/fc/firecracker", "--api-sock", "/run/smartvm/web-1/firecracker.sock", "--id", "web-1", NULL };
	for (size_t i = 0; want[i]; i++)
		assert_string_equal(argv[i], want[i]);
	assert_null(argv[5]);
	assert_string_equal(sv_vmm_firecracker_ops.api_socket_name, "firecracker.sock");
	assert_string_equal(sv_vmm_firecracker_ops.name, "firecracker");
	sv_strv_free(argv);
}

static void test_underscore_in_vm_id_becomes_dash_in_instance_id(void **state)
{
	(void)state;
	sv_vmm_launch l = { .vm_id = "my_vm", .vm_dir = "/run/x", .binary = "/fc" };
	char **argv = NULL;
	assert_int_equal(sv_vmm_firecracker_ops.build_argv(&l, &argv), 0);
	assert_string_equal(argv[4], "my-vm");
	assert_string_equal(argv[2], "/run/x/firecracker.sock");
	sv_strv_free(argv);
}

static void test_argv_refuses_an_id_firecracker_would_refuse(void **state)
{
	(void)state;
	sv_vmm_launch l = { .vm_id = "my.vm", .vm_dir = "/run/x", .binary = "/fc" };
	char **argv = (char **)0x1;
	assert_int_equal(sv_vmm_firecracker_ops.build_argv(&l, &argv), SV_EINVAL);
	assert_null(argv);
	assert_string_equal(sv_last_error(),
			    "VM id \"my.vm\": Firecracker's --id allows only letters, digits and '-' (found '.')");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_argv_names_the_api_socket_in_the_vm_dir_and_the_id),
		cmocka_unit_test(test_underscore_in_vm_id_becomes_dash_in_instance_id),
		cmocka_unit_test(test_argv_refuses_an_id_firecracker_would_refuse),
	};
	return svt_run_group(tests, NULL, NULL);
}
