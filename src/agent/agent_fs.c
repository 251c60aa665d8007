/* The small guest-side calls of include/smartvm/agent.h: waiting for the
 * agent, stat, mkdir; and the request/answer helper the copies use. */
#include "agent/agent_fs.h"

#include "util/error.h"
#include <errno.h>
#include <smartvm/agent.h>
#include <smartvm/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Between connections while the agent's transport comes up. */
#define RETRY_MS 100

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sva_fs_error(sva_client *c, const char *what, const sva_frame *f)
{
	char text[700];
	int e = 0;
	sva_client_guest_error(f, text, sizeof(text), &e);
	int code = e == ENOENT ? SV_ENOTFOUND : e == EEXIST ? SV_EEXISTS : SV_EIO;
	return sv_err(code, "VM \"%s\": %s: %s", c->vm_id, what, text);
}

int sva_fs_answer(sva_client *c, const char *what, uint32_t ch, sva_frame *f)
{
	for (;;) {
		int rc = sva_client_recv(c, -1, f);
		if (rc == SV_EPROCESS)
			return sva_client_lost(c, what);
		if (rc)
			return rc;
		if (f->channel != ch)
			continue;
		if (f->type == SVA_ERROR)
			return sva_fs_error(c, what, f);
		return 0;
	}
}

int sva_fs_stat(sva_client *c, const char *what, const char *path, bool follow, sva_fs_info *info)
{
	uint32_t ch = sva_client_channel(c);
	uint8_t buf[SVA_HEADER_SIZE + 4200];
	sva_msg m;
	sva_msg_begin(&m, buf, sizeof(buf), SVA_STAT, ch);
	sva_msg_str(&m, 1, path);
	sva_msg_u32(&m, 2, follow);
	sva_frame f;
	int rc = sva_client_send_msg(c, &m);
	if (!rc)
		rc = sva_fs_answer(c, what, ch, &f);
	if (!rc)
		rc = sva_fs_parse_info(c, what, &f, info);
	return rc;
}

int sva_fs_parse_info(sva_client *c, const char *what, const sva_frame *f, sva_fs_info *info)
{
	memset(info, 0, sizeof(*info));
	sva_field v[SVA_F_INFO_N];
	if (f->type != SVA_FILE_INFO ||
	    sva_tlv_parse(f->payload, f->length, sva_spec_file_info, sva_spec_file_info_n, v) != 0 ||
	    !v[SVA_F_INFO_TYPE].present || v[SVA_F_INFO_TYPE].num < SVA_FT_REGULAR ||
	    v[SVA_F_INFO_TYPE].num > SVA_FT_OTHER || v[SVA_F_INFO_LINK].len > 4096 ||
	    (v[SVA_F_INFO_LINK].present && memchr(v[SVA_F_INFO_LINK].bytes, '\0', v[SVA_F_INFO_LINK].len)))
		return sv_err(SV_EIO, "VM \"%s\": %s: the agent's FILE_INFO is not valid", c->vm_id, what);
	info->type = (uint32_t)v[SVA_F_INFO_TYPE].num;
	info->mode = (uint32_t)v[SVA_F_INFO_MODE].num & 07777;
	info->uid = (uint32_t)v[SVA_F_INFO_UID].num;
	info->gid = (uint32_t)v[SVA_F_INFO_GID].num;
	info->size = v[SVA_F_INFO_SIZE].num;
	info->mtime_sec = (int64_t)v[SVA_F_INFO_MTIME_SEC].num;
	info->mtime_nsec = (uint32_t)(v[SVA_F_INFO_MTIME_NSEC].num % 1000000000u);
	info->has_link = v[SVA_F_INFO_LINK].present;
	if (info->has_link) {
		memcpy(info->link, v[SVA_F_INFO_LINK].bytes, v[SVA_F_INFO_LINK].len);
		info->link[v[SVA_F_INFO_LINK].len] = '\0';
	}
	return 0;
}

/* One HELLO and PING on a connection of its own; the error set. */
static int ping_once(sv_vm *vm, int timeout_ms, long long t0, char **version_out)
{
	sva_client c;
	int rc = sva_client_open(&c, vm, "waiting for the agent", timeout_ms);
	if (rc)
		return rc;
	/* HELLO_OK may come from a supervisor that talked to the agent before:
	 * a PING is what shows the agent answers now. */
	long long left = timeout_ms < 0 ? -1 : timeout_ms - (now_ms() - t0);
	sva_frame f;
	if (!(rc = sva_client_send(&c, SVA_PING, 0, "wait", 4))) {
		do
			rc = sva_client_recv(&c, (int)(left < 0 && timeout_ms >= 0 ? 0 : left), &f);
		while (!rc && f.type != SVA_PONG);
	}
	if (rc == SV_ETIMEOUT)
		rc = sv_err(SV_ETIMEOUT,
			    "VM \"%s\": no agent answered within %d ms (the image has no smartvm-agent?)",
			    c.vm_id, timeout_ms);
	else if (rc == SV_EPROCESS)
		rc = sva_client_lost(&c, "waiting for the agent");
	if (!rc && version_out && !(*version_out = strdup(c.agent_version)))
		rc = sv_err(SV_ENOMEM, "out of memory");
	sva_client_close(&c);
	return rc;
}

int sv_vm_agent_wait(sv_vm *vm, int timeout_ms, char **version_out)
{
	sv_err_clear();
	if (version_out)
		*version_out = NULL;
	long long t0 = now_ms();
	for (;;) {
		int rc = ping_once(vm, timeout_ms, t0, version_out);
		/* The agent's connection dropped while the guest brings it up:
		 * not up yet, while time is left. (A VM that ended fails the next
		 * connect with its state.) */
		if (rc != SV_EPROCESS || (timeout_ms >= 0 && now_ms() - t0 + RETRY_MS >= timeout_ms))
			return rc;
		nanosleep(&(struct timespec){0, RETRY_MS * 1000000L}, NULL);
	}
}

static int open_for(sva_client *c, sv_vm *vm, const char *what, int agent_timeout_ms)
{
	return sva_client_open(c, vm, what,
			       agent_timeout_ms ? agent_timeout_ms : SV_AGENT_DEFAULT_TIMEOUT_MS);
}

int sv_vm_guest_stat(sv_vm *vm, const char *path, bool follow, sv_guest_stat *st)
{
	sv_err_clear();
	if (!st || st->version < 1)
		return sv_err(SV_EINVAL, "sv_vm_guest_stat: st->version must be set (SV_GUEST_STAT_INIT)");
	char what[300];
	snprintf(what, sizeof(what), "stat %s", path);
	sva_client c;
	int rc = open_for(&c, vm, what, 0);
	if (rc)
		return rc;
	sva_fs_info *info = malloc(sizeof(*info));
	if (!info) {
		sva_client_close(&c);
		return sv_err(SV_ENOMEM, "out of memory");
	}
	rc = sva_fs_stat(&c, what, path, follow, info);
	sva_client_close(&c);
	if (!rc) {
		sv_guest_stat_clear(st);
		st->type = (sv_guest_file_type)info->type;
		st->mode = info->mode;
		st->uid = info->uid;
		st->gid = info->gid;
		st->size = info->size;
		st->mtime_sec = info->mtime_sec;
		st->mtime_nsec = info->mtime_nsec;
		if (info->has_link && !(st->link_target = strdup(info->link)))
			rc = sv_err(SV_ENOMEM, "out of memory");
	}
	free(info);
	return rc;
}

void sv_guest_stat_clear(sv_guest_stat *st)
{
	if (!st)
		return;
	free(st->link_target);
	unsigned int version = st->version;
	memset(st, 0, sizeof(*st));
	st->version = version;
}

int sva_fs_mkdir(sva_client *c, const char *what, const char *path, uint32_t mode, uint32_t uid, uint32_t gid,
		 bool parents)
{
	uint32_t ch = sva_client_channel(c);
	uint8_t buf[SVA_HEADER_SIZE + 4200];
	sva_msg m;
	sva_msg_begin(&m, buf, sizeof(buf), SVA_MKDIR, ch);
	sva_msg_str(&m, 1, path);
	sva_msg_u32(&m, 2, mode);
	sva_msg_u32(&m, 3, uid);
	sva_msg_u32(&m, 4, gid);
	sva_msg_u32(&m, 5, parents);
	sva_frame f;
	int rc = sva_client_send_msg(c, &m);
	if (!rc)
		rc = sva_fs_answer(c, what, ch, &f);
	return rc;
}

int sv_vm_guest_mkdir(sv_vm *vm, const char *path, const sv_mkdir_options *given)
{
	sv_err_clear();
	sv_mkdir_options o = SV_MKDIR_OPTIONS_INIT;
	if (given && given->version >= 1)
		o = *given;
	char what[300];
	snprintf(what, sizeof(what), "mkdir %s", path);
	sva_client c;
	int rc = open_for(&c, vm, what, 0);
	if (rc)
		return rc;
	rc = sva_fs_mkdir(&c, what, path, o.mode ? o.mode : 0755, o.uid, o.gid, o.parents);
	sva_client_close(&c);
	return rc;
}
