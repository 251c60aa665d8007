/* HTTP/1.1 over Firecracker's API unix socket, with libcurl.
 *
 * One connection object = one curl easy handle, so consecutive requests reuse
 * one kept-alive connection. Every request is bounded by the timeout given at
 * open (connect and whole transfer). Knows nothing about Firecracker's
 * endpoints or JSON; fc_api.c maps statuses and bodies to smartvm errors.
 */
#ifndef SV_VMM_FC_HTTP_H
#define SV_VMM_FC_HTTP_H

typedef struct sv_fc_http sv_fc_http;

/* Prepares a connection to the unix socket at socket_path (nothing is sent
 * yet). timeout_ms bounds every later request. */
int sv_fc_http_open(sv_fc_http **out, const char *socket_path, int timeout_ms);
void sv_fc_http_close(sv_fc_http *h);

/* Sends `method path` with body (JSON text; NULL = no body) and waits for the
 * answer. On 0, *status_out is the HTTP status and *body_out the response body
 * (malloc'd, NUL-terminated, "" when empty). Transport failures return
 * SV_ETIMEOUT (no answer in time) or SV_EIO, the message naming
 * "<method> <path>", the socket and curl's error. */
int sv_fc_http_send(sv_fc_http *h, const char *method, const char *path, const char *body,
		    long *status_out, char **body_out);

/* How many connections the handle opened so far (1 while keep-alive holds). */
long sv_fc_http_connections_opened(const sv_fc_http *h);

#endif
