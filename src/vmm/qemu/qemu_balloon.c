/* The balloon over QMP, in Firecracker's terms (vmm.h's balloon ops).
 *
 * Firecracker's amount_mib is how much memory the balloon takes from the
 * guest; QEMU's "balloon" command takes the guest's target memory size in
 * bytes. So amount A on a guest of M MiB is "balloon value=(M - A) MiB",
 * and A must be less than M (QEMU refuses a zero target). M is asked from
 * QEMU (query-memory-size-summary), never assumed.
 *
 * Statistics: the interval is the balloon device's
 * guest-stats-polling-interval property (qom-set; QEMU, unlike Firecracker,
 * may switch it on and off after boot); the statistics are its guest-stats
 * property (qom-get) plus query-balloon, answered in the shape of
 * Firecracker's BalloonStats. actual_* come from QEMU; target_* only when
 * this connection set the target (QEMU does not report it); the guest's
 * counters map one to one where QEMU has them, and ones the guest has not
 * reported (QEMU's -1) are left out. Never touches the guest otherwise. */
#include "vmm/qemu/qemu_internal.h"

#include "util/error.h"
#include <stdlib.h>
#include <string.h>

#define MIB (1ll << 20)
#define PAGE_SIZE_BYTES 4096ll /* Firecracker counts 4 KiB pages */

static int guest_memory_mib(sv_qemu_vmm *q, uint32_t *mib_out)
{
	json_t *ret = NULL;
	int rc = sv_qmp_execute(q->qmp, "query-memory-size-summary", NULL, &ret);
	if (rc)
		return rc;
	json_int_t bytes = json_integer_value(json_object_get(ret, "base-memory"));
	json_decref(ret);
	if (bytes <= 0)
		return sv_err(SV_EVMM, "QMP query-memory-size-summary: no base-memory in the reply");
	*mib_out = (uint32_t)(bytes / MIB);
	return 0;
}

static int set_target(sv_qemu_vmm *q, uint32_t mem_mib, uint32_t amount_mib)
{
	json_t *args = json_pack("{s:I}", "value", ((json_int_t)mem_mib - amount_mib) * MIB);
	int rc = args ? sv_qmp_execute(q->qmp, "balloon", args, NULL) : sv_err(SV_ENOMEM, "out of memory");
	json_decref(args);
	if (!rc) {
		q->balloon_target_known = true;
		q->balloon_target_mib = amount_mib;
	}
	return rc;
}

static int set_interval(sv_qemu_vmm *q, uint32_t seconds)
{
	json_t *args = json_pack("{s:s,s:s,s:I}", "path", SV_QEMU_BALLOON_PATH, "property",
				 "guest-stats-polling-interval", "value", (json_int_t)seconds);
	int rc = args ? sv_qmp_execute(q->qmp, "qom-set", args, NULL) : sv_err(SV_ENOMEM, "out of memory");
	json_decref(args);
	return rc;
}

static int qom_get(sv_qemu_vmm *q, const char *property, json_t **out)
{
	json_t *args = json_pack("{s:s,s:s}", "path", SV_QEMU_BALLOON_PATH, "property", property);
	int rc = args ? sv_qmp_execute(q->qmp, "qom-get", args, out) : sv_err(SV_ENOMEM, "out of memory");
	json_decref(args);
	return rc;
}

int sv_qemu_balloon_configure(sv_qemu_vmm *q, const sv_vm_config *cfg)
{
	const sv_balloon_config *b = cfg->balloon;
	if (b->amount_mib >= cfg->machine_config.mem_size_mib)
		return sv_err(SV_EINVAL, "balloon.amount_mib: must be less than machine_config.mem_size_mib");
	int rc;
	if (b->amount_mib && (rc = set_target(q, cfg->machine_config.mem_size_mib, b->amount_mib)))
		return sv_err_prefix("balloon.amount_mib");
	q->balloon_target_known = true;
	q->balloon_target_mib = b->amount_mib;
	if (b->stats_polling_interval_s && (rc = set_interval(q, b->stats_polling_interval_s)))
		return sv_err_prefix("balloon.stats_polling_interval_s");
	return 0;
}

int sv_qemu_balloon_set(sv_vmm *vmm, uint32_t amount_mib)
{
	sv_qemu_vmm *q;
	uint32_t mem_mib = 0;
	int rc = sv_qemu_from_vmm(vmm, &q);
	if (rc || (rc = guest_memory_mib(q, &mem_mib)))
		return rc;
	if (amount_mib >= mem_mib)
		return sv_err(SV_EINVAL, "amount_mib: %u MiB is not less than the guest's memory (%u MiB)",
			      amount_mib, mem_mib);
	return set_target(q, mem_mib, amount_mib);
}

int sv_qemu_balloon_stats_interval(sv_vmm *vmm, uint32_t seconds)
{
	sv_qemu_vmm *q;
	int rc = sv_qemu_from_vmm(vmm, &q);
	return rc ? rc : set_interval(q, seconds);
}

/* QEMU's guest-stats names and Firecracker's BalloonStats names. */
static const struct {
	const char *qemu, *firecracker;
} stat_names[] = {
    {"stat-swap-in", "swap_in"},
    {"stat-swap-out", "swap_out"},
    {"stat-major-faults", "major_faults"},
    {"stat-minor-faults", "minor_faults"},
    {"stat-free-memory", "free_memory"},
    {"stat-total-memory", "total_memory"},
    {"stat-available-memory", "available_memory"},
    {"stat-disk-caches", "disk_caches"},
    {"stat-htlb-pgalloc", "hugetlb_allocations"},
    {"stat-htlb-pgfail", "hugetlb_failures"},
};

static int stats_json(sv_qemu_vmm *q, uint32_t mem_mib, json_int_t actual_bytes, json_t *guest,
		      char **json_out)
{
	json_int_t held = (json_int_t)mem_mib * MIB - actual_bytes;
	if (held < 0)
		held = 0;
	json_t *o = json_object();
	bool ok = o && !json_object_set_new(o, "actual_pages", json_integer(held / PAGE_SIZE_BYTES)) &&
		  !json_object_set_new(o, "actual_mib", json_integer(held / MIB));
	if (ok && q->balloon_target_known)
		ok = !json_object_set_new(
			 o, "target_pages",
			 json_integer((json_int_t)q->balloon_target_mib * (MIB / PAGE_SIZE_BYTES))) &&
		     !json_object_set_new(o, "target_mib", json_integer(q->balloon_target_mib));
	json_t *stats = json_object_get(guest, "stats");
	for (size_t i = 0; ok && i < sizeof(stat_names) / sizeof(stat_names[0]); i++) {
		json_t *v = json_object_get(stats, stat_names[i].qemu);
		if (json_is_integer(v) && json_integer_value(v) >= 0)
			ok = !json_object_set_new(o, stat_names[i].firecracker,
						  json_integer(json_integer_value(v)));
	}
	*json_out = ok ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return *json_out ? 0 : sv_err(SV_ENOMEM, "out of memory");
}

int sv_qemu_balloon_stats(sv_vmm *vmm, char **json_out)
{
	*json_out = NULL;
	sv_qemu_vmm *q;
	uint32_t mem_mib = 0;
	json_t *interval = NULL, *balloon = NULL, *guest = NULL;
	int rc = sv_qemu_from_vmm(vmm, &q);
	if (rc || (rc = qom_get(q, "guest-stats-polling-interval", &interval)))
		return rc;
	if (json_integer_value(interval) <= 0)
		rc = sv_err(SV_EINVALID_STATE,
			    "the balloon's statistics are off (stats_polling_interval_s is 0)");
	if (!rc)
		rc = guest_memory_mib(q, &mem_mib);
	if (!rc)
		rc = sv_qmp_execute(q->qmp, "query-balloon", NULL, &balloon);
	if (!rc)
		rc = qom_get(q, "guest-stats", &guest);
	if (!rc)
		rc = stats_json(q, mem_mib, json_integer_value(json_object_get(balloon, "actual")), guest,
				json_out);
	json_decref(interval);
	json_decref(balloon);
	json_decref(guest);
	return rc;
}
