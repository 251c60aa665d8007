/* Operations on a configured or running microVM: the MMDS data store, the
 * balloon's target and statistics, and PATCH of drives and network
 * interfaces.
 *
 * Semantics follow Firecracker v1.16: the MMDS data store accepts any JSON
 * value on PUT, PATCH is an RFC 7396 JSON merge patch and is refused until a
 * PUT initialised the store, and GET of a store nobody initialised answers
 * 200 "{}" (Firecracker renders its null store that way). Balloon statistics
 * exist only when stats_polling_interval_s was non-zero at boot, and the
 * interval can't switch statistics on or off after boot. PATCH of drives and
 * interfaces is only accepted after InstanceStart.
 *
 * The guest model for the balloon: the guest driver follows the target at
 * once, so actual == target; free memory is what the balloon leaves. */
#include "fake_fc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAGES_PER_MIB 256 /* 4 KiB pages */

/* ---- MMDS ---- */

/* RFC 7396: objects merge member by member, null deletes, anything else
 * replaces. Returns the new target (a new reference; target is consumed). */
static json_t *merge_patch(json_t *target, json_t *patch)
{
	if (!json_is_object(patch)) {
		json_decref(target);
		return json_deep_copy(patch);
	}
	if (!json_is_object(target)) {
		json_decref(target);
		target = json_object();
	}
	const char *key;
	json_t *v;
	json_object_foreach(patch, key, v) {
		if (json_is_null(v)) {
			json_object_del(target, key);
			continue;
		}
		json_t *old = json_object_get(target, key);
		json_object_set_new(target, key, merge_patch(old ? json_incref(old) : NULL, v));
	}
	return target;
}

void fc_put_mmds(fake_fc *fc, const char *id, json_t *body, fc_reply *r)
{
	(void)id;
	(void)r;
	json_decref(fc->mmds_data);
	fc->mmds_data = json_deep_copy(body);
}

void fc_patch_mmds(fake_fc *fc, const char *id, json_t *body, fc_reply *r)
{
	(void)id;
	if (!fc->mmds_data) {
		fc_fail(r, "The MMDS data store is not initialized.");
		return;
	}
	fc->mmds_data = merge_patch(fc->mmds_data, body);
}

void fc_get_mmds(fake_fc *fc, const char *id, json_t *body, fc_reply *r)
{
	(void)id;
	(void)body;
	fc_ok_json(r, fc->mmds_data && !json_is_null(fc->mmds_data) ? json_deep_copy(fc->mmds_data) : json_object());
}

/* ---- balloon ---- */

void fc_get_balloon(fake_fc *fc, const char *id, json_t *body, fc_reply *r)
{
	(void)id;
	(void)body;
	if (!fc->balloon) {
		fc_fail(r, "No balloon device found.");
		return;
	}
	fc_ok_json(r, json_deep_copy(fc->balloon));
}

static long long mem_mib(fake_fc *fc)
{
	return json_integer_value(json_object_get(fc->machine_config, "mem_size_mib"));
}

void fc_patch_balloon(fake_fc *fc, const char *id, json_t *body, fc_reply *r)
{
	(void)id;
	if (!fc->balloon) {
		fc_fail(r, "No balloon device found.");
		return;
	}
	long long amount = json_integer_value(json_object_get(body, "amount_mib"));
	if (amount > mem_mib(fc)) {
		fc_fail(r, "Amount of pages requested is too large.");
		return;
	}
	json_object_set_new(fc->balloon, "amount_mib", json_integer(amount));
	fc_log(fc, "fc_api", "Balloon target set to %lld MiB.", amount);
}

static long long stats_interval(fake_fc *fc)
{
	return json_integer_value(json_object_get(fc->balloon, "stats_polling_interval_s"));
}

void fc_patch_balloon_stats(fake_fc *fc, const char *id, json_t *body, fc_reply *r)
{
	(void)id;
	if (!fc->balloon) {
		fc_fail(r, "No balloon device found.");
		return;
	}
	long long next = json_integer_value(json_object_get(body, "stats_polling_interval_s"));
	if (fc->state != VM_NOT_STARTED && (stats_interval(fc) == 0) != (next == 0)) {
		fc_fail(r, "Cannot enable/disable the statistics after boot.");
		return;
	}
	json_object_set_new(fc->balloon, "stats_polling_interval_s", json_integer(next));
	fc->stats_updated_ms = fc_now_ms(); /* "the first statistics update scheduled immediately" */
}

void fc_get_balloon_stats(fake_fc *fc, const char *id, json_t *body, fc_reply *r)
{
	(void)id;
	(void)body;
	if (!fc->balloon) {
		fc_fail(r, "No balloon device found.");
		return;
	}
	if (fc->state == VM_NOT_STARTED) {
		fc_fail(r, "Device is inactive, check balloon driver is enabled.");
		return;
	}
	if (stats_interval(fc) == 0) {
		fc_fail(r, "Statistics for the balloon device are not enabled");
		return;
	}
	long long target = json_integer_value(json_object_get(fc->balloon, "amount_mib"));
	long long total = mem_mib(fc) << 20;
	long long free_bytes = total - (target << 20) - (total / 8); /* the guest uses an eighth */
	if (free_bytes < 0)
		free_bytes = 0;
	fc_ok_json(r, json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "target_pages",
				(json_int_t)(target * PAGES_PER_MIB), "actual_pages",
				(json_int_t)(target * PAGES_PER_MIB), "target_mib", (json_int_t)target,
				"actual_mib", (json_int_t)target, "swap_in", (json_int_t)0, "swap_out",
				(json_int_t)0, "major_faults", (json_int_t)0, "minor_faults",
				(json_int_t)((fc_now_ms() - fc->stats_updated_ms) / 10 + 100), "free_memory",
				(json_int_t)free_bytes, "total_memory", (json_int_t)total, "available_memory",
				(json_int_t)free_bytes, "disk_caches", (json_int_t)0));
}

/* ---- PATCH of drives and interfaces ---- */

static json_t *find_member(json_t *arr, const char *key, const char *id)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(json_object_get(v, key));
		if (s && !strcmp(s, id))
			return v;
	}
	return NULL;
}

void fc_patch_drive(fake_fc *fc, const char *id, json_t *body, fc_reply *r)
{
	if (strcmp(json_string_value(json_object_get(body, "drive_id")), id)) {
		fc_fail(r, "The id from the path does not match the id from the body!");
		return;
	}
	if (fc->state == VM_NOT_STARTED) {
		fc_fail(r, FC_MSG_NOT_BEFORE_START);
		return;
	}
	json_t *drive = find_member(fc->drives, "drive_id", id);
	if (!drive) {
		fc_fail(r, "Unable to patch the block device: Device manager error: Device not found Please verify the request arguments.");
		return;
	}
	json_t *path = json_object_get(body, "path_on_host");
	json_t *rl = json_object_get(body, "rate_limiter");
	if ((!path || json_is_null(path)) && (!rl || json_is_null(rl))) {
		fc_fail(r, "Unable to patch the block device: Device manager error: Running method expected different "
			   "backend. Please verify the request arguments.");
		return;
	}
	if (path && !json_is_null(path)) {
		char *host = fc_host_path(fc, json_string_value(path));
		int flags = json_is_true(json_object_get(drive, "is_read_only")) ? O_RDONLY : O_RDWR;
		int fd = host ? open(host, flags | O_CLOEXEC) : -1;
		int e = errno;
		free(host);
		if (fd < 0) {
			fc_fail(r, "Unable to patch the block device: Device manager error: Virtio backend error: Error "
				   "manipulating the backing file: %s %s Please verify the request arguments.",
				fc_os_error(e), json_string_value(path));
			return;
		}
		close(fd);
		json_object_set(drive, "path_on_host", path);
	}
	if (rl && !json_is_null(rl))
		json_object_set(drive, "rate_limiter", rl);
	fc_log(fc, "fc_api", "Drive %s patched.", id);
}

void fc_patch_net_iface(fake_fc *fc, const char *id, json_t *body, fc_reply *r)
{
	if (strcmp(json_string_value(json_object_get(body, "iface_id")), id)) {
		fc_fail(r, "The id from the path does not match the id from the body!");
		return;
	}
	if (fc->state == VM_NOT_STARTED) {
		fc_fail(r, FC_MSG_NOT_BEFORE_START);
		return;
	}
	json_t *iface = find_member(fc->net_ifaces, "iface_id", id);
	if (!iface) {
		fc_fail(r, "Unable to update the net device: Device manager error: Device not found");
		return;
	}
	const char *keys[] = { "rx_rate_limiter", "tx_rate_limiter" };
	for (size_t i = 0; i < 2; i++) {
		json_t *rl = json_object_get(body, keys[i]);
		if (rl && !json_is_null(rl))
			json_object_set(iface, keys[i], rl);
	}
	fc_log(fc, "fc_api", "Network interface %s patched.", id);
}

/* A pmem device's rate limiter, after start only (its file and flags are
 * fixed at boot). */
void fc_patch_pmem(fake_fc *fc, const char *id, json_t *body, fc_reply *r)
{
	if (strcmp(json_string_value(json_object_get(body, "id")), id)) {
		fc_fail(r, "The id from the path does not match the id from the body!");
		return;
	}
	if (fc->state == VM_NOT_STARTED) {
		fc_fail(r, FC_MSG_NOT_BEFORE_START);
		return;
	}
	json_t *pmem = find_member(fc->pmem, "id", id);
	if (!pmem) {
		fc_fail(r, "Unable to update the pmem device: Device manager error: Device not found");
		return;
	}
	json_t *rl = json_object_get(body, "rate_limiter");
	if (rl && !json_is_null(rl))
		json_object_set(pmem, "rate_limiter", rl);
	fc_log(fc, "fc_api", "Pmem %s patched.", id);
}

/* Free page hinting: only with free_page_hinting set at boot, on a started
 * VM. A run takes the next id (from 2: 0 is "stop", 1 "done"); the fake
 * guest reports its free pages at once and answers with the run's id. */
static bool hinting_ready(fake_fc *fc, fc_reply *r)
{
	if (!fc->balloon || !json_is_true(json_object_get(fc->balloon, "free_page_hinting"))) {
		fc_fail(r, "The balloon free hinting was not enabled when the device was configured.");
		return false;
	}
	if (fc->state == VM_NOT_STARTED) {
		fc_fail(r, "Device is inactive, check balloon driver is enabled.");
		return false;
	}
	return true;
}

void fc_patch_balloon_hinting_start(fake_fc *fc, const char *id, json_t *body, fc_reply *r)
{
	(void)id;
	if (!hinting_ready(fc, r))
		return;
	fc->hint_last_run = fc->hint_last_run < 2 ? 2 : fc->hint_last_run + 1;
	fc->hint_host_cmd = fc->hint_last_run;
	fc->hint_guest_cmd = fc->hint_last_run;
	/* Acknowledged on stop: the host answers the guest's "done" itself. */
	if (json_is_true(json_object_get(body, "acknowledge_on_stop")))
		fc->hint_host_cmd = 1;
}

void fc_patch_balloon_hinting_stop(fake_fc *fc, const char *id, json_t *body, fc_reply *r)
{
	(void)id;
	(void)body;
	if (hinting_ready(fc, r))
		fc->hint_host_cmd = 1;
}

void fc_get_balloon_hinting_status(fake_fc *fc, const char *id, json_t *body, fc_reply *r)
{
	(void)id;
	(void)body;
	if (!hinting_ready(fc, r))
		return;
	json_t *s = json_pack("{s:I}", "host_cmd", (json_int_t)fc->hint_host_cmd);
	if (fc->hint_last_run)
		json_object_set_new(s, "guest_cmd", json_integer(fc->hint_guest_cmd));
	fc_ok_json(r, s);
}

static long long hotplug_mib(fake_fc *fc, const char *key, long long dflt)
{
	json_t *v = json_object_get(fc->memory_hotplug, key);
	return v ? json_integer_value(v) : dflt;
}

/* Memory hotplug: the request must fit the region and its blocks; the fake
 * guest plugs what is asked at once. */
void fc_patch_memory_hotplug(fake_fc *fc, const char *id, json_t *body, fc_reply *r)
{
	(void)id;
	if (!fc->memory_hotplug) {
		fc_fail(r, "The memory hotplug device was not configured.");
		return;
	}
	if (fc->state == VM_NOT_STARTED) {
		fc_fail(r, "The memory hotplug device is not active yet.");
		return;
	}
	long long want = json_integer_value(json_object_get(body, "requested_size_mib"));
	long long total = hotplug_mib(fc, "total_size_mib", 0), block = hotplug_mib(fc, "block_size_mib", 2);
	if (want > total || want % block) {
		fc_fail(r, "Invalid requested size %lld MiB: it must be a multiple of the block size (%lld MiB) and "
			   "at most the total size (%lld MiB).", want, block, total);
		return;
	}
	fc->hotplug_requested_mib = want;
}

void fc_get_memory_hotplug(fake_fc *fc, const char *id, json_t *body, fc_reply *r)
{
	(void)id;
	(void)body;
	if (!fc->memory_hotplug) {
		fc_fail(r, "The memory hotplug device was not configured.");
		return;
	}
	fc_ok_json(r, json_pack("{s:I, s:I, s:I, s:I, s:I}", "total_size_mib",
				(json_int_t)hotplug_mib(fc, "total_size_mib", 0), "slot_size_mib",
				(json_int_t)hotplug_mib(fc, "slot_size_mib", 128), "block_size_mib",
				(json_int_t)hotplug_mib(fc, "block_size_mib", 2), "plugged_size_mib",
				(json_int_t)fc->hotplug_requested_mib, "requested_size_mib",
				(json_int_t)fc->hotplug_requested_mib));
}
