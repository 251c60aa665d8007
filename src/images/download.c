/* libcurl transfers with retries (see download.h). One easy handle per
 * attempt keeps attempts independent; the body goes either into a verifier
 * sink or a bounded memory buffer, and a retried attempt starts both over, so
 * a file is still hashed in a single pass over the bytes it ends up holding.
 * Bodies of error responses are never written anywhere, and read only up to
 * MAX_DISCARD_BYTES.
 *
 * Every transfer is bounded: in bytes by the sink's limit (the stated size or
 * max_bytes) — announced lengths are checked with CURLOPT_MAXFILESIZE_LARGE and
 * received bytes counted in the write callback, since servers lie about
 * Content-Length — and in time by one deadline over all attempts
 * (CURLOPT_TIMEOUT_MS set to what is left of it) plus the low-speed limit. */
#include "images/download.h"

#include "images/verify.h"
#include "util/curl_lib.h"
#include "util/error.h"
#include "util/log.h"
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_DISCARD_BYTES (64u << 10)

typedef enum { SINK_NONE, SINK_FILE, SINK_MEMORY } sink_kind;

typedef struct {
	const sv_dl_config *cfg;
	const char *url;
	sink_kind kind;
	sv_sink *file;
	char *mem;
	size_t mem_len, mem_cap, mem_max;
	int sink_rc;	    /* error raised inside the write callback */
	uint64_t discarded; /* bytes of bodies not kept (error pages) */
	bool discard_cut;   /* stopped reading a body not kept: judge by status */
	long long deadline_ms;
	CURL *curl;
	/* progress */
	const char *name;
	sv_download_progress progress; /* the last report */
	bool reported;		       /* this attempt reported progress: end it with done */
	bool cancelled;		       /* the progress callback asked to stop */
} transfer;

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool is_success_status(long status) { return status >= 200 && status < 300; }

static int memory_too_large(const transfer *t)
{
	return sv_err(SV_EDOWNLOAD, "downloading %s: response larger than %zu bytes", t->url, t->mem_max);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
	transfer *t = userp;
	size_t len = size * nmemb;
	long status = 0;
	sv_curl()->easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
	if (!is_success_status(status) || t->kind == SINK_NONE) {
		/* Never stored, and not read for ever either. */
		t->discarded += len;
		if (t->discarded > MAX_DISCARD_BYTES) {
			t->discard_cut = true;
			return 0;
		}
		return len;
	}
	if (t->kind == SINK_FILE) {
		t->sink_rc = sv_sink_write(t->file, data, len);
		return t->sink_rc ? 0 : len;
	}
	if (t->kind == SINK_MEMORY) {
		if (t->mem_len + len > t->mem_max) {
			t->sink_rc = memory_too_large(t);
			return 0;
		}
		if (t->mem_len + len + 1 > t->mem_cap) {
			size_t cap = t->mem_cap ? t->mem_cap : 4096;
			while (cap < t->mem_len + len + 1)
				cap *= 2;
			char *m = realloc(t->mem, cap);
			if (!m) {
				t->sink_rc = sv_err(SV_ENOMEM, "downloading %s: out of memory", t->url);
				return 0;
			}
			t->mem = m;
			t->mem_cap = cap;
		}
		memcpy(t->mem + t->mem_len, data, len);
		t->mem_len += len;
		t->mem[t->mem_len] = '\0';
	}
	return len;
}

/* Hands progress to the caller's callback (curl's xferinfo, passed on). */
static int report_progress(transfer *t, curl_off_t now, curl_off_t total, bool done)
{
	t->progress = (sv_download_progress){.url = t->url,
					     .name = t->name,
					     .bytes_done = now > 0 ? (uint64_t)now : 0,
					     .bytes_total = total > 0 ? (uint64_t)total : 0,
					     .done = done};
	t->reported = !done;
	if (t->cfg->progress(&t->progress, t->cfg->progress_userdata) != 0 && !done)
		t->cancelled = true;
	return t->cancelled;
}

static int on_progress(void *userp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	(void)ultotal;
	(void)ulnow;
	return report_progress(userp, dlnow, dltotal, false);
}

/* The last call of an attempt that reported progress. */
static void end_progress(transfer *t)
{
	if (t->reported)
		report_progress(t, (curl_off_t)t->progress.bytes_done, (curl_off_t)t->progress.bytes_total, true);
}

static bool is_transient(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

static void setup_handle(transfer *t, CURL *h, bool follow, char *errbuf, long long time_left_ms)
{
	const sv_dl_config *c = t->cfg;
	const sv_curl_api *curl = sv_curl();
	curl->easy_setopt(h, CURLOPT_URL, t->url);
	curl->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl->easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl->easy_setopt(h, CURLOPT_USERAGENT, "smartvm");
	curl->easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl->easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl->easy_setopt(h, CURLOPT_FOLLOWLOCATION, follow ? 1L : 0L);
	curl->easy_setopt(h, CURLOPT_MAXREDIRS, c->max_redirects);
	curl->easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl->easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl->easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
	curl->easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, c->low_speed_limit);
	curl->easy_setopt(h, CURLOPT_LOW_SPEED_TIME, c->low_speed_time_s);
	curl->easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)time_left_ms);
	if (t->kind == SINK_FILE && (t->file->limit || t->file->limit_is_stated))
		curl->easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)t->file->limit);
	else if (t->kind == SINK_MEMORY)
		curl->easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)t->mem_max);
	curl->easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl->easy_setopt(h, CURLOPT_WRITEDATA, t);
	if (c->progress && t->kind == SINK_FILE) {
		curl->easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
		curl->easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl->easy_setopt(h, CURLOPT_XFERINFODATA, t);
	}
}

static int reset_sink(transfer *t)
{
	t->sink_rc = 0;
	t->discarded = 0;
	t->discard_cut = false;
	t->mem_len = 0;
	if (t->mem)
		t->mem[0] = '\0';
	if (t->kind == SINK_FILE && t->file->bytes > 0)
		return sv_sink_reset(t->file);
	return 0;
}

/* libcurl's clock and ours differ by a little: a timeout that fires this
 * close to our deadline is the deadline (CURLOPT_TIMEOUT_MS), not the
 * low-speed limit. */
#define DEADLINE_SLACK_MS 100

static int deadline_passed(const transfer *t)
{
	return sv_err(SV_EDOWNLOAD, "downloading %s: not finished within %ld ms (timeout_ms)", t->url,
		      t->cfg->timeout_ms);
}

/* Runs the transfer with retries. On success *status_out is the final HTTP
 * status and, when location_out is given, *location_out the redirect target. */
static int perform(transfer *t, bool follow, long *status_out, char **location_out)
{
	if (sv_curl_load() != 0)
		return sv_err_prefix("downloading %s", t->url);
	const sv_curl_api *curl = sv_curl();
	const sv_dl_config *c = t->cfg;
	int attempts = c->max_retries + 1;
	t->deadline_ms = mono_ms() + c->timeout_ms;
	for (int attempt = 1;; attempt++) {
		long long left = t->deadline_ms - mono_ms();
		if (left <= 0)
			return deadline_passed(t);
		int rc = reset_sink(t);
		if (rc)
			return rc;
		CURL *h = curl->easy_init();
		if (!h)
			return sv_err(SV_ENOMEM, "downloading %s: curl_easy_init failed", t->url);
		char errbuf[CURL_ERROR_SIZE] = "";
		t->curl = h;
		setup_handle(t, h, follow, errbuf, left);
		CURLcode cc = curl->easy_perform(h);
		if (cc == CURLE_WRITE_ERROR && t->discard_cut)
			cc = CURLE_OK; /* an endless error page: its status says it all */
		long status = 0;
		curl->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		end_progress(t);
		char why[CURL_ERROR_SIZE + 64];
		bool transient = false;
		if (t->sink_rc) {
			curl->easy_cleanup(h);
			return t->sink_rc;
		} else if (cc == CURLE_ABORTED_BY_CALLBACK && t->cancelled) {
			curl->easy_cleanup(h);
			return sv_err(SV_EDOWNLOAD, "downloading %s: cancelled by the progress callback", t->url);
		} else if (cc == CURLE_FILESIZE_EXCEEDED) {
			curl->easy_cleanup(h);
			return t->kind == SINK_FILE ? sv_sink_too_large(t->file) : memory_too_large(t);
		} else if (cc == CURLE_OPERATION_TIMEDOUT && mono_ms() + DEADLINE_SLACK_MS >= t->deadline_ms) {
			curl->easy_cleanup(h);
			return deadline_passed(t);
		} else if (cc != CURLE_OK) {
			snprintf(why, sizeof(why), "%s", errbuf[0] ? errbuf : curl->easy_strerror(cc));
			transient = is_transient(cc);
		} else if (status >= 500) {
			snprintf(why, sizeof(why), "HTTP %ld", status);
			transient = true;
		} else if (is_success_status(status) || (!follow && status >= 300 && status < 400)) {
			if (location_out) {
				char *loc = NULL;
				curl->easy_getinfo(h, CURLINFO_REDIRECT_URL, &loc);
				*location_out = loc ? strdup(loc) : NULL;
			}
			*status_out = status;
			curl->easy_cleanup(h);
			return 0;
		} else {
			snprintf(why, sizeof(why), "HTTP %ld", status);
		}
		curl->easy_cleanup(h);
		t->curl = NULL;
		if (!transient || attempt >= attempts) {
			if (attempt > 1)
				return sv_err(SV_EDOWNLOAD, "downloading %s: %s (after %d attempts)", t->url,
					      why, attempt);
			return sv_err(SV_EDOWNLOAD, "downloading %s: %s", t->url, why);
		}
		long long delay = (long long)c->retry_backoff_ms << (attempt - 1);
		if (delay > 30000)
			delay = 30000;
		if (delay >= t->deadline_ms - mono_ms())
			return sv_err(
			    SV_EDOWNLOAD,
			    "downloading %s: %s (after %d attempt%s; no time left to retry within %ld ms)",
			    t->url, why, attempt, attempt > 1 ? "s" : "", c->timeout_ms);
		sv_info("downloading %s: %s; retrying in %lld ms (attempt %d of %d)", t->url, why, delay,
			attempt + 1, attempts);
		poll(NULL, 0, (int)delay);
	}
}

static const char *url_basename(const char *url)
{
	const char *end = url + strcspn(url, "?#");
	const char *p = end;
	while (p > url && p[-1] != '/')
		p--;
	return p < end ? p : url;
}

int sv_download_file(const sv_dl_config *c, const char *url, const char *final_path,
		     const char *expected_sha256, int64_t expected_size, char sha256_out[65],
		     uint64_t *size_out)
{
	sv_sink sink;
	char *what = NULL;
	if (asprintf(&what, "downloading %s", url) < 0)
		return sv_err(SV_ENOMEM, "out of memory");
	int rc = sv_sink_open(&sink, final_path, 0644, what, expected_size, c->max_bytes);
	free(what);
	if (rc)
		return sv_err_prefix("downloading %s", url);
	char name[256];
	const char *base = url_basename(url);
	snprintf(name, sizeof(name), "%.*s", (int)strcspn(base, "?#"), base);
	transfer t = {.cfg = c, .url = url, .kind = SINK_FILE, .file = &sink, .name = name};
	long status = 0;
	rc = perform(&t, true, &status, NULL);
	if (rc) {
		sv_sink_abort(&sink);
		return rc;
	}
	uint64_t bytes = sink.bytes;
	rc = sv_sink_commit(&sink, expected_sha256, expected_size, sha256_out);
	if (rc)
		return rc;
	if (size_out)
		*size_out = bytes;
	return 0;
}

int sv_download_memory(const sv_dl_config *c, const char *url, size_t max_bytes, char **out, size_t *len_out)
{
	transfer t = {.cfg = c, .url = url, .kind = SINK_MEMORY, .mem_max = max_bytes};
	long status = 0;
	int rc = perform(&t, true, &status, NULL);
	if (rc) {
		free(t.mem);
		return rc;
	}
	if (!t.mem && !(t.mem = calloc(1, 1)))
		return sv_err(SV_ENOMEM, "downloading %s: out of memory", url);
	*out = t.mem;
	if (len_out)
		*len_out = t.mem_len;
	return 0;
}

int sv_http_redirect_target(const sv_dl_config *c, const char *url, char **location_out)
{
	transfer t = {.cfg = c, .url = url, .kind = SINK_NONE};
	long status = 0;
	char *loc = NULL;
	int rc = perform(&t, false, &status, &loc);
	if (rc)
		return rc;
	if (status < 300 || status >= 400 || !loc) {
		free(loc);
		return sv_err(SV_EDOWNLOAD, "resolving %s: expected a redirect, got HTTP %ld", url, status);
	}
	*location_out = loc;
	return 0;
}
