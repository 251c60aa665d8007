/* Shared by the test_config_* tests: a fully populated VM config (every
 * section, every optional field) backed by real files in a temp dir, and a
 * deep equality check. Included after cmocka and svtest.h. */
#ifndef TEST_CONFIG_FIXTURE_H
#define TEST_CONFIG_FIXTURE_H

#include <smartvm/config.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	char *dir;
	char *kernel, *initrd, *rootfs, *data, *scratch, *pmem_file;
	char *vsock_path, *log_path, *metrics_path;
	sv_rate_limiter rl_drive, rl_rx, rl_tx, rl_entropy;
	sv_drive_config drives[3];
	sv_net_iface_config ifaces[2];
	const char *mmds_ifaces[2];
	sv_vsock_config vsock;
	sv_balloon_config balloon;
	sv_mmds_config mmds;
	sv_logger_config logger;
	sv_metrics_config metrics;
	sv_entropy_config entropy;
	sv_pmem_config pmem[1];
	sv_memory_hotplug_config hotplug;
	sv_serial_config serial;
	char *serial_path;
	sv_vm_config cfg;
} cfg_fixture;

static inline char *fixture_path(const char *dir, const char *name)
{
	char *p = NULL;
	assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

/* A custom CPU template, written as the reader keeps it (compact, in order). */
#define FIXTURE_CPU_CONFIG                                                                                   \
	"{\"kvm_capabilities\":[\"!56\"],\"cpuid_modifiers\":[{\"leaf\":\"0x1\",\"subleaf\":\"0x0\","     \
	"\"flags\":0,\"modifiers\":[{\"register\":\"ecx\",\"bitmap\":"                                 \
	"\"0bxxxxxxxxxxxxxxxxxxxxxxxxxxxx0001\"}]}]}"

/* Every section and every optional field set, every value distinct from its
 * default, so a field lost anywhere shows up in a comparison. */
static inline cfg_fixture *fixture_new(void)
{
	cfg_fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->dir = svt_tmpdir();
	f->kernel = svt_write(f->dir, "vmlinux", "kernel");
	f->initrd = svt_write(f->dir, "initrd.img", "initrd");
	f->rootfs = svt_write(f->dir, "rootfs.ext4", "rootfs");
	f->data = svt_write(f->dir, "data.img", "data");
	f->scratch = svt_write(f->dir, "scratch.img", "scratch");
	f->pmem_file = svt_write(f->dir, "pmem.img", "pmem");
	f->vsock_path = fixture_path(f->dir, "v.sock");
	f->log_path = fixture_path(f->dir, "fc.log");
	f->metrics_path = fixture_path(f->dir, "fc.metrics");

	f->rl_drive = (sv_rate_limiter){
	    .has_bandwidth = true,
	    .bandwidth = {.size = 10485760, .one_time_burst = 1048576, .refill_time = 100},
	    .has_ops = true,
	    .ops = {.size = 1000, .one_time_burst = 50, .refill_time = 1000},
	};
	f->rl_rx = (sv_rate_limiter){.has_bandwidth = true, .bandwidth = {.size = 125000, .refill_time = 10}};
	f->rl_tx = (sv_rate_limiter){.has_ops = true, .ops = {.size = 300, .refill_time = 20}};
	f->rl_entropy =
	    (sv_rate_limiter){.has_ops = true, .ops = {.size = 64, .one_time_burst = 8, .refill_time = 500}};

	f->drives[0] = (sv_drive_config){
	    .drive_id = "rootfs",
	    .path_on_host = f->rootfs,
	    .is_root_device = true,
	    .is_read_only = true,
	    .partuuid = "0eaa91a0-01",
	    .cache_type = SV_CACHE_WRITEBACK,
	    .io_engine = SV_IO_ENGINE_ASYNC,
	    .ephemeral = SV_NO,
	};
	f->drives[1] = (sv_drive_config){
	    .drive_id = "data",
	    .path_on_host = f->data,
	    .rate_limiter = &f->rl_drive,
	    .ephemeral = SV_YES,
	};
	f->drives[2] = (sv_drive_config){
	    .drive_id = "scratch-2",
	    .path_on_host = f->scratch,
	};
	f->ifaces[0] = (sv_net_iface_config){
	    .iface_id = "eth0",
	    .host_dev_name = "tap-web0",
	    .guest_mac = "06:00:ac:10:00:02",
	    .rx_rate_limiter = &f->rl_rx,
	    .tx_rate_limiter = &f->rl_tx,
	    .mtu = 9000,
	};
	f->ifaces[1] = (sv_net_iface_config){.iface_id = "eth1"};
	f->mmds_ifaces[0] = "eth0";
	f->mmds_ifaces[1] = "eth1";
	f->vsock = (sv_vsock_config){.guest_cid = 3, .uds_path = f->vsock_path};
	f->balloon =
	    (sv_balloon_config){.amount_mib = 64,
				.deflate_on_oom = true,
				.stats_polling_interval_s = 5,
				.free_page_hinting = true,
				.free_page_reporting = true};
	f->mmds = (sv_mmds_config){.version = SV_MMDS_V2,
				   .network_interfaces = f->mmds_ifaces,
				   .n_network_interfaces = 2,
				   .ipv4_address = "169.254.170.2",
				   .imds_compat = true};
	f->logger = (sv_logger_config){.log_path = f->log_path,
				       .level = SV_LOG_LEVEL_DEBUG,
				       .show_level = true,
				       .show_log_origin = true,
				       .module = "api_server::request"};
	f->metrics = (sv_metrics_config){.metrics_path = f->metrics_path};
	f->entropy = (sv_entropy_config){.rate_limiter = &f->rl_entropy};
	f->pmem[0] = (sv_pmem_config){
	    .id = "pm0", .path_on_host = f->pmem_file, .read_only = true, .rate_limiter = &f->rl_drive};
	f->hotplug = (sv_memory_hotplug_config){.total_size_mib = 2048, .slot_size_mib = 256, .block_size_mib = 4};
	f->serial_path = fixture_path(f->dir, "serial.out");
	f->serial = (sv_serial_config){.serial_out_path = f->serial_path,
				       .has_rate_limiter = true,
				       .rate_limiter = {.size = 4096, .refill_time = 100}};
	f->cfg = (sv_vm_config){.version = SV_VM_CONFIG_VERSION,
	    .id = "web-1",
	    .base_image = "ubuntu-24.04",
	    .boot_source = {.kernel_image_path = f->kernel,
			    .boot_args = "console=ttyS0 reboot=k panic=1 pci=off",
			    .initrd_path = f->initrd},
	    .machine_config = {.vcpu_count = 2,
			       .mem_size_mib = 256,
			       .smt = true,
			       .cpu_template = "T2",
			       .track_dirty_pages = true,
			       .huge_pages = SV_HUGE_PAGES_2M},
	    .drives = f->drives,
	    .n_drives = 3,
	    .network_interfaces = f->ifaces,
	    .n_network_interfaces = 2,
	    .vsock = &f->vsock,
	    .balloon = &f->balloon,
	    .mmds = &f->mmds,
	    .logger = &f->logger,
	    .metrics = &f->metrics,
	    .entropy = &f->entropy,
	    .pmem = f->pmem,
	    .n_pmem = 1,
	    .memory_hotplug = &f->hotplug,
	    .cpu_config = FIXTURE_CPU_CONFIG,
	    .serial = &f->serial,
	};
	return f;
}

static inline void fixture_free(cfg_fixture *f)
{
	if (!f)
		return;
	free(f->kernel);
	free(f->initrd);
	free(f->serial_path);
	free(f->rootfs);
	free(f->data);
	free(f->scratch);
	free(f->pmem_file);
	free(f->vsock_path);
	free(f->log_path);
	free(f->metrics_path);
	svt_rm_tmpdir(f->dir);
	free(f);
}

/* Equality with a note of the first difference, so a failure names the field. */
static inline bool str_eq(const char *a, const char *b) { return a == b || (a && b && strcmp(a, b) == 0); }

#define CFG_EQ(cond, what)                                                                                   \
	do {                                                                                                 \
		if (!(cond)) {                                                                               \
			print_error("config differs at %s\n", what);                                         \
			return false;                                                                        \
		}                                                                                            \
	} while (0)

static inline bool rate_limiter_eq(const sv_rate_limiter *a, const sv_rate_limiter *b)
{
	if (!a || !b)
		return a == b;
	return a->has_bandwidth == b->has_bandwidth && a->has_ops == b->has_ops &&
	       (!a->has_bandwidth || memcmp(&a->bandwidth, &b->bandwidth, sizeof(a->bandwidth)) == 0) &&
	       (!a->has_ops || memcmp(&a->ops, &b->ops, sizeof(a->ops)) == 0);
}

static inline bool config_eq(const sv_vm_config *a, const sv_vm_config *b)
{
	CFG_EQ(str_eq(a->id, b->id), "id");
	CFG_EQ(str_eq(a->base_image, b->base_image), "base_image");
	CFG_EQ(str_eq(a->boot_source.kernel_image_path, b->boot_source.kernel_image_path),
	       "boot_source.kernel_image_path");
	CFG_EQ(str_eq(a->boot_source.boot_args, b->boot_source.boot_args), "boot_source.boot_args");
	CFG_EQ(str_eq(a->boot_source.initrd_path, b->boot_source.initrd_path), "boot_source.initrd_path");
	const sv_machine_config *ma = &a->machine_config, *mb = &b->machine_config;
	CFG_EQ(ma->vcpu_count == mb->vcpu_count && ma->mem_size_mib == mb->mem_size_mib &&
		   ma->smt == mb->smt && ma->track_dirty_pages == mb->track_dirty_pages &&
		   str_eq(ma->cpu_template, mb->cpu_template) && ma->huge_pages == mb->huge_pages,
	       "machine_config");
	CFG_EQ(a->n_drives == b->n_drives, "n_drives");
	for (size_t i = 0; i < a->n_drives; i++) {
		const sv_drive_config *x = &a->drives[i], *y = &b->drives[i];
		CFG_EQ(str_eq(x->drive_id, y->drive_id) && str_eq(x->path_on_host, y->path_on_host) &&
			   x->is_root_device == y->is_root_device && x->is_read_only == y->is_read_only &&
			   str_eq(x->partuuid, y->partuuid) && x->cache_type == y->cache_type &&
			   x->io_engine == y->io_engine && x->ephemeral == y->ephemeral,
		       "drives[i]");
		CFG_EQ(rate_limiter_eq(x->rate_limiter, y->rate_limiter), "drives[i].rate_limiter");
	}
	CFG_EQ(a->n_network_interfaces == b->n_network_interfaces, "n_network_interfaces");
	for (size_t i = 0; i < a->n_network_interfaces; i++) {
		const sv_net_iface_config *x = &a->network_interfaces[i], *y = &b->network_interfaces[i];
		CFG_EQ(str_eq(x->iface_id, y->iface_id) && str_eq(x->host_dev_name, y->host_dev_name) &&
			   str_eq(x->guest_mac, y->guest_mac) && x->mtu == y->mtu,
		       "network_interfaces[i]");
		CFG_EQ(rate_limiter_eq(x->rx_rate_limiter, y->rx_rate_limiter) &&
			   rate_limiter_eq(x->tx_rate_limiter, y->tx_rate_limiter),
		       "network_interfaces[i] rate limiters");
	}
	CFG_EQ(!a->vsock == !b->vsock, "vsock presence");
	if (a->vsock)
		CFG_EQ(a->vsock->guest_cid == b->vsock->guest_cid &&
			   str_eq(a->vsock->uds_path, b->vsock->uds_path),
		       "vsock");
	CFG_EQ(!a->balloon == !b->balloon, "balloon presence");
	if (a->balloon)
		CFG_EQ(a->balloon->amount_mib == b->balloon->amount_mib &&
			   a->balloon->deflate_on_oom == b->balloon->deflate_on_oom &&
			   a->balloon->stats_polling_interval_s == b->balloon->stats_polling_interval_s &&
			   a->balloon->free_page_hinting == b->balloon->free_page_hinting &&
			   a->balloon->free_page_reporting == b->balloon->free_page_reporting,
		       "balloon");
	CFG_EQ(!a->mmds == !b->mmds, "mmds presence");
	if (a->mmds) {
		CFG_EQ(a->mmds->version == b->mmds->version &&
			   str_eq(a->mmds->ipv4_address, b->mmds->ipv4_address) &&
			   a->mmds->imds_compat == b->mmds->imds_compat &&
			   a->mmds->n_network_interfaces == b->mmds->n_network_interfaces,
		       "mmds");
		for (size_t i = 0; i < a->mmds->n_network_interfaces; i++)
			CFG_EQ(str_eq(a->mmds->network_interfaces[i], b->mmds->network_interfaces[i]),
			       "mmds.network_interfaces[i]");
	}
	CFG_EQ(!a->logger == !b->logger, "logger presence");
	if (a->logger)
		CFG_EQ(str_eq(a->logger->log_path, b->logger->log_path) &&
			   a->logger->level == b->logger->level &&
			   a->logger->show_level == b->logger->show_level &&
			   a->logger->show_log_origin == b->logger->show_log_origin &&
			   str_eq(a->logger->module, b->logger->module),
		       "logger");
	CFG_EQ(!a->metrics == !b->metrics, "metrics presence");
	if (a->metrics)
		CFG_EQ(str_eq(a->metrics->metrics_path, b->metrics->metrics_path), "metrics");
	CFG_EQ(a->n_pmem == b->n_pmem, "n_pmem");
	for (size_t i = 0; i < a->n_pmem; i++) {
		const sv_pmem_config *x = &a->pmem[i], *y = &b->pmem[i];
		CFG_EQ(str_eq(x->id, y->id) && str_eq(x->path_on_host, y->path_on_host) &&
			   x->root_device == y->root_device && x->read_only == y->read_only &&
			   rate_limiter_eq(x->rate_limiter, y->rate_limiter),
		       "pmem[i]");
	}
	CFG_EQ(!a->memory_hotplug == !b->memory_hotplug, "memory_hotplug presence");
	if (a->memory_hotplug)
		CFG_EQ(a->memory_hotplug->total_size_mib == b->memory_hotplug->total_size_mib &&
			   a->memory_hotplug->slot_size_mib == b->memory_hotplug->slot_size_mib &&
			   a->memory_hotplug->block_size_mib == b->memory_hotplug->block_size_mib,
		       "memory_hotplug");
	CFG_EQ(str_eq(a->cpu_config, b->cpu_config), "cpu_config");
	CFG_EQ(!a->serial == !b->serial, "serial presence");
	if (a->serial)
		CFG_EQ(str_eq(a->serial->serial_out_path, b->serial->serial_out_path) &&
			   a->serial->has_rate_limiter == b->serial->has_rate_limiter &&
			   (!a->serial->has_rate_limiter ||
			    !memcmp(&a->serial->rate_limiter, &b->serial->rate_limiter, sizeof(sv_token_bucket))),
		       "serial");
	CFG_EQ(!a->entropy == !b->entropy, "entropy presence");
	if (a->entropy)
		CFG_EQ(rate_limiter_eq(a->entropy->rate_limiter, b->entropy->rate_limiter), "entropy");
	return true;
}

#endif
