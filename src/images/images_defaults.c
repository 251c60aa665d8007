/* Defaults for the images module (see images_defaults.h). The data and
 * runtime dir defaults come from util/state_dirs.h, the one place the
 * manager takes them from too. */
#include "images/images_defaults.h"

#include "util/state_dirs.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void sv_dl_config_resolve(sv_dl_config *out, const sv_download_options *o)
{
	sv_download_options d = SV_DOWNLOAD_OPTIONS_INIT;
	if (o)
		d = *o;
	out->connect_timeout_ms = d.connect_timeout_ms > 0 ? d.connect_timeout_ms : 15000;
	out->low_speed_time_s = d.low_speed_time_s > 0 ? d.low_speed_time_s : 30;
	out->low_speed_limit = d.low_speed_limit > 0 ? d.low_speed_limit : 1024;
	out->max_retries = d.max_retries > 0 ? d.max_retries : (d.max_retries < 0 ? 0 : 3);
	out->retry_backoff_ms = d.retry_backoff_ms > 0 ? d.retry_backoff_ms : 1000;
	out->max_redirects = d.max_redirects > 0 ? d.max_redirects : 10;
	out->progress = d.progress;
	out->progress_userdata = d.progress_userdata;
	out->max_bytes = (uint64_t)(d.max_bytes > 0 ? d.max_bytes : SV_DEFAULT_MAX_DOWNLOAD_BYTES);
	out->timeout_ms = d.timeout_ms > 0 ? d.timeout_ms : SV_DEFAULT_DOWNLOAD_TIMEOUT_MS;
}

static char *pick(const char *given, const char *env_name, const char *fallback)
{
	if (given && *given)
		return strdup(given);
	const char *env = getenv(env_name);
	if (env && *env)
		return strdup(env);
	return strdup(fallback);
}

static char *strip_trailing_slashes(char *url)
{
	if (!url)
		return NULL;
	size_t n = strlen(url);
	while (n > 1 && url[n - 1] == '/')
		url[--n] = '\0';
	return url;
}

char *sv_images_data_dir(const char *given) { return sv_state_dir(SV_STATE_DATA, given); }

char *sv_images_runtime_dir(const char *given) { return sv_state_dir(SV_STATE_RUNTIME, given); }

char *sv_images_releases_url(const char *given)
{
	return strip_trailing_slashes(pick(given, "SMARTVM_RELEASES_URL", SV_DEFAULT_RELEASES_URL));
}

char *sv_images_ci_bucket_url(const char *given)
{
	return strip_trailing_slashes(pick(given, "SMARTVM_CI_BUCKET_URL", SV_DEFAULT_CI_BUCKET_URL));
}
