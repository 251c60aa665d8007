/* `list [--format table|json] [--quiet]`: the containers under --root, as
 * runc lists them: a table of ID, PID, STATUS, BUNDLE, CREATED, OWNER, or
 * a JSON array of runc's objects (ociVersion, id, pid, status, bundle,
 * rootfs, created, owner, annotations); --quiet prints the ids. A
 * directory that fails the state directory checks (another user's, a
 * symlink) is reported and left out, never read. */
#include "oci_commands.h"

#include "oci_bundle.h"
#include "oci_log.h"
#include "util/array.h"
#include "util/error.h"
#include "util/trusted_dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <pwd.h>
#include <smartvm/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define USAGE "list [--format table|json] [--quiet]"
#define OCI_SPEC_VERSION "1.2.1"

typedef struct {
	char *id, *bundle, *rootfs, *owner, *annotations;
	char status[16], pid[16], created[64];
} row;

static char *owner_name(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return strdup("?");
	struct passwd pw, *res = NULL;
	char buf[1024], num[16];
	if (getpwuid_r(st.st_uid, &pw, buf, sizeof(buf), &res) == 0 && res)
		return strdup(res->pw_name);
	snprintf(num, sizeof(num), "%u", (unsigned)st.st_uid);
	return strdup(num);
}

/* One container's row; false (reported) when its directory or state cannot be read. */
static bool read_row(const oci_globals *g, const char *id, row *r)
{
	oci_dir d;
	oci_state s;
	if (oci_dir_open(&d, g->root, id) < 0) {
		oci_log_warn("list: %s", sv_last_error());
		return false;
	}
	if (oci_state_load(&d, &s) < 0) {
		oci_log_warn("list: container \"%s\": %s", id, sv_last_error());
		oci_dir_close(&d);
		return false;
	}
	oci_bundle b;
	bool have_bundle = oci_bundle_load(&b, s.bundle) == 0;
	*r = (row){.id = strdup(s.id),
		   .bundle = strdup(s.bundle),
		   .rootfs = strdup(have_bundle ? b.root_path : ""),
		   .owner = owner_name(d.fd),
		   .annotations = strdup(s.annotations_json)};
	bool whole = r->id && r->bundle && r->rootfs && r->owner && r->annotations;
	if (!whole) {
		oci_log_warn("list: container \"%s\": out of memory", id);
		free(r->id);
		free(r->bundle);
		free(r->rootfs);
		free(r->owner);
		free(r->annotations);
	}
	snprintf(r->status, sizeof(r->status), "%s", oci_status_name(s.status));
	snprintf(r->pid, sizeof(r->pid), "%d", oci_status_live(s.status) ? (int)s.pid : 0);
	oci_state_created_text(&s, r->created, sizeof(r->created));
	if (have_bundle)
		oci_bundle_free(&b);
	oci_state_free(&s);
	oci_dir_close(&d);
	return whole;
}

static void free_rows(row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].id);
		free(rows[i].bundle);
		free(rows[i].rootfs);
		free(rows[i].owner);
		free(rows[i].annotations);
	}
	free(rows);
}

static int by_id(const void *a, const void *b) { return strcmp(((const row *)a)->id, ((const row *)b)->id); }

/* The rows of every container under --root (none if it does not exist). */
static int read_rows(const oci_globals *g, row **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	int root_fd;
	if (g->root[0] != '/')
		return sv_err(SV_EINVAL, "--root %s: must be an absolute path", g->root);
	int rc = sv_trusted_dir_existing("state root (--root)", g->root, &root_fd);
	if (rc == SV_ENOTFOUND)
		return 0;
	if (rc < 0)
		return rc;
	DIR *dir = fdopendir(root_fd);
	if (!dir) {
		rc = sv_err_errno(SV_EIO, errno, "listing %s", g->root);
		close(root_fd);
		return rc;
	}
	struct dirent *ent;
	size_t cap = 0;
	while ((ent = readdir(dir)) != NULL) {
		if (ent->d_name[0] == '.' || oci_check_id(ent->d_name) < 0)
			continue;
		row *grown = sv_array_grow(*out, &cap, *n, sizeof(**out), 8);
		if (!grown) {
			rc = sv_err(SV_ENOMEM, "out of memory");
			break;
		}
		*out = grown;
		if (read_row(g, ent->d_name, &(*out)[*n]))
			(*n)++;
	}
	closedir(dir);
	if (*n)
		qsort(*out, *n, sizeof(**out), by_id);
	return rc < 0 ? rc : 0;
}

static int print_json(const row *rows, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *ann = json_loads(rows[i].annotations, 0, NULL);
		json_array_append_new(
		    a, json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:o}", "ociVersion", OCI_SPEC_VERSION,
				 "id", rows[i].id, "pid", (json_int_t)atoi(rows[i].pid), "status", rows[i].status,
				 "bundle", rows[i].bundle, "rootfs", rows[i].rootfs, "created", rows[i].created,
				 "owner", rows[i].owner, "annotations", ann ? ann : json_object()));
	}
	char *text = json_dumps(a, JSON_INDENT(2));
	json_decref(a);
	if (!text)
		return oci_log_error("out of memory");
	printf("%s\n", text);
	free(text);
	return 0;
}

/* runc's table: columns as wide as their widest cell, one space between. */
static void print_table(const row *rows, size_t n)
{
	static const char *const head[] = {"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"};
	int w[6] = {0};
	for (int c = 0; c < 6; c++)
		w[c] = (int)strlen(head[c]);
	for (size_t i = 0; i < n; i++) {
		const char *cells[] = {rows[i].id,	rows[i].pid,	 rows[i].status,
				       rows[i].bundle, rows[i].created, rows[i].owner};
		for (int c = 0; c < 6; c++)
			if ((int)strlen(cells[c]) > w[c])
				w[c] = (int)strlen(cells[c]);
	}
	printf("%-*s %-*s %-*s %-*s %-*s %s\n", w[0], head[0], w[1], head[1], w[2], head[2], w[3], head[3],
	       w[4], head[4], head[5]);
	for (size_t i = 0; i < n; i++)
		printf("%-*s %-*s %-*s %-*s %-*s %s\n", w[0], rows[i].id, w[1], rows[i].pid, w[2],
		       rows[i].status, w[3], rows[i].bundle, w[4], rows[i].created, rows[i].owner);
}

int oci_cmd_list(const oci_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"format", required_argument, NULL, 'f'}, {"quiet", no_argument, NULL, 'q'}, {0}};
	const char *format = "table";
	bool quiet = false;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+f:q", opts, NULL)) != -1) {
		if (c == 'f')
			format = optarg;
		else if (c == 'q')
			quiet = true;
		else
			return oci_log_error("list: unknown option %s\nusage: smartvm-oci " USAGE, argv[optind - 1]);
	}
	if (optind != argc)
		return oci_log_error("usage: smartvm-oci " USAGE);
	if (strcmp(format, "table") && strcmp(format, "json"))
		return oci_log_error("list --format: \"%s\" is not one of table, json", format);
	row *rows;
	size_t n;
	if (read_rows(g, &rows, &n) < 0) {
		free_rows(rows, n);
		return oci_log_error("list: %s", sv_last_error());
	}
	int code = 0;
	if (quiet)
		for (size_t i = 0; i < n; i++)
			printf("%s\n", rows[i].id);
	else if (!strcmp(format, "json"))
		code = print_json(rows, n);
	else
		print_table(rows, n);
	free_rows(rows, n);
	return code;
}
