/* sv_vm_copy_from: a guest file, tree or symlink to the host (docker cp
 * ID:SRC DST semantics, include/smartvm/agent.h).
 *
 * The guest is hostile here. It chooses names, sizes, contents and link
 * targets, never a host path:
 *  - everything is created relative to an open destination directory fd,
 *    with O_NOFOLLOW / AT_SYMLINK_NOFOLLOW, and directories are entered
 *    with O_DIRECTORY | O_NOFOLLOW, so an entry the guest made a symlink
 *    can never be written or walked through;
 *  - names it lists must be one component (not "", ".", "..", no '/', no
 *    NUL, at most 255 bytes); the first one that is not ends the copy;
 *  - files arrive in a temporary name and are renamed into place only when
 *    the byte count matches the announced size and the SHA-256 matches;
 *    what a failed file wrote is removed;
 *  - symlinks whose target leaves the copied tree are refused unless the
 *    caller allows them; set-id bits are dropped unless keep_owner;
 *  - depth and entries per directory are bounded.
 */
#include "agent/agent_copy.h"

#include "util/array.h"
#include "util/error.h"
#include "util/file.h"
#include "util/sha256.h"
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
} copy_from;

static int unsafe(copy_from *x, const char *fmt, const char *a, const char *b)
{
	char ea[300], eb[300];
	sva_escape((const uint8_t *)a, strlen(a), ea, sizeof(ea));
	sva_escape((const uint8_t *)b, strlen(b), eb, sizeof(eb));
	char msg[700];
	snprintf(msg, sizeof(msg), fmt, ea, eb);
	return sv_err(SV_EUNSAFE, "VM \"%s\": %s: %s", x->c->vm_id, x->what, msg);
}

/* A name of our own next to `name` in dirfd, free at the moment. */
static int temp_name(int dirfd, const char *name, char *out, size_t size)
{
	for (int tries = 0; tries < 100; tries++) {
		snprintf(out, size, ".%.200s.smartvm-%08llx", name, sv_random_u64() & 0xffffffffull);
		struct stat st;
		if (fstatat(dirfd, out, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
			return 0;
	}
	return -1;
}

static mode_t host_mode(const copy_from *x, uint32_t mode)
{
	/* A set-id file from the guest, owned by whoever runs the copy (root,
	 * often), must not become a way up on the host. */
	return (mode_t)(x->o->keep_owner ? mode & 07777 : mode & 01777);
}

/* Owner, mode and mtime of what fd (or dirfd/name for a link) is. */
static int apply_meta(copy_from *x, int fd, const sva_fs_info *info, const char *shown)
{
	if (x->o->keep_owner && fchown(fd, info->uid, info->gid) < 0)
		return sv_err_errno(SV_EIO, errno, "VM \"%s\": %s: chown %s", x->c->vm_id, x->what, shown);
	if (fchmod(fd, host_mode(x, info->mode)) < 0)
		return sv_err_errno(SV_EIO, errno, "VM \"%s\": %s: chmod %s", x->c->vm_id, x->what, shown);
	struct timespec t[2] = {{.tv_nsec = UTIME_OMIT},
				{.tv_sec = info->mtime_sec, .tv_nsec = info->mtime_nsec}};
	if (futimens(fd, t) < 0)
		return sv_err_errno(SV_EIO, errno, "VM \"%s\": %s: setting the mtime of %s", x->c->vm_id,
				    x->what, shown);
	return 0;
}

/* The data frames of a GET into fd, checked against info's size and the
 * FILE_END digest. */
static int receive_data(copy_from *x, uint32_t ch, int fd, const sva_fs_info *info, const char *guest_path)
{
	sv_sha256 sha;
	int rc = sv_sha256_init(&sha);
	if (rc)
		return rc;
	sva_recv_window w;
	sva_recv_init(&w, x->c->window);
	uint64_t got = 0;
	for (;;) {
		sva_frame f;
		if ((rc = sva_fs_answer(x->c, x->what, ch, &f)))
			break;
		if (f.type == SVA_FILE_DATA) {
			if (sva_recv_arrived(&w, f.length) != 0 || got + f.length > info->size) {
				rc = unsafe(x, "%s: the guest sent more than it announced%s", guest_path, "");
				break;
			}
			for (size_t off = 0; off < f.length;) {
				ssize_t n = write(fd, f.payload + off, f.length - off);
				if (n < 0 && errno == EINTR)
					continue;
				if (n <= 0) {
					rc = sv_err_errno(SV_EIO, errno, "VM \"%s\": %s: writing",
							  x->c->vm_id, x->what);
					break;
				}
				off += (size_t)n;
			}
			if (rc)
				break;
			got += f.length;
			sv_sha256_update(&sha, f.payload, f.length);
			if ((rc = sva_client_grant(x->c, ch, sva_recv_consumed(&w, f.length))))
				break;
		} else if (f.type == SVA_FILE_END) {
			sva_field v[SVA_F_END_N];
			uint8_t digest[32];
			if ((rc = sv_sha256_final(&sha, digest)))
				break;
			if (sva_tlv_parse(f.payload, f.length, sva_spec_file_end, sva_spec_file_end_n, v) !=
				0 ||
			    v[0].len != 32 || memcmp(v[0].bytes, digest, 32) != 0)
				rc = sv_err(SV_ECHECKSUM, "VM \"%s\": %s: %s: SHA-256 mismatch", x->c->vm_id,
					    x->what, guest_path);
			else if (got != info->size)
				rc = sv_err(SV_ECHECKSUM,
					    "VM \"%s\": %s: %s: %llu bytes arrived, %llu announced",
					    x->c->vm_id, x->what, guest_path, (unsigned long long)got,
					    (unsigned long long)info->size);
			break;
		} else {
			rc = sv_err(SV_EIO, "VM \"%s\": %s: %s: %s in the middle of a file", x->c->vm_id,
				    x->what, guest_path,
				    sva_type_name(f.type) ? sva_type_name(f.type) : "an unknown message");
			break;
		}
	}
	sv_sha256_free(&sha);
	return rc;
}

/* FILE_END of a GET that has no data (a directory or a symlink). */
static int expect_end(copy_from *x, uint32_t ch, const char *guest_path)
{
	sva_frame f;
	int rc = sva_fs_answer(x->c, x->what, ch, &f);
	if (!rc && f.type != SVA_FILE_END)
		rc = sv_err(SV_EIO, "VM \"%s\": %s: %s: expected FILE_END", x->c->vm_id, x->what, guest_path);
	return rc;
}

/* The temporary entry tmp becomes name when rc is 0 (replacing a file or a
 * symlink of that name, never following it; a directory in the way is an
 * error); else, or when that fails, it is removed. */
static int into_place(copy_from *x, int rc, int dirfd, const char *tmp, const char *name)
{
	if (!rc && renameat(dirfd, tmp, dirfd, name) < 0)
		rc = sv_err_errno(SV_EIO, errno, "VM \"%s\": %s: renaming into place %s", x->c->vm_id,
				  x->what, name);
	if (rc)
		unlinkat(dirfd, tmp, 0);
	return rc;
}

static int fetch_file(copy_from *x, uint32_t ch, int dirfd, const char *name, const sva_fs_info *info,
		      const char *guest_path)
{
	char tmp[300];
	if (temp_name(dirfd, name, tmp, sizeof(tmp)) < 0)
		return sv_err(SV_EIO, "VM \"%s\": %s: no free temporary name next to %s", x->c->vm_id,
			      x->what, name);
	int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return sv_err_errno(SV_EIO, errno, "VM \"%s\": %s: creating %s", x->c->vm_id, x->what, tmp);
	int rc = receive_data(x, ch, fd, info, guest_path);
	if (!rc)
		rc = apply_meta(x, fd, info, name);
	if (close(fd) < 0 && !rc)
		rc = sv_err_errno(SV_EIO, errno, "VM \"%s\": %s: writing %s", x->c->vm_id, x->what, name);
	return into_place(x, rc, dirfd, tmp, name);
}

static int fetch_symlink(copy_from *x, int dirfd, const char *name, const sva_fs_info *info,
			 const char *guest_path, int level)
{
	if (!info->has_link || !info->link[0])
		return unsafe(x, "%s: a symlink without a target%s", guest_path, "");
	if (!x->o->allow_outside_links && sva_copy_link_escapes(info->link, level))
		return unsafe(x, "%s: a symlink pointing outside the copied tree (to %s) is refused",
			      guest_path, info->link);
	char tmp[300];
	if (temp_name(dirfd, name, tmp, sizeof(tmp)) < 0 || symlinkat(info->link, dirfd, tmp) < 0)
		return sv_err_errno(SV_EIO, errno, "VM \"%s\": %s: symlink %s", x->c->vm_id, x->what, name);
	int rc = 0;
	if (x->o->keep_owner && fchownat(dirfd, tmp, info->uid, info->gid, AT_SYMLINK_NOFOLLOW) < 0)
		rc = sv_err_errno(SV_EIO, errno, "VM \"%s\": %s: chown %s", x->c->vm_id, x->what, name);
	return into_place(x, rc, dirfd, tmp, name);
}

typedef struct {
	char **names;
	size_t n, cap;
} name_list;

static void names_free(name_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
}

/* The guest's listing of guest_path, every name checked. */
static int list_dir(copy_from *x, const char *guest_path, name_list *l)
{
	uint32_t ch = sva_client_channel(x->c);
	uint8_t buf[SVA_HEADER_SIZE + 4200];
	sva_msg m;
	sva_msg_begin(&m, buf, sizeof(buf), SVA_READDIR, ch);
	sva_msg_str(&m, 1, guest_path);
	int rc = sva_client_send_msg(x->c, &m);
	while (!rc) {
		sva_frame f;
		if ((rc = sva_fs_answer(x->c, x->what, ch, &f)) || f.type == SVA_OK)
			break;
		sva_field v[SVA_F_DIRENT_N];
		if (f.type != SVA_DIRENT ||
		    sva_tlv_parse(f.payload, f.length, sva_spec_dirent, sva_spec_dirent_n, v) != 0 ||
		    !v[SVA_F_DIRENT_NAME].present) {
			rc = sv_err(SV_EIO, "VM \"%s\": %s: %s: a directory entry that is not valid",
				    x->c->vm_id, x->what, guest_path);
			break;
		}
		const uint8_t *name = v[SVA_F_DIRENT_NAME].bytes;
		uint32_t len = v[SVA_F_DIRENT_NAME].len;
		if (!sva_name_is_safe(name, len) || len > SVA_COPY_NAME_MAX) {
			char shown[300];
			sva_escape(name, len, shown, sizeof(shown));
			rc = unsafe(
			    x, "the guest listed an entry \"%s\" in %s: names must be one path component",
			    shown, guest_path);
			break;
		}
		if (v[SVA_F_DIRENT_TYPE].num == SVA_FT_OTHER)
			continue; /* FIFOs, sockets, devices: not copied */
		if (l->n == SVA_COPY_MAX_ENTRIES) {
			rc = unsafe(x, "%s: more than a million entries%s", guest_path, "");
			break;
		}
		char **grown = sv_array_grow(l->names, &l->cap, l->n, sizeof(*grown), 64);
		if (!grown) {
			rc = sv_err(SV_ENOMEM, "out of memory");
			break;
		}
		l->names = grown;
		if (!(l->names[l->n] = strndup((const char *)name, len)))
			rc = sv_err(SV_ENOMEM, "out of memory");
		else
			l->n++;
	}
	return rc;
}

static int fetch(copy_from *x, int dirfd, const char *name, const char *guest_path, int level);

static int fetch_dir(copy_from *x, int dirfd, const char *name, const sva_fs_info *info,
		     const char *guest_path, int level)
{
	if (mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST)
		return sv_err_errno(SV_EIO, errno, "VM \"%s\": %s: mkdir %s", x->c->vm_id, x->what, name);
	/* An existing directory is merged into; anything else there (a
	 * symlink above all) is not entered. */
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOTDIR || errno == ELOOP
			   ? unsafe(x, "%s exists on the host and is not a directory (for %s)", name,
				    guest_path)
			   : sv_err_errno(SV_EIO, errno, "VM \"%s\": %s: opening %s", x->c->vm_id, x->what,
					  name);
	name_list l = {0};
	int rc = list_dir(x, guest_path, &l);
	for (size_t i = 0; !rc && i < l.n; i++) {
		char *child = NULL;
		if (asprintf(&child, "%s%s%s", guest_path,
			     guest_path[strlen(guest_path) - 1] == '/' ? "" : "/", l.names[i]) < 0)
			rc = sv_err(SV_ENOMEM, "out of memory");
		else
			rc = fetch(x, fd, l.names[i], child, level + 1);
		free(child);
	}
	names_free(&l);
	/* Mode and mtime last: the entries changed the mtime, and a read-only
	 * mode would have kept them out. */
	if (!rc)
		rc = apply_meta(x, fd, info, name);
	close(fd);
	return rc;
}

/* GET guest_path into dirfd/name; level is how deep in the copied tree. */
static int fetch(copy_from *x, int dirfd, const char *name, const char *guest_path, int level)
{
	if (level > SVA_COPY_MAX_DEPTH)
		return unsafe(x, "%s: more than 256 directory levels%s", guest_path, "");
	uint32_t ch = sva_client_channel(x->c);
	uint8_t buf[SVA_HEADER_SIZE + 4200];
	sva_msg m;
	sva_msg_begin(&m, buf, sizeof(buf), SVA_GET, ch);
	sva_msg_str(&m, 1, guest_path);
	sva_frame f;
	sva_fs_info *info = malloc(sizeof(*info));
	if (!info)
		return sv_err(SV_ENOMEM, "out of memory");
	int rc = sva_client_send_msg(x->c, &m);
	if (!rc)
		rc = sva_fs_answer(x->c, x->what, ch, &f);
	if (!rc)
		rc = sva_fs_parse_info(x->c, x->what, &f, info);
	if (rc) {
		free(info);
		return rc;
	}
	switch (info->type) {
	case SVA_FT_REGULAR:
		rc = fetch_file(x, ch, dirfd, name, info, guest_path);
		break;
	case SVA_FT_DIR:
		rc = expect_end(x, ch, guest_path);
		if (!rc)
			rc = fetch_dir(x, dirfd, name, info, guest_path, level);
		break;
	case SVA_FT_SYMLINK:
		rc = expect_end(x, ch, guest_path);
		if (!rc)
			rc = fetch_symlink(x, dirfd, name, info, guest_path, level > 0 ? level - 1 : 0);
		break;
	default:
		rc = sv_err(SV_EINVAL, "VM \"%s\": %s: %s is not a regular file, directory or symlink",
			    x->c->vm_id, x->what, guest_path);
	}
	free(info);
	return rc;
}

/* Where the copy goes: an existing directory gets the source's name
 * inside it; else host_dst names the new entry in its parent. */
static int open_destination(copy_from *x, const char *host_dst, const char *src_name, int *dirfd, char **name)
{
	struct stat st;
	*dirfd = -1;
	*name = NULL;
	if (stat(host_dst, &st) == 0 && S_ISDIR(st.st_mode)) {
		if (!sva_copy_name_is_plain(src_name))
			return sv_err(SV_EINVAL, "VM \"%s\": %s: the guest path names no entry of its own",
				      x->c->vm_id, x->what);
		*dirfd = open(host_dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		*name = strdup(src_name);
	} else {
		char *parent = strdup(host_dst);
		*name = sva_copy_last_name(host_dst);
		if (parent && *name && sva_copy_name_is_plain(*name)) {
			size_t len = strlen(parent);
			while (len > 1 && parent[len - 1] == '/')
				parent[--len] = '\0';
			char *slash = strrchr(parent, '/');
			const char *dir = !slash ? "." : slash == parent ? "/" : (*slash = '\0', parent);
			*dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		} else {
			errno = EINVAL;
		}
		free(parent);
	}
	if (*dirfd < 0 || !*name) {
		int e = errno;
		free(*name);
		*name = NULL;
		if (*dirfd >= 0)
			close(*dirfd);
		*dirfd = -1;
		return sv_err_errno(SV_EIO, e, "VM \"%s\": %s: the destination's directory", x->c->vm_id,
				    x->what);
	}
	return 0;
}

int sv_vm_copy_from(sv_vm *vm, const char *guest_src, const char *host_dst, const sv_copy_options *given)
{
	sv_copy_options o;
	char what[600];
	snprintf(what, sizeof(what), "copying the guest's %s to %s", guest_src, host_dst);
	sva_client c;
	int rc = sva_copy_begin(vm, given, guest_src, *host_dst != '\0', what, &o, &c);
	if (rc)
		return rc;
	copy_from x = {.c = &c, .o = &o, .what = what};
	char *src_name = sva_copy_last_name(guest_src), *name = NULL;
	int dirfd = -1;
	rc = src_name ? open_destination(&x, host_dst, src_name, &dirfd, &name)
		      : sv_err(SV_ENOMEM, "out of memory");
	if (!rc)
		rc = fetch(&x, dirfd, name, guest_src, 0);
	if (dirfd >= 0)
		close(dirfd);
	free(src_name);
	free(name);
	sva_client_close(&c);
	return rc;
}
