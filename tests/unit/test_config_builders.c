/* The per-section Firecracker JSON builders (src/config/config_json.h): exact
 * field names, unset optionals left out, smartvm-only fields never sent. */
#include "svtest.h"

#include "config/config_json.h"

#include <stdlib.h>
#include <string.h>

/* The object's keys in order, comma-separated, for whole-shape assertions. */
static void assert_keys(json_t *o, const char *expected)
{
	assert_non_null(o);
	char keys[512] = "";
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v)
	{
		if (keys[0])
			strcat(keys, ",");
		strcat(keys, key);
	}
	assert_string_equal(keys, expected);
}

static void assert_dump(json_t *o, const char *expected)
{
	assert_non_null(o);
	char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_non_null(text);
	assert_string_equal(text, expected);
	free(text);
}

static void test_drive_always_sends_flags_and_omits_unset(void **state)
{
	(void)state;
	sv_drive_config d = {.drive_id = "rootfs", .path_on_host = "/r.ext4", .ephemeral = SV_YES};
	json_t *o = sv_json_drive(&d);
	assert_dump(o, "{\"drive_id\":\"rootfs\",\"path_on_host\":\"/r.ext4\",\"is_root_device\":false,"
		       "\"is_read_only\":false,\"cache_type\":\"Unsafe\",\"io_engine\":\"Sync\"}");
	json_decref(o);
}

static void test_drive_with_every_field(void **state)
{
	(void)state;
	sv_rate_limiter rl = {.has_bandwidth = true,
			      .bandwidth = {.size = 100, .one_time_burst = 5, .refill_time = 10}};
	sv_drive_config d = {.drive_id = "rootfs",
			     .path_on_host = "/r.ext4",
			     .is_root_device = true,
			     .is_read_only = true,
			     .partuuid = "abcd-01",
			     .cache_type = SV_CACHE_WRITEBACK,
			     .io_engine = SV_IO_ENGINE_ASYNC,
			     .rate_limiter = &rl};
	json_t *o = sv_json_drive(&d);
	assert_dump(o, "{\"drive_id\":\"rootfs\",\"path_on_host\":\"/r.ext4\",\"is_root_device\":true,"
		       "\"is_read_only\":true,\"partuuid\":\"abcd-01\",\"cache_type\":\"Writeback\","
		       "\"io_engine\":\"Async\",\"rate_limiter\":{\"bandwidth\":{\"size\":100,"
		       "\"refill_time\":10,\"one_time_burst\":5}}}");
	json_decref(o);
}

static void test_rate_limiter_omits_zero_burst_and_absent_buckets(void **state)
{
	(void)state;
	sv_rate_limiter rl = {.has_ops = true, .ops = {.size = 7, .refill_time = 9}};
	json_t *o = sv_json_rate_limiter(&rl);
	assert_dump(o, "{\"ops\":{\"size\":7,\"refill_time\":9}}");
	json_decref(o);
	sv_rate_limiter none = {0};
	o = sv_json_rate_limiter(&none);
	assert_dump(o, "{}");
	json_decref(o);
}

static void test_boot_source_omits_null_fields(void **state)
{
	(void)state;
	sv_boot_source bs = {.kernel_image_path = "/k"};
	json_t *o = sv_json_boot_source(&bs);
	assert_dump(o, "{\"kernel_image_path\":\"/k\"}");
	json_decref(o);
	bs.boot_args = "console=ttyS0";
	bs.initrd_path = "/i";
	o = sv_json_boot_source(&bs);
	assert_keys(o, "kernel_image_path,boot_args,initrd_path");
	json_decref(o);
}

static void test_machine_config_sends_smt_and_dirty_pages(void **state)
{
	(void)state;
	sv_machine_config mc = {.vcpu_count = 2, .mem_size_mib = 512};
	json_t *o = sv_json_machine_config(&mc);
	assert_dump(o, "{\"vcpu_count\":2,\"mem_size_mib\":512,\"smt\":false,\"track_dirty_pages\":false}");
	json_decref(o);
	mc.cpu_template = "T2S";
	o = sv_json_machine_config(&mc);
	assert_string_equal(json_string_value(json_object_get(o, "cpu_template")), "T2S");
	json_decref(o);
}

static void test_net_iface_omits_unset(void **state)
{
	(void)state;
	sv_net_iface_config n = {.iface_id = "eth0"};
	json_t *o = sv_json_net_iface(&n);
	assert_dump(o, "{\"iface_id\":\"eth0\"}");
	json_decref(o);
	sv_rate_limiter rl = {.has_bandwidth = true, .bandwidth = {.size = 1, .refill_time = 1}};
	n = (sv_net_iface_config){.iface_id = "eth0",
				  .host_dev_name = "tap0",
				  .guest_mac = "06:00:00:00:00:01",
				  .rx_rate_limiter = &rl,
				  .tx_rate_limiter = &rl};
	o = sv_json_net_iface(&n);
	assert_keys(o, "iface_id,host_dev_name,guest_mac,rx_rate_limiter,tx_rate_limiter");
	json_decref(o);
}

static void test_vsock_fields(void **state)
{
	(void)state;
	sv_vsock_config v = {.guest_cid = 3, .uds_path = "/run/v.sock"};
	json_t *o = sv_json_vsock(&v);
	assert_dump(o, "{\"guest_cid\":3,\"uds_path\":\"/run/v.sock\"}");
	json_decref(o);
}

static void test_balloon_omits_zero_stats_interval(void **state)
{
	(void)state;
	sv_balloon_config b = {.amount_mib = 10};
	json_t *o = sv_json_balloon(&b);
	assert_dump(o, "{\"amount_mib\":10,\"deflate_on_oom\":false}");
	json_decref(o);
	b.stats_polling_interval_s = 2;
	b.deflate_on_oom = true;
	o = sv_json_balloon(&b);
	assert_dump(o, "{\"amount_mib\":10,\"deflate_on_oom\":true,\"stats_polling_interval_s\":2}");
	json_decref(o);
}

static void test_mmds_config_fields(void **state)
{
	(void)state;
	const char *ifaces[] = {"eth0", "eth1"};
	sv_mmds_config m = {.network_interfaces = ifaces, .n_network_interfaces = 2};
	json_t *o = sv_json_mmds_config(&m);
	assert_dump(o, "{\"version\":\"V1\",\"network_interfaces\":[\"eth0\",\"eth1\"]}");
	json_decref(o);
	m.version = SV_MMDS_V2;
	m.ipv4_address = "169.254.170.2";
	o = sv_json_mmds_config(&m);
	assert_dump(o, "{\"version\":\"V2\",\"network_interfaces\":[\"eth0\",\"eth1\"],"
		       "\"ipv4_address\":\"169.254.170.2\"}");
	json_decref(o);
}

static void test_logger_omits_unset_level(void **state)
{
	(void)state;
	sv_logger_config l = {.log_path = "/tmp/fc.log"};
	json_t *o = sv_json_logger(&l);
	assert_dump(o, "{\"log_path\":\"/tmp/fc.log\",\"show_level\":false,\"show_log_origin\":false}");
	json_decref(o);
	static const char *const names[] = {"Error", "Warning", "Info", "Debug", "Trace", "Off"};
	for (int lvl = SV_LOG_LEVEL_ERROR; lvl <= SV_LOG_LEVEL_OFF; lvl++) {
		l.level = (sv_log_level)lvl;
		o = sv_json_logger(&l);
		assert_string_equal(json_string_value(json_object_get(o, "level")), names[lvl - 1]);
		json_decref(o);
	}
}

static void test_metrics_and_entropy(void **state)
{
	(void)state;
	sv_metrics_config m = {.metrics_path = "/tmp/m"};
	json_t *o = sv_json_metrics(&m);
	assert_dump(o, "{\"metrics_path\":\"/tmp/m\"}");
	json_decref(o);
	sv_entropy_config e = {0};
	o = sv_json_entropy(&e);
	assert_dump(o, "{}");
	json_decref(o);
	sv_rate_limiter rl = {.has_ops = true, .ops = {.size = 4, .one_time_burst = 2, .refill_time = 8}};
	e.rate_limiter = &rl;
	o = sv_json_entropy(&e);
	assert_dump(o, "{\"rate_limiter\":{\"ops\":{\"size\":4,\"refill_time\":8,\"one_time_burst\":2}}}");
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_drive_always_sends_flags_and_omits_unset),
	    cmocka_unit_test(test_drive_with_every_field),
	    cmocka_unit_test(test_rate_limiter_omits_zero_burst_and_absent_buckets),
	    cmocka_unit_test(test_boot_source_omits_null_fields),
	    cmocka_unit_test(test_machine_config_sends_smt_and_dirty_pages),
	    cmocka_unit_test(test_net_iface_omits_unset),
	    cmocka_unit_test(test_vsock_fields),
	    cmocka_unit_test(test_balloon_omits_zero_stats_interval),
	    cmocka_unit_test(test_mmds_config_fields),
	    cmocka_unit_test(test_logger_omits_unset_level),
	    cmocka_unit_test(test_metrics_and_entropy),
	};
	return svt_run_group(tests, NULL, NULL);
}
