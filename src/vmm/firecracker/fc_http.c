/* libcurl client for the API socket (see fc_http.h).
 *
 * Invariants: the easy handle is configured once (socket, timeouts, no proxy,
 * no signals, headers) and only the per-request options (URL, method, body,
 * response sink) change between requests, which keeps libcurl's connection
 * cache, and so the kept-alive connection, in play. Response bodies are capped
 * so a misbehaving server can't grow memory without bound. Never prints.
 */
#include "vmm/firecracker/fc_http.h"

#include "util/curl_lib.h"
#include "util/error.h"
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RESPONSE_BYTES (16u << 20)

struct sv_fc_http {
	CURL *curl;
	struct curl_slist *headers;
	char *socket_path;
	int timeout_ms;
	long connections; /* opened so far, from CURLINFO_NUM_CONNECTS */
	char errbuf[CURL_ERROR_SIZE];
};

typedef struct {
	char *data;
	size_t len;
	bool overflow;
} response_buf;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	response_buf *rb = userdata;
	size_t n = size * nmemb;
	if (rb->len + n > MAX_RESPONSE_BYTES) {
		rb->overflow = true;
		return 0; /* makes curl fail the transfer with CURLE_WRITE_ERROR */
	}
	char *nd = realloc(rb->data, rb->len + n + 1);
	if (!nd)
		return 0;
	memcpy(nd + rb->len, ptr, n);
	rb->data = nd;
	rb->len += n;
	rb->data[rb->len] = '\0';
	return n;
}

int sv_fc_http_open(sv_fc_http **out, const char *socket_path, int timeout_ms)
{
	*out = NULL;
	if (sv_curl_load() != 0)
		return sv_err_prefix("the API client for %s", socket_path);
	const sv_curl_api *curl = sv_curl();
	if (timeout_ms <= 0)
		return sv_err(SV_EINVAL, "API timeout: must be greater than 0 ms (got %d)", timeout_ms);

	sv_fc_http *h = calloc(1, sizeof(*h));
	if (!h)
		return sv_err(SV_ENOMEM, "out of memory");
	h->socket_path = strdup(socket_path);
	h->timeout_ms = timeout_ms;
	h->curl = curl->easy_init();
	/* An empty "Expect:" stops curl from waiting for 100-continue on large bodies. */
	h->headers = curl->slist_append(NULL, "Content-Type: application/json");
	if (h->headers)
		h->headers = curl->slist_append(h->headers, "Accept: application/json");
	if (h->headers)
		h->headers = curl->slist_append(h->headers, "Expect:");
	if (!h->socket_path || !h->curl || !h->headers) {
		sv_fc_http_close(h);
		return sv_err(SV_ENOMEM, "out of memory");
	}
	CURL *c = h->curl;
	bool ok = curl->easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, h->socket_path) == CURLE_OK &&
		  curl->easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms) == CURLE_OK &&
		  curl->easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms) == CURLE_OK &&
		  curl->easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
		  curl->easy_setopt(c, CURLOPT_PROXY, "") == CURLE_OK &&
		  curl->easy_setopt(c, CURLOPT_NOPROXY, "*") == CURLE_OK &&
		  curl->easy_setopt(c, CURLOPT_HTTPHEADER, h->headers) == CURLE_OK &&
		  curl->easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf) == CURLE_OK &&
		  curl->easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data) == CURLE_OK &&
		  curl->easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1) == CURLE_OK;
	if (!ok) {
		sv_fc_http_close(h);
		return sv_err(SV_EIO, "configuring libcurl for %s", socket_path);
	}
	*out = h;
	return 0;
}

long sv_fc_http_connections_opened(const sv_fc_http *h)
{
	return h->connections;
}

void sv_fc_http_close(sv_fc_http *h)
{
	if (!h)
		return;
	/* A handle exists only once libcurl is loaded. */
	if (h->curl)
		sv_curl()->easy_cleanup(h->curl);
	if (h->headers)
		sv_curl()->slist_free_all(h->headers);
	free(h->socket_path);
	free(h);
}

/* Sets the per-request options; false if libcurl refused one. */
static bool set_request(sv_fc_http *h, const char *method, const char *url, const char *body,
			response_buf *rb)
{
	const sv_curl_api *curl = sv_curl();
	CURL *c = h->curl;
	bool ok = curl->easy_setopt(c, CURLOPT_URL, url) == CURLE_OK &&
		  curl->easy_setopt(c, CURLOPT_WRITEDATA, rb) == CURLE_OK;
	if (!strcmp(method, "GET")) {
		/* HTTPGET also undoes a previous request's body. */
		ok = ok && curl->easy_setopt(c, CURLOPT_HTTPGET, 1L) == CURLE_OK &&
		     curl->easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL) == CURLE_OK;
	} else {
		/* Not copied: libcurl reads the body only during this transfer,
		 * which sv_fc_http_send finishes before returning to its owner. */
		const char *data = body ? body : "";
		ok = ok && curl->easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(data)) == CURLE_OK &&
		     curl->easy_setopt(c, CURLOPT_POSTFIELDS, data) == CURLE_OK &&
		     curl->easy_setopt(c, CURLOPT_CUSTOMREQUEST, method) == CURLE_OK;
	}
	return ok;
}

int sv_fc_http_send(sv_fc_http *h, const char *method, const char *path, const char *body,
		    long *status_out, char **body_out)
{
	*body_out = NULL;
	*status_out = 0;
	char *url = NULL;
	if (asprintf(&url, "http://localhost%s", path) < 0)
		return sv_err(SV_ENOMEM, "out of memory");
	const sv_curl_api *curl = sv_curl();
	response_buf rb = { 0 };
	h->errbuf[0] = '\0';
	if (!set_request(h, method, url, body, &rb)) {
		free(url);
		return sv_err(SV_EIO, "%s %s: configuring the request failed", method, path);
	}
	CURLcode res = curl->easy_perform(h->curl);
	free(url);
	long opened = 0;
	if (curl->easy_getinfo(h->curl, CURLINFO_NUM_CONNECTS, &opened) == CURLE_OK)
		h->connections += opened;
	if (res != CURLE_OK) {
		free(rb.data);
		const char *detail = h->errbuf[0] ? h->errbuf : curl->easy_strerror(res);
		if (res == CURLE_OPERATION_TIMEDOUT)
			return sv_err(SV_ETIMEOUT, "%s %s: no answer from %s within %d ms (%s)", method, path,
				      h->socket_path, h->timeout_ms, detail);
		if (res == CURLE_COULDNT_CONNECT)
			return sv_err(SV_EIO, "%s %s: cannot connect to %s (%s)", method, path, h->socket_path,
				      detail);
		if (rb.overflow)
			return sv_err(SV_EIO, "%s %s: response larger than %u bytes", method, path,
				      MAX_RESPONSE_BYTES);
		return sv_err(SV_EIO, "%s %s: %s (via %s)", method, path, detail, h->socket_path);
	}
	curl->easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, status_out);
	*body_out = rb.data ? rb.data : strdup("");
	if (!*body_out)
		return sv_err(SV_ENOMEM, "out of memory");
	return 0;
}
