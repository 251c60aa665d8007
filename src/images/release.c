/* Release tags and "latest" (see release.h). A tag comes either from the user
 * (validated) or from the Location of <releases_url>/latest, whose last path
 * segment must itself be a valid tag, so nothing unvalidated ever reaches a
 * file name or URL. */
#include "images/release.h"

#include "images/download.h"
#include "util/error.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *parse_number(const char *p, unsigned long *out)
{
	if (!isdigit((unsigned char)*p))
		return NULL;
	unsigned long v = 0;
	for (; isdigit((unsigned char)*p); p++) {
		if (v > 100000000UL)
			return NULL;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	*out = v;
	return p;
}

static bool parse_tag(const char *tag, unsigned long v[3])
{
	if (!tag || tag[0] != 'v')
		return false;
	const char *p = tag + 1;
	for (int i = 0; i < 3; i++) {
		p = parse_number(p, &v[i]);
		if (!p)
			return false;
		if (i < 2 && *p++ != '.')
			return false;
	}
	return *p == '\0';
}

bool sv_release_tag_valid(const char *tag)
{
	unsigned long v[3];
	return parse_tag(tag, v);
}

int sv_release_tag_cmp(const char *a, const char *b)
{
	unsigned long va[3] = { 0 }, vb[3] = { 0 };
	parse_tag(a, va);
	parse_tag(b, vb);
	for (int i = 0; i < 3; i++)
		if (va[i] != vb[i])
			return va[i] < vb[i] ? -1 : 1;
	return 0;
}

/* The last path segment of a URL, without query or fragment (malloc'd). */
static char *last_segment(const char *url)
{
	size_t end = strcspn(url, "?#");
	while (end > 0 && url[end - 1] == '/')
		end--;
	size_t start = end;
	while (start > 0 && url[start - 1] != '/')
		start--;
	return strndup(url + start, end - start);
}

int sv_release_resolve(char **tag_out, const sv_dl_config *c, const char *releases_url,
		       const char *version)
{
	if (version && *version && strcmp(version, "latest") != 0) {
		if (!sv_release_tag_valid(version))
			return sv_err(SV_EINVAL,
				      "firecracker_version: \"%s\" is not \"latest\" or vMAJOR.MINOR.PATCH",
				      version);
		*tag_out = strdup(version);
		return *tag_out ? 0 : sv_err(SV_ENOMEM, "out of memory");
	}
	char *url = NULL;
	if (asprintf(&url, "%s/latest", releases_url) < 0)
		return sv_err(SV_ENOMEM, "out of memory");
	char *location = NULL;
	int rc = sv_http_redirect_target(c, url, &location);
	if (rc) {
		sv_err_prefix("resolving the latest Firecracker release");
		free(url);
		return rc;
	}
	char *tag = last_segment(location);
	if (!tag || !sv_release_tag_valid(tag)) {
		rc = sv_err(SV_EDOWNLOAD,
			    "resolving the latest Firecracker release: %s redirects to %s, which does not end in a vMAJOR.MINOR.PATCH tag",
			    url, location);
		free(tag);
	} else {
		*tag_out = tag;
	}
	free(location);
	free(url);
	return rc;
}

int sv_release_ci_version(char **ci_out, const char *tag)
{
	unsigned long v[3];
	if (!parse_tag(tag, v))
		return sv_err(SV_EINVAL, "firecracker_version: \"%s\" is not vMAJOR.MINOR.PATCH", tag);
	if (asprintf(ci_out, "v%lu.%lu", v[0], v[1]) < 0)
		return sv_err(SV_ENOMEM, "out of memory");
	return 0;
}
