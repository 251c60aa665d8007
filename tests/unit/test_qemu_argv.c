/* The QEMU backend's mapping of a staged config to qemu-system-x86_64 -M
 * microvm arguments: the exact vector, and every refusal with its message. */
#include "svtest.h"

#include "util/strv.h"
#include "vmm/qemu/qemu.h"
#include "vmm/qemu/qemu_internal.h"
#include <smartvm/error.h>
#include <smartvm/manager.h>
#include <stdlib.h>
#include <string.h>

static sv_vm_config base_config(void)
{
	return (sv_vm_config){.version = SV_VM_CONFIG_VERSION,
		.boot_source = { .kernel_image_path = "/img/vmlinuz", .initrd_path = "/img/initrd.img",
				 .boot_args = "console=ttyS0 quiet" },
		.machine_config = { .vcpu_count = 2, .mem_size_mib = 256 },
	};
}

static char **argv_for(const sv_vm_config *cfg, const char *accel, int *rc_out)
{
	sv_vmm_launch launch = { .vm_id = "vm1", .vm_dir = "/run/sv/vm1", .binary = "/usr/bin/qemu-system-x86_64",
				 .cfg = cfg, .qemu_accel = accel };
	char **argv = NULL;
	*rc_out = sv_vmm_qemu_ops.build_argv(&launch, &argv);
	return argv;
}

/* The argument following flag's n-th occurrence (0-based), or NULL. */
static const char *arg_after(char **argv, const char *flag, int n)
{
	for (size_t i = 0; argv[i] && argv[i + 1]; i++)
		if (strcmp(argv[i], flag) == 0 && n-- == 0)
			return argv[i + 1];
	return NULL;
}

static void assert_refused(const sv_vm_config *cfg, int code, const char *message)
{
	int rc = 0;
	char **argv = argv_for(cfg, "tcg", &rc);
	assert_null(argv);
	assert_int_equal(rc, code);
	assert_string_equal(sv_last_error(), message);
}

static void test_full_config_maps_to_exact_argv(void **state)
{
	(void)state;
	sv_rate_limiter rl = { .has_bandwidth = true, .bandwidth = { .size = 1000000, .refill_time = 500,
								      .one_time_burst = 4096 },
			       .has_ops = true, .ops = { .size = 100, .refill_time = 1000 } };
	sv_drive_config drives[] = {
		{ .drive_id = "data", .path_on_host = "/vm/data,1.ext4", .cache_type = SV_CACHE_WRITEBACK,
		  .io_engine = SV_IO_ENGINE_ASYNC, .rate_limiter = &rl },
		{ .drive_id = "rootfs", .path_on_host = "/vm/rootfs.ext4", .is_root_device = true,
		  .is_read_only = true },
	};
	sv_net_iface_config nets[] = {
		{ .iface_id = "eth0", .host_dev_name = "svtap0", .guest_mac = "06:00:ac:1e:00:02", .mtu = 1400 },
	};
	sv_balloon_config balloon = { .amount_mib = 64, .deflate_on_oom = true, .free_page_reporting = true };
	sv_entropy_config entropy = { 0 };
	sv_vm_config cfg = base_config();
	cfg.drives = drives;
	cfg.n_drives = 2;
	cfg.network_interfaces = nets;
	cfg.n_network_interfaces = 1;
	cfg.balloon = &balloon;
	cfg.entropy = &entropy;
	int rc = 0;
	char **argv = argv_for(&cfg, "tcg", &rc);
	assert_int_equal(rc, 0);
	const char *expected[] = {
		"/usr/bin/qemu-system-x86_64",
		"-name", "guest=vm1",
		"-M", "microvm,x-option-roms=off,isa-serial=on,rtc=on",
		"-accel", "tcg",
		"-nodefaults", "-no-user-config", "-display", "none",
		"-action", "reboot=shutdown,shutdown=poweroff,panic=exit-failure",
		"-device", "pvpanic", "-device", "i8042",
		"-smp", "2",
		"-m", "256M",
		"-kernel", "/img/vmlinuz",
		"-initrd", "/img/initrd.img",
		"-append", "console=ttyS0 quiet root=/dev/vda ro tsc_early_khz=2000000 reboot=t",
		"-serial", "stdio",
		"-drive", "id=drive-rootfs,file=/vm/rootfs.ext4,format=raw,if=none,readonly=on,cache=unsafe,aio=threads",
		"-device", "virtio-blk-device,drive=drive-rootfs",
		"-drive", "id=drive-data,file=/vm/data,,1.ext4,format=raw,if=none,readonly=off,cache=writeback,"
			  "aio=io_uring,throttling.bps-total=2000000,throttling.bps-total-max=2004096,"
			  "throttling.bps-total-max-length=1,throttling.iops-total=100",
		"-device", "virtio-blk-device,drive=drive-data",
		"-netdev", "tap,id=net-eth0,ifname=svtap0,script=no,downscript=no",
		"-device", "virtio-net-device,netdev=net-eth0,mac=06:00:ac:1e:00:02,host_mtu=1400",
		"-device", "virtio-balloon-device,id=balloon0,deflate-on-oom=on,free-page-reporting=on",
		"-object", "rng-random,id=rng0,filename=/dev/urandom",
		"-device", "virtio-rng-device,rng=rng0",
		"-device", "virtio-serial-device,max_ports=2",
		"-chardev", "socket,id=agent,path=/run/sv/vm1/vport.sock,server=on,wait=off",
		"-device", "virtserialport,chardev=agent,name=org.smartvm.agent.0",
		"-chardev", "socket,id=qmp,path=/run/sv/vm1/qmp.sock,server=on,wait=off",
		"-mon", "chardev=qmp,mode=control",
		"-S",
		NULL,
	};
	for (size_t i = 0; expected[i] || argv[i]; i++) {
		assert_non_null(argv[i]);
		assert_non_null(expected[i]);
		assert_string_equal(argv[i], expected[i]);
	}
	sv_strv_free(argv);
}

static void test_kvm_kernel_cmdline_has_no_tsc_override(void **state)
{
	(void)state;
	sv_vm_config cfg = base_config();
	char *cmdline = NULL;
	assert_int_equal(sv_qemu_kernel_cmdline(&cfg, "kvm", &cmdline), 0);
	assert_string_equal(cmdline, "console=ttyS0 quiet reboot=t");
	free(cmdline);
}

static void test_user_tsc_early_khz_and_reboot_method_are_kept(void **state)
{
	(void)state;
	sv_vm_config cfg = base_config();
	cfg.boot_source.boot_args = "console=ttyS0 tsc_early_khz=3000000 reboot=k";
	int rc = 0;
	char **argv = argv_for(&cfg, "tcg", &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(arg_after(argv, "-append", 0), "console=ttyS0 tsc_early_khz=3000000 reboot=k");
	sv_strv_free(argv);
}

static void test_default_boot_args_have_serial_console(void **state)
{
	(void)state;
	sv_vm_config cfg = base_config();
	cfg.boot_source.boot_args = NULL;
	cfg.boot_source.initrd_path = NULL;
	int rc = 0;
	char **argv = argv_for(&cfg, "tcg", &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(arg_after(argv, "-append", 0), "console=ttyS0 panic=-1 tsc_early_khz=2000000 reboot=t");
	assert_null(arg_after(argv, "-initrd", 0));
	sv_strv_free(argv);
}

static void test_root_partuuid_and_rw_follow_the_drive(void **state)
{
	(void)state;
	sv_drive_config d = { .drive_id = "root", .path_on_host = "/r", .is_root_device = true,
			      .partuuid = "abcd-01" };
	sv_vm_config cfg = base_config();
	cfg.drives = &d;
	cfg.n_drives = 1;
	int rc = 0;
	char **argv = argv_for(&cfg, "tcg", &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(arg_after(argv, "-append", 0),
			    "console=ttyS0 quiet root=PARTUUID=abcd-01 rw tsc_early_khz=2000000 reboot=t");
	sv_strv_free(argv);
}

static void test_user_root_arg_is_not_overridden(void **state)
{
	(void)state;
	sv_drive_config d = { .drive_id = "root", .path_on_host = "/r", .is_root_device = true };
	sv_vm_config cfg = base_config();
	cfg.boot_source.boot_args = "root=/dev/vdb ro";
	cfg.drives = &d;
	cfg.n_drives = 1;
	int rc = 0;
	char **argv = argv_for(&cfg, "tcg", &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(arg_after(argv, "-append", 0), "root=/dev/vdb ro tsc_early_khz=2000000 reboot=t");
	sv_strv_free(argv);
}

static void test_smt_maps_to_two_threads_per_core(void **state)
{
	(void)state;
	sv_vm_config cfg = base_config();
	cfg.machine_config.vcpu_count = 4;
	cfg.machine_config.smt = true;
	int rc = 0;
	char **argv = argv_for(&cfg, "tcg", &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(arg_after(argv, "-smp", 0), "4,cores=2,threads=2");
	sv_strv_free(argv);
}

static void test_entropy_bandwidth_maps_to_max_bytes_and_period(void **state)
{
	(void)state;
	sv_rate_limiter rl = { .has_bandwidth = true, .bandwidth = { .size = 1024, .refill_time = 100 } };
	sv_entropy_config e = { .rate_limiter = &rl };
	sv_vm_config cfg = base_config();
	cfg.entropy = &e;
	int rc = 0;
	char **argv = argv_for(&cfg, "tcg", &rc);
	assert_int_equal(rc, 0);
	/* After pvpanic and i8042, which every VM has. */
	assert_string_equal(arg_after(argv, "-device", 2), "virtio-rng-device,rng=rng0,max-bytes=1024,period=100");
	sv_strv_free(argv);
}

static void test_incoming_argv_waits_for_a_snapshot(void **state)
{
	(void)state;
	sv_vm_config cfg = base_config();
	sv_vmm_launch launch = { .vm_id = "vm1", .vm_dir = "/d", .binary = "/q", .cfg = &cfg, .qemu_accel = "tcg",
				 .incoming = true };
	char **argv = NULL;
	assert_int_equal(sv_vmm_qemu_ops.build_argv(&launch, &argv), 0);
	size_t n = sv_strv_len(argv);
	assert_string_equal(argv[n - 3], "-S");
	assert_string_equal(argv[n - 2], "-incoming");
	assert_string_equal(argv[n - 1], "defer");
	sv_strv_free(argv);
}

static void test_vsock_is_refused(void **state)
{
	(void)state;
	sv_vsock_config v = { .guest_cid = 3, .uds_path = "/tmp/v.sock" };
	sv_vm_config cfg = base_config();
	cfg.vsock = &v;
	assert_refused(&cfg, SV_EUNSUPPORTED, "vsock: not supported by the qemu backend");
}

static void test_mmds_is_refused(void **state)
{
	(void)state;
	const char *ifaces[] = { "eth0" };
	sv_mmds_config m = { .network_interfaces = ifaces, .n_network_interfaces = 1 };
	sv_vm_config cfg = base_config();
	cfg.mmds = &m;
	assert_refused(&cfg, SV_EUNSUPPORTED, "mmds: not supported by the qemu backend");
}

static void test_logger_and_metrics_are_refused(void **state)
{
	(void)state;
	sv_logger_config l = { .log_path = "/tmp/log" };
	sv_metrics_config m = { .metrics_path = "/tmp/metrics" };
	sv_vm_config cfg = base_config();
	cfg.logger = &l;
	assert_refused(&cfg, SV_EUNSUPPORTED, "logger: not supported by the qemu backend");
	cfg.logger = NULL;
	cfg.metrics = &m;
	assert_refused(&cfg, SV_EUNSUPPORTED, "metrics: not supported by the qemu backend");
}

static void test_cpu_template_is_refused_but_none_is_fine(void **state)
{
	(void)state;
	sv_vm_config cfg = base_config();
	cfg.machine_config.cpu_template = "T2";
	assert_refused(&cfg, SV_EUNSUPPORTED, "machine_config.cpu_template: not supported by the qemu backend");
	cfg.machine_config.cpu_template = "None";
	int rc = 0;
	char **argv = argv_for(&cfg, "tcg", &rc);
	assert_int_equal(rc, 0);
	sv_strv_free(argv);
}

static void test_track_dirty_pages_is_refused(void **state)
{
	(void)state;
	sv_vm_config cfg = base_config();
	cfg.machine_config.track_dirty_pages = true;
	assert_refused(&cfg, SV_EUNSUPPORTED, "machine_config.track_dirty_pages: not supported by the qemu backend");
}

static void test_huge_pages_2m_is_refused(void **state)
{
	(void)state;
	sv_vm_config cfg = base_config();
	cfg.machine_config.huge_pages = SV_HUGE_PAGES_2M;
	assert_refused(&cfg, SV_EUNSUPPORTED, "machine_config.huge_pages: not supported by the qemu backend");
}

static void test_balloon_free_page_hinting_is_refused(void **state)
{
	(void)state;
	sv_balloon_config balloon = { .amount_mib = 16, .free_page_hinting = true };
	sv_vm_config cfg = base_config();
	cfg.balloon = &balloon;
	assert_refused(&cfg, SV_EUNSUPPORTED, "balloon.free_page_hinting: not supported by the qemu backend");
}

static void test_pmem_hotplug_cpu_config_and_serial_are_refused(void **state)
{
	(void)state;
	sv_pmem_config pmem = { .id = "pm0", .path_on_host = "/vm/pmem.img" };
	sv_memory_hotplug_config hotplug = { .total_size_mib = 1024 };
	sv_vm_config cfg = base_config();
	cfg.pmem = &pmem;
	cfg.n_pmem = 1;
	assert_refused(&cfg, SV_EUNSUPPORTED, "pmem: not supported by the qemu backend");
	cfg.n_pmem = 0;
	cfg.memory_hotplug = &hotplug;
	assert_refused(&cfg, SV_EUNSUPPORTED, "memory_hotplug: not supported by the qemu backend");
	cfg.memory_hotplug = NULL;
	cfg.cpu_config = "{}";
	assert_refused(&cfg, SV_EUNSUPPORTED, "cpu_config: not supported by the qemu backend");
	cfg.cpu_config = NULL;
	sv_serial_config serial = { .serial_out_path = "/tmp/serial.out" };
	cfg.serial = &serial;
	assert_refused(&cfg, SV_EUNSUPPORTED, "serial: not supported by the qemu backend");
}

static void test_net_rate_limiters_are_refused(void **state)
{
	(void)state;
	sv_rate_limiter rl = { .has_bandwidth = true, .bandwidth = { .size = 1, .refill_time = 1 } };
	sv_net_iface_config nets[] = {
		{ .iface_id = "a", .host_dev_name = "tap0", .guest_mac = "06:00:00:00:00:01" },
		{ .iface_id = "b", .host_dev_name = "tap1", .guest_mac = "06:00:00:00:00:02", .tx_rate_limiter = &rl },
	};
	sv_vm_config cfg = base_config();
	cfg.network_interfaces = nets;
	cfg.n_network_interfaces = 2;
	assert_refused(&cfg, SV_EUNSUPPORTED, "network_interfaces[1].tx_rate_limiter: not supported by the qemu backend");
	nets[1].tx_rate_limiter = NULL;
	nets[0].rx_rate_limiter = &rl;
	assert_refused(&cfg, SV_EUNSUPPORTED, "network_interfaces[0].rx_rate_limiter: not supported by the qemu backend");
}

static void test_net_without_tap_or_mac_is_refused(void **state)
{
	(void)state;
	sv_net_iface_config n = { .iface_id = "a", .guest_mac = "06:00:00:00:00:01" };
	sv_vm_config cfg = base_config();
	cfg.network_interfaces = &n;
	cfg.n_network_interfaces = 1;
	assert_refused(&cfg, SV_EINVAL, "network_interfaces[0].host_dev_name: required (the TAP to attach)");
	n.host_dev_name = "tap0";
	n.guest_mac = NULL;
	assert_refused(&cfg, SV_EINVAL, "network_interfaces[0].guest_mac: required");
}

static void test_entropy_ops_limiter_is_refused(void **state)
{
	(void)state;
	sv_rate_limiter rl = { .has_ops = true, .ops = { .size = 1, .refill_time = 1 } };
	sv_entropy_config e = { .rate_limiter = &rl };
	sv_vm_config cfg = base_config();
	cfg.entropy = &e;
	assert_refused(&cfg, SV_EUNSUPPORTED, "entropy.rate_limiter.ops: not supported by the qemu backend");
}

static void test_missing_kernel_is_refused(void **state)
{
	(void)state;
	sv_vm_config cfg = base_config();
	cfg.boot_source.kernel_image_path = NULL;
	assert_refused(&cfg, SV_EINVAL, "boot_source.kernel_image_path: required");
}

static void test_unknown_accel_is_refused(void **state)
{
	(void)state;
	sv_vm_config cfg = base_config();
	int rc = 0;
	char **argv = argv_for(&cfg, "hvf", &rc);
	assert_null(argv);
	assert_int_equal(rc, SV_EINVAL);
	assert_string_equal(sv_last_error(), "qemu_accel: must be \"kvm\", \"tcg\" or \"auto\", not \"hvf\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_config_maps_to_exact_argv),
		cmocka_unit_test(test_kvm_kernel_cmdline_has_no_tsc_override),
		cmocka_unit_test(test_user_tsc_early_khz_and_reboot_method_are_kept),
		cmocka_unit_test(test_default_boot_args_have_serial_console),
		cmocka_unit_test(test_root_partuuid_and_rw_follow_the_drive),
		cmocka_unit_test(test_user_root_arg_is_not_overridden),
		cmocka_unit_test(test_smt_maps_to_two_threads_per_core),
		cmocka_unit_test(test_entropy_bandwidth_maps_to_max_bytes_and_period),
		cmocka_unit_test(test_incoming_argv_waits_for_a_snapshot),
		cmocka_unit_test(test_vsock_is_refused),
		cmocka_unit_test(test_mmds_is_refused),
		cmocka_unit_test(test_logger_and_metrics_are_refused),
		cmocka_unit_test(test_cpu_template_is_refused_but_none_is_fine),
		cmocka_unit_test(test_track_dirty_pages_is_refused),
		cmocka_unit_test(test_huge_pages_2m_is_refused),
		cmocka_unit_test(test_pmem_hotplug_cpu_config_and_serial_are_refused),
		cmocka_unit_test(test_balloon_free_page_hinting_is_refused),
		cmocka_unit_test(test_net_rate_limiters_are_refused),
		cmocka_unit_test(test_net_without_tap_or_mac_is_refused),
		cmocka_unit_test(test_entropy_ops_limiter_is_refused),
		cmocka_unit_test(test_missing_kernel_is_refused),
		cmocka_unit_test(test_unknown_accel_is_refused),
	};
	return svt_run_group(tests, NULL, NULL);
}
