/* sv_vm_metrics: flush the VMM's metrics and read the latest flush.
 *
 * Firecracker appends one JSON object per flush to the metrics file, one
 * line each, by request and every 60 s on its own, for as long as the VM
 * runs. So:
 *   - only the end of the file is read (at most METRICS_WINDOW bytes, which
 *     one flush must fit in), never the whole file;
 *   - a metrics file smartvm owns (a restored VM's, in its VM directory, or
 *     a jailed VM's, in the jail) is emptied once it passes METRICS_CAP
 *     bytes, after its last flush was read; the caller's own metrics file is
 *     only ever read;
 *   - the file is opened without blocking (a FIFO is refused, not waited
 *     on), and in a jail without following links (the jail's uid owns the
 *     directory it lives in). */
#include "vm/vm_metrics.h"

#include "util/error.h"
#include "util/file.h"
#include "vm/vm_internal.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define METRICS_WINDOW (1u << 20)
#define METRICS_CAP (4u << 20)
#define COUNT_CHUNK (1u << 16)

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\0'; }

/* The objects of one line, the last one wins. */
static int parse_line(const char *line, size_t len, size_t line_off, const char *shown, json_t **latest)
{
	size_t off = 0;
	while (off < len) {
		while (off < len && is_space(line[off]))
			off++;
		if (off >= len)
			break;
		json_error_t jerr;
		json_t *obj = json_loadb(line + off, len - off, JSON_DISABLE_EOF_CHECK, &jerr);
		if (!obj || !json_is_object(obj)) {
			json_decref(obj);
			json_decref(*latest);
			*latest = NULL;
			return sv_err(SV_EVMM,
				      "metrics file %s: the last flush is not JSON objects at byte %zu of "
				      "the window: %s",
				      shown, line_off + off, obj ? "not an object" : jerr.text);
		}
		off += jerr.position;
		json_decref(*latest);
		*latest = obj;
	}
	return 0;
}

int sv_metrics_last_flush(const char *buf, size_t len, bool at_file_start, const char *shown, json_t **latest)
{
	*latest = NULL;
	/* The complete part ends at the last '\n'; its last line with anything
	 * in it is the last flush. */
	size_t end = len;
	while (end > 0 && buf[end - 1] != '\n')
		end--;
	while (end > 0 && is_space(buf[end - 1]))
		end--;
	if (end == 0)
		return 0;
	size_t start = end;
	while (start > 0 && buf[start - 1] != '\n' && buf[start - 1] != '\0')
		start--;
	if (start == 0 && !at_file_start)
		return sv_err(SV_EINVAL, "metrics file %s: the last flush is larger than %zu bytes", shown,
			      len);
	return parse_line(buf + start, end - start, start, shown, latest);
}

/* Counts the complete flushes (lines) of the whole file, in chunks. */
static int count_flushes(int fd, const char *shown, size_t *count)
{
	char *buf = malloc(COUNT_CHUNK);
	if (!buf)
		return sv_err(SV_ENOMEM, "out of memory");
	*count = 0;
	off_t off = 0;
	bool in_line = false;
	int rc = 0;
	for (;;) {
		ssize_t n = pread(fd, buf, COUNT_CHUNK, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = sv_err_errno(SV_EIO, errno, "reading metrics file %s", shown);
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n' && in_line)
				(*count)++;
			if (buf[i] == '\n' || buf[i] == '\0')
				in_line = false;
			else if (!is_space(buf[i]))
				in_line = true;
		}
		off += n;
	}
	free(buf);
	return rc;
}

/* Opens the VM's metrics file; *ours says smartvm owns (and may empty) it. */
static int open_metrics(sv_vm *vm, int *fd_out, char **shown_out, bool *ours)
{
	const char *p = vm->cfg->metrics->metrics_path;
	const char *base = strrchr(p, '/') ? strrchr(p, '/') + 1 : p;
	int rc = 0;
	*ours = vm->jail_root || (!strncmp(p, vm->dir, strlen(vm->dir)) && p[strlen(vm->dir)] == '/' &&
				  !strchr(p + strlen(vm->dir) + 1, '/'));
	if (vm->jail_root) {
		*shown_out = sv_path_join(vm->jail_root, base);
		rc = sv_vm__jail_open(vm, base, O_RDWR | O_NONBLOCK | O_NOCTTY, fd_out);
	} else {
		*shown_out = strdup(p);
		*fd_out =
		    open(p, (*ours ? O_RDWR | O_NOFOLLOW : O_RDONLY) | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (*fd_out < 0)
			rc = sv_err_errno(errno == ENOENT  ? SV_ENOTFOUND
					  : errno == ELOOP ? SV_EUNSAFE
							   : SV_EIO,
					  errno, "metrics file %s", p);
	}
	if (!*shown_out && !rc)
		rc = sv_err(SV_ENOMEM, "out of memory");
	return rc;
}

/* The end of the file: the last window, and whether it starts the file. */
static int read_window(int fd, const char *shown, off_t size, char **buf, size_t *len, bool *at_start)
{
	off_t from = size > (off_t)METRICS_WINDOW ? size - (off_t)METRICS_WINDOW : 0;
	size_t want = (size_t)(size - from);
	*buf = malloc(want + 1);
	if (!*buf)
		return sv_err(SV_ENOMEM, "out of memory");
	size_t got = 0;
	while (got < want) {
		ssize_t n = pread(fd, *buf + got, want - got, from + (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return sv_err_errno(SV_EIO, errno, "reading metrics file %s", shown);
		if (n == 0)
			break; /* emptied meanwhile */
		got += (size_t)n;
	}
	*len = got;
	*at_start = from == 0;
	return 0;
}

int sv_vm_metrics(sv_vm *vm, bool flush, char **out, size_t *n_flushes)
{
	*out = NULL;
	if (n_flushes)
		*n_flushes = 0;
	sv_err_clear();
	sv_vm__refresh(vm);
	int rc = sv_vm__require_state(vm, "metrics", (1u << SV_VM_RUNNING) | (1u << SV_VM_PAUSED));
	if (rc)
		return rc;
	if (!vm->backend || !vm->backend->flush_metrics)
		return sv_err(SV_EUNSUPPORTED, "VM \"%s\": metrics: not supported by the %s backend", vm->id,
			      vm->backend ? vm->backend->name : "unknown");
	if (!vm->cfg || !vm->cfg->metrics)
		return sv_err(SV_EINVALID_STATE,
			      "VM \"%s\": metrics: the VM has no metrics file (configure metrics at boot)",
			      vm->id);
	if (flush && ((rc = sv_vm__connect(vm)) || (rc = vm->backend->flush_metrics(vm->vmm))))
		return sv_err_prefix("VM \"%s\": metrics", vm->id);
	int fd = -1;
	char *shown = NULL, *buf = NULL;
	bool ours = false, at_start = false;
	size_t len = 0;
	struct stat st;
	json_t *latest = NULL;
	rc = open_metrics(vm, &fd, &shown, &ours);
	if (!rc && fstat(fd, &st) != 0)
		rc = sv_err_errno(SV_EIO, errno, "metrics file %s", shown);
	if (!rc && !S_ISREG(st.st_mode))
		rc = sv_err(SV_EINVAL,
			    "metrics file %s: not a regular file (a FIFO's flushes go to its reader)", shown);
	if (!rc)
		rc = read_window(fd, shown, st.st_size, &buf, &len, &at_start);
	if (!rc)
		rc = sv_metrics_last_flush(buf, len, at_start, shown, &latest);
	if (!rc && n_flushes)
		rc = count_flushes(fd, shown, n_flushes);
	/* Ours and big: start over, the last flush is in hand. */
	if (!rc && ours && st.st_size > (off_t)METRICS_CAP && ftruncate(fd, 0) != 0)
		rc = sv_err_errno(SV_EIO, errno, "emptying metrics file %s", shown);
	if (fd >= 0)
		close(fd);
	free(buf);
	free(shown);
	if (rc) {
		json_decref(latest);
		return sv_err_prefix("VM \"%s\": metrics", vm->id);
	}
	if (!latest)
		return sv_err(SV_ENOTFOUND, "VM \"%s\": metrics: nothing flushed yet", vm->id);
	*out = json_dumps(latest, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(latest);
	return *out ? 0 : sv_err(SV_ENOMEM, "out of memory");
}
