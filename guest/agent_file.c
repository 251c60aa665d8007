/* File channels: PUT, GET, STAT, MKDIR, READDIR, SYMLINK.
 *
 * A PUT is written to a temporary file next to its path and renamed over it
 * only after the digest, the size, owner, mode and mtime are right and the
 * data is on disk: a failed or cancelled PUT leaves nothing behind. A GET
 * reports what it opened (fstat of the open file), and reads the file only
 * while the window and the session's queue have room; so does READDIR. The
 * agent trusts the host's paths (it is the guest's administrator by
 * design); it only refuses paths the OS could not take. */
#include "agent.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* At most this much output per channel per turn of the loop. */
#define TURN_BYTES (256u << 10)
#define TURN_ENTRIES 256

typedef struct {
	int fd;		/* PUT: the temporary file; GET: the file read */
	char *path;	/* PUT: the destination */
	char *tmp_path; /* PUT: the temporary file, until renamed */
	uint32_t mode, uid, gid;
	bool has_mtime, has_size;
	struct timespec mtime;
	uint64_t size, bytes;
	agent_sha256 sha;
	DIR *dir; /* READDIR */
} file_state;

char *agent_path(const sva_field *f)
{
	if (!f->present || f->len == 0 || memchr(f->bytes, '\0', f->len)) {
		errno = EINVAL;
		return NULL;
	}
	char *s = strndup((const char *)f->bytes, f->len);
	if (!s)
		errno = ENOMEM;
	return s;
}

static uint32_t file_type(mode_t m)
{
	return S_ISREG(m)   ? SVA_FT_REGULAR
	       : S_ISDIR(m) ? SVA_FT_DIR
	       : S_ISLNK(m) ? SVA_FT_SYMLINK
			    : SVA_FT_OTHER;
}

/* FILE_INFO for st (and the link's target when it is one). */
static void send_info(agent_channel *c, const struct stat *st, const char *link_target)
{
	uint8_t buf[SVA_HEADER_SIZE + 4200];
	sva_msg m;
	sva_msg_begin(&m, buf, sizeof(buf), SVA_FILE_INFO, c->id);
	sva_msg_u32(&m, 1, file_type(st->st_mode));
	sva_msg_u32(&m, 2, st->st_mode & 07777);
	sva_msg_u32(&m, 3, st->st_uid);
	sva_msg_u32(&m, 4, st->st_gid);
	sva_msg_u64(&m, 5, (uint64_t)st->st_size);
	sva_msg_u64(&m, 6, (uint64_t)st->st_mtim.tv_sec);
	sva_msg_u32(&m, 7, (uint32_t)st->st_mtim.tv_nsec);
	if (link_target)
		sva_msg_str(&m, 8, link_target);
	agent_send_msg(c->s, &m);
}

static void send_end(agent_channel *c, agent_sha256 *sha)
{
	uint8_t digest[32];
	agent_sha256_final(sha, digest);
	uint8_t buf[SVA_HEADER_SIZE + 40];
	sva_msg m;
	sva_msg_begin(&m, buf, sizeof(buf), SVA_FILE_END, c->id);
	sva_msg_bytes(&m, 1, digest, sizeof(digest));
	agent_send_msg(c->s, &m);
	c->ended = true;
}

/* ERROR "<path>: <errno text>" ending the channel. */
static void fail(agent_channel *c, int e, const char *what, const char *path)
{
	agent_file_cancel(c);
	agent_send_error(c->s, c->id, e, "%s%s%s: %s", what, *what ? " " : "", path ? path : "", strerror(e));
}

/* A temporary name next to path (malloc'd): "<dir>/.<name>.smartvm-XXXXXX". */
static char *temp_name(const char *path)
{
	char *a = strdup(path), *b = strdup(path), *out = NULL;
	if (a && b && asprintf(&out, "%s/.%s.smartvm-XXXXXX", dirname(a), basename(b)) < 0)
		out = NULL;
	free(a);
	free(b);
	return out;
}

static file_state *state_new(agent_channel *c)
{
	file_state *st = calloc(1, sizeof(*st));
	if (st) {
		st->fd = -1;
		agent_sha256_init(&st->sha);
	}
	c->kind_state = st;
	return st;
}

static void open_put(agent_channel *c, file_state *st, const sva_field *v)
{
	if (!(st->path = agent_path(&v[SVA_F_PUT_PATH]))) {
		fail(c, errno, "PUT", "");
		return;
	}
	st->mode = v[SVA_F_PUT_MODE].present ? (uint32_t)v[SVA_F_PUT_MODE].num & 07777 : 0644;
	st->uid = (uint32_t)v[SVA_F_PUT_UID].num;
	st->gid = (uint32_t)v[SVA_F_PUT_GID].num;
	st->has_mtime = v[SVA_F_PUT_MTIME_SEC].present;
	st->mtime.tv_sec = (time_t)v[SVA_F_PUT_MTIME_SEC].num;
	st->mtime.tv_nsec = (long)(v[SVA_F_PUT_MTIME_NSEC].num % 1000000000u);
	st->has_size = v[SVA_F_PUT_SIZE].present;
	st->size = v[SVA_F_PUT_SIZE].num;
	if (!(st->tmp_path = temp_name(st->path))) {
		fail(c, ENOMEM, "PUT", st->path);
		return;
	}
	st->fd = mkostemp(st->tmp_path, O_CLOEXEC);
	if (st->fd < 0) {
		int e = errno;
		free(st->tmp_path);
		st->tmp_path = NULL;
		fail(c, e, "creating a file next to", st->path);
		return;
	}
}

static void put_data(agent_channel *c, file_state *st, const sva_frame *f)
{
	if (st->has_size && st->bytes + f->length > st->size) {
		fail(c, EFBIG, "more data than the announced size for", st->path);
		return;
	}
	for (size_t off = 0; off < f->length;) {
		ssize_t n = write(st->fd, f->payload + off, f->length - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fail(c, n < 0 ? errno : EIO, "writing", st->path);
			return;
		}
		off += (size_t)n;
	}
	agent_sha256_update(&st->sha, f->payload, f->length);
	st->bytes += f->length;
	agent_channel_consumed(c, f->length);
}

static void put_end(agent_channel *c, file_state *st, const sva_frame *f)
{
	sva_field v[SVA_F_END_N];
	uint8_t digest[32];
	agent_sha256_final(&st->sha, digest);
	if (sva_tlv_parse(f->payload, f->length, sva_spec_file_end, sva_spec_file_end_n, v) != 0 ||
	    v[0].len != 32 || memcmp(v[0].bytes, digest, 32) != 0) {
		fail(c, EBADMSG, "SHA-256 mismatch for", st->path);
		return;
	}
	if (st->has_size && st->bytes != st->size) {
		fail(c, EBADMSG, "less data than the announced size for", st->path);
		return;
	}
	/* chown first: it clears set-id bits that the mode may then set. */
	if (fchown(st->fd, st->uid, st->gid) < 0 && !(errno == EPERM && st->uid == getuid())) {
		fail(c, errno, "chown", st->path);
		return;
	}
	if (fchmod(st->fd, st->mode) < 0) {
		fail(c, errno, "chmod", st->path);
		return;
	}
	struct timespec times[2] = {{.tv_nsec = UTIME_OMIT}, st->mtime};
	if (st->has_mtime && futimens(st->fd, times) < 0) {
		fail(c, errno, "setting the mtime of", st->path);
		return;
	}
	if (fsync(st->fd) < 0) {
		fail(c, errno, "fsync", st->path);
		return;
	}
	if (rename(st->tmp_path, st->path) < 0) {
		fail(c, errno, "rename to", st->path);
		return;
	}
	free(st->tmp_path);
	st->tmp_path = NULL;
	agent_send_ok(c);
}

static void open_get(agent_channel *c, file_state *st, const sva_field *v)
{
	char *path = agent_path(&v[SVA_F_PATH_PATH]);
	if (!path) {
		fail(c, errno, "GET", "");
		return;
	}
	struct stat sb;
	if (lstat(path, &sb) < 0) {
		fail(c, errno, "", path);
		free(path);
		return;
	}
	if (S_ISREG(sb.st_mode)) {
		st->fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		if (st->fd < 0 || fstat(st->fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
			fail(c, st->fd < 0 ? errno : EAGAIN, "opening", path);
			free(path);
			return;
		}
		send_info(c, &sb, NULL);
	} else if (S_ISLNK(sb.st_mode)) {
		char target[4097];
		ssize_t n = readlink(path, target, sizeof(target) - 1);
		if (n < 0) {
			fail(c, errno, "readlink", path);
			free(path);
			return;
		}
		target[n] = '\0';
		send_info(c, &sb, target);
		send_end(c, &st->sha);
	} else if (S_ISDIR(sb.st_mode)) {
		send_info(c, &sb, NULL);
		send_end(c, &st->sha);
	} else {
		fail(c, ENOTSUP, "not a regular file, directory or symlink:", path);
	}
	free(path);
}

static void do_stat(agent_channel *c, const sva_field *v)
{
	char *path = agent_path(&v[SVA_F_STAT_PATH]);
	if (!path) {
		fail(c, errno, "STAT", "");
		return;
	}
	struct stat sb;
	bool follow = v[SVA_F_STAT_FOLLOW].num != 0;
	if ((follow ? stat(path, &sb) : lstat(path, &sb)) < 0) {
		fail(c, errno, "", path);
		free(path);
		return;
	}
	char target[4097];
	ssize_t n = S_ISLNK(sb.st_mode) ? readlink(path, target, sizeof(target) - 1) : -1;
	if (n >= 0)
		target[n] = '\0';
	send_info(c, &sb, n >= 0 ? target : NULL);
	c->ended = true;
	free(path);
}

/* mkdir, or with parents every missing ancestor too (0755); an existing
 * directory is fine then. */
static int make_dir(char *path, mode_t mode, bool parents, bool *created)
{
	*created = false;
	if (parents)
		for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
			*p = '\0';
			int rc = mkdir(path, 0755);
			int e = errno;
			*p = '/';
			if (rc < 0 && e != EEXIST)
				return e;
		}
	if (mkdir(path, mode) == 0) {
		*created = true;
		return 0;
	}
	struct stat sb;
	if (errno == EEXIST && parents && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
		return 0;
	return errno;
}

static void do_mkdir(agent_channel *c, const sva_field *v)
{
	char *path = agent_path(&v[SVA_F_MKDIR_PATH]);
	if (!path) {
		fail(c, errno, "MKDIR", "");
		return;
	}
	mode_t mode = v[SVA_F_MKDIR_MODE].present ? (mode_t)v[SVA_F_MKDIR_MODE].num & 07777 : 0755;
	bool created;
	int e = make_dir(path, mode, v[SVA_F_MKDIR_PARENTS].num != 0, &created);
	if (!e && created &&
	    (lchown(path, (uid_t)v[SVA_F_MKDIR_UID].num, (gid_t)v[SVA_F_MKDIR_GID].num) < 0 ||
	     chmod(path, mode) < 0))
		e = errno;
	if (e)
		fail(c, e, "mkdir", path);
	else
		agent_send_ok(c);
	free(path);
}

static void do_symlink(agent_channel *c, const sva_field *v)
{
	char *path = agent_path(&v[SVA_F_SYMLINK_PATH]);
	char *target = path ? agent_path(&v[SVA_F_SYMLINK_TARGET]) : NULL;
	char *tmp = target ? temp_name(path) : NULL;
	int e = tmp ? 0 : errno ? errno : ENOMEM;
	/* A fresh name, then renamed over path (like PUT): replaces what was
	 * there, and is never half done. */
	bool made = false;
	for (int tries = 0; !e && !made && tries < 100; tries++) {
		snprintf(tmp + strlen(tmp) - 6, 7, "%06lx", (unsigned long)(random() & 0xffffff));
		if (symlink(target, tmp) == 0)
			made = true;
		else if (errno != EEXIST)
			e = errno;
	}
	if (!e && !made)
		e = EEXIST;
	if (made && (lchown(tmp, (uid_t)v[SVA_F_SYMLINK_UID].num, (gid_t)v[SVA_F_SYMLINK_GID].num) < 0 ||
		     rename(tmp, path) < 0)) {
		e = errno;
		unlink(tmp);
	}
	if (e)
		fail(c, e, "symlink", path);
	else
		agent_send_ok(c);
	free(path);
	free(target);
	free(tmp);
}

static void open_readdir(agent_channel *c, file_state *st, const sva_field *v)
{
	char *path = agent_path(&v[SVA_F_PATH_PATH]);
	if (!path) {
		fail(c, errno, "READDIR", "");
		return;
	}
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || !(st->dir = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		fail(c, errno, "", path);
	}
	free(path);
}

void agent_file_open(agent_channel *c, const sva_frame *f, const sva_field *v)
{
	file_state *st = state_new(c);
	if (!st) {
		agent_send_error(c->s, c->id, ENOMEM, "out of memory");
		return;
	}
	switch (f->type) {
	case SVA_PUT:
		open_put(c, st, v);
		break;
	case SVA_GET:
		open_get(c, st, v);
		break;
	case SVA_STAT:
		do_stat(c, v);
		break;
	case SVA_MKDIR:
		do_mkdir(c, v);
		break;
	case SVA_READDIR:
		open_readdir(c, st, v);
		break;
	case SVA_SYMLINK:
		do_symlink(c, v);
		break;
	case SVA_MOUNT:
		agent_mount(c, v);
		break;
	}
}

void agent_file_frame(agent_channel *c, const sva_frame *f)
{
	file_state *st = c->kind_state;
	if (c->kind == SVA_PUT && f->type == SVA_FILE_DATA)
		put_data(c, st, f);
	else if (c->kind == SVA_PUT && f->type == SVA_FILE_END)
		put_end(c, st, f);
	else
		fail(c, EPROTO, sva_type_name(f->type), "is not a message for this channel;");
}

static void get_more(agent_channel *c, file_state *st)
{
	for (size_t sent = 0; sent < TURN_BYTES && c->send.credit && agent_session_can_produce(c->s);) {
		size_t want = c->send.credit < SVA_MAX_PAYLOAD ? (size_t)c->send.credit : SVA_MAX_PAYLOAD;
		uint8_t *dst = agent_reserve_data(c->s, want);
		if (!dst)
			return;
		ssize_t n = read(st->fd, dst, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fail(c, errno, "reading", "the file");
			return;
		}
		if (n == 0) {
			send_end(c, &st->sha);
			return;
		}
		agent_sha256_update(&st->sha, dst, (size_t)n);
		sva_send_take(&c->send, (size_t)n);
		agent_commit_data(c->s, SVA_FILE_DATA, c->id, (size_t)n);
		sent += (size_t)n;
	}
}

static void readdir_more(agent_channel *c, file_state *st)
{
	for (int i = 0; i < TURN_ENTRIES && agent_session_can_produce(c->s); i++) {
		errno = 0;
		struct dirent *de = readdir(st->dir);
		if (!de) {
			if (errno) {
				fail(c, errno, "reading", "the directory");
				return;
			}
			agent_send_ok(c);
			return;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		uint32_t type = de->d_type == DT_REG   ? SVA_FT_REGULAR
				: de->d_type == DT_DIR ? SVA_FT_DIR
				: de->d_type == DT_LNK ? SVA_FT_SYMLINK
						       : 0;
		struct stat sb;
		if (!type)
			type = fstatat(dirfd(st->dir), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0
				   ? file_type(sb.st_mode)
				   : SVA_FT_OTHER;
		uint8_t buf[SVA_HEADER_SIZE + 300];
		sva_msg m;
		sva_msg_begin(&m, buf, sizeof(buf), SVA_DIRENT, c->id);
		sva_msg_str(&m, 1, de->d_name);
		sva_msg_u32(&m, 2, type);
		agent_send_msg(c->s, &m);
	}
}

bool agent_file_progress(agent_channel *c)
{
	file_state *st = c->kind_state;
	if (!st || c->ended)
		return false;
	if (c->kind == SVA_GET && st->fd >= 0)
		get_more(c, st);
	else if (c->kind == SVA_READDIR && st->dir)
		readdir_more(c, st);
	else
		return false;
	if (c->ended || !agent_session_can_produce(c->s))
		return false;
	return c->kind == SVA_READDIR || c->send.credit > 0;
}

void agent_file_cancel(agent_channel *c)
{
	file_state *st = c->kind_state;
	if (!st)
		return;
	if (st->fd >= 0)
		close(st->fd);
	st->fd = -1;
	if (st->tmp_path)
		unlink(st->tmp_path);
	free(st->tmp_path);
	st->tmp_path = NULL;
	if (st->dir)
		closedir(st->dir);
	st->dir = NULL;
}

void agent_file_release(agent_channel *c)
{
	file_state *st = c->kind_state;
	if (!st)
		return;
	agent_file_cancel(c);
	free(st->path);
	free(st);
	c->kind_state = NULL;
}
