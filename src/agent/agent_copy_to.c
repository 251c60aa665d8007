/* sv_vm_copy_to: a host file, tree or symlink into the guest (docker cp
 * SRC ID:DST semantics, include/smartvm/agent.h).
 *
 * The host side is the caller's own: it is walked through directory fds
 * without following symlinks below the source, and a file that changes
 * size while it is read fails the copy. Each regular file is one PUT
 * channel: data within the agent's window, its SHA-256 at the end; the
 * agent only renames it into place after checking it. */
#include "agent/agent_copy.h"

#include "util/error.h"
#include "util/sha256.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <smartvm/agent.h>
#include <smartvm/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
	sva_client *c;
	const sv_copy_options *o;
	const char *what;
	const char *host_root;
} copy_to;

/* Handles what arrived for channel ch without waiting: WINDOWs add
 * credit, an ERROR (a full disk, a bad path) fails the copy at once. */
static int drain(copy_to *x, uint32_t ch, sva_send_window *w)
{
	sva_frame f;
	int rc;
	while ((rc = sva_client_next(x->c, &f)) == 1) {
		if (f.channel != ch)
			continue;
		if (f.type == SVA_ERROR)
			return sva_fs_error(x->c, x->what, &f);
		sva_field v[SVA_F_WINDOW_N];
		if (f.type == SVA_WINDOW &&
		    (sva_tlv_parse(f.payload, f.length, sva_spec_window, sva_spec_window_n, v) != 0 ||
		     sva_send_grant(w, (uint32_t)v[0].num) != 0))
			return sv_err(SV_EIO, "VM \"%s\": %s: the agent's WINDOW is not valid", x->c->vm_id,
				      x->what);
	}
	return rc;
}

/* Sends what is queued and takes in what came; with wait, until there is
 * credit again. */
static int pump(copy_to *x, uint32_t ch, sva_send_window *w, bool wait)
{
	for (;;) {
		int rc = drain(x, ch, w);
		if (rc || !wait || w->credit)
			return rc;
		rc = sva_client_pump(x->c, -1, -1, 0, NULL);
		if (rc == SV_EPROCESS)
			return sva_client_lost(x->c, x->what);
		if (rc)
			return rc;
	}
}

static int put_file(copy_to *x, int fd, const struct stat *st, const char *guest_path, const char *host_path)
{
	uint32_t ch = sva_client_channel(x->c);
	uint8_t head[SVA_HEADER_SIZE + 4200];
	sva_msg m;
	sva_msg_begin(&m, head, sizeof(head), SVA_PUT, ch);
	sva_msg_str(&m, 1, guest_path);
	sva_msg_u32(&m, 2, st->st_mode & 07777);
	sva_msg_u32(&m, 3, x->o->keep_owner ? st->st_uid : x->o->uid);
	sva_msg_u32(&m, 4, x->o->keep_owner ? st->st_gid : x->o->gid);
	sva_msg_u64(&m, 5, (uint64_t)st->st_mtim.tv_sec);
	sva_msg_u32(&m, 6, (uint32_t)st->st_mtim.tv_nsec);
	sva_msg_u64(&m, 7, (uint64_t)st->st_size);
	int rc = sva_client_send_msg(x->c, &m);
	sv_sha256 sha = {0};
	if (!rc)
		rc = sv_sha256_init(&sha);
	sva_send_window w = {.credit = x->c->window};
	uint8_t *buf = malloc(SVA_MAX_PAYLOAD);
	if (!buf)
		rc = rc ? rc : sv_err(SV_ENOMEM, "out of memory");
	uint64_t sent = 0;
	while (!rc) {
		if ((rc = pump(x, ch, &w, true)))
			break;
		size_t want = w.credit < SVA_MAX_PAYLOAD ? (size_t)w.credit : SVA_MAX_PAYLOAD;
		ssize_t n = read(fd, buf, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = sv_err_errno(SV_EIO, errno, "%s: reading %s", x->what, host_path);
			break;
		}
		if (n == 0)
			break;
		sva_send_take(&w, (size_t)n);
		sent += (uint64_t)n;
		sv_sha256_update(&sha, buf, (size_t)n);
		if ((rc = sva_client_send(x->c, SVA_FILE_DATA, ch, buf, (size_t)n)))
			break;
		/* Send as it goes; read WINDOWs as they come. */
		rc = sva_client_pump(x->c, 0, -1, 0, NULL);
		if (rc == SV_ETIMEOUT)
			rc = 0;
		else if (rc == SV_EPROCESS)
			rc = sva_client_lost(x->c, x->what);
		if (!rc)
			rc = pump(x, ch, &w, false);
	}
	if (!rc && sent != (uint64_t)st->st_size)
		rc = sv_err(SV_EIO, "%s: %s changed size while it was read", x->what, host_path);
	if (!rc) {
		uint8_t digest[32];
		rc = sv_sha256_final(&sha, digest);
		sva_msg_begin(&m, head, sizeof(head), SVA_FILE_END, ch);
		sva_msg_bytes(&m, 1, digest, sizeof(digest));
		sva_frame f;
		if (!rc)
			rc = sva_client_send_msg(x->c, &m);
		while (!rc && !(rc = sva_fs_answer(x->c, x->what, ch, &f)) && f.type != SVA_OK)
			;
	}
	sv_sha256_free(&sha);
	free(buf);
	return rc;
}

static int put_symlink(copy_to *x, int dirfd, const char *name, const char *guest_path, const struct stat *st)
{
	char target[4097];
	ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);
	if (n < 0)
		return sv_err_errno(SV_EIO, errno, "%s: readlink %s", x->what, name);
	target[n] = '\0';
	uint32_t ch = sva_client_channel(x->c);
	uint8_t buf[SVA_HEADER_SIZE + 8500];
	sva_msg m;
	sva_msg_begin(&m, buf, sizeof(buf), SVA_SYMLINK, ch);
	sva_msg_str(&m, 1, guest_path);
	sva_msg_str(&m, 2, target);
	sva_msg_u32(&m, 3, x->o->keep_owner ? st->st_uid : x->o->uid);
	sva_msg_u32(&m, 4, x->o->keep_owner ? st->st_gid : x->o->gid);
	sva_frame f;
	int rc = sva_client_send_msg(x->c, &m);
	return rc ? rc : sva_fs_answer(x->c, x->what, ch, &f);
}

static int walk(copy_to *x, int dirfd, const char *name, const char *guest_path, int depth);

static int put_dir(copy_to *x, int dirfd, const char *name, const char *guest_path, const struct stat *st,
		   int depth)
{
	int rc = sva_fs_mkdir(x->c, x->what, guest_path, st->st_mode & 07777,
			      x->o->keep_owner ? st->st_uid : x->o->uid,
			      x->o->keep_owner ? st->st_gid : x->o->gid, true);
	if (rc)
		return rc;
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		rc = sv_err_errno(SV_EIO, errno, "%s: opening the directory %s", x->what, name);
		if (fd >= 0)
			close(fd);
		return rc;
	}
	struct dirent *de;
	while (!rc && (errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *child = NULL;
		if (asprintf(&child, "%s%s%s", guest_path,
			     guest_path[strlen(guest_path) - 1] == '/' ? "" : "/", de->d_name) < 0)
			rc = sv_err(SV_ENOMEM, "out of memory");
		else
			rc = walk(x, fd, de->d_name, child, depth + 1);
		free(child);
	}
	if (!rc && errno)
		rc = sv_err_errno(SV_EIO, errno, "%s: reading the directory %s", x->what, name);
	closedir(d);
	return rc;
}

static int walk(copy_to *x, int dirfd, const char *name, const char *guest_path, int depth)
{
	if (depth > SVA_COPY_MAX_DEPTH)
		return sv_err(SV_EINVAL, "%s: more than %d directory levels", x->what, SVA_COPY_MAX_DEPTH);
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return sv_err_errno(errno == ENOENT ? SV_ENOTFOUND : SV_EIO, errno, "%s: %s", x->what,
				    depth ? name : x->host_root);
	if (S_ISDIR(st.st_mode))
		return put_dir(x, dirfd, name, guest_path, &st, depth);
	if (S_ISLNK(st.st_mode))
		return put_symlink(x, dirfd, name, guest_path, &st);
	if (!S_ISREG(st.st_mode))
		return depth ? 0 : sv_err(SV_EINVAL, "%s: not a regular file, directory or symlink", x->what);
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return sv_err_errno(SV_EIO, errno, "%s: opening %s", x->what, depth ? name : x->host_root);
	int rc = put_file(x, fd, &st, guest_path, depth ? name : x->host_root);
	close(fd);
	return rc;
}

int sv_vm_copy_to(sv_vm *vm, const char *host_src, const char *guest_dst, const sv_copy_options *given)
{
	sv_copy_options o;
	char what[600];
	snprintf(what, sizeof(what), "copying %s to the guest's %s", host_src, guest_dst);
	sva_client c;
	int rc = sva_copy_begin(vm, given, guest_dst, *host_src != '\0', what, &o, &c);
	if (rc)
		return rc;
	copy_to x = {.c = &c, .o = &o, .what = what, .host_root = host_src};
	/* Into an existing directory under the source's own name. */
	char *target = NULL;
	sva_fs_info info;
	int st = sva_fs_stat(&c, what, guest_dst, true, &info);
	char *name = sva_copy_last_name(host_src);
	if (!name) {
		rc = sv_err(SV_ENOMEM, "out of memory");
	} else if (st == 0 && info.type == SVA_FT_DIR && sva_copy_name_is_plain(name)) {
		if (asprintf(&target, "%s%s%s", guest_dst, guest_dst[strlen(guest_dst) - 1] == '/' ? "" : "/",
			     name) < 0)
			rc = sv_err(SV_ENOMEM, "out of memory");
	} else if (st == 0 || st == SV_ENOTFOUND) {
		target = strdup(guest_dst);
	} else {
		rc = st;
	}
	sv_err_clear();
	if (!rc && !target)
		rc = sv_err(SV_ENOMEM, "out of memory");
	if (!rc)
		rc = walk(&x, AT_FDCWD, host_src, target, 0);
	if (rc)
		sv_err_prefix("VM \"%s\"", sv_vm_id(vm));
	free(name);
	free(target);
	sva_client_close(&c);
	return rc;
}
