/* The staged VM config as a qemu-system-x86_64 -M microvm argument vector.
 *
 * Every config field is either mapped to a QEMU option or refused with
 * SV_EUNSUPPORTED "<field path>: not supported by the qemu backend" — never
 * silently dropped. The mapping:
 *   boot_source        -kernel / -initrd / -append (defaults below; under TCG
 *                      tsc_early_khz=2000000 is added unless already set, since
 *                      about half of TCG boots otherwise hang calibrating the TSC;
 *                      reboot=t unless the args choose a reboot= method)
 *   machine_config     -smp (smt: threads=2), -m; cpu_template other than
 *                      "None", track_dirty_pages and huge_pages 2M are refused
 *   drives             -drive if=none,format=raw,readonly,cache,aio (+ throttling.*
 *                      for the rate limiter) and -device virtio-blk-device; the root
 *                      drive comes first and root=/dev/vda (or PARTUUID) ro|rw is
 *                      appended like Firecracker does unless the args set root=
 *   network_interfaces -netdev tap (the TAP the VM layer made) and
 *                      -device virtio-net-device with the MAC (and mtu as
 *                      host_mtu); rate limiters refused
 *   balloon            -device virtio-balloon-device, free_page_reporting as
 *                      free-page-reporting (amount and statistics are applied
 *                      over QMP by configure()); free_page_hinting refused: QEMU's
 *                      free-page-hint is a migration aid, not Firecracker's
 *                      guest-driven hinting runs
 *   entropy            virtio-rng-device reading /dev/urandom; bandwidth limit as
 *                      max-bytes/period
 *   vsock, mmds, logger, metrics, pmem, memory_hotplug, cpu_config, serial: refused
 *                      (microvm has no PCI for virtio-pmem; virtio-mem and
 *                      Firecracker's CPU templates have no QEMU equivalent here)
 * Every VM also gets the guest agent's port (qemu_agent_port.c).
 * QEMU starts frozen (-S) with QMP on <vm_dir>/qmp.sock; start() sends cont.
 * A restore (launch->incoming) adds "-incoming defer": the same devices,
 * waiting for snapshot_load's migration stream instead of booting.
 * The guest must never be able to keep QEMU running after it is done:
 *   -action reboot=shutdown,shutdown=poweroff,panic=exit-failure
 *                      a reboot or power-off ends the process (status 0), a
 *                      kernel panic ends it with status 1 (QEMU 6.0+; 7.1+
 *                      for exit-failure);
 *   -device pvpanic    how the guest kernel reports the panic (its pvpanic /
 *                      pvpanic-mmio driver finds it through ACPI);
 *   -device i8042      the keyboard controller a reboot=k guest (Firecracker's
 *                      usual boot args) resets through; microvm has none, and
 *                      such a reboot (or panic=N) otherwise spins for ever.
 *
 * Option values that QEMU parses as key=value lists have their commas doubled
 * (QEMU's escape); nothing here ever goes through a shell.
 */
#include "vmm/qemu/qemu.h"
#include "vmm/qemu/qemu_internal.h"

#include "util/error.h"
#include "util/strv.h"
#include <smartvm/manager.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TCG_TSC_ARG "tsc_early_khz=2000000"
/* A triple fault: the reboot QEMU always sees (and, with reboot=shutdown,
 * ends on). Left to its default, the kernel's emergency restart (sysrq b,
 * panic=N) tries ACPI, the keyboard controller, then a jump into the
 * firmware, and on microvm under TCG got stuck there in 2 of 16 runs
 * (measured; reboot=t: 0 of 24). */
#define REBOOT_ARG "reboot=t"

/* The value with every ',' doubled, as QEMU's option parser wants. malloc'd. */
static char *opt_escape(const char *s)
{
	size_t n = strlen(s), commas = 0;
	for (size_t i = 0; i < n; i++)
		commas += s[i] == ',';
	char *out = malloc(n + commas + 1);
	if (!out)
		return NULL;
	char *p = out;
	for (size_t i = 0; i < n; i++) {
		*p++ = s[i];
		if (s[i] == ',')
			*p++ = ',';
	}
	*p = '\0';
	return out;
}

/* True if the whitespace-separated args contain a word starting with key
 * (e.g. "root=" or "tsc_early_khz="). */
static bool has_arg(const char *args, const char *key)
{
	size_t klen = strlen(key);
	for (const char *p = args; *p;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, key, klen) == 0)
			return true;
		while (*p && *p != ' ' && *p != '\t')
			p++;
	}
	return false;
}

static const sv_drive_config *root_drive(const sv_vm_config *cfg)
{
	for (size_t i = 0; i < cfg->n_drives; i++)
		if (cfg->drives[i].is_root_device)
			return &cfg->drives[i];
	return NULL;
}

int sv_qemu_kernel_cmdline(const sv_vm_config *cfg, const char *accel, char **out)
{
	const char *base = cfg->boot_source.boot_args ? cfg->boot_source.boot_args : SV_QEMU_DEFAULT_BOOT_ARGS;
	const sv_drive_config *root = root_drive(cfg);
	char *root_arg = NULL;
	int n = 0;
	if (root && !has_arg(base, "root=")) {
		if (root->partuuid)
			n = asprintf(&root_arg, " root=PARTUUID=%s %s", root->partuuid,
				     root->is_read_only ? "ro" : "rw");
		else
			n = asprintf(&root_arg, " root=/dev/vda %s", root->is_read_only ? "ro" : "rw");
		if (n < 0)
			return sv_err(SV_ENOMEM, "out of memory");
	}
	bool add_tsc = strcmp(accel, "tcg") == 0 && !has_arg(base, "tsc_early_khz=");
	bool add_reboot = !has_arg(base, "reboot=");
	n = asprintf(out, "%s%s%s%s", base, root_arg ? root_arg : "", add_tsc ? " " TCG_TSC_ARG : "",
		     add_reboot ? " " REBOOT_ARG : "");
	free(root_arg);
	if (n < 0) {
		*out = NULL;
		return sv_err(SV_ENOMEM, "out of memory");
	}
	return 0;
}

static int unsupported(const char *field)
{
	return sv_err(SV_EUNSUPPORTED, "%s: not supported by the qemu backend", field);
}

/* Refuses what QEMU cannot express before anything is built. */
static int check_supported(const sv_vm_config *cfg)
{
	char field[96];
	if (!cfg->boot_source.kernel_image_path)
		return sv_err(SV_EINVAL, "boot_source.kernel_image_path: required");
	if (cfg->machine_config.vcpu_count == 0)
		return sv_err(SV_EINVAL, "machine_config.vcpu_count: must be greater than 0");
	if (cfg->machine_config.mem_size_mib == 0)
		return sv_err(SV_EINVAL, "machine_config.mem_size_mib: must be greater than 0");
	if (cfg->machine_config.smt && cfg->machine_config.vcpu_count % 2 != 0 &&
	    cfg->machine_config.vcpu_count != 1)
		return sv_err(SV_EINVAL, "machine_config.smt: needs an even vcpu_count");
	if (cfg->machine_config.cpu_template && strcmp(cfg->machine_config.cpu_template, "None") != 0)
		return unsupported("machine_config.cpu_template");
	if (cfg->machine_config.track_dirty_pages)
		return unsupported("machine_config.track_dirty_pages");
	if (cfg->machine_config.huge_pages != SV_HUGE_PAGES_NONE)
		return unsupported("machine_config.huge_pages");
	if (cfg->balloon && cfg->balloon->free_page_hinting)
		return unsupported("balloon.free_page_hinting");
	for (size_t i = 0; i < cfg->n_network_interfaces; i++) {
		const sv_net_iface_config *n = &cfg->network_interfaces[i];
		if (!n->host_dev_name)
			return sv_err(SV_EINVAL, "network_interfaces[%zu].host_dev_name: required (the TAP to attach)",
				      i);
		if (!n->guest_mac)
			return sv_err(SV_EINVAL, "network_interfaces[%zu].guest_mac: required", i);
		if (n->rx_rate_limiter) {
			snprintf(field, sizeof(field), "network_interfaces[%zu].rx_rate_limiter", i);
			return unsupported(field);
		}
		if (n->tx_rate_limiter) {
			snprintf(field, sizeof(field), "network_interfaces[%zu].tx_rate_limiter", i);
			return unsupported(field);
		}
	}
	for (size_t i = 0; i < cfg->n_drives; i++) {
		const sv_rate_limiter *rl = cfg->drives[i].rate_limiter;
		if (rl && ((rl->has_bandwidth && rl->bandwidth.refill_time == 0) ||
			   (rl->has_ops && rl->ops.refill_time == 0)))
			return sv_err(SV_EINVAL, "drives[%zu].rate_limiter: refill_time must be greater than 0", i);
	}
	if (cfg->vsock)
		return unsupported("vsock");
	if (cfg->mmds)
		return unsupported("mmds");
	if (cfg->logger)
		return unsupported("logger");
	if (cfg->metrics)
		return unsupported("metrics");
	if (cfg->n_pmem)
		return unsupported("pmem");
	if (cfg->memory_hotplug)
		return unsupported("memory_hotplug");
	if (cfg->cpu_config)
		return unsupported("cpu_config");
	if (cfg->serial)
		return unsupported("serial");
	if (cfg->entropy && cfg->entropy->rate_limiter) {
		const sv_rate_limiter *rl = cfg->entropy->rate_limiter;
		if (rl->has_ops)
			return unsupported("entropy.rate_limiter.ops");
		if (rl->has_bandwidth && rl->bandwidth.one_time_burst)
			return unsupported("entropy.rate_limiter.bandwidth.one_time_burst");
		if (rl->has_bandwidth && rl->bandwidth.refill_time == 0)
			return sv_err(SV_EINVAL, "entropy.rate_limiter.bandwidth.refill_time: must be greater than 0");
	}
	return 0;
}

/* A token bucket as QEMU throttling: the average rate is size per
 * refill_time; a one-time burst becomes extra rate for one second. */
static void push_throttle(sv_strv_builder *opt, const char *kind, const sv_token_bucket *tb)
{
	unsigned long long rate = (unsigned long long)(tb->size * 1000 / tb->refill_time);
	if (rate == 0)
		rate = 1;
	sv_strv_pushf(opt, "throttling.%s-total=%llu", kind, rate);
	if (tb->one_time_burst) {
		sv_strv_pushf(opt, "throttling.%s-total-max=%llu", kind,
			      rate + (unsigned long long)tb->one_time_burst);
		sv_strv_pushf(opt, "throttling.%s-total-max-length=1", kind);
	}
}

/* Joins the builder's items with ',' into one option value. */
static char *join_opts(sv_strv_builder *b)
{
	char **items = NULL;
	if (sv_strv_finish(b, &items))
		return NULL;
	size_t len = 1;
	for (size_t i = 0; items[i]; i++)
		len += strlen(items[i]) + 1;
	char *s = calloc(1, len);
	if (s)
		for (size_t i = 0; items[i]; i++) {
			if (i)
				strcat(s, ",");
			strcat(s, items[i]);
		}
	sv_strv_free(items);
	return s;
}

static void push_drive(sv_strv_builder *argv, const sv_drive_config *d)
{
	char *file = opt_escape(d->path_on_host);
	sv_strv_builder opt = { 0 };
	sv_strv_pushf(&opt, "id=drive-%s", d->drive_id);
	if (file)
		sv_strv_pushf(&opt, "file=%s", file);
	else
		opt.failed = 1;
	free(file);
	sv_strv_push(&opt, "format=raw");
	sv_strv_push(&opt, "if=none");
	sv_strv_pushf(&opt, "readonly=%s", d->is_read_only ? "on" : "off");
	sv_strv_pushf(&opt, "cache=%s", d->cache_type == SV_CACHE_WRITEBACK ? "writeback" : "unsafe");
	sv_strv_pushf(&opt, "aio=%s", d->io_engine == SV_IO_ENGINE_ASYNC ? "io_uring" : "threads");
	if (d->rate_limiter && d->rate_limiter->has_bandwidth)
		push_throttle(&opt, "bps", &d->rate_limiter->bandwidth);
	if (d->rate_limiter && d->rate_limiter->has_ops)
		push_throttle(&opt, "iops", &d->rate_limiter->ops);
	char *value = join_opts(&opt);
	sv_strv_push(argv, "-drive");
	sv_strv_push(argv, value);
	free(value);
	sv_strv_push(argv, "-device");
	sv_strv_pushf(argv, "virtio-blk-device,drive=drive-%s", d->drive_id);
}

static void push_net(sv_strv_builder *argv, const sv_net_iface_config *n)
{
	char *ifname = opt_escape(n->host_dev_name);
	sv_strv_push(argv, "-netdev");
	if (ifname)
		sv_strv_pushf(argv, "tap,id=net-%s,ifname=%s,script=no,downscript=no", n->iface_id, ifname);
	else
		sv_strv_push(argv, NULL);
	free(ifname);
	sv_strv_push(argv, "-device");
	if (n->mtu)
		sv_strv_pushf(argv, "virtio-net-device,netdev=net-%s,mac=%s,host_mtu=%u", n->iface_id, n->guest_mac,
			      n->mtu);
	else
		sv_strv_pushf(argv, "virtio-net-device,netdev=net-%s,mac=%s", n->iface_id, n->guest_mac);
}

static void push_entropy(sv_strv_builder *argv, const sv_entropy_config *e)
{
	sv_strv_push(argv, "-object");
	sv_strv_push(argv, "rng-random,id=rng0,filename=/dev/urandom");
	sv_strv_push(argv, "-device");
	const sv_rate_limiter *rl = e->rate_limiter;
	if (rl && rl->has_bandwidth)
		sv_strv_pushf(argv, "virtio-rng-device,rng=rng0,max-bytes=%llu,period=%llu",
			      (unsigned long long)rl->bandwidth.size,
			      (unsigned long long)rl->bandwidth.refill_time);
	else
		sv_strv_push(argv, "virtio-rng-device,rng=rng0");
}

int sv_qemu_argv(const sv_vmm_launch *launch, char ***argv_out)
{
	*argv_out = NULL;
	const sv_vm_config *cfg = launch->cfg;
	if (!launch->binary || !launch->vm_dir || !launch->vm_id)
		return sv_err(SV_EINVAL, "qemu launch: binary, vm_dir and vm_id are required");
	const char *accel = NULL;
	int rc = sv_qemu_pick_accel(launch->qemu_accel, &accel);
	if (rc)
		return rc;
	rc = check_supported(cfg);
	if (rc)
		return rc;
	char *cmdline = NULL;
	rc = sv_qemu_kernel_cmdline(cfg, accel, &cmdline);
	if (rc)
		return rc;

	sv_strv_builder argv = { 0 };
	sv_strv_push(&argv, launch->binary);
	sv_strv_push(&argv, "-name");
	sv_strv_pushf(&argv, "guest=%s", launch->vm_id);
	sv_strv_push(&argv, "-M");
	sv_strv_push(&argv, "microvm,x-option-roms=off,isa-serial=on,rtc=on");
	sv_strv_push(&argv, "-accel");
	sv_strv_push(&argv, accel);
	if (strcmp(accel, "kvm") == 0) {
		sv_strv_push(&argv, "-cpu");
		sv_strv_push(&argv, "host");
	}
	sv_strv_push(&argv, "-nodefaults");
	sv_strv_push(&argv, "-no-user-config");
	sv_strv_push(&argv, "-display");
	sv_strv_push(&argv, "none");
	sv_strv_push(&argv, "-action");
	sv_strv_push(&argv, "reboot=shutdown,shutdown=poweroff,panic=exit-failure");
	sv_strv_push(&argv, "-device");
	sv_strv_push(&argv, "pvpanic");
	sv_strv_push(&argv, "-device");
	sv_strv_push(&argv, "i8042");
	sv_strv_push(&argv, "-smp");
	uint32_t vcpus = cfg->machine_config.vcpu_count;
	if (cfg->machine_config.smt && vcpus >= 2)
		sv_strv_pushf(&argv, "%u,cores=%u,threads=2", vcpus, vcpus / 2);
	else
		sv_strv_pushf(&argv, "%u", vcpus);
	sv_strv_push(&argv, "-m");
	sv_strv_pushf(&argv, "%uM", cfg->machine_config.mem_size_mib);
	sv_strv_push(&argv, "-kernel");
	sv_strv_push(&argv, cfg->boot_source.kernel_image_path);
	if (cfg->boot_source.initrd_path) {
		sv_strv_push(&argv, "-initrd");
		sv_strv_push(&argv, cfg->boot_source.initrd_path);
	}
	sv_strv_push(&argv, "-append");
	sv_strv_push(&argv, cmdline);
	free(cmdline);
	/* The supervisor points QEMU's stdout at the VM's console log. */
	sv_strv_push(&argv, "-serial");
	sv_strv_push(&argv, "stdio");

	/* The root drive first, so that it is the guest's /dev/vda. */
	const sv_drive_config *root = root_drive(cfg);
	if (root)
		push_drive(&argv, root);
	for (size_t i = 0; i < cfg->n_drives; i++)
		if (&cfg->drives[i] != root)
			push_drive(&argv, &cfg->drives[i]);
	for (size_t i = 0; i < cfg->n_network_interfaces; i++)
		push_net(&argv, &cfg->network_interfaces[i]);
	if (cfg->balloon) {
		sv_strv_push(&argv, "-device");
		sv_strv_pushf(&argv, "virtio-balloon-device,id=balloon0,deflate-on-oom=%s%s",
			      cfg->balloon->deflate_on_oom ? "on" : "off",
			      cfg->balloon->free_page_reporting ? ",free-page-reporting=on" : "");
	}
	if (cfg->entropy)
		push_entropy(&argv, cfg->entropy);

	char *sock_dir = opt_escape(launch->vm_dir);
	sv_qemu_push_agent_port(&argv, sock_dir);
	sv_strv_push(&argv, "-chardev");
	if (sock_dir)
		sv_strv_pushf(&argv, "socket,id=qmp,path=%s/%s,server=on,wait=off", sock_dir,
			      sv_vmm_qemu_ops.api_socket_name);
	else
		sv_strv_push(&argv, NULL);
	free(sock_dir);
	sv_strv_push(&argv, "-mon");
	sv_strv_push(&argv, "chardev=qmp,mode=control");
	sv_strv_push(&argv, "-S");
	if (launch->incoming) {
		sv_strv_push(&argv, "-incoming");
		sv_strv_push(&argv, "defer");
	}
	return sv_strv_finish(&argv, argv_out);
}
