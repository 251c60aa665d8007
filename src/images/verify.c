/* The verifier (see verify.h): one pass over the bytes, hashing as they are
 * written, renaming only verified files into place. Owns the ".part" files it
 * creates and removes them on every failure path. */
#include "images/verify.h"

#include "util/error.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

int sv_sink_open(sv_sink *s, const char *final_path, mode_t mode, const char *what, int64_t expected_size,
		 uint64_t max_bytes)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->limit_is_stated = expected_size >= 0;
	s->limit = s->limit_is_stated ? (uint64_t)expected_size : max_bytes;
	if (asprintf(&s->tmp_path, "%s.part", final_path) < 0) {
		s->tmp_path = NULL;
		return sv_err(SV_ENOMEM, "out of memory");
	}
	s->final_path = strdup(final_path);
	s->what = strdup(what);
	if (!s->final_path || !s->what) {
		sv_sink_abort(s);
		return sv_err(SV_ENOMEM, "out of memory");
	}
	/* A stale .part belongs to a crashed writer; callers hold the lock. */
	unlink(s->tmp_path);
	s->fd = open(s->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (s->fd < 0) {
		int e = errno;
		sv_sink_abort(s);
		return sv_err_errno(SV_EIO, e, "creating %s.part", final_path);
	}
	int rc = sv_sha256_init(&s->hash);
	if (rc)
		sv_sink_abort(s);
	return rc;
}

bool sv_sink_exceeds(const sv_sink *s, uint64_t n)
{
	return (s->limit || s->limit_is_stated) && n > s->limit;
}

int sv_sink_too_large(const sv_sink *s)
{
	if (s->limit_is_stated)
		return sv_err(SV_ECHECKSUM, "%s: size mismatch: more than the expected %llu bytes", s->what,
			      (unsigned long long)s->limit);
	return sv_err(SV_ECHECKSUM, "%s: larger than the limit of %llu bytes (max_bytes)", s->what,
		      (unsigned long long)s->limit);
}

int sv_sink_write(sv_sink *s, const void *data, size_t len)
{
	if (sv_sink_exceeds(s, s->bytes + len))
		return sv_sink_too_large(s);
	sv_sha256_update(&s->hash, data, len);
	const char *p = data;
	size_t left = len;
	while (left > 0) {
		ssize_t n = write(s->fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return sv_err_errno(SV_EIO, errno, "writing %s", s->tmp_path);
		p += n;
		left -= (size_t)n;
	}
	s->bytes += len;
	return 0;
}

int sv_sink_reset(sv_sink *s)
{
	sv_sha256_free(&s->hash);
	s->bytes = 0;
	if (ftruncate(s->fd, 0) != 0 || lseek(s->fd, 0, SEEK_SET) != 0)
		return sv_err_errno(SV_EIO, errno, "truncating %s", s->tmp_path);
	return sv_sha256_init(&s->hash);
}

int sv_sink_commit(sv_sink *s, const char *expected_sha256, int64_t expected_size, char sha256_out[65])
{
	char got[65];
	sv_sha256_final_hex(&s->hash, got);
	int rc = 0;
	if (expected_size >= 0 && s->bytes != (uint64_t)expected_size)
		rc = sv_err(SV_ECHECKSUM, "%s: size mismatch: expected %lld bytes, got %llu", s->what,
			    (long long)expected_size, (unsigned long long)s->bytes);
	else if (expected_sha256 && strcasecmp(expected_sha256, got) != 0)
		rc = sv_err(SV_ECHECKSUM, "%s: SHA-256 mismatch: expected %s, got %s", s->what,
			    expected_sha256, got);
	else if (fsync(s->fd) != 0)
		rc = sv_err_errno(SV_EIO, errno, "writing %s", s->tmp_path);
	else if (close(s->fd) != 0) {
		s->fd = -1;
		rc = sv_err_errno(SV_EIO, errno, "writing %s", s->tmp_path);
	} else {
		s->fd = -1;
		if (rename(s->tmp_path, s->final_path) != 0)
			rc = sv_err_errno(SV_EIO, errno, "renaming %s", s->tmp_path);
	}
	if (!rc && sha256_out)
		memcpy(sha256_out, got, 65);
	sv_sink_abort(s);
	return rc;
}

void sv_sink_abort(sv_sink *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (s->tmp_path)
		unlink(s->tmp_path);
	sv_sha256_free(&s->hash);
	free(s->tmp_path);
	free(s->final_path);
	free(s->what);
	s->tmp_path = s->final_path = s->what = NULL;
}

/* Opens src for reading if it is a regular file; a FIFO or device is
 * refused without blocking on it. */
static int open_regular(const char *src, int *fd_out, struct stat *st)
{
	int fd = open(src, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return sv_err_errno(errno == ENOENT ? SV_ENOTFOUND : SV_EIO, errno, "copying %s", src);
	if (fstat(fd, st) != 0) {
		int e = errno;
		close(fd);
		return sv_err_errno(SV_EIO, e, "copying %s", src);
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return sv_err(SV_EINVAL, "copying %s: not a regular file", src);
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
		int e = errno;
		close(fd);
		return sv_err_errno(SV_EIO, e, "copying %s", src);
	}
	*fd_out = fd;
	return 0;
}

int sv_copy_verified(const char *src, const char *final_path, const char *expected_sha256,
		     int64_t expected_size, uint64_t max_bytes, char sha256_out[65], uint64_t *size_out)
{
	int in = -1;
	struct stat st;
	int rc = open_regular(src, &in, &st);
	if (rc)
		return rc;
	sv_sink s;
	char *what = NULL;
	if (asprintf(&what, "copying %s", src) < 0) {
		close(in);
		return sv_err(SV_ENOMEM, "out of memory");
	}
	/* Never more readable than the source: a copy of a file only root may
	 * read stays that way in the cache. */
	rc = sv_sink_open(&s, final_path, st.st_mode & 0644, what, expected_size, max_bytes);
	free(what);
	if (rc) {
		close(in);
		return rc;
	}
	if (expected_size >= 0 && (uint64_t)st.st_size != (uint64_t)expected_size)
		rc = sv_err(SV_ECHECKSUM, "%s: size mismatch: expected %lld bytes, got %lld", s.what,
			    (long long)expected_size, (long long)st.st_size);
	else if (sv_sink_exceeds(&s, (uint64_t)st.st_size))
		rc = sv_sink_too_large(&s);
	static const size_t bufsize = 1 << 17;
	char *buf = rc ? NULL : malloc(bufsize);
	if (!rc && !buf)
		rc = sv_err(SV_ENOMEM, "out of memory");
	while (!rc) {
		ssize_t n = read(in, buf, bufsize);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = sv_err_errno(SV_EIO, errno, "reading %s", src);
			break;
		}
		if (n == 0)
			break;
		rc = sv_sink_write(&s, buf, (size_t)n);
	}
	free(buf);
	close(in);
	uint64_t bytes = s.bytes;
	if (rc) {
		sv_sink_abort(&s);
		return rc;
	}
	rc = sv_sink_commit(&s, expected_sha256, expected_size, sha256_out);
	if (!rc && size_out)
		*size_out = bytes;
	return rc;
}
