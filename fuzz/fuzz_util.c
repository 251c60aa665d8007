/* Helpers every harness may use (see fuzz.h). */
#include "fuzz.h"

#include "util/file.h"
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

char *fz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

char *fz_tmpdir(const char *name)
{
	/* In RAM when there is a tmpfs: harnesses write (and fsync) every input. */
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	char *dir = NULL;
	if (asprintf(&dir, "%s/svfuzz-%s.XXXXXX", base, name) < 0 || !mkdtemp(dir))
		abort();
	return dir;
}

void fz_rm_tmpdir(char *dir)
{
	if (dir)
		sv_rm_rf(dir);
	free(dir);
}

char *fz_write(const char *dir, const char *name, const uint8_t *data, size_t size)
{
	char *path = sv_path_join(dir, name);
	if (!path)
		abort();
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	for (size_t off = 0; off < size;) {
		ssize_t n = write(fd, data + off, size - off);
		if (n <= 0)
			abort();
		off += (size_t)n;
	}
	close(fd);
	return path;
}
