/* sv_vm_config_copy / sv_vm_config_free: deep copies of every section,
 * independent of the source; run under ASan to prove nothing leaks. */
#include "svtest.h"
#include "test_config_fixture.h"

#include <smartvm/error.h>

static void test_copy_of_full_config_is_equal(void **state)
{
	(void)state;
	cfg_fixture *f = fixture_new();
	sv_vm_config *copy = NULL;
	assert_int_equal(sv_vm_config_copy(&copy, &f->cfg), 0);
	assert_true(config_eq(copy, &f->cfg));
	assert_int_equal(sv_vm_config_validate(copy), 0);
	sv_vm_config_free(copy);
	fixture_free(f);
}

/* No pointer of the copy may alias the source. */
static void test_copy_shares_no_memory(void **state)
{
	(void)state;
	cfg_fixture *f = fixture_new();
	sv_vm_config *c = NULL;
	assert_int_equal(sv_vm_config_copy(&c, &f->cfg), 0);
	assert_ptr_not_equal(c->id, f->cfg.id);
	assert_ptr_not_equal(c->base_image, f->cfg.base_image);
	assert_ptr_not_equal(c->boot_source.kernel_image_path, f->kernel);
	assert_ptr_not_equal(c->boot_source.boot_args, f->cfg.boot_source.boot_args);
	assert_ptr_not_equal(c->boot_source.initrd_path, f->initrd);
	assert_ptr_not_equal(c->machine_config.cpu_template, f->cfg.machine_config.cpu_template);
	assert_ptr_not_equal(c->drives, f->drives);
	for (size_t i = 0; i < 3; i++) {
		assert_ptr_not_equal(c->drives[i].drive_id, f->drives[i].drive_id);
		assert_ptr_not_equal(c->drives[i].path_on_host, f->drives[i].path_on_host);
	}
	assert_ptr_not_equal(c->drives[0].partuuid, f->drives[0].partuuid);
	assert_ptr_not_equal(c->drives[1].rate_limiter, &f->rl_drive);
	assert_null(c->drives[2].rate_limiter);
	assert_ptr_not_equal(c->network_interfaces, f->ifaces);
	assert_ptr_not_equal(c->network_interfaces[0].host_dev_name, f->ifaces[0].host_dev_name);
	assert_ptr_not_equal(c->network_interfaces[0].guest_mac, f->ifaces[0].guest_mac);
	assert_ptr_not_equal(c->network_interfaces[0].rx_rate_limiter, &f->rl_rx);
	assert_ptr_not_equal(c->network_interfaces[0].tx_rate_limiter, &f->rl_tx);
	assert_ptr_not_equal(c->vsock, &f->vsock);
	assert_ptr_not_equal(c->vsock->uds_path, f->vsock_path);
	assert_ptr_not_equal(c->balloon, &f->balloon);
	assert_ptr_not_equal(c->mmds, &f->mmds);
	assert_ptr_not_equal(c->mmds->network_interfaces, f->mmds_ifaces);
	assert_ptr_not_equal(c->mmds->network_interfaces[0], f->mmds_ifaces[0]);
	assert_ptr_not_equal(c->mmds->ipv4_address, f->mmds.ipv4_address);
	assert_ptr_not_equal(c->logger, &f->logger);
	assert_ptr_not_equal(c->logger->log_path, f->log_path);
	assert_ptr_not_equal(c->metrics->metrics_path, f->metrics_path);
	assert_ptr_not_equal(c->entropy->rate_limiter, &f->rl_entropy);
	assert_ptr_not_equal(c->logger->module, f->logger.module);
	assert_ptr_not_equal(c->pmem, f->pmem);
	assert_ptr_not_equal(c->pmem[0].id, f->pmem[0].id);
	assert_ptr_not_equal(c->pmem[0].path_on_host, f->pmem_file);
	assert_ptr_not_equal(c->pmem[0].rate_limiter, &f->rl_drive);
	assert_ptr_not_equal(c->memory_hotplug, &f->hotplug);
	assert_ptr_not_equal(c->cpu_config, f->cfg.cpu_config);
	sv_vm_config_free(c);
	fixture_free(f);
}

/* Changing (and freeing) the source after copying leaves the copy intact. */
static void test_copy_survives_source_changes(void **state)
{
	(void)state;
	cfg_fixture *f = fixture_new();
	sv_vm_config *c = NULL;
	assert_int_equal(sv_vm_config_copy(&c, &f->cfg), 0);
	char *kernel = strdup(f->kernel);
	f->kernel[0] = 'X';
	f->rl_drive.bandwidth.size = 1;
	f->balloon.amount_mib = 1;
	f->mmds_ifaces[0] = "changed";
	fixture_free(f);
	assert_string_equal(c->boot_source.kernel_image_path, kernel);
	assert_int_equal(c->drives[1].rate_limiter->bandwidth.size, 10485760);
	assert_int_equal(c->balloon->amount_mib, 64);
	assert_string_equal(c->mmds->network_interfaces[0], "eth0");
	free(kernel);
	sv_vm_config_free(c);
}

static void test_copy_of_copy_is_equal(void **state)
{
	(void)state;
	cfg_fixture *f = fixture_new();
	sv_vm_config *a = NULL, *b = NULL;
	assert_int_equal(sv_vm_config_copy(&a, &f->cfg), 0);
	assert_int_equal(sv_vm_config_copy(&b, a), 0);
	sv_vm_config_free(a);
	assert_true(config_eq(b, &f->cfg));
	sv_vm_config_free(b);
	fixture_free(f);
}

static void test_copy_of_minimal_config_keeps_sections_absent(void **state)
{
	(void)state;
	sv_vm_config min = {.version = SV_VM_CONFIG_VERSION,
	    .boot_source = {.kernel_image_path = "/k"},
	    .machine_config = {.vcpu_count = 1, .mem_size_mib = 128},
	};
	sv_vm_config *c = NULL;
	assert_int_equal(sv_vm_config_copy(&c, &min), 0);
	assert_true(config_eq(c, &min));
	assert_null(c->id);
	assert_null(c->drives);
	assert_null(c->network_interfaces);
	assert_null(c->vsock);
	assert_null(c->balloon);
	assert_null(c->mmds);
	assert_null(c->logger);
	assert_null(c->metrics);
	assert_null(c->entropy);
	sv_vm_config_free(c);
}

static void test_copy_rejects_count_without_array(void **state)
{
	(void)state;
	sv_vm_config bad = {.version = SV_VM_CONFIG_VERSION, .n_network_interfaces = 2};
	sv_vm_config *c = (sv_vm_config *)&bad;
	assert_int_equal(sv_vm_config_copy(&c, &bad), SV_EINVAL);
	assert_null(c);
	assert_string_equal(sv_last_error(), "network_interfaces: NULL array with n_network_interfaces = 2");
}

static void test_free_null_is_a_no_op(void **state)
{
	(void)state;
	sv_vm_config_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_copy_of_full_config_is_equal),
	    cmocka_unit_test(test_copy_shares_no_memory),
	    cmocka_unit_test(test_copy_survives_source_changes),
	    cmocka_unit_test(test_copy_of_copy_is_equal),
	    cmocka_unit_test(test_copy_of_minimal_config_keeps_sections_absent),
	    cmocka_unit_test(test_copy_rejects_count_without_array),
	    cmocka_unit_test(test_free_null_is_a_no_op),
	};
	return svt_run_group(tests, NULL, NULL);
}
