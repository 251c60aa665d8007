/* The Firecracker backend (sv_vmm_firecracker_ops) against the fake
 * Firecracker: what it sends (checked request by request from the fake's
 * record), how it drives the VM, and how failures read. */
#include "svtest.h"
#include "fakefc.h"

#include "util/file.h"
#include "util/spawn.h"
#include "vmm/firecracker/fc_api.h"
#include <smartvm/error.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static const sv_vmm_ops *ops = &sv_vmm_firecracker_ops;

typedef struct {
	svt_fakefc *f;
	sv_vmm *vmm;
	char *kernel, *initrd, *rootfs, *data, *log, *metrics, *vsock;
} fixture;

static fixture *fixture_new(const char *const *env)
{
	fixture *x = calloc(1, sizeof(*x));
	assert_non_null(x);
	x->f = svt_fakefc_start("vm-1", env);
	x->kernel = svt_fakefc_file(x->f, "vmlinux", "kernel");
	x->initrd = svt_fakefc_file(x->f, "initrd.img", "initrd");
	x->rootfs = svt_fakefc_file(x->f, "rootfs.ext4", "rootfs");
	x->data = svt_fakefc_file(x->f, "data.ext4", "data");
	/* Firecracker opens, never creates, its log and metrics files. */
	x->log = svt_fakefc_file(x->f, "fc.log", "");
	x->metrics = svt_fakefc_file(x->f, "fc.metrics", "");
	x->vsock = sv_path_join(x->f->dir, "v.sock");
	return x;
}

static int setup(void **state)
{
	*state = fixture_new(NULL);
	return 0;
}

static void connect_to(fixture *x, int timeout_ms)
{
	int rc = ops->connect(&x->vmm, x->f->sock, timeout_ms);
	if (rc)
		fail_msg("connect: %s", sv_last_error());
}

static int teardown(void **state)
{
	fixture *x = *state;
	if (!x)
		return 0;
	if (x->vmm)
		ops->disconnect(x->vmm);
	svt_fakefc_stop(x->f);
	free(x->kernel);
	free(x->initrd);
	free(x->rootfs);
	free(x->data);
	free(x->log);
	free(x->metrics);
	free(x->vsock);
	free(x);
	return 0;
}

/* ---- configurations ---- */

static const sv_rate_limiter rl_both = {
	.has_bandwidth = true, .bandwidth = { .size = 1048576, .one_time_burst = 2097152, .refill_time = 1000 },
	.has_ops = true, .ops = { .size = 100, .one_time_burst = 0, .refill_time = 500 },
};
static const sv_rate_limiter rl_ops = {
	.has_ops = true, .ops = { .size = 10, .one_time_burst = 5, .refill_time = 100 },
};
static const char *const mmds_ifaces[] = { "eth0" };

typedef struct {
	sv_drive_config drives[2];
	sv_net_iface_config nets[1];
	sv_vsock_config vsock;
	sv_balloon_config balloon;
	sv_mmds_config mmds;
	sv_logger_config logger;
	sv_metrics_config metrics;
	sv_entropy_config entropy;
	sv_vm_config cfg;
} full_config;

/* Every section, every optional field set. */
static void make_full_config(full_config *c, const fixture *x)
{
	memset(c, 0, sizeof(*c));
	c->drives[0] = (sv_drive_config){
		.drive_id = "rootfs", .path_on_host = x->rootfs, .is_root_device = true, .is_read_only = false,
		.partuuid = "0eaa91a0-01", .cache_type = SV_CACHE_WRITEBACK, .io_engine = SV_IO_ENGINE_ASYNC,
		.rate_limiter = &rl_both,
	};
	c->drives[1] = (sv_drive_config){ .drive_id = "data", .path_on_host = x->data, .is_read_only = true };
	c->nets[0] = (sv_net_iface_config){
		.iface_id = "eth0", .host_dev_name = "tap-vm1", .guest_mac = "06:00:ac:10:00:02",
		.rx_rate_limiter = &rl_both, .tx_rate_limiter = &rl_ops,
	};
	c->vsock = (sv_vsock_config){ .guest_cid = 3, .uds_path = x->vsock };
	c->balloon = (sv_balloon_config){ .amount_mib = 64, .deflate_on_oom = true, .stats_polling_interval_s = 5 };
	c->mmds = (sv_mmds_config){ .version = SV_MMDS_V2, .network_interfaces = mmds_ifaces,
				    .n_network_interfaces = 1, .ipv4_address = "169.254.170.2" };
	c->logger = (sv_logger_config){ .log_path = x->log, .level = SV_LOG_LEVEL_DEBUG, .show_level = true,
					.show_log_origin = true };
	c->metrics = (sv_metrics_config){ .metrics_path = x->metrics };
	c->entropy = (sv_entropy_config){ .rate_limiter = &rl_ops };
	c->cfg = (sv_vm_config){.version = SV_VM_CONFIG_VERSION,
		.id = "vm-1",
		.boot_source = { .kernel_image_path = x->kernel, .boot_args = "console=ttyS0 reboot=k panic=1",
				 .initrd_path = x->initrd },
		.machine_config = { .vcpu_count = 2, .mem_size_mib = 256, .smt = true, .cpu_template = "T2",
				    .track_dirty_pages = true },
		.drives = c->drives, .n_drives = 2,
		.network_interfaces = c->nets, .n_network_interfaces = 1,
		.vsock = &c->vsock, .balloon = &c->balloon, .mmds = &c->mmds, .logger = &c->logger,
		.metrics = &c->metrics, .entropy = &c->entropy,
	};
}

static sv_vm_config minimal_config(const fixture *x)
{
	return (sv_vm_config){.version = SV_VM_CONFIG_VERSION,
		.id = "vm-1",
		.boot_source = { .kernel_image_path = x->kernel },
		.machine_config = { .vcpu_count = 1, .mem_size_mib = 128 },
	};
}

static void configure(fixture *x, const sv_vm_config *cfg)
{
	if (ops->configure(x->vmm, cfg))
		fail_msg("configure: %s", sv_last_error());
}

/* The bodies, spelled out from firecracker-api-v1.16.1.yaml. */
static json_t *expected_full_requests(const fixture *x)
{
	json_t *rl_both_j = json_pack("{s:{s:i, s:i, s:i}, s:{s:i, s:i}}",
				      "bandwidth", "size", 1048576, "one_time_burst", 2097152, "refill_time", 1000,
				      "ops", "size", 100, "refill_time", 500);
	json_t *rl_ops_j = json_pack("{s:{s:i, s:i, s:i}}", "ops", "size", 10, "one_time_burst", 5, "refill_time", 100);
	json_t *want = json_pack(
		"["
		"{s:s, s:s, s:n, s:i},"
		"{s:s, s:s, s:{s:s, s:s, s:b, s:b}, s:i},"
		"{s:s, s:s, s:{s:s}, s:i},"
		"{s:s, s:s, s:{s:i, s:i, s:b, s:s, s:b}, s:i},"
		"{s:s, s:s, s:{s:s, s:s, s:s}, s:i},"
		"{s:s, s:s, s:{s:s, s:s, s:b, s:b, s:s, s:s, s:s, s:O}, s:i},"
		"{s:s, s:s, s:{s:s, s:s, s:b, s:b, s:s, s:s}, s:i},"
		"{s:s, s:s, s:{s:s, s:s, s:s, s:O, s:O}, s:i},"
		"{s:s, s:s, s:{s:i, s:s}, s:i},"
		"{s:s, s:s, s:{s:i, s:b, s:i}, s:i},"
		"{s:s, s:s, s:{s:s, s:[s], s:s}, s:i},"
		"{s:s, s:s, s:{s:O}, s:i}"
		"]",
		"method", "GET", "path", "/", "body", "status", 200,
		"method", "PUT", "path", "/logger", "body", "log_path", x->log, "level", "Debug", "show_level", 1,
		"show_log_origin", 1, "status", 204,
		"method", "PUT", "path", "/metrics", "body", "metrics_path", x->metrics, "status", 204,
		"method", "PUT", "path", "/machine-config", "body", "vcpu_count", 2, "mem_size_mib", 256, "smt", 1,
		"cpu_template", "T2", "track_dirty_pages", 1, "status", 204,
		"method", "PUT", "path", "/boot-source", "body", "kernel_image_path", x->kernel, "boot_args",
		"console=ttyS0 reboot=k panic=1", "initrd_path", x->initrd, "status", 204,
		"method", "PUT", "path", "/drives/rootfs", "body", "drive_id", "rootfs", "path_on_host", x->rootfs,
		"is_root_device", 1, "is_read_only", 0, "partuuid", "0eaa91a0-01", "cache_type", "Writeback",
		"io_engine", "Async", "rate_limiter", rl_both_j, "status", 204,
		"method", "PUT", "path", "/drives/data", "body", "drive_id", "data", "path_on_host", x->data,
		"is_root_device", 0, "is_read_only", 1, "cache_type", "Unsafe", "io_engine", "Sync", "status", 204,
		"method", "PUT", "path", "/network-interfaces/eth0", "body", "iface_id", "eth0", "host_dev_name",
		"tap-vm1", "guest_mac", "06:00:ac:10:00:02", "rx_rate_limiter", rl_both_j, "tx_rate_limiter", rl_ops_j,
		"status", 204,
		"method", "PUT", "path", "/vsock", "body", "guest_cid", 3, "uds_path", x->vsock, "status", 204,
		"method", "PUT", "path", "/balloon", "body", "amount_mib", 64, "deflate_on_oom", 1,
		"stats_polling_interval_s", 5, "status", 204,
		"method", "PUT", "path", "/mmds/config", "body", "version", "V2", "network_interfaces", "eth0",
		"ipv4_address", "169.254.170.2", "status", 204,
		"method", "PUT", "path", "/entropy", "body", "rate_limiter", rl_ops_j, "status", 204);
	json_decref(rl_both_j);
	json_decref(rl_ops_j);
	assert_non_null(want);
	return want;
}

static void assert_records_equal(svt_fakefc *f, json_t *want)
{
	json_t *got = svt_fakefc_records(f);
	size_t n = json_array_size(got) > json_array_size(want) ? json_array_size(got) : json_array_size(want);
	for (size_t i = 0; i < n; i++) {
		json_t *g = json_array_get(got, i), *w = json_array_get(want, i);
		if (!g || !w || !json_equal(g, w)) {
			char *gs = g ? json_dumps(g, JSON_SORT_KEYS) : strdup("(none)");
			char *ws = w ? json_dumps(w, JSON_SORT_KEYS) : strdup("(none)");
			print_error("request %zu\n  sent:     %s\n  expected: %s\n", i, gs, ws);
			free(gs);
			free(ws);
			fail();
		}
	}
	json_decref(got);
}

/* ---- configure ---- */

static void test_configure_puts_every_section_in_order_with_exact_bodies(void **state)
{
	fixture *x = *state;
	full_config c;
	make_full_config(&c, x);
	connect_to(x, 2000);
	configure(x, &c.cfg);
	json_t *want = expected_full_requests(x);
	assert_records_equal(x->f, want);
	json_decref(want);
}

static void test_configure_minimal_config_puts_only_present_sections(void **state)
{
	fixture *x = *state;
	sv_vm_config cfg = minimal_config(x);
	connect_to(x, 2000);
	configure(x, &cfg);
	json_t *want = json_pack("[{s:s, s:s, s:n, s:i}, {s:s, s:s, s:{s:i, s:i, s:b, s:b}, s:i},"
				 " {s:s, s:s, s:{s:s}, s:i}]",
				 "method", "GET", "path", "/", "body", "status", 200,
				 "method", "PUT", "path", "/machine-config", "body", "vcpu_count", 1, "mem_size_mib", 128,
				 "smt", 0, "track_dirty_pages", 0, "status", 204,
				 "method", "PUT", "path", "/boot-source", "body", "kernel_image_path", x->kernel,
				 "status", 204);
	assert_records_equal(x->f, want);
	json_decref(want);
}

static void test_running_config_contains_what_was_put(void **state)
{
	fixture *x = *state;
	full_config c;
	make_full_config(&c, x);
	connect_to(x, 2000);
	configure(x, &c.cfg);
	char *text = NULL;
	assert_int_equal(ops->running_config(x->vmm, &text), 0);
	json_t *got = json_loads(text, 0, NULL);
	assert_non_null(got);
	free(text);

	/* Each section reads back as it was PUT (the recorded bodies). */
	json_t *sent = expected_full_requests(x);
	struct { const char *key; size_t request; } sections[] = {
		{ "boot-source", 4 }, { "vsock", 8 }, { "balloon", 9 }, { "mmds-config", 10 }, { "entropy", 11 },
	};
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		json_t *body = json_object_get(json_array_get(sent, sections[i].request), "body");
		if (!json_equal(json_object_get(got, sections[i].key), body))
			fail_msg("running config \"%s\" differs from what was put", sections[i].key);
	}
	json_t *drives = json_object_get(got, "drives");
	assert_int_equal(json_array_size(drives), 2);
	assert_true(json_equal(json_array_get(drives, 0), json_object_get(json_array_get(sent, 5), "body")));
	assert_true(json_equal(json_array_get(drives, 1), json_object_get(json_array_get(sent, 6), "body")));
	json_t *nets = json_object_get(got, "network-interfaces");
	assert_true(json_equal(json_array_get(nets, 0), json_object_get(json_array_get(sent, 7), "body")));
	json_t *mc = json_object_get(got, "machine-config");
	assert_int_equal(json_integer_value(json_object_get(mc, "vcpu_count")), 2);
	assert_int_equal(json_integer_value(json_object_get(mc, "mem_size_mib")), 256);
	assert_string_equal(json_string_value(json_object_get(mc, "cpu_template")), "T2");
	json_decref(sent);
	json_decref(got);
}

/* The fields and sections of v1.16.1 that came with the section tables:
 * each reaches Firecracker (the fake checks every body against the spec) and
 * reads back from GET /vm/config as it was given. */
static void test_configure_sends_pmem_hotplug_cpu_config_and_new_fields(void **state)
{
	fixture *x = *state;
	char *pmem_file = svt_fakefc_file(x->f, "pmem.img", "pmem");
	sv_pmem_config pmem[] = { { .id = "pm0", .path_on_host = pmem_file, .read_only = true, .rate_limiter = &rl_ops } };
	sv_memory_hotplug_config hotplug = { .total_size_mib = 1024, .slot_size_mib = 256 };
	sv_net_iface_config nets[] = { { .iface_id = "eth0", .host_dev_name = "tap-vm1", .mtu = 1400 } };
	sv_balloon_config balloon = { .amount_mib = 16, .free_page_hinting = true, .free_page_reporting = true };
	sv_mmds_config mmds = { .network_interfaces = mmds_ifaces, .n_network_interfaces = 1, .imds_compat = true };
	sv_logger_config logger = { .log_path = x->log, .module = "api_server::request" };
	char *serial_out = svt_fakefc_file(x->f, "serial.out", "");
	sv_serial_config serial = { .serial_out_path = serial_out, .has_rate_limiter = true,
				    .rate_limiter = { .size = 4096, .refill_time = 100 } };
	sv_vm_config cfg = minimal_config(x);
	cfg.serial = &serial;
	cfg.machine_config.huge_pages = SV_HUGE_PAGES_2M;
	cfg.cpu_config = "{\"kvm_capabilities\":[\"!56\"],\"cpuid_modifiers\":[{\"leaf\":\"0x1\",\"subleaf\":\"0x0\","
			 "\"flags\":-1,\"modifiers\":[{\"register\":\"ecx\",\"bitmap\":\"0bxxxxxxxxxxxxxxxxxxxxxxxxxxxx0001\"}]}]}";
	cfg.pmem = pmem;
	cfg.n_pmem = 1;
	cfg.memory_hotplug = &hotplug;
	cfg.network_interfaces = nets;
	cfg.n_network_interfaces = 1;
	cfg.balloon = &balloon;
	cfg.mmds = &mmds;
	cfg.logger = &logger;
	connect_to(x, 2000);
	configure(x, &cfg);
	char *text = NULL;
	assert_int_equal(ops->running_config(x->vmm, &text), 0);
	json_t *got = json_loads(text, 0, NULL);
	assert_non_null(got);
	free(text);
	json_t *want = json_loads(cfg.cpu_config, 0, NULL);
	assert_true(json_equal(json_object_get(got, "cpu-config"), want));
	json_decref(want);
	want = json_pack("[{s:s, s:s, s:b, s:b, s:{s:{s:i, s:i, s:i}}}]", "id", "pm0", "path_on_host", pmem_file,
			 "root_device", 0, "read_only", 1, "rate_limiter", "ops", "size", 10, "refill_time", 100,
			 "one_time_burst", 5);
	assert_true(json_equal(json_object_get(got, "pmem"), want));
	json_decref(want);
	want = json_pack("{s:i, s:i}", "total_size_mib", 1024, "slot_size_mib", 256);
	assert_true(json_equal(json_object_get(got, "memory-hotplug"), want));
	json_decref(want);
	/* PUT /serial, which GET /vm/config does not show. */
	json_t *records = svt_fakefc_records(x->f), *req;
	size_t i, n_serial = 0;
	want = json_pack("{s:s, s:{s:i, s:i}}", "serial_out_path", serial_out, "rate_limiter", "size", 4096,
			 "refill_time", 100);
	json_array_foreach(records, i, req)
		if (!strcmp(json_string_value(json_object_get(req, "path")), "/serial")) {
			assert_true(json_equal(json_object_get(req, "body"), want));
			assert_int_equal(json_integer_value(json_object_get(req, "status")), 204);
			n_serial++;
		}
	assert_int_equal(n_serial, 1);
	json_decref(want);
	json_decref(records);
	json_t *mc = json_object_get(got, "machine-config");
	assert_string_equal(json_string_value(json_object_get(mc, "huge_pages")), "2M");
	json_t *net = json_array_get(json_object_get(got, "network-interfaces"), 0);
	assert_int_equal(json_integer_value(json_object_get(net, "mtu")), 1400);
	json_t *b = json_object_get(got, "balloon");
	assert_true(json_is_true(json_object_get(b, "free_page_hinting")));
	assert_true(json_is_true(json_object_get(b, "free_page_reporting")));
	assert_true(json_is_true(json_object_get(json_object_get(got, "mmds-config"), "imds_compat")));
	/* Firecracker's own answer (nulls for what is off) reads back as a config. */
	char *answer = json_dumps(got, JSON_COMPACT);
	sv_vm_config *back = NULL;
	if (sv_vm_config_from_json(&back, SV_VM_CONFIG_VERSION, answer))
		fail_msg("GET /vm/config does not read back: %s", sv_last_error());
	assert_int_equal(back->n_pmem, 1);
	assert_string_equal(back->pmem[0].id, "pm0");
	assert_int_equal(back->memory_hotplug->slot_size_mib, 256);
	assert_int_equal(back->network_interfaces[0].mtu, 1400);
	assert_int_equal(back->machine_config.huge_pages, SV_HUGE_PAGES_2M);
	assert_true(back->balloon->free_page_reporting && back->mmds->imds_compat);
	json_t *cpu = json_loads(back->cpu_config, 0, NULL);
	assert_true(json_equal(cpu, json_object_get(got, "cpu-config")));
	json_decref(cpu);
	sv_vm_config_free(back);
	free(answer);
	json_decref(got);
	free(pmem_file);
	free(serial_out);
}

/* ---- lifecycle ---- */

static const char *instance_state(fixture *x, json_t **keep)
{
	char *text = NULL;
	assert_int_equal(ops->instance_info(x->vmm, &text), 0);
	*keep = json_loads(text, 0, NULL);
	free(text);
	assert_string_equal(json_string_value(json_object_get(*keep, "app_name")), "Firecracker");
	return json_string_value(json_object_get(*keep, "state"));
}

static void test_start_pause_resume_show_in_instance_info(void **state)
{
	fixture *x = *state;
	sv_vm_config cfg = minimal_config(x);
	json_t *keep = NULL;
	connect_to(x, 2000);
	configure(x, &cfg);
	assert_string_equal(instance_state(x, &keep), "Not started");
	json_decref(keep);
	assert_int_equal(ops->start(x->vmm), 0);
	assert_string_equal(instance_state(x, &keep), "Running");
	json_decref(keep);
	assert_int_equal(ops->pause(x->vmm), 0);
	assert_string_equal(instance_state(x, &keep), "Paused");
	json_decref(keep);
	assert_int_equal(ops->resume(x->vmm), 0);
	assert_string_equal(instance_state(x, &keep), "Running");
	json_decref(keep);

	json_t *recs = svt_fakefc_records(x->f);
	json_t *start = json_array_get(recs, 4), *pause = json_array_get(recs, 6), *resume = json_array_get(recs, 8);
	json_t *want_start = json_pack("{s:s, s:s, s:{s:s}, s:i}", "method", "PUT", "path", "/actions", "body",
				       "action_type", "InstanceStart", "status", 204);
	json_t *want_pause = json_pack("{s:s, s:s, s:{s:s}, s:i}", "method", "PATCH", "path", "/vm", "body",
				       "state", "Paused", "status", 204);
	json_t *want_resume = json_pack("{s:s, s:s, s:{s:s}, s:i}", "method", "PATCH", "path", "/vm", "body",
					"state", "Resumed", "status", 204);
	assert_true(json_equal(start, want_start));
	assert_true(json_equal(pause, want_pause));
	assert_true(json_equal(resume, want_resume));
	json_decref(want_start);
	json_decref(want_pause);
	json_decref(want_resume);
	json_decref(recs);
}

static void test_request_shutdown_ends_the_process(void **state)
{
	fixture *x = *state;
	sv_vm_config cfg = minimal_config(x);
	connect_to(x, 2000);
	configure(x, &cfg);
	assert_int_equal(ops->start(x->vmm), 0);
	assert_int_equal(ops->request_shutdown(x->vmm), 0);
	assert_true(svt_fakefc_wait_exit(x->f, 2000));
	assert_true(WIFEXITED(x->f->status));
	assert_int_equal(WEXITSTATUS(x->f->status), 0);
}

static void test_generic_request_returns_the_parsed_reply(void **state)
{
	fixture *x = *state;
	connect_to(x, 2000);
	json_t *reply = NULL;
	assert_int_equal(sv_fc_request(x->vmm, "GET", "/version", NULL, &reply), 0);
	assert_string_equal(json_string_value(json_object_get(reply, "firecracker_version")), "1.16.1");
	json_decref(reply);
	/* 204 has no body: no reply object. */
	json_t *body = json_pack("{s:s}", "action_type", "FlushMetrics");
	reply = json_null(); /* a static singleton: overwriting it leaks nothing */
	assert_int_equal(sv_fc_request(x->vmm, "PUT", "/actions", body, &reply), 0);
	assert_null(reply);
	json_decref(body);
}

/* ---- failures ---- */

/* Configures a root drive <dir>/<name> that does not exist and asserts
 * Firecracker's refusal reads "... backing file: <dir>/<shown>: ...". */
static void assert_missing_drive_refused(fixture *x, const char *name, const char *shown)
{
	sv_vm_config cfg = minimal_config(x);
	char *missing = sv_path_join(x->f->dir, name);
	sv_drive_config d = { .drive_id = "rootfs", .path_on_host = missing, .is_root_device = true };
	cfg.drives = &d;
	cfg.n_drives = 1;
	connect_to(x, 2000);
	assert_int_equal(ops->configure(x->vmm, &cfg), SV_EVMM);
	assert_int_equal(sv_last_error_code(), SV_EVMM);
	char *want = NULL;
	assert_true(asprintf(&want, "PUT /drives/rootfs: 400 Unable to open the block device backing file: %s/%s: "
				    "No such file or directory (os error 2)", x->f->dir, shown) > 0);
	assert_string_equal(sv_last_error(), want);
	free(want);
	free(missing);
}

static void test_refusal_surfaces_as_evmm_with_endpoint_and_fault_message(void **state)
{
	assert_missing_drive_refused(*state, "gone.ext4", "gone.ext4");
}

/* The VMM's words are quoted escaped: here it echoes a path with a terminal
 * escape in it. */
static void test_fault_message_is_escaped(void **state)
{
	assert_missing_drive_refused(*state, "gone\x1b[2J.ext4", "gone\\x1b[2J.ext4");
}

static void test_pause_before_start_surfaces_firecracker_refusal(void **state)
{
	fixture *x = *state;
	connect_to(x, 2000);
	assert_int_equal(ops->pause(x->vmm), SV_EVMM);
	assert_string_equal(sv_last_error(),
			    "PATCH /vm: 400 The requested operation is not supported before starting the microVM.");
}

static void test_stalled_endpoint_times_out_within_the_configured_timeout(void **state)
{
	const char *env[] = { "FAKE_FC_STALL_PATH=/actions", NULL };
	fixture *x = fixture_new(env);
	*state = x;
	sv_vm_config cfg = minimal_config(x);
	connect_to(x, 300);
	configure(x, &cfg);
	long long t0 = sv_now_ms();
	assert_int_equal(ops->start(x->vmm), SV_ETIMEOUT);
	long long took = sv_now_ms() - t0;
	assert_true(took >= 290);
	assert_true(took < 1300);
	char *want = NULL;
	assert_true(asprintf(&want, "PUT /actions: no answer from %s within 300 ms", x->f->sock) > 0);
	assert_non_null(strstr(sv_last_error(), want));
	assert_int_equal(strncmp(sv_last_error(), want, strlen(want)), 0);
	free(want);
}

static void test_connect_to_socket_nobody_listens_on_fails_clearly(void **state)
{
	fixture *x = *state;
	/* A socket file left by a dead process: bound, never listening. */
	char *path = sv_path_join(x->f->dir, "stale.sock");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	sv_vmm *vmm = (sv_vmm *)0x1;
	assert_int_equal(ops->connect(&vmm, path, 1000), SV_EIO);
	assert_null(vmm);
	char *want = NULL;
	assert_true(asprintf(&want, "connecting to the Firecracker API at %s: GET /: cannot connect to %s (", path, path) > 0);
	if (strncmp(sv_last_error(), want, strlen(want)))
		fail_msg("got: %s", sv_last_error());
	free(want);
	close(fd);
	free(path);
}

static void test_connect_to_missing_socket_fails_clearly(void **state)
{
	fixture *x = *state;
	char *path = sv_path_join(x->f->dir, "absent.sock");
	sv_vmm *vmm = NULL;
	long long t0 = sv_now_ms();
	assert_int_equal(ops->connect(&vmm, path, 1000), SV_EIO);
	assert_true(sv_now_ms() - t0 < 1000);
	char *want = NULL;
	assert_true(asprintf(&want, "connecting to the Firecracker API at %s: GET /: cannot connect to %s (", path, path) > 0);
	if (strncmp(sv_last_error(), want, strlen(want)))
		fail_msg("got: %s", sv_last_error());
	free(want);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_configure_puts_every_section_in_order_with_exact_bodies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_configure_minimal_config_puts_only_present_sections, setup, teardown),
		cmocka_unit_test_setup_teardown(test_configure_sends_pmem_hotplug_cpu_config_and_new_fields, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_running_config_contains_what_was_put, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_pause_resume_show_in_instance_info, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_shutdown_ends_the_process, setup, teardown),
		cmocka_unit_test_setup_teardown(test_generic_request_returns_the_parsed_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusal_surfaces_as_evmm_with_endpoint_and_fault_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_message_is_escaped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pause_before_start_surfaces_firecracker_refusal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stalled_endpoint_times_out_within_the_configured_timeout, NULL, teardown),
		cmocka_unit_test_setup_teardown(test_connect_to_socket_nobody_listens_on_fails_clearly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect_to_missing_socket_fails_clearly, setup, teardown),
	};
	return svt_run_group(tests, NULL, NULL);
}
