/* sv_vm_config_validate: the fully populated config passes, and each broken
 * rule fails with SV_EINVAL and its exact "<field path>: <rule>" message. */
#include "svtest.h"
#include "test_config_fixture.h"

#include "config/config_schema.h"

#include <smartvm/error.h>
#include <stdint.h>
#include <string.h>

static int setup(void **state)
{
	*state = fixture_new();
	return 0;
}

static int teardown(void **state)
{
	fixture_free(*state);
	return 0;
}

static void assert_invalid(const sv_vm_config *cfg, const char *message)
{
	assert_int_equal(sv_vm_config_validate(cfg), SV_EINVAL);
	assert_int_equal(sv_last_error_code(), SV_EINVAL);
	assert_string_equal(sv_last_error(), message);
}

/* Like assert_invalid, with the fixture's temp dir substituted for %s. */
static void assert_invalid_in_dir(cfg_fixture *f, const char *fmt)
{
	char *msg = NULL;
	assert_true(asprintf(&msg, fmt, f->dir, f->dir) > 0);
	assert_invalid(&f->cfg, msg);
	free(msg);
}

static void test_full_config_is_valid(void **state)
{
	cfg_fixture *f = *state;
	assert_int_equal(sv_vm_config_validate(&f->cfg), 0);
	assert_string_equal(sv_last_error(), "");
}

static void test_minimal_config_is_valid(void **state)
{
	cfg_fixture *f = *state;
	sv_vm_config min = {.version = SV_VM_CONFIG_VERSION,
	    .boot_source = {.kernel_image_path = f->kernel},
	    .machine_config = {.vcpu_count = 1, .mem_size_mib = 128},
	};
	assert_int_equal(sv_vm_config_validate(&min), 0);
}

static void test_id_rejects_space(void **state)
{
	cfg_fixture *f = *state;
	f->cfg.id = "web 1";
	assert_invalid(&f->cfg, "id: must contain only A-Z a-z 0-9 _ - (found ' ')");
}

static void test_id_shows_control_characters_as_bytes(void **state)
{
	cfg_fixture *f = *state;
	f->cfg.id = "web\n";
	assert_invalid(&f->cfg, "id: must contain only A-Z a-z 0-9 _ - (found 0x0a)");
}

/* "-rf" as an id would read as an option wherever the id is passed on. */
static void test_id_rejects_a_leading_dash(void **state)
{
	cfg_fixture *f = *state;
	f->cfg.id = "-rf";
	assert_invalid(&f->cfg, "id: must not start with '-' (\"-rf\" would read as an option)");
	f->cfg.id = "a-b";
	assert_int_equal(sv_vm_config_validate(&f->cfg), 0);
}

static void test_id_rejects_empty(void **state)
{
	cfg_fixture *f = *state;
	f->cfg.id = "";
	assert_invalid(&f->cfg, "id: must not be empty");
}

static void test_id_rejects_65_characters(void **state)
{
	cfg_fixture *f = *state;
	char id[66];
	memset(id, 'a', 65);
	id[65] = '\0';
	f->cfg.id = id;
	assert_invalid(&f->cfg, "id: must be at most 64 characters");
	id[64] = '\0';
	assert_int_equal(sv_vm_config_validate(&f->cfg), 0);
}

static void test_id_null_is_valid(void **state)
{
	cfg_fixture *f = *state;
	f->cfg.id = NULL;
	assert_int_equal(sv_vm_config_validate(&f->cfg), 0);
}

static void test_kernel_is_required(void **state)
{
	cfg_fixture *f = *state;
	f->cfg.boot_source.kernel_image_path = NULL;
	assert_invalid(&f->cfg, "boot_source.kernel_image_path: is required");
}

static void test_kernel_must_exist(void **state)
{
	cfg_fixture *f = *state;
	f->cfg.boot_source.kernel_image_path = "/x/vmlinux";
	assert_invalid(&f->cfg, "boot_source.kernel_image_path: /x/vmlinux: no such file");
}

static void test_kernel_must_be_regular_file(void **state)
{
	cfg_fixture *f = *state;
	f->cfg.boot_source.kernel_image_path = f->dir;
	assert_invalid_in_dir(f, "boot_source.kernel_image_path: %s: not a regular file");
}

static void test_initrd_must_exist(void **state)
{
	cfg_fixture *f = *state;
	char *missing = fixture_path(f->dir, "missing.img");
	f->cfg.boot_source.initrd_path = missing;
	assert_invalid_in_dir(f, "boot_source.initrd_path: %s/missing.img: no such file");
	free(missing);
}

static void test_vcpu_count_zero(void **state)
{
	cfg_fixture *f = *state;
	f->cfg.machine_config.vcpu_count = 0;
	assert_invalid(&f->cfg, "machine_config.vcpu_count: must be between 1 and 32 (got 0)");
}

static void test_vcpu_count_33(void **state)
{
	cfg_fixture *f = *state;
	f->cfg.machine_config.vcpu_count = 33;
	f->cfg.machine_config.smt = false;
	assert_invalid(&f->cfg, "machine_config.vcpu_count: must be between 1 and 32 (got 33)");
}

static void test_vcpu_count_odd_with_smt(void **state)
{
	cfg_fixture *f = *state;
	f->cfg.machine_config.vcpu_count = 3;
	assert_invalid(&f->cfg, "machine_config.vcpu_count: must be 1 or even when smt is enabled (got 3)");
	f->cfg.machine_config.vcpu_count = 1;
	assert_int_equal(sv_vm_config_validate(&f->cfg), 0);
	f->cfg.machine_config.vcpu_count = 3;
	f->cfg.machine_config.smt = false;
	assert_int_equal(sv_vm_config_validate(&f->cfg), 0);
}

static void test_mem_size_zero(void **state)
{
	cfg_fixture *f = *state;
	f->cfg.machine_config.mem_size_mib = 0;
	assert_invalid(&f->cfg, "machine_config.mem_size_mib: must be greater than 0");
}

static void test_cpu_template_unknown(void **state)
{
	cfg_fixture *f = *state;
	f->cfg.machine_config.cpu_template = "T3";
	assert_invalid(&f->cfg,
		       "machine_config.cpu_template: must be one of C3, T2, T2S, T2CL, T2A, V1N1, None");
}

static void test_drive_id_required(void **state)
{
	cfg_fixture *f = *state;
	f->drives[1].drive_id = NULL;
	assert_invalid(&f->cfg, "drives[1].drive_id: is required");
}

static void test_drive_id_rejects_slash(void **state)
{
	cfg_fixture *f = *state;
	f->drives[2].drive_id = "data/2";
	assert_invalid(&f->cfg, "drives[2].drive_id: must contain only A-Z a-z 0-9 _ - (found '/')");
}

static void test_drive_id_duplicate(void **state)
{
	cfg_fixture *f = *state;
	f->drives[2].drive_id = "rootfs";
	assert_invalid(&f->cfg, "drives[2].drive_id: duplicate of drives[0]");
}

static void test_drive_path_required(void **state)
{
	cfg_fixture *f = *state;
	f->drives[0].path_on_host = NULL;
	assert_invalid(&f->cfg, "drives[0].path_on_host: is required");
}

static void test_drive_path_must_exist(void **state)
{
	cfg_fixture *f = *state;
	f->drives[1].path_on_host = "/nonexistent/data.img";
	assert_invalid(&f->cfg, "drives[1].path_on_host: /nonexistent/data.img: no such file");
}

static void test_drive_path_directory(void **state)
{
	cfg_fixture *f = *state;
	f->drives[1].path_on_host = f->dir;
	assert_invalid_in_dir(f, "drives[1].path_on_host: %s: not a regular file or block device");
}

static void test_second_root_device(void **state)
{
	cfg_fixture *f = *state;
	f->drives[2].is_root_device = true;
	assert_invalid(&f->cfg,
		       "drives[2].is_root_device: only one root device allowed (drives[0] is already root)");
}

static void test_partuuid_needs_root_device(void **state)
{
	cfg_fixture *f = *state;
	f->drives[2].partuuid = "0eaa91a0-02";
	assert_invalid(&f->cfg, "drives[2].partuuid: only allowed on the root device");
}

static void test_cache_type_out_of_range(void **state)
{
	cfg_fixture *f = *state;
	f->drives[1].cache_type = (sv_cache_type)7;
	assert_invalid(&f->cfg, "drives[1].cache_type: must be one of Unsafe, Writeback");
}

static void test_bandwidth_size_zero(void **state)
{
	cfg_fixture *f = *state;
	f->rl_drive.bandwidth.size = 0;
	assert_invalid(&f->cfg, "drives[1].rate_limiter.bandwidth.size: must be greater than 0");
}

static void test_ops_refill_time_zero(void **state)
{
	cfg_fixture *f = *state;
	f->rl_drive.ops.refill_time = 0;
	assert_invalid(&f->cfg, "drives[1].rate_limiter.ops.refill_time: must be greater than 0");
}

static void test_bucket_size_beyond_int64(void **state)
{
	cfg_fixture *f = *state;
	f->rl_drive.bandwidth.size = UINT64_MAX;
	assert_invalid(&f->cfg, "drives[1].rate_limiter.bandwidth.size: must be at most 9223372036854775807");
}

static void test_unused_bucket_is_not_checked(void **state)
{
	cfg_fixture *f = *state;
	f->rl_rx.ops = (sv_token_bucket){0}; /* has_ops is false */
	assert_int_equal(sv_vm_config_validate(&f->cfg), 0);
}

static void test_iface_id_required(void **state)
{
	cfg_fixture *f = *state;
	f->ifaces[1].iface_id = NULL;
	assert_invalid(&f->cfg, "network_interfaces[1].iface_id: is required");
}

static void test_iface_id_duplicate(void **state)
{
	cfg_fixture *f = *state;
	f->ifaces[1].iface_id = "eth0";
	assert_invalid(&f->cfg, "network_interfaces[1].iface_id: duplicate of network_interfaces[0]");
}

static void test_host_dev_name_too_long(void **state)
{
	cfg_fixture *f = *state;
	f->ifaces[0].host_dev_name = "tap-0123456789ab"; /* 16 bytes */
	assert_invalid(&f->cfg, "network_interfaces[0].host_dev_name: must be at most 15 bytes");
	f->ifaces[0].host_dev_name = "tap-0123456789a"; /* 15 bytes */
	assert_int_equal(sv_vm_config_validate(&f->cfg), 0);
}

static void test_host_dev_name_bad_character(void **state)
{
	cfg_fixture *f = *state;
	f->ifaces[0].host_dev_name = "tap:0";
	assert_invalid(
	    &f->cfg, "network_interfaces[0].host_dev_name: must contain only A-Z a-z 0-9 _ . - (found ':')");
}

static void test_host_dev_name_duplicate(void **state)
{
	cfg_fixture *f = *state;
	f->ifaces[1].host_dev_name = "tap-web0";
	assert_invalid(&f->cfg, "network_interfaces[1].host_dev_name: duplicate of network_interfaces[0]");
}

static void test_guest_mac_too_short(void **state)
{
	cfg_fixture *f = *state;
	f->ifaces[0].guest_mac = "06:00:ac:10:00";
	assert_invalid(&f->cfg, "network_interfaces[0].guest_mac: must be six hex octets like "
				"06:00:ac:10:00:02 (got \"06:00:ac:10:00\")");
}

static void test_guest_mac_not_hex(void **state)
{
	cfg_fixture *f = *state;
	f->ifaces[0].guest_mac = "06:00:ac:10:00:zz";
	assert_invalid(&f->cfg, "network_interfaces[0].guest_mac: must be six hex octets like "
				"06:00:ac:10:00:02 (got \"06:00:ac:10:00:zz\")");
}

static void test_guest_mac_multicast(void **state)
{
	cfg_fixture *f = *state;
	f->ifaces[0].guest_mac = "01:00:5E:00:00:01";
	assert_invalid(
	    &f->cfg,
	    "network_interfaces[0].guest_mac: must be a unicast address (low bit of the first octet clear)");
}

static void test_tx_rate_limiter_checked(void **state)
{
	cfg_fixture *f = *state;
	f->rl_tx.ops.size = 0;
	assert_invalid(&f->cfg, "network_interfaces[0].tx_rate_limiter.ops.size: must be greater than 0");
}

static void test_mtu_out_of_range(void **state)
{
	cfg_fixture *f = *state;
	f->ifaces[0].mtu = 67;
	assert_invalid(&f->cfg, "network_interfaces[0].mtu: must be between 68 and 65535 (got 67)");
	f->ifaces[0].mtu = 65536;
	assert_invalid(&f->cfg, "network_interfaces[0].mtu: must be between 68 and 65535 (got 65536)");
	f->ifaces[0].mtu = 0; /* not advertised */
	assert_int_equal(sv_vm_config_validate(&f->cfg), 0);
}

static void test_huge_pages_out_of_range(void **state)
{
	cfg_fixture *f = *state;
	f->cfg.machine_config.huge_pages = (sv_huge_pages)7;
	assert_invalid(&f->cfg, "machine_config.huge_pages: must be one of None, 2M");
}

static void test_balloon_stats_interval_beyond_u16(void **state)
{
	cfg_fixture *f = *state;
	f->balloon.stats_polling_interval_s = 65536;
	assert_invalid(&f->cfg, "balloon.stats_polling_interval_s: must be at most 65535");
}

static void test_logger_module_empty(void **state)
{
	cfg_fixture *f = *state;
	f->logger.module = "";
	assert_invalid(&f->cfg, "logger.module: must not be empty");
}

static void test_pmem_id_duplicate(void **state)
{
	cfg_fixture *f = *state;
	sv_pmem_config two[] = {f->pmem[0], f->pmem[0]};
	f->cfg.pmem = two;
	f->cfg.n_pmem = 2;
	assert_invalid(&f->cfg, "pmem[1].id: duplicate of pmem[0]");
}

static void test_pmem_second_root_device(void **state)
{
	cfg_fixture *f = *state;
	f->pmem[0].root_device = true;
	assert_invalid(&f->cfg, "pmem[0].root_device: only one root device allowed (drives[0] is already root)");
	f->drives[0].is_root_device = false;
	f->drives[0].partuuid = NULL;
	assert_int_equal(sv_vm_config_validate(&f->cfg), 0);
}

static void test_pmem_file_missing(void **state)
{
	cfg_fixture *f = *state;
	f->pmem[0].path_on_host = "/nonexistent/pmem.img";
	assert_invalid(&f->cfg, "pmem[0].path_on_host: /nonexistent/pmem.img: no such file");
}

static void test_pmem_rate_limiter_checked(void **state)
{
	cfg_fixture *f = *state;
	sv_rate_limiter rl = {.has_ops = true, .ops = {.size = 1}};
	f->pmem[0].rate_limiter = &rl;
	assert_invalid(&f->cfg, "pmem[0].rate_limiter.ops.refill_time: must be greater than 0");
}

/* The field paths every walk spells (and every message names): indexes of
 * any width, and a path longer than the buffer cut with "..." at its end. */
static void test_field_paths(void **state)
{
	(void)state;
	char p[SV_CONFIG_PATH_LEN];
	sv_config_path(p, "", "drives", 0);
	assert_string_equal(p, "drives");
	sv_config_path(p, "drives", NULL, 0);
	assert_string_equal(p, "drives[0]");
	sv_config_path(p, "drives[10]", "rate_limiter", 7);
	assert_string_equal(p, "drives[10].rate_limiter");
	sv_config_path(p, "a", NULL, SIZE_MAX);
	assert_string_equal(p, "a[18446744073709551615]");

	char longest[SV_CONFIG_PATH_LEN + 16];
	memset(longest, 'x', sizeof(longest));
	longest[SV_CONFIG_PATH_LEN - 3] = '\0'; /* + ".y" fills the buffer exactly */
	sv_config_path(p, longest, "y", 0);
	assert_int_equal(strlen(p), SV_CONFIG_PATH_LEN - 1);
	assert_string_equal(p + SV_CONFIG_PATH_LEN - 3, ".y");
	longest[SV_CONFIG_PATH_LEN - 3] = 'x'; /* one more: cut */
	longest[SV_CONFIG_PATH_LEN - 2] = '\0';
	sv_config_path(p, longest, "y", 0);
	assert_int_equal(strlen(p), SV_CONFIG_PATH_LEN - 1);
	assert_string_equal(p + SV_CONFIG_PATH_LEN - 4, "...");
	assert_int_equal(strspn(p, "x"), SV_CONFIG_PATH_LEN - 4);
	longest[sizeof(longest) - 1] = '\0';
	sv_config_path(p, longest, NULL, 3);
	assert_string_equal(p + SV_CONFIG_PATH_LEN - 4, "...");
}

static void test_memory_hotplug_geometry(void **state)
{
	cfg_fixture *f = *state;
	f->hotplug.total_size_mib = 0;
	assert_invalid(&f->cfg, "memory_hotplug.total_size_mib: must be greater than 0");
	f->hotplug.total_size_mib = 1000;
	assert_invalid(&f->cfg, "memory_hotplug.total_size_mib: must be a multiple of slot_size_mib (256)");
	f->hotplug.total_size_mib = 1024;
	f->hotplug.slot_size_mib = 64;
	assert_invalid(&f->cfg, "memory_hotplug.slot_size_mib: must be at least 128 (got 64)");
	f->hotplug.slot_size_mib = 0; /* Firecracker's default, 128 */
	f->hotplug.block_size_mib = 6;
	assert_invalid(&f->cfg, "memory_hotplug.block_size_mib: must be a power of two (got 6)");
	f->hotplug.block_size_mib = 256;
	assert_invalid(&f->cfg, "memory_hotplug.slot_size_mib: must be a multiple of block_size_mib (256)");
	f->hotplug.block_size_mib = 0;
	assert_int_equal(sv_vm_config_validate(&f->cfg), 0);
}

static void test_cpu_config_not_json(void **state)
{
	cfg_fixture *f = *state;
	f->cfg.cpu_config = "[\"!56\"]";
	assert_invalid(&f->cfg, "cpu_config: must be the text of a JSON object");
	f->cfg.cpu_config = "{\"kvm_capabilities\": [";
	assert_invalid(&f->cfg, "cpu_config: must be the text of a JSON object");
}

static void test_vsock_cid_below_3(void **state)
{
	cfg_fixture *f = *state;
	f->vsock.guest_cid = 2;
	assert_invalid(&f->cfg, "vsock.guest_cid: must be at least 3 (got 2)");
}

static void test_vsock_uds_path_empty(void **state)
{
	cfg_fixture *f = *state;
	f->vsock.uds_path = "";
	assert_invalid(&f->cfg, "vsock.uds_path: must not be empty");
}

static void test_vsock_uds_dir_missing(void **state)
{
	cfg_fixture *f = *state;
	f->vsock.uds_path = "/nonexistent/dir/v.sock";
	assert_invalid(&f->cfg,
		       "vsock.uds_path: /nonexistent/dir/v.sock: directory /nonexistent/dir does not exist");
}

static void test_balloon_larger_than_memory(void **state)
{
	cfg_fixture *f = *state;
	f->balloon.amount_mib = 257;
	assert_invalid(&f->cfg, "balloon.amount_mib: must not exceed machine_config.mem_size_mib (256)");
	f->balloon.amount_mib = 256;
	assert_int_equal(sv_vm_config_validate(&f->cfg), 0);
}

static void test_mmds_without_interfaces(void **state)
{
	cfg_fixture *f = *state;
	f->mmds.n_network_interfaces = 0;
	assert_invalid(&f->cfg, "mmds.network_interfaces: must name at least one interface");
}

static void test_mmds_unknown_interface(void **state)
{
	cfg_fixture *f = *state;
	f->mmds_ifaces[1] = "eth9";
	assert_invalid(&f->cfg, "mmds.network_interfaces[1]: no network interface with iface_id \"eth9\"");
}

static void test_mmds_address_outside_link_local(void **state)
{
	cfg_fixture *f = *state;
	f->mmds.ipv4_address = "10.0.0.1";
	assert_invalid(&f->cfg, "mmds.ipv4_address: must be an IPv4 link-local address in "
				"169.254.1.0-169.254.254.255 (got \"10.0.0.1\")");
}

static void test_mmds_address_reserved_subnets(void **state)
{
	cfg_fixture *f = *state;
	static const char *const bad[] = {"169.254.0.5", "169.254.255.255", "169.254.01.2", "169.254.1.256",
					  "169.254.1",	 "169.254.1.2.3",   "169.254.1.2 ", ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char msg[200];
		snprintf(msg, sizeof(msg),
			 "mmds.ipv4_address: must be an IPv4 link-local address in "
			 "169.254.1.0-169.254.254.255 (got \"%s\")",
			 bad[i]);
		f->mmds.ipv4_address = bad[i];
		assert_invalid(&f->cfg, msg);
	}
	static const char *const good[] = {"169.254.1.0", "169.254.254.255", "169.254.169.254"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		f->mmds.ipv4_address = good[i];
		assert_int_equal(sv_vm_config_validate(&f->cfg), 0);
	}
}

static void test_logger_path_empty(void **state)
{
	cfg_fixture *f = *state;
	f->logger.log_path = "";
	assert_invalid(&f->cfg, "logger.log_path: must not be empty");
}

static void test_logger_path_required(void **state)
{
	cfg_fixture *f = *state;
	f->logger.log_path = NULL;
	assert_invalid(&f->cfg, "logger.log_path: is required");
}

static void test_metrics_path_empty(void **state)
{
	cfg_fixture *f = *state;
	f->metrics.metrics_path = "";
	assert_invalid(&f->cfg, "metrics.metrics_path: must not be empty");
}

static void test_entropy_refill_time_zero(void **state)
{
	cfg_fixture *f = *state;
	f->rl_entropy.ops.refill_time = 0;
	assert_invalid(&f->cfg, "entropy.rate_limiter.ops.refill_time: must be greater than 0");
}

static void test_drives_count_without_array(void **state)
{
	cfg_fixture *f = *state;
	f->cfg.drives = NULL;
	assert_invalid(&f->cfg, "drives: NULL array with n_drives = 3");
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_full_config_is_valid),
	    T(test_minimal_config_is_valid),
	    T(test_id_rejects_space),
	    T(test_id_shows_control_characters_as_bytes),
	    T(test_id_rejects_a_leading_dash),
	    T(test_id_rejects_empty),
	    T(test_id_rejects_65_characters),
	    T(test_id_null_is_valid),
	    T(test_kernel_is_required),
	    T(test_kernel_must_exist),
	    T(test_kernel_must_be_regular_file),
	    T(test_initrd_must_exist),
	    T(test_vcpu_count_zero),
	    T(test_vcpu_count_33),
	    T(test_vcpu_count_odd_with_smt),
	    T(test_mem_size_zero),
	    T(test_cpu_template_unknown),
	    T(test_drive_id_required),
	    T(test_drive_id_rejects_slash),
	    T(test_drive_id_duplicate),
	    T(test_drive_path_required),
	    T(test_drive_path_must_exist),
	    T(test_drive_path_directory),
	    T(test_second_root_device),
	    T(test_partuuid_needs_root_device),
	    T(test_cache_type_out_of_range),
	    T(test_bandwidth_size_zero),
	    T(test_ops_refill_time_zero),
	    T(test_bucket_size_beyond_int64),
	    T(test_unused_bucket_is_not_checked),
	    T(test_iface_id_required),
	    T(test_iface_id_duplicate),
	    T(test_host_dev_name_too_long),
	    T(test_host_dev_name_bad_character),
	    T(test_host_dev_name_duplicate),
	    T(test_guest_mac_too_short),
	    T(test_guest_mac_not_hex),
	    T(test_guest_mac_multicast),
	    T(test_tx_rate_limiter_checked),
	    T(test_mtu_out_of_range),
	    T(test_huge_pages_out_of_range),
	    T(test_balloon_stats_interval_beyond_u16),
	    T(test_logger_module_empty),
	    T(test_field_paths),
	    T(test_pmem_id_duplicate),
	    T(test_pmem_second_root_device),
	    T(test_pmem_file_missing),
	    T(test_pmem_rate_limiter_checked),
	    T(test_memory_hotplug_geometry),
	    T(test_cpu_config_not_json),
	    T(test_vsock_cid_below_3),
	    T(test_vsock_uds_path_empty),
	    T(test_vsock_uds_dir_missing),
	    T(test_balloon_larger_than_memory),
	    T(test_mmds_without_interfaces),
	    T(test_mmds_unknown_interface),
	    T(test_mmds_address_outside_link_local),
	    T(test_mmds_address_reserved_subnets),
	    T(test_logger_path_empty),
	    T(test_logger_path_required),
	    T(test_metrics_path_empty),
	    T(test_entropy_refill_time_zero),
	    T(test_drives_count_without_array),
	};
	return svt_run_group(tests, NULL, NULL);
}
