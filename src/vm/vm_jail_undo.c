/* Undoing the ledger's `jail BASE EXEC/ID/TOKEN` (written by vm_jail.c):
 * removes <BASE>/<EXEC>/<ID> only after checking, again, everything that
 * made it ours when it was created — the chroot base passes the trusted-
 * directory checks, <EXEC> is a real directory of ours (not a symlink
 * someone swapped in since), <ID> is a real directory holding our owner
 * token. A jail with another token (the winner of a race for the same jail
 * id, or a later VM's) or none is left alone: it is not ours. The removal
 * works relative to the directory we checked and never follows a link out
 * of the jail (whose root the jail's uid owned). Kept out of vm_jail.c so
 * the supervisor's cleanup needs none of the VMM code. */
#include "vm/vm_internal.h"

#include "util/error.h"
#include "util/file.h"
#include "util/trusted_dir.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool is_plain_name(const char *s, size_t n)
{
	return n > 0 && !(n == 1 && s[0] == '.') && !(n == 2 && s[0] == '.' && s[1] == '.');
}

/* EXEC/ID/TOKEN -> three plain names. */
static int split(const char *rest, char exec[256], char id[256], char token[SV_JAIL_TOKEN_LEN + 1])
{
	const char *a = strchr(rest, '/'), *b = a ? strchr(a + 1, '/') : NULL;
	size_t ne = a ? (size_t)(a - rest) : 0, ni = b ? (size_t)(b - a - 1) : 0, nt = b ? strlen(b + 1) : 0;
	if (!b || strchr(b + 1, '/') || !is_plain_name(rest, ne) || ne >= 256 || !is_plain_name(a + 1, ni) ||
	    ni >= 256 || nt != SV_JAIL_TOKEN_LEN || strspn(b + 1, "0123456789abcdef") != nt)
		return sv_err(SV_EINVAL, "ledger entry \"jail %s\": not EXEC/ID/TOKEN", rest);
	snprintf(exec, 256, "%.*s", (int)ne, rest);
	snprintf(id, 256, "%.*s", (int)ni, a + 1);
	snprintf(token, SV_JAIL_TOKEN_LEN + 1, "%s", b + 1);
	return 0;
}

/* Opens name in dirfd as a directory, never through a symlink. -1 with
 * errno ENOENT when it is gone. */
static int open_dir_at(int dirfd, const char *name)
{
	return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

static bool is_ours(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && st.st_uid == geteuid() && !(st.st_mode & (S_IWGRP | S_IWOTH));
}

/* Does dir_fd hold SV_JAIL_OWNER_FILE with token? */
static bool has_token(int dir_fd, const char *dir_shown, const char *token)
{
	char *text = NULL;
	bool yes = sv_read_file_at(dir_fd, dir_shown, SV_JAIL_OWNER_FILE, 64, &text, NULL) == 0 &&
		   !strcmp(text, token);
	free(text);
	sv_err_clear();
	return yes;
}

int sv_vm__undo_jail(const char *base, const char *rest)
{
	char exec[256], id[256], token[SV_JAIL_TOKEN_LEN + 1];
	int rc = split(rest, exec, id, token);
	if (rc)
		return rc;
	char shown[4096];
	snprintf(shown, sizeof(shown), "%s/%s/%s", base, exec, id);
	int base_fd = -1, exec_fd = -1, id_fd = -1;
	rc = sv_trusted_dir_existing("jail chroot base", base, &base_fd);
	if (rc == SV_ENOTFOUND)
		return 0;
	if (rc)
		return sv_err_prefix("removing jail %s", shown);
	exec_fd = open_dir_at(base_fd, exec);
	if (exec_fd < 0 && errno != ENOENT)
		rc = sv_err(SV_EUNSAFE, "removing jail %s: %s/%s is a symlink or not a directory; left alone",
			    shown, base, exec);
	else if (exec_fd >= 0 && !is_ours(exec_fd))
		rc = sv_err(SV_EUNSAFE,
			    "removing jail %s: %s/%s is not smartvm's (owner or mode changed); left alone",
			    shown, base, exec);
	if (rc || exec_fd < 0)
		goto out;
	id_fd = open_dir_at(exec_fd, id);
	if (id_fd < 0 && errno != ENOENT)
		rc = sv_err(SV_EUNSAFE, "removing jail %s: it is a symlink or not a directory; left alone",
			    shown);
	if (rc || id_fd < 0 || !has_token(id_fd, shown, token))
		goto out; /* gone, or not the jail this VM made */
	char *path = NULL;
	if (asprintf(&path, "/proc/self/fd/%d/%s", exec_fd, id) < 0)
		rc = sv_err(SV_ENOMEM, "out of memory");
	else if ((rc = sv_rm_rf(path)))
		sv_err_prefix("removing jail %s", shown);
	free(path);
out:
	if (id_fd >= 0)
		close(id_fd);
	if (exec_fd >= 0)
		close(exec_fd);
	close(base_fd);
	return rc;
}
