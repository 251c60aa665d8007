/* Firecracker --config-file JSON in and out: round trips, Firecracker field
 * names, a real-looking Firecracker config, and bad documents with their
 * exact messages. */
#include "svtest.h"
#include "test_config_fixture.h"

#include "util/file.h"

#include <jansson.h>
#include <smartvm/error.h>
#include <sys/stat.h>
#include <unistd.h>

static void assert_bad_json(const char *text, const char *message)
{
	sv_vm_config *cfg = (sv_vm_config *)&cfg; /* poisoned: must become NULL */
	assert_int_equal(sv_vm_config_from_json(&cfg, SV_VM_CONFIG_VERSION, text), SV_EINVAL);
	assert_null(cfg);
	assert_string_equal(sv_last_error(), message);
}

/* A document valid in every way but the one fragment spliced in. */
#define MINIMAL_BOOT "\"boot-source\": {\"kernel_image_path\": \"/k\"}, "

static void test_full_config_round_trips(void **state)
{
	(void)state;
	cfg_fixture *f = fixture_new();
	char *text = NULL;
	assert_int_equal(sv_vm_config_to_json(&text, &f->cfg), 0);
	sv_vm_config *back = NULL;
	assert_int_equal(sv_vm_config_from_json(&back, SV_VM_CONFIG_VERSION, text), 0);
	assert_true(config_eq(back, &f->cfg));
	assert_int_equal(sv_vm_config_validate(back), 0);
	/* And the second generation serialises to the same text. */
	char *again = NULL;
	assert_int_equal(sv_vm_config_to_json(&again, back), 0);
	assert_string_equal(again, text);
	free(again);
	free(text);
	sv_vm_config_free(back);
	fixture_free(f);
}

/* smartvm.network: the VM's sv_vm_net_options, read, copied and written
 * back; a relative wireguard path is the file's directory's. */
static void test_network_options_round_trip(void **state)
{
	(void)state;
	static const char text[] =
	    "{" MINIMAL_BOOT "\"smartvm\": {\"network\": {\"wireguard\": \"/etc/wg/vm.conf\", \"publish\": "
	    "[\"8080:80\", \"127.0.0.1:5300:53/udp\"], \"netns\": \"/var/run/netns/x\", \"existing_taps\": "
	    "true, "
	    "\"allow_vm_to_vm\": true, \"allow_host_dns\": true}}}";
	sv_vm_config *cfg = NULL;
	assert_int_equal(sv_vm_config_from_json(&cfg, SV_VM_CONFIG_VERSION, text), 0);
	const sv_vm_net_options *n = cfg->net;
	assert_non_null(n);
	assert_int_equal(n->version, SV_VM_NET_OPTIONS_VERSION);
	assert_string_equal(n->wireguard_config, "/etc/wg/vm.conf");
	assert_int_equal(n->n_publish, 2);
	assert_string_equal(n->publish[1], "127.0.0.1:5300:53/udp");
	assert_string_equal(n->netns_path, "/var/run/netns/x");
	assert_true(n->existing_taps && n->allow_vm_to_vm && n->allow_host_dns);
	sv_vm_config *copy = NULL;
	assert_int_equal(sv_vm_config_copy(&copy, cfg), 0);
	assert_string_equal(copy->net->publish[0], "8080:80");
	char *out = NULL;
	assert_int_equal(sv_vm_config_to_json(&out, copy), 0);
	svt_assert_contains(out, "\"network\":");
	svt_assert_contains(
	    out, "\"publish\": [\n        \"8080:80\",\n        \"127.0.0.1:5300:53/udp\"\n      ]");
	svt_assert_contains(out, "\"allow_host_dns\": true");
	free(out);
	sv_vm_config_free(copy);
	sv_vm_config_free(cfg);

	char *dir = svt_tmpdir();
	char *file = svt_write(dir, "vm.json",
			       "{" MINIMAL_BOOT "\"smartvm\": {\"network\": {\"wireguard\": \"wg0.conf\"}}}");
	assert_int_equal(sv_vm_config_load(&cfg, SV_VM_CONFIG_VERSION, file), 0);
	char *want = sv_path_join(dir, "wg0.conf");
	assert_string_equal(cfg->net->wireguard_config, want);
	free(want);
	free(file);
	sv_vm_config_free(cfg);
	svt_rm_tmpdir(dir);

	assert_bad_json("{" MINIMAL_BOOT "\"smartvm\": {\"network\": {\"publish\": [80]}}}",
			"smartvm.network.publish[0]: must be a string");
	assert_bad_json("{" MINIMAL_BOOT "\"smartvm\": {\"network\": {\"wg\": \"x\"}}}",
			"smartvm.network.wg: unknown field");
}

static void test_save_load_round_trips(void **state)
{
	(void)state;
	cfg_fixture *f = fixture_new();
	char *path = fixture_path(f->dir, "vm.json");
	assert_int_equal(sv_vm_config_save(&f->cfg, path), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	sv_vm_config *loaded = NULL;
	assert_int_equal(sv_vm_config_load(&loaded, SV_VM_CONFIG_VERSION, path), 0);
	assert_true(config_eq(loaded, &f->cfg));
	/* load -> to_json -> from_json is equal too */
	char *text = NULL;
	assert_int_equal(sv_vm_config_to_json(&text, loaded), 0);
	sv_vm_config *again = NULL;
	assert_int_equal(sv_vm_config_from_json(&again, SV_VM_CONFIG_VERSION, text), 0);
	assert_true(config_eq(again, loaded));
	/* 6 fixture files + vm.json: no temp file left behind */
	assert_int_equal(svt_dir_entries(f->dir), 7);
	free(text);
	sv_vm_config_free(again);
	sv_vm_config_free(loaded);
	free(path);
	fixture_free(f);
}

static json_t *dig(json_t *root, const char *section, const char *key)
{
	json_t *s = json_object_get(root, section);
	assert_non_null(s);
	return json_object_get(s, key);
}

static void test_full_config_uses_firecracker_field_names(void **state)
{
	(void)state;
	cfg_fixture *f = fixture_new();
	char *text = NULL;
	assert_int_equal(sv_vm_config_to_json(&text, &f->cfg), 0);
	json_t *root = json_loads(text, 0, NULL);
	assert_non_null(root);
	assert_string_equal(json_string_value(dig(root, "boot-source", "kernel_image_path")), f->kernel);
	assert_string_equal(json_string_value(dig(root, "boot-source", "initrd_path")), f->initrd);
	assert_int_equal(json_integer_value(dig(root, "machine-config", "vcpu_count")), 2);
	assert_int_equal(json_integer_value(dig(root, "machine-config", "mem_size_mib")), 256);
	assert_true(json_is_true(dig(root, "machine-config", "smt")));
	assert_string_equal(json_string_value(dig(root, "machine-config", "cpu_template")), "T2");
	json_t *d0 = json_array_get(json_object_get(root, "drives"), 0);
	assert_true(json_is_true(json_object_get(d0, "is_root_device")));
	assert_string_equal(json_string_value(json_object_get(d0, "partuuid")), "0eaa91a0-01");
	assert_string_equal(json_string_value(json_object_get(d0, "cache_type")), "Writeback");
	assert_string_equal(json_string_value(json_object_get(d0, "io_engine")), "Async");
	json_t *d1 = json_array_get(json_object_get(root, "drives"), 1);
	assert_null(json_object_get(d1, "ephemeral"));
	json_t *bw = json_object_get(json_object_get(d1, "rate_limiter"), "bandwidth");
	assert_int_equal(json_integer_value(json_object_get(bw, "one_time_burst")), 1048576);
	json_t *n0 = json_array_get(json_object_get(root, "network-interfaces"), 0);
	assert_string_equal(json_string_value(json_object_get(n0, "host_dev_name")), "tap-web0");
	assert_string_equal(json_string_value(json_object_get(n0, "guest_mac")), "06:00:ac:10:00:02");
	assert_non_null(json_object_get(json_object_get(n0, "rx_rate_limiter"), "bandwidth"));
	assert_non_null(json_object_get(json_object_get(n0, "tx_rate_limiter"), "ops"));
	assert_int_equal(json_integer_value(dig(root, "vsock", "guest_cid")), 3);
	assert_int_equal(json_integer_value(dig(root, "balloon", "stats_polling_interval_s")), 5);
	assert_string_equal(json_string_value(dig(root, "mmds-config", "version")), "V2");
	assert_string_equal(json_string_value(dig(root, "mmds-config", "ipv4_address")), "169.254.170.2");
	assert_int_equal(json_array_size(dig(root, "mmds-config", "network_interfaces")), 2);
	assert_string_equal(json_string_value(dig(root, "logger", "level")), "Debug");
	assert_true(json_is_true(dig(root, "logger", "show_log_origin")));
	assert_string_equal(json_string_value(dig(root, "metrics", "metrics_path")), f->metrics_path);
	assert_non_null(json_object_get(dig(root, "entropy", "rate_limiter"), "ops"));
	assert_string_equal(json_string_value(dig(root, "smartvm", "id")), "web-1");
	assert_string_equal(json_string_value(dig(root, "smartvm", "base_image")), "ubuntu-24.04");
	/* PUT /serial has no --config-file key in Firecracker v1.16.1: smartvm's own. */
	assert_null(json_object_get(root, "serial"));
	assert_string_equal(json_string_value(json_object_get(dig(root, "smartvm", "serial"), "serial_out_path")),
			    f->serial_path);
	assert_int_equal(json_integer_value(dig(dig(root, "smartvm", "serial"), "rate_limiter", "size")), 4096);
	json_t *eph = dig(root, "smartvm", "ephemeral_drives");
	assert_int_equal(json_object_size(eph), 2); /* scratch-2 is UNSET */
	assert_true(json_is_false(json_object_get(eph, "rootfs")));
	assert_true(json_is_true(json_object_get(eph, "data")));
	json_decref(root);
	free(text);
	fixture_free(f);
}

static void test_minimal_config_writes_no_smartvm_key(void **state)
{
	(void)state;
	sv_vm_config min = {.version = SV_VM_CONFIG_VERSION,
	    .boot_source = {.kernel_image_path = "/k"},
	    .machine_config = {.vcpu_count = 1, .mem_size_mib = 128},
	};
	char *text = NULL;
	assert_int_equal(sv_vm_config_to_json(&text, &min), 0);
	json_t *root = json_loads(text, 0, NULL);
	assert_non_null(root);
	char keys[256] = "";
	const char *key;
	json_t *v;
	json_object_foreach(root, key, v)
	{
		strcat(keys, key);
		strcat(keys, " ");
	}
	assert_string_equal(keys, "boot-source machine-config drives network-interfaces ");
	json_decref(root);
	sv_vm_config *back = NULL;
	assert_int_equal(sv_vm_config_from_json(&back, SV_VM_CONFIG_VERSION, text), 0);
	assert_true(config_eq(back, &min));
	sv_vm_config_free(back);
	free(text);
}

/* Shaped like Firecracker's tests/framework/vm_config.json (v1.16), with the
 * nulls its GET /vm/config writes for sections that are off. */
static const char firecracker_config[] =
    "{\n"
    "  \"boot-source\": {\n"
    "    \"kernel_image_path\": \"vmlinux.bin\",\n"
    "    \"boot_args\": \"console=ttyS0 reboot=k panic=1 pci=off\",\n"
    "    \"initrd_path\": null\n"
    "  },\n"
    "  \"drives\": [\n"
    "    {\n"
    "      \"drive_id\": \"rootfs\",\n"
    "      \"partuuid\": null,\n"
    "      \"is_root_device\": true,\n"
    "      \"cache_type\": \"Unsafe\",\n"
    "      \"is_read_only\": false,\n"
    "      \"path_on_host\": \"ubuntu-24.04.ext4\",\n"
    "      \"io_engine\": \"Sync\",\n"
    "      \"rate_limiter\": null,\n"
    "      \"socket\": null\n"
    "    }\n"
    "  ],\n"
    "  \"machine-config\": {\n"
    "    \"vcpu_count\": 2,\n"
    "    \"mem_size_mib\": 1024,\n"
    "    \"smt\": false,\n"
    "    \"track_dirty_pages\": false,\n"
    "    \"huge_pages\": \"None\"\n"
    "  },\n"
    "  \"cpu-config\": null,\n"
    "  \"balloon\": null,\n"
    "  \"network-interfaces\": [\n"
    "    {\n"
    "      \"iface_id\": \"net1\",\n"
    "      \"guest_mac\": \"06:00:AC:10:00:02\",\n"
    "      \"host_dev_name\": \"tap0\"\n"
    "    }\n"
    "  ],\n"
    "  \"vsock\": {\"guest_cid\": 3, \"uds_path\": \"./v.sock\", \"vsock_id\": \"vsock0\"},\n"
    "  \"logger\": {\"log_path\": \"./fc.log\", \"level\": \"debug\", \"show_level\": true,\n"
    "             \"show_log_origin\": false},\n"
    "  \"metrics\": null,\n"
    "  \"mmds-config\": {\"network_interfaces\": [\"net1\"]},\n"
    "  \"entropy\": null\n"
    "}\n";

static void test_parses_firecracker_config_file(void **state)
{
	(void)state;
	char *dir = svt_tmpdir();
	char *path = svt_write(dir, "vm_config.json", firecracker_config);
	sv_vm_config *cfg = NULL;
	assert_int_equal(sv_vm_config_load(&cfg, SV_VM_CONFIG_VERSION, path), 0);
	assert_null(cfg->id);
	/* Relative paths are taken from the config file's directory. */
	char *expect = NULL;
	assert_true(asprintf(&expect, "%s/vmlinux.bin", dir) > 0);
	assert_string_equal(cfg->boot_source.kernel_image_path, expect);
	free(expect);
	assert_string_equal(cfg->boot_source.boot_args, "console=ttyS0 reboot=k panic=1 pci=off");
	assert_null(cfg->boot_source.initrd_path);
	assert_int_equal(cfg->n_drives, 1);
	assert_string_equal(cfg->drives[0].drive_id, "rootfs");
	assert_true(asprintf(&expect, "%s/ubuntu-24.04.ext4", dir) > 0);
	assert_string_equal(cfg->drives[0].path_on_host, expect);
	free(expect);
	assert_true(cfg->drives[0].is_root_device);
	assert_null(cfg->drives[0].partuuid);
	assert_null(cfg->drives[0].rate_limiter);
	assert_int_equal(cfg->drives[0].ephemeral, SV_UNSET);
	assert_int_equal(cfg->machine_config.vcpu_count, 2);
	assert_int_equal(cfg->machine_config.mem_size_mib, 1024);
	assert_null(cfg->machine_config.cpu_template);
	assert_null(cfg->balloon);
	assert_int_equal(cfg->n_network_interfaces, 1);
	assert_string_equal(cfg->network_interfaces[0].guest_mac, "06:00:AC:10:00:02");
	assert_string_equal(cfg->network_interfaces[0].host_dev_name, "tap0");
	assert_int_equal(cfg->vsock->guest_cid, 3);
	assert_true(asprintf(&expect, "%s/v.sock", dir) > 0);
	assert_string_equal(cfg->vsock->uds_path, expect);
	free(expect);
	assert_true(asprintf(&expect, "%s/fc.log", dir) > 0);
	assert_string_equal(cfg->logger->log_path, expect);
	free(expect);
	assert_int_equal(cfg->logger->level, SV_LOG_LEVEL_DEBUG); /* case-insensitive */
	assert_true(cfg->logger->show_level);
	assert_null(cfg->metrics);
	assert_int_equal(cfg->mmds->version, SV_MMDS_V1);
	assert_int_equal(cfg->mmds->n_network_interfaces, 1);
	assert_string_equal(cfg->mmds->network_interfaces[0], "net1");
	assert_null(cfg->mmds->ipv4_address);
	assert_null(cfg->entropy);
	assert_int_equal(sv_vm_config_validate(cfg), SV_EINVAL);
	assert_true(asprintf(&expect, "boot_source.kernel_image_path: %s/vmlinux.bin: no such file", dir) >
		    0);
	assert_string_equal(sv_last_error(), expect);
	free(expect);
	sv_vm_config_free(cfg);
	free(path);
	svt_rm_tmpdir(dir);
}

static void test_syntax_error_has_line_and_column(void **state)
{
	(void)state;
	assert_bad_json("{\n  \"boot-source\": {\n    \"kernel_image_path\": \"/k\",\n  }\n}",
			"line 4, column 3: string or '}' expected near '}'");
}

static void test_empty_document(void **state)
{
	(void)state;
	assert_bad_json("", "line 1, column 0: '[' or '{' expected near end of file");
}

static void test_duplicate_key(void **state)
{
	(void)state;
	assert_bad_json("{\"drives\": [], \"drives\": []}",
			"line 1, column 23: duplicate object key near '\"drives\"'");
}

static void test_top_level_must_be_object(void **state)
{
	(void)state;
	assert_bad_json("[]", "config: must be a JSON object");
}

static void test_unknown_top_level_key(void **state)
{
	(void)state;
	assert_bad_json("{" MINIMAL_BOOT "\"boot_source\": {}}", "boot_source: unknown field");
}

static void test_cpu_config_must_be_object(void **state)
{
	(void)state;
	assert_bad_json("{" MINIMAL_BOOT "\"cpu-config\": [\"!56\"]}", "cpu-config: must be an object");
}

/* A C caller's cpu_config that is not JSON is still written (the writer
 * does not validate), as a string that reads back as an error naming it. */
static void test_cpu_config_not_json_is_written_as_a_string(void **state)
{
	(void)state;
	sv_vm_config cfg = {.version = SV_VM_CONFIG_VERSION, .cpu_config = "{\"kvm_capabilities\": ["};
	char *text = NULL;
	assert_int_equal(sv_vm_config_to_json(&text, &cfg), 0);
	assert_bad_json(text, "cpu-config: must be an object");
	free(text);
}

/* Passed through as written: what Firecracker checks, smartvm does not. */
static void test_cpu_config_kept_as_json_text(void **state)
{
	(void)state;
	sv_vm_config *cfg = NULL;
	assert_int_equal(sv_vm_config_from_json(&cfg, SV_VM_CONFIG_VERSION, "{\"cpu-config\": {\"kvm_capabilities\": [\"!56\"], "
						      "\"msr_modifiers\": []}}"),
			 0);
	assert_string_equal(cfg->cpu_config, "{\"kvm_capabilities\":[\"!56\"],\"msr_modifiers\":[]}");
	sv_vm_config_free(cfg);
}

static void test_unknown_drive_field(void **state)
{
	(void)state;
	assert_bad_json("{\"drives\": [{\"drive_id\": \"rootfs\", \"foo\": 1}]}",
			"drives[0].foo: unknown field");
}

static void test_vhost_user_socket_not_supported(void **state)
{
	(void)state;
	assert_bad_json("{\"drives\": [{\"drive_id\": \"a\"}, {\"drive_id\": \"b\", \"socket\": \"/s\"}]}",
			"drives[1].socket: not supported by smartvm");
}

static void test_vcpu_count_string(void **state)
{
	(void)state;
	assert_bad_json("{\"machine-config\": {\"vcpu_count\": \"2\", \"mem_size_mib\": 128}}",
			"machine-config.vcpu_count: must be an integer");
}

static void test_vcpu_count_real(void **state)
{
	(void)state;
	assert_bad_json("{\"machine-config\": {\"vcpu_count\": 1.5}}",
			"machine-config.vcpu_count: must be an integer");
}

static void test_mem_size_negative(void **state)
{
	(void)state;
	assert_bad_json("{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": -128}}",
			"machine-config.mem_size_mib: must not be negative");
}

static void test_amount_mib_beyond_u32(void **state)
{
	(void)state;
	assert_bad_json("{\"balloon\": {\"amount_mib\": 4294967296, \"deflate_on_oom\": true}}",
			"balloon.amount_mib: must be at most 4294967295");
}

static void test_huge_pages_bad(void **state)
{
	(void)state;
	assert_bad_json("{\"machine-config\": {\"vcpu_count\": 1, \"huge_pages\": \"1G\"}}",
			"machine-config.huge_pages: must be one of None, 2M");
}

static void test_smt_must_be_boolean(void **state)
{
	(void)state;
	assert_bad_json("{\"machine-config\": {\"smt\": \"yes\"}}", "machine-config.smt: must be a boolean");
}

static void test_cache_type_is_case_sensitive(void **state)
{
	(void)state;
	assert_bad_json("{\"drives\": [{\"drive_id\": \"r\", \"cache_type\": \"writeback\"}]}",
			"drives[0].cache_type: must be one of Unsafe, Writeback");
}

static void test_io_engine_bad(void **state)
{
	(void)state;
	assert_bad_json("{\"drives\": [{\"drive_id\": \"r\", \"io_engine\": 1}]}",
			"drives[0].io_engine: must be one of Sync, Async");
}

static void test_drives_must_be_array(void **state)
{
	(void)state;
	assert_bad_json("{\"drives\": {\"drive_id\": \"r\"}}", "drives: must be an array");
}

static void test_drive_must_be_object(void **state)
{
	(void)state;
	assert_bad_json("{\"drives\": [{\"drive_id\": \"r\"}, \"data\"]}", "drives[1]: must be an object");
}

static void test_section_must_be_object(void **state)
{
	(void)state;
	assert_bad_json("{\"boot-source\": \"/k\"}", "boot-source: must be an object");
}

static void test_token_bucket_negative(void **state)
{
	(void)state;
	assert_bad_json("{\"network-interfaces\": [{\"iface_id\": \"eth0\", \"rx_rate_limiter\": "
			"{\"bandwidth\": {\"size\": -1, \"refill_time\": 100}}}]}",
			"network-interfaces[0].rx_rate_limiter.bandwidth.size: must not be negative");
}

static void test_rate_limiter_unknown_key(void **state)
{
	(void)state;
	assert_bad_json("{\"drives\": [{\"drive_id\": \"r\", \"rate_limiter\": {\"burst\": {}}}]}",
			"drives[0].rate_limiter.burst: unknown field");
}

static void test_token_bucket_unknown_key(void **state)
{
	(void)state;
	assert_bad_json("{\"entropy\": {\"rate_limiter\": {\"ops\": {\"size\": 1, \"refill_time\": 1, "
			"\"rate\": 3}}}}",
			"entropy.rate_limiter.ops.rate: unknown field");
}

static void test_mtu_must_be_integer(void **state)
{
	(void)state;
	assert_bad_json("{\"network-interfaces\": [{\"iface_id\": \"eth0\", \"mtu\": \"9000\"}]}",
			"network-interfaces[0].mtu: must be an integer");
}

static void test_imds_compat_must_be_boolean(void **state)
{
	(void)state;
	assert_bad_json("{\"mmds-config\": {\"network_interfaces\": [], \"imds_compat\": 1}}",
			"mmds-config.imds_compat: must be a boolean");
}

static void test_logger_module_must_be_string(void **state)
{
	(void)state;
	assert_bad_json("{\"logger\": {\"log_path\": \"/l\", \"module\": [\"vmm\"]}}",
			"logger.module: must be a string");
}

static void test_pmem_unknown_field(void **state)
{
	(void)state;
	assert_bad_json("{" MINIMAL_BOOT "\"pmem\": [{\"id\": \"p\", \"path_on_host\": \"/p\", \"size\": 1}]}",
			"pmem[0].size: unknown field");
}

static void test_memory_hotplug_negative(void **state)
{
	(void)state;
	assert_bad_json("{" MINIMAL_BOOT "\"memory-hotplug\": {\"total_size_mib\": -1}}",
			"memory-hotplug.total_size_mib: must not be negative");
}

static void test_mmds_interface_must_be_string(void **state)
{
	(void)state;
	assert_bad_json("{\"mmds-config\": {\"network_interfaces\": [\"eth0\", 1]}}",
			"mmds-config.network_interfaces[1]: must be a string");
}

static void test_mmds_version_bad(void **state)
{
	(void)state;
	assert_bad_json("{\"mmds-config\": {\"version\": \"V3\", \"network_interfaces\": [\"eth0\"]}}",
			"mmds-config.version: must be one of V1, V2");
}

static void test_logger_level_bad(void **state)
{
	(void)state;
	assert_bad_json("{\"logger\": {\"log_path\": \"/l\", \"level\": \"Verbose\"}}",
			"logger.level: must be one of Error, Warning, Info, Debug, Trace, Off");
}

static void test_vsock_cid_string(void **state)
{
	(void)state;
	assert_bad_json("{\"vsock\": {\"guest_cid\": \"3\", \"uds_path\": \"/v\"}}",
			"vsock.guest_cid: must be an integer");
}

static void test_smartvm_unknown_key(void **state)
{
	(void)state;
	assert_bad_json("{\"smartvm\": {\"name\": \"web\"}}", "smartvm.name: unknown field");
}

static void test_ephemeral_drive_must_exist(void **state)
{
	(void)state;
	assert_bad_json("{\"drives\": [{\"drive_id\": \"rootfs\"}], "
			"\"smartvm\": {\"ephemeral_drives\": {\"data\": true}}}",
			"smartvm.ephemeral_drives.data: no drive with this drive_id");
}

static void test_ephemeral_drive_must_be_boolean(void **state)
{
	(void)state;
	assert_bad_json("{\"drives\": [{\"drive_id\": \"rootfs\"}], "
			"\"smartvm\": {\"ephemeral_drives\": {\"rootfs\": \"yes\"}}}",
			"smartvm.ephemeral_drives.rootfs: must be a boolean");
}

static void test_smartvm_section_sets_id_and_ephemeral(void **state)
{
	(void)state;
	sv_vm_config *cfg = NULL;
	assert_int_equal(
	    sv_vm_config_from_json(&cfg, SV_VM_CONFIG_VERSION, "{\"drives\": [{\"drive_id\": \"a\"}, {\"drive_id\": \"b\"}], "
					 "\"smartvm\": {\"id\": \"vm-7\", \"base_image\": \"lts\", "
					 "\"ephemeral_drives\": {\"b\": false}}}"),
	    0);
	assert_string_equal(cfg->id, "vm-7");
	assert_string_equal(cfg->base_image, "lts");
	assert_int_equal(cfg->drives[0].ephemeral, SV_UNSET);
	assert_int_equal(cfg->drives[1].ephemeral, SV_NO);
	sv_vm_config_free(cfg);
}

static void test_from_json_does_not_validate_rules(void **state)
{
	(void)state;
	sv_vm_config *cfg = NULL;
	assert_int_equal(
	    sv_vm_config_from_json(&cfg, SV_VM_CONFIG_VERSION, "{\"machine-config\": {\"vcpu_count\": 99, \"mem_size_mib\": 0}, "
					 "\"vsock\": {\"guest_cid\": 1, \"uds_path\": \"\"}}"),
	    0);
	assert_int_equal(cfg->machine_config.vcpu_count, 99);
	assert_int_equal(cfg->vsock->guest_cid, 1);
	sv_vm_config_free(cfg);
}

/* Named relative to the cwd, the file's directory still anchors its paths;
 * absolute paths and paths in other fields are kept as written. */
static void test_load_resolves_relative_paths_against_the_files_directory(void **state)
{
	(void)state;
	char *dir = svt_tmpdir();
	char *sub = NULL;
	assert_true(asprintf(&sub, "%s/conf", dir) > 0);
	assert_int_equal(mkdir(sub, 0700), 0);
	char *path = svt_write(
	    sub, "vm.json",
	    "{\"boot-source\": {\"kernel_image_path\": \"../vmlinux\", \"initrd_path\": \"/abs/initrd\"},"
	    " \"drives\": [{\"drive_id\": \"d\", \"path_on_host\": \"./././disk.img\","
	    " \"is_root_device\": false, \"is_read_only\": true}],"
	    " \"metrics\": {\"metrics_path\": \"out/metrics.json\"},"
	    " \"network-interfaces\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\"}]}");
	char *cwd = getcwd(NULL, 0);
	assert_int_equal(chdir(dir), 0);
	sv_vm_config *cfg = NULL;
	int rc = sv_vm_config_load(&cfg, SV_VM_CONFIG_VERSION, "conf/vm.json");
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(rc, 0);
	char *expect = NULL;
	assert_true(asprintf(&expect, "%s/conf/../vmlinux", dir) > 0);
	assert_string_equal(cfg->boot_source.kernel_image_path, expect);
	free(expect);
	assert_string_equal(cfg->boot_source.initrd_path, "/abs/initrd");
	assert_true(asprintf(&expect, "%s/conf/disk.img", dir) > 0);
	assert_string_equal(cfg->drives[0].path_on_host, expect);
	free(expect);
	assert_true(asprintf(&expect, "%s/conf/out/metrics.json", dir) > 0);
	assert_string_equal(cfg->metrics->metrics_path, expect);
	free(expect);
	assert_string_equal(cfg->network_interfaces[0].host_dev_name, "tap0");
	sv_vm_config_free(cfg);
	free(cwd);
	free(path);
	free(sub);
	svt_rm_tmpdir(dir);
}

static void test_load_prefixes_errors_with_path(void **state)
{
	(void)state;
	char *dir = svt_tmpdir();
	char *path = svt_write(dir, "bad.json", "{\"drives\": [{\"drive_id\": \"r\", \"foo\": 1}]}");
	sv_vm_config *cfg = NULL;
	assert_int_equal(sv_vm_config_load(&cfg, SV_VM_CONFIG_VERSION, path), SV_EINVAL);
	assert_null(cfg);
	char *msg = NULL;
	assert_true(asprintf(&msg, "%s: drives[0].foo: unknown field", path) > 0);
	assert_string_equal(sv_last_error(), msg);
	free(msg);
	free(path);
	svt_rm_tmpdir(dir);
}

static void test_load_missing_file(void **state)
{
	(void)state;
	sv_vm_config *cfg = NULL;
	assert_int_equal(sv_vm_config_load(&cfg, SV_VM_CONFIG_VERSION, "/nonexistent/vm.json"), SV_ENOTFOUND);
	assert_null(cfg);
	assert_string_equal(sv_last_error(), "reading /nonexistent/vm.json: No such file or directory");
}

static void test_load_refuses_files_over_1mib(void **state)
{
	(void)state;
	char *dir = svt_tmpdir();
	char *big = malloc(1024 * 1024 + 2);
	assert_non_null(big);
	memset(big, ' ', 1024 * 1024 + 1);
	big[1024 * 1024 + 1] = '\0';
	char *path = svt_write(dir, "big.json", big);
	free(big);
	sv_vm_config *cfg = NULL;
	assert_int_equal(sv_vm_config_load(&cfg, SV_VM_CONFIG_VERSION, path), SV_EINVAL);
	char *msg = NULL;
	assert_true(asprintf(&msg, "reading %s: larger than 1048576 bytes", path) > 0);
	assert_string_equal(sv_last_error(), msg);
	free(msg);
	free(path);
	svt_rm_tmpdir(dir);
}

static void test_save_names_path_on_error(void **state)
{
	(void)state;
	sv_vm_config bad = {.version = SV_VM_CONFIG_VERSION, .n_drives = 1};
	assert_int_equal(sv_vm_config_save(&bad, "/nonexistent/vm.json"), SV_EINVAL);
	assert_string_equal(sv_last_error(),
			    "saving config to /nonexistent/vm.json: drives: NULL array with n_drives = 1");
	sv_vm_config ok = {.version = SV_VM_CONFIG_VERSION, .boot_source = {.kernel_image_path = "/k"}};
	assert_int_not_equal(sv_vm_config_save(&ok, "/nonexistent/vm.json"), 0);
	assert_non_null(strstr(sv_last_error(), "/nonexistent/vm.json"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_config_round_trips),
	    cmocka_unit_test(test_network_options_round_trip),
	    cmocka_unit_test(test_save_load_round_trips),
	    cmocka_unit_test(test_full_config_uses_firecracker_field_names),
	    cmocka_unit_test(test_minimal_config_writes_no_smartvm_key),
	    cmocka_unit_test(test_parses_firecracker_config_file),
	    cmocka_unit_test(test_load_resolves_relative_paths_against_the_files_directory),
	    cmocka_unit_test(test_syntax_error_has_line_and_column),
	    cmocka_unit_test(test_empty_document),
	    cmocka_unit_test(test_duplicate_key),
	    cmocka_unit_test(test_top_level_must_be_object),
	    cmocka_unit_test(test_unknown_top_level_key),
	    cmocka_unit_test(test_cpu_config_must_be_object),
	    cmocka_unit_test(test_cpu_config_kept_as_json_text),
	    cmocka_unit_test(test_cpu_config_not_json_is_written_as_a_string),
	    cmocka_unit_test(test_unknown_drive_field),
	    cmocka_unit_test(test_vhost_user_socket_not_supported),
	    cmocka_unit_test(test_vcpu_count_string),
	    cmocka_unit_test(test_vcpu_count_real),
	    cmocka_unit_test(test_mem_size_negative),
	    cmocka_unit_test(test_amount_mib_beyond_u32),
	    cmocka_unit_test(test_huge_pages_bad),
	    cmocka_unit_test(test_smt_must_be_boolean),
	    cmocka_unit_test(test_cache_type_is_case_sensitive),
	    cmocka_unit_test(test_io_engine_bad),
	    cmocka_unit_test(test_drives_must_be_array),
	    cmocka_unit_test(test_drive_must_be_object),
	    cmocka_unit_test(test_section_must_be_object),
	    cmocka_unit_test(test_token_bucket_negative),
	    cmocka_unit_test(test_rate_limiter_unknown_key),
	    cmocka_unit_test(test_token_bucket_unknown_key),
	    cmocka_unit_test(test_mtu_must_be_integer),
	    cmocka_unit_test(test_imds_compat_must_be_boolean),
	    cmocka_unit_test(test_logger_module_must_be_string),
	    cmocka_unit_test(test_pmem_unknown_field),
	    cmocka_unit_test(test_memory_hotplug_negative),
	    cmocka_unit_test(test_mmds_interface_must_be_string),
	    cmocka_unit_test(test_mmds_version_bad),
	    cmocka_unit_test(test_logger_level_bad),
	    cmocka_unit_test(test_vsock_cid_string),
	    cmocka_unit_test(test_smartvm_unknown_key),
	    cmocka_unit_test(test_ephemeral_drive_must_exist),
	    cmocka_unit_test(test_ephemeral_drive_must_be_boolean),
	    cmocka_unit_test(test_smartvm_section_sets_id_and_ephemeral),
	    cmocka_unit_test(test_from_json_does_not_validate_rules),
	    cmocka_unit_test(test_load_prefixes_errors_with_path),
	    cmocka_unit_test(test_load_missing_file),
	    cmocka_unit_test(test_load_refuses_files_over_1mib),
	    cmocka_unit_test(test_save_names_path_on_error),
	};
	return svt_run_group(tests, NULL, NULL);
}
