/* Downloads (or finds cached) a Firecracker release with a progress bar of
 * its own: the library reports progress to a callback and never draws.
 *
 *     download_progress [VERSION]
 *
 * VERSION is "latest" (default) or a tag such as v1.16.1. The release lands
 * where `smartvm binary ensure` puts it (SMARTVM_DATA_DIR; releases from
 * SMARTVM_RELEASES_URL). */
#include <smartvm/smartvm.h>
#include <stdio.h>
#include <stdlib.h>

/* One line per file, redrawn in place; a new line when it ends. */
static int show_progress(const sv_download_progress *p, void *userdata)
{
	(void)userdata;
	if (p->bytes_total > 0)
		fprintf(stderr, "\r%s: %llu of %llu bytes (%d%%)", p->name, (unsigned long long)p->bytes_done,
			(unsigned long long)p->bytes_total, (int)(p->bytes_done * 100 / p->bytes_total));
	else
		fprintf(stderr, "\r%s: %llu bytes", p->name, (unsigned long long)p->bytes_done);
	if (p->done)
		fputc('\n', stderr);
	return 0; /* non-zero would cancel the download */
}

int main(int argc, char **argv)
{
	/* Options structs start from their _INIT: it sets the version field. */
	sv_download_options download = SV_DOWNLOAD_OPTIONS_INIT;
	download.progress = show_progress;
	sv_binary_options o = SV_BINARY_OPTIONS_INIT;
	o.firecracker_version = argc > 1 ? argv[1] : NULL;
	o.download = &download;
	char *path = NULL;
	int rc = sv_ensure_binary(&path, &o);
	if (rc != 0) {
		fprintf(stderr, "%s: %s\n", sv_error_name(rc), sv_last_error());
		return 1;
	}
	printf("%s\n", path);
	free(path);
	return 0;
}
