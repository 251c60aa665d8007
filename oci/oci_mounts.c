/* config.json's mounts (see oci_mounts.h). */
#include "oci_mounts.h"

#include "util/error.h"
#include "util/file.h"

#include <errno.h>
#include <fcntl.h>
#include <smartvm/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONFIG_NAME "config.json"
#define MAX_MOUNTS 64
#define MAX_DATA 1024

static const struct {
	const char *type;
	oci_mount_kind kind;
} kinds[] = {
    {"proc", OCI_MOUNT_PROC},	{"sysfs", OCI_MOUNT_SYSFS},   {"devpts", OCI_MOUNT_DEVPTS},
    {"tmpfs", OCI_MOUNT_TMPFS}, {"mqueue", OCI_MOUNT_MQUEUE}, {"cgroup", OCI_MOUNT_CGROUP},
    {"cgroup2", OCI_MOUNT_CGROUP}, {"bind", OCI_MOUNT_BIND},
};

/* mount(8)'s flag options; `clear` ones undo theirs. */
static const struct {
	const char *name;
	unsigned long flag;
	bool clear;
} flag_options[] = {
    {"ro", MS_RDONLY, false},	     {"rw", MS_RDONLY, true},	   {"nosuid", MS_NOSUID, false},
    {"suid", MS_NOSUID, true},	     {"nodev", MS_NODEV, false},   {"dev", MS_NODEV, true},
    {"noexec", MS_NOEXEC, false},    {"exec", MS_NOEXEC, true},	   {"sync", MS_SYNCHRONOUS, false},
    {"async", MS_SYNCHRONOUS, true}, {"noatime", MS_NOATIME, false}, {"atime", MS_NOATIME, true},
    {"nodiratime", MS_NODIRATIME, false}, {"diratime", MS_NODIRATIME, true},
    {"relatime", MS_RELATIME, false}, {"norelatime", MS_RELATIME, true},
    {"strictatime", MS_STRICTATIME, false},
};

/* Options that are about how a bind or its propagation is made: the copy
 * into the guest has one meaning for all of them. */
static const char *const ignored_options[] = {
    "bind", "rbind", "private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable",
    "runbindable", "defaults", "tmpcopyup", "copy", "nocopy", "notmpcopyup", "Z", "z",
};

static int field_err(const char *field, const char *what)
{
	return sv_err(SV_EINVAL, CONFIG_NAME ": %s: %s", field, what);
}

static bool in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s, list[i]))
			return true;
	return false;
}

/* options[] -> flags and data; *bind when bind/rbind is among them. */
static int parse_options(oci_mount *m, json_t *opts, const char *field, bool *bind)
{
	char data[MAX_DATA] = "", item[128];
	size_t i, len = 0;
	json_t *o;
	*bind = false;
	if (opts && !json_is_null(opts) && !json_is_array(opts))
		return field_err(field, "expected an array");
	json_array_foreach(opts, i, o)
	{
		snprintf(item, sizeof(item), "%s[%zu]", field, i);
		const char *s = json_string_value(o);
		if (!s)
			return field_err(item, "expected a string");
		if (!*s || strchr(s, ','))
			return field_err(item, "must be one option without a comma");
		if (!strcmp(s, "bind") || !strcmp(s, "rbind"))
			*bind = true;
		bool known = false;
		for (size_t k = 0; k < sizeof(flag_options) / sizeof(*flag_options); k++)
			if (!strcmp(s, flag_options[k].name)) {
				if (flag_options[k].clear)
					m->flags &= ~flag_options[k].flag;
				else
					m->flags |= flag_options[k].flag;
				known = true;
			}
		if (known || in_list(s, ignored_options, sizeof(ignored_options) / sizeof(*ignored_options)))
			continue;
		/* The filesystem's own (size=, mode=, newinstance, gid=...): the
		 * guest kernel checks them. */
		size_t sl = strlen(s);
		if (len + sl + 2 > sizeof(data))
			return field_err(field, "the filesystem options exceed 1 KiB");
		if (len)
			data[len++] = ',';
		memcpy(data + len, s, sl + 1);
		len += sl;
	}
	if (len && !(m->data = strdup(data)))
		return sv_err(SV_ENOMEM, "out of memory");
	return 0;
}

static int parse_one(oci_mount *m, json_t *e, size_t idx, const char *bundle_dir)
{
	char field[64], sub[96];
	snprintf(field, sizeof(field), "mounts[%zu]", idx);
	if (!json_is_object(e))
		return field_err(field, "expected an object");
	json_t *dest = json_object_get(e, "destination"), *type = json_object_get(e, "type"),
	       *src = json_object_get(e, "source");
	snprintf(sub, sizeof(sub), "%s.destination", field);
	if (!json_is_string(dest))
		return field_err(sub, dest ? "expected a string" : "missing");
	const char *d = json_string_value(dest);
	if (d[0] != '/')
		return field_err(sub, "must be an absolute path (it is resolved inside the container's root)");
	if (strlen(d) >= 4096)
		return field_err(sub, "longer than PATH_MAX");
	snprintf(sub, sizeof(sub), "%s.type", field);
	if (type && !json_is_null(type) && !json_is_string(type))
		return field_err(sub, "expected a string");
	snprintf(sub, sizeof(sub), "%s.source", field);
	if (src && !json_is_null(src) && !json_is_string(src))
		return field_err(sub, "expected a string");
	snprintf(sub, sizeof(sub), "%s.options", field);
	bool bind;
	int rc = parse_options(m, json_object_get(e, "options"), sub, &bind);
	if (rc)
		return rc;
	const char *t = json_string_value(type);
	bool found = false;
	if (bind && (!t || !strcmp(t, "bind") || !strcmp(t, "none"))) {
		m->kind = OCI_MOUNT_BIND;
		found = true;
	}
	for (size_t k = 0; !found && t && k < sizeof(kinds) / sizeof(*kinds); k++)
		if (!strcmp(t, kinds[k].type)) {
			m->kind = kinds[k].kind;
			found = true;
		}
	if (!found) {
		char what[200];
		snprintf(what, sizeof(what),
			 "\"%.40s\" is not a kind smartvm-oci mounts (proc, sysfs, devpts, tmpfs, mqueue, cgroup, "
			 "bind)",
			 t ? t : "");
		snprintf(sub, sizeof(sub), "%s.type", field);
		return t ? field_err(sub, what) : field_err(sub, "missing (and no bind option)");
	}
	const char *s = json_string_value(src);
	if (m->kind == OCI_MOUNT_BIND) {
		snprintf(sub, sizeof(sub), "%s.source", field);
		if (!s || !*s)
			return field_err(sub, "missing (a bind mount needs a host path)");
		m->source = sv_path_absolute(s, bundle_dir);
	} else {
		m->source = strdup(s && *s ? s : json_string_value(type));
	}
	m->destination = strdup(d);
	return m->source && m->destination ? 0 : sv_err(SV_ENOMEM, "out of memory");
}

int oci_mounts_parse(oci_mounts *m, json_t *root, const char *bundle_dir)
{
	*m = (oci_mounts){0};
	json_t *arr = json_object_get(root, "mounts"), *e;
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return field_err("mounts", "expected an array");
	if (json_array_size(arr) > MAX_MOUNTS)
		return field_err("mounts", "more than 64 entries");
	m->items = calloc(json_array_size(arr) + 1, sizeof(*m->items));
	if (!m->items)
		return sv_err(SV_ENOMEM, "out of memory");
	size_t i;
	json_array_foreach(arr, i, e)
	{
		m->n = i + 1; /* so that free sees what this entry allocated */
		int rc = parse_one(&m->items[i], e, i, bundle_dir);
		if (rc) {
			oci_mounts_free(m); /* nothing half-parsed is left to the caller */
			return rc;
		}
	}
	return 0;
}

static int check_source(oci_mount *m, size_t idx)
{
	char field[64];
	snprintf(field, sizeof(field), "mounts[%zu].source", idx);
	struct stat st;
	if (lstat(m->source, &st) < 0)
		return sv_err_errno(SV_EINVAL, errno, CONFIG_NAME ": %s: %s", field, m->source);
	const char *bad = S_ISLNK(st.st_mode)	? "a symlink"
			  : S_ISCHR(st.st_mode) ? "a character device"
			  : S_ISBLK(st.st_mode) ? "a block device"
			  : S_ISFIFO(st.st_mode) ? "a FIFO"
			  : S_ISSOCK(st.st_mode) ? "a socket"
						 : NULL;
	if (bad)
		return sv_err(SV_EINVAL,
			      CONFIG_NAME ": %s: %s is %s (only regular files and directories are bound)", field,
			      m->source, bad);
	/* Opened as the copy will open it: readable, and still not a link. */
	int fd = open(m->source, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK |
				     (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
	if (fd < 0)
		return sv_err_errno(SV_EINVAL, errno, CONFIG_NAME ": %s: %s", field, m->source);
	close(fd);
	m->is_dir = S_ISDIR(st.st_mode);
	return 0;
}

int oci_mounts_check(oci_mounts *m)
{
	for (size_t i = 0; i < m->n; i++) {
		if (m->items[i].kind != OCI_MOUNT_BIND)
			continue;
		int rc = check_source(&m->items[i], i);
		if (rc)
			return rc;
	}
	return 0;
}

void oci_mounts_free(oci_mounts *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->items[i].destination);
		free(m->items[i].source);
		free(m->items[i].data);
	}
	for (size_t i = 0; i < m->n_drives; i++)
		free(m->drive_files[i]);
	free(m->items);
	*m = (oci_mounts){0};
}
