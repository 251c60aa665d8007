/* sv_exec_options -> EXEC (see agent_exec_encode.h). */
#include "agent/agent_exec_encode.h"

#include "util/error.h"
#include "util/options_version.h"
#include <smartvm/error.h>
#include <stddef.h>
#include <string.h>

/* The size of the struct a version-1 caller has: everything before the
 * first version-2 field. */
#define EXEC_OPTIONS_V1_SIZE offsetof(sv_exec_options, rlimits)

int sva_exec_read_options(sv_exec_options *o, const sv_exec_options *given)
{
	sv_exec_options dflt = SV_EXEC_OPTIONS_INIT;
	*o = dflt;
	int rc = SV_CHECK_OPTIONS(given, sv_exec_options, SV_EXEC_OPTIONS);
	if (rc || !given)
		return rc;
	memcpy(o, given, given->version == 1 ? EXEC_OPTIONS_V1_SIZE : sizeof(*o));
	return 0;
}

static int check_rlimits(const sv_exec_options *o)
{
	if (o->n_rlimits && !o->rlimits)
		return sv_err(SV_EINVAL, "rlimits is NULL with n_rlimits %zu", o->n_rlimits);
	if (o->n_rlimits > SV_EXEC_MAX_RLIMITS)
		return sv_err(SV_EINVAL, "%zu rlimits: at most %d (one per resource)", o->n_rlimits,
			      SV_EXEC_MAX_RLIMITS);
	for (size_t i = 0; i < o->n_rlimits; i++) {
		const sv_exec_rlimit *r = &o->rlimits[i];
		if (r->resource < 0 || r->resource >= SV_EXEC_MAX_RLIMITS)
			return sv_err(SV_EINVAL, "rlimits[%zu]: resource %d is not a Linux RLIMIT_* number", i,
				      r->resource);
		if (r->soft > r->hard)
			return sv_err(SV_EINVAL, "rlimits[%zu]: soft limit %llu is above the hard limit %llu",
				      i, (unsigned long long)r->soft, (unsigned long long)r->hard);
		for (size_t j = 0; j < i; j++)
			if (o->rlimits[j].resource == r->resource)
				return sv_err(SV_EINVAL, "rlimits[%zu]: resource %d is also rlimits[%zu]", i,
					      r->resource, j);
	}
	return 0;
}

int sva_exec_encode(sva_msg *m, const char *const *argv, const sv_exec_options *o)
{
	int rc = check_rlimits(o);
	if (rc)
		return rc;
	if ((o->root && !o->root[0]) || (o->hostname && !o->hostname[0]))
		return sv_err(SV_EINVAL, "%s is empty (NULL leaves it alone)",
			      o->root && !o->root[0] ? "root" : "hostname");
	for (size_t i = 0; argv[i]; i++)
		sva_msg_str(m, SVA_T_EXEC_ARG, argv[i]);
	for (size_t i = 0; o->env && o->env[i]; i++)
		sva_msg_str(m, SVA_T_EXEC_ENV, o->env[i]);
	if (o->cwd)
		sva_msg_str(m, SVA_T_EXEC_CWD, o->cwd);
	sva_msg_u32(m, SVA_T_EXEC_UID, o->uid);
	sva_msg_u32(m, SVA_T_EXEC_GID, o->gid);
	for (size_t i = 0; o->groups && i < o->n_groups; i++)
		sva_msg_u32(m, SVA_T_EXEC_GROUPS, o->groups[i]);
	if (o->tty) {
		sva_msg_u32(m, SVA_T_EXEC_TTY_ROWS, o->tty_rows ? o->tty_rows : 24);
		sva_msg_u32(m, SVA_T_EXEC_TTY_COLS, o->tty_cols ? o->tty_cols : 80);
	}
	if (o->timeout_ms)
		sva_msg_u32(m, SVA_T_EXEC_TIMEOUT, o->timeout_ms);
	if (o->stdin_fd != -1)
		sva_msg_u32(m, SVA_T_EXEC_STDIN, 1);
	for (size_t i = 0; i < o->n_rlimits; i++) {
		uint8_t v[20];
		sva_put_u32(v, (uint32_t)o->rlimits[i].resource);
		sva_put_u64(v + 4, o->rlimits[i].soft);
		sva_put_u64(v + 12, o->rlimits[i].hard);
		sva_msg_bytes(m, SVA_T_EXEC_RLIMIT, v, sizeof(v));
	}
	if (o->no_new_privs)
		sva_msg_u32(m, SVA_T_EXEC_NO_NEW_PRIVS, 1);
	if (o->root)
		sva_msg_str(m, SVA_T_EXEC_ROOT, o->root);
	if (o->hostname)
		sva_msg_str(m, SVA_T_EXEC_HOSTNAME, o->hostname);
	if (sva_msg_end(m) < 0)
		return sv_err(SV_EINVAL, "the command, its environment and options exceed 64 KiB");
	return 0;
}
