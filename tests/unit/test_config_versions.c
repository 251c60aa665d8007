/* sv_vm_config's ABI: a program built against the version 1 header (before
 * Firecracker v1.16.1's fields were appended to machine_config, the
 * interfaces, balloon, mmds and logger) passes its config in that layout and
 * gets configs back in it. The structs below are that header's, copied as an
 * old program was compiled with them: the library must read every field at
 * its old offset, every array element at its old stride, and refuse a
 * version it does not know by name. */
#include "svtest.h"

#include <smartvm/config.h>
#include <smartvm/error.h>
#include <smartvm/images.h>

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config_v1_header.h"

typedef struct {
	char *dir, *kernel, *rootfs, *data;
	sv_drive_config drives[2];
	old_net_iface_config nets[2];
	old_balloon_config balloon;
	const char *mmds_ifaces[1];
	old_mmds_config mmds;
	old_logger_config logger;
	old_vm_config cfg;
	uint64_t canary; /* right after the old config: nothing may write it */
} old_program;

#define CANARY 0x5ee5ee5ee5ee5ee5ULL

static old_program *old_program_new(void)
{
	old_program *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	p->dir = svt_tmpdir();
	p->kernel = svt_write(p->dir, "vmlinux", "kernel");
	p->rootfs = svt_write(p->dir, "rootfs.ext4", "rootfs");
	p->data = svt_write(p->dir, "data.img", "data");
	p->drives[0] =
	    (sv_drive_config){.drive_id = "rootfs", .path_on_host = p->rootfs, .is_root_device = true};
	p->drives[1] = (sv_drive_config){.drive_id = "data", .path_on_host = p->data, .is_read_only = true};
	p->nets[0] = (old_net_iface_config){.iface_id = "eth0", .host_dev_name = "tap0"};
	p->nets[1] = (old_net_iface_config){
	    .iface_id = "eth1", .host_dev_name = "tap1", .guest_mac = "06:00:00:00:00:02"};
	p->balloon =
	    (old_balloon_config){.amount_mib = 64, .deflate_on_oom = true, .stats_polling_interval_s = 5};
	p->mmds_ifaces[0] = "eth1";
	p->mmds = (old_mmds_config){.version = SV_MMDS_V2,
				    .network_interfaces = p->mmds_ifaces,
				    .n_network_interfaces = 1,
				    .ipv4_address = "169.254.170.2"};
	p->logger =
	    (old_logger_config){.log_path = "/tmp/fc.log", .level = SV_LOG_LEVEL_DEBUG, .show_level = true};
	p->cfg = (old_vm_config){
	    .version = 1,
	    .id = "old-program",
	    .boot_source = {.kernel_image_path = p->kernel, .boot_args = "console=ttyS0"},
	    .machine_config = {.vcpu_count = 2,
			       .mem_size_mib = 256,
			       .cpu_template = "T2",
			       .track_dirty_pages = true},
	    .drives = p->drives,
	    .n_drives = 2,
	    .network_interfaces = p->nets,
	    .n_network_interfaces = 2,
	    .balloon = &p->balloon,
	    .mmds = &p->mmds,
	    .logger = &p->logger,
	};
	p->canary = CANARY;
	return p;
}

static void old_program_free(old_program *p)
{
	assert_true(p->canary == CANARY);
	svt_rm_tmpdir(p->dir);
	free(p->kernel);
	free(p->rootfs);
	free(p->data);
	free(p);
}

static const sv_vm_config *as_config(const old_vm_config *c) { return (const sv_vm_config *)c; }

static json_t *config_json(const old_vm_config *c)
{
	char *text = NULL;
	assert_int_equal(sv_vm_config_to_json(&text, as_config(c)), 0);
	json_t *j = json_loads(text, 0, NULL);
	assert_non_null(j);
	free(text);
	return j;
}

static const char *str_at(json_t *o, const char *key) { return json_string_value(json_object_get(o, key)); }

/* Every field lands where the old program put it, the second element of
 * each array included (its old stride), and no new field appears. */
static void test_version_1_config_is_read_at_its_offsets(void **state)
{
	(void)state;
	old_program *p = old_program_new();
	assert_int_equal(sv_vm_config_validate(as_config(&p->cfg)), 0);
	json_t *j = config_json(&p->cfg);
	json_t *mc = json_object_get(j, "machine-config");
	assert_int_equal(json_integer_value(json_object_get(mc, "vcpu_count")), 2);
	assert_int_equal(json_integer_value(json_object_get(mc, "mem_size_mib")), 256);
	assert_string_equal(str_at(mc, "cpu_template"), "T2");
	assert_true(json_is_true(json_object_get(mc, "track_dirty_pages")));
	assert_null(json_object_get(mc, "huge_pages"));
	json_t *drives = json_object_get(j, "drives");
	assert_int_equal(json_array_size(drives), 2);
	assert_string_equal(str_at(json_array_get(drives, 1), "drive_id"), "data");
	assert_true(json_is_true(json_object_get(json_array_get(drives, 1), "is_read_only")));
	json_t *nets = json_object_get(j, "network-interfaces");
	assert_int_equal(json_array_size(nets), 2);
	json_t *eth1 = json_array_get(nets, 1);
	assert_string_equal(str_at(eth1, "iface_id"), "eth1");
	assert_string_equal(str_at(eth1, "host_dev_name"), "tap1");
	assert_string_equal(str_at(eth1, "guest_mac"), "06:00:00:00:00:02");
	assert_null(json_object_get(eth1, "mtu"));
	json_t *balloon = json_object_get(j, "balloon");
	assert_int_equal(json_integer_value(json_object_get(balloon, "amount_mib")), 64);
	assert_int_equal(json_integer_value(json_object_get(balloon, "stats_polling_interval_s")), 5);
	assert_null(json_object_get(balloon, "free_page_hinting"));
	json_t *mmds = json_object_get(j, "mmds-config");
	assert_string_equal(str_at(mmds, "version"), "V2");
	assert_string_equal(json_string_value(json_array_get(json_object_get(mmds, "network_interfaces"), 0)),
			    "eth1");
	assert_string_equal(str_at(mmds, "ipv4_address"), "169.254.170.2");
	assert_string_equal(str_at(json_object_get(j, "logger"), "level"), "Debug");
	assert_null(json_object_get(j, "pmem"));
	assert_null(json_object_get(j, "memory-hotplug"));
	json_decref(j);
	old_program_free(p);
}

/* Validation walks the old stride too: the bad value is found in the
 * second interface and named by its path. */
static void test_version_1_errors_name_the_right_element(void **state)
{
	(void)state;
	old_program *p = old_program_new();
	p->nets[1].guest_mac = "01:00:00:00:00:02"; /* multicast */
	assert_int_equal(sv_vm_config_validate(as_config(&p->cfg)), SV_EINVAL);
	assert_non_null(strstr(sv_last_error(), "network_interfaces[1].guest_mac"));
	p->nets[1].guest_mac = NULL;
	p->nets[0].iface_id = "eth1"; /* now a duplicate of the second */
	assert_int_equal(sv_vm_config_validate(as_config(&p->cfg)), SV_EINVAL);
	assert_non_null(strstr(sv_last_error(), "network_interfaces[1]"));
	old_program_free(p);
}

/* What the library hands an old program is in the old layout. */
static void test_version_1_gets_configs_back_in_its_layout(void **state)
{
	(void)state;
	old_program *p = old_program_new();
	sv_vm_config *copy = NULL;
	assert_int_equal(sv_vm_config_copy(&copy, as_config(&p->cfg)), 0);
	const old_vm_config *c = (const old_vm_config *)copy;
	assert_int_equal(c->version, 1);
	assert_int_equal(c->machine_config.mem_size_mib, 256);
	assert_true(c->machine_config.track_dirty_pages);
	assert_int_equal(c->n_network_interfaces, 2);
	assert_string_equal(c->network_interfaces[1].guest_mac, "06:00:00:00:00:02");
	assert_ptr_not_equal(c->network_interfaces, p->nets);
	assert_int_equal(c->balloon->stats_polling_interval_s, 5);
	assert_string_equal(c->mmds->network_interfaces[0], "eth1");
	sv_vm_config_free(copy);

	char *text = NULL;
	assert_int_equal(sv_vm_config_to_json(&text, as_config(&p->cfg)), 0);
	sv_vm_config *loaded = NULL;
	assert_int_equal(sv_vm_config_from_json(&loaded, 1, text), 0);
	free(text);
	c = (const old_vm_config *)loaded;
	assert_int_equal(c->version, 1);
	assert_string_equal(c->network_interfaces[1].iface_id, "eth1");
	assert_string_equal(c->drives[1].drive_id, "data");
	assert_int_equal(c->logger->level, SV_LOG_LEVEL_DEBUG);
	sv_vm_config_free(loaded);
	old_program_free(p);
}

/* A field the old layout cannot carry is refused by its path, not dropped. */
static void test_version_1_refuses_a_field_it_lacks(void **state)
{
	(void)state;
	sv_vm_config *out = NULL;
	const char *json =
	    "{\"boot-source\":{\"kernel_image_path\":\"/k\"},"
	    "\"machine-config\":{\"vcpu_count\":1,\"mem_size_mib\":128},"
	    "\"network-interfaces\":[{\"iface_id\":\"eth0\",\"host_dev_name\":\"t\",\"mtu\":1400}]}";
	assert_int_equal(sv_vm_config_from_json(&out, 1, json), SV_EINVAL);
	assert_null(out);
	assert_string_equal(sv_last_error(), "network_interfaces[0].mtu: not in sv_vm_config version 1");
	assert_int_equal(sv_vm_config_from_json(&out, SV_VM_CONFIG_VERSION, json), 0);
	assert_int_equal(out->network_interfaces[0].mtu, 1400);
	sv_vm_config_free(out);
}

/* sv_base_image_vm_config fills an old config in place: the drives member
 * sits elsewhere in version 1 (machine_config was smaller). */
static void test_version_1_filled_from_a_bundle(void **state)
{
	(void)state;
	old_program *p = old_program_new();
	p->cfg.drives = NULL;
	p->cfg.n_drives = 0;
	sv_base_image_bundle b = {.bundle_id = "b1",
				  .kernel_image_path = "/k2",
				  .rootfs_path = "/r2",
				  .boot_args = "quiet",
				  .rootfs_is_read_only = true};
	sv_drive_config root;
	memset(&root, 0xff, sizeof(root));
	assert_int_equal(sv_base_image_vm_config((sv_vm_config *)&p->cfg, &root, &b), 0);
	assert_string_equal(p->cfg.base_image, "b1");
	assert_string_equal(p->cfg.boot_source.kernel_image_path, "/k2");
	assert_ptr_equal(p->cfg.drives, &root);
	assert_int_equal(p->cfg.n_drives, 1);
	assert_int_equal(p->cfg.machine_config.mem_size_mib, 256);
	assert_true(p->cfg.machine_config.track_dirty_pages);
	assert_ptr_equal(p->cfg.network_interfaces, p->nets);
	assert_string_equal(root.drive_id, "rootfs");
	assert_true(root.is_root_device && root.is_read_only);
	assert_null(root.rate_limiter);
	old_program_free(p);
}

/* 0 (never initialised) and a newer header's version are refused, naming
 * the struct and the way out. */
static void test_unknown_versions_are_refused_by_name(void **state)
{
	(void)state;
	old_program *p = old_program_new();
	char want[200];
	unsigned bad[] = {0, SV_VM_CONFIG_VERSION + 1};
	for (size_t i = 0; i < 2; i++) {
		p->cfg.version = bad[i];
		snprintf(want, sizeof(want),
			 "sv_vm_config.version is %u, which this library does not know (1 to %u): start from "
			 "its _INIT macro or sv_vm_config_init()",
			 bad[i], SV_VM_CONFIG_VERSION);
		assert_int_equal(sv_vm_config_validate(as_config(&p->cfg)), SV_EINVAL);
		assert_string_equal(sv_last_error(), want);
		char *text = NULL;
		assert_int_equal(sv_vm_config_to_json(&text, as_config(&p->cfg)), SV_EINVAL);
		assert_null(text);
		sv_vm_config *out = NULL;
		assert_int_equal(sv_vm_config_copy(&out, as_config(&p->cfg)), SV_EINVAL);
		assert_int_equal(sv_vm_config_from_json(&out, bad[i], "{}"), SV_EINVAL);
		assert_string_equal(sv_last_error(), want);
		assert_null(out);
		sv_vm_config cfg;
		assert_int_equal(sv_vm_config_init(&cfg, bad[i]), SV_EINVAL);
		assert_string_equal(sv_last_error(), want);
		sv_base_image_bundle b = {.bundle_id = "b", .kernel_image_path = "/k", .rootfs_path = "/r"};
		sv_drive_config root;
		assert_int_equal(sv_base_image_vm_config((sv_vm_config *)&p->cfg, &root, &b), SV_EINVAL);
		assert_string_equal(sv_last_error(), want);
	}
	old_program_free(p);
}

static void test_init_sets_the_version_and_nothing_else(void **state)
{
	(void)state;
	sv_vm_config cfg;
	memset(&cfg, 0xab, sizeof(cfg));
	assert_int_equal(sv_vm_config_init(&cfg, SV_VM_CONFIG_VERSION), 0);
	sv_vm_config want;
	memset(&want, 0, sizeof(want));
	want.version = SV_VM_CONFIG_VERSION;
	assert_memory_equal(&cfg, &want, sizeof(cfg));
	old_vm_config old;
	memset(&old, 0xab, sizeof(old));
	assert_int_equal(sv_vm_config_init((sv_vm_config *)&old, 1), 0);
	assert_int_equal(old.version, 1);
	assert_null(old.net);
	/* Every version this header knows keeps a layout in the library. */
	for (unsigned v = 1; v <= SV_VM_CONFIG_VERSION; v++) {
		sv_vm_config *out = NULL;
		assert_int_equal(sv_vm_config_from_json(&out, v, "{}"), 0);
		assert_int_equal(out->version, v);
		sv_vm_config_free(out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_version_1_config_is_read_at_its_offsets),
	    cmocka_unit_test(test_version_1_errors_name_the_right_element),
	    cmocka_unit_test(test_version_1_gets_configs_back_in_its_layout),
	    cmocka_unit_test(test_version_1_refuses_a_field_it_lacks),
	    cmocka_unit_test(test_version_1_filled_from_a_bundle),
	    cmocka_unit_test(test_unknown_versions_are_refused_by_name),
	    cmocka_unit_test(test_init_sets_the_version_and_nothing_else),
	};
	return svt_run_group(tests, NULL, NULL);
}
