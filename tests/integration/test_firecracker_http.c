/* The API socket's HTTP client (fc_http) against the fake Firecracker. */
#include "svtest.h"
#include "fakefc.h"

#include "vmm/firecracker/fc_http.h"
#include <smartvm/error.h>
#include <stdlib.h>
#include <string.h>

static void test_consecutive_requests_reuse_one_connection(void **state)
{
	(void)state;
	svt_fakefc *f = svt_fakefc_start("vm-1", NULL);
	sv_fc_http *h = NULL;
	assert_int_equal(sv_fc_http_open(&h, f->sock, 2000), 0);
	const char *methods[] = { "GET", "PUT", "GET", "PATCH", "GET" };
	const char *paths[] = { "/", "/machine-config", "/version", "/vm", "/machine-config" };
	const char *bodies[] = { NULL, "{\"vcpu_count\": 2, \"mem_size_mib\": 256}", NULL, "{\"state\": \"Paused\"}", NULL };
	const long want[] = { 200, 204, 200, 400, 200 };
	for (size_t i = 0; i < 5; i++) {
		long status = 0;
		char *body = NULL;
		assert_int_equal(sv_fc_http_send(h, methods[i], paths[i], bodies[i], &status, &body), 0);
		assert_int_equal(status, want[i]);
		free(body);
	}
	assert_int_equal(sv_fc_http_connections_opened(h), 1);
	/* The GET after the PUT went out as a GET, without the old body. */
	json_t *recs = svt_fakefc_records(f);
	json_t *last = json_array_get(recs, 4);
	assert_string_equal(json_string_value(json_object_get(last, "method")), "GET");
	assert_true(json_is_null(json_object_get(last, "body")));
	assert_int_equal(json_integer_value(json_object_get(last, "status")), 200);
	json_decref(recs);
	sv_fc_http_close(h);
	svt_fakefc_stop(f);
}

static void test_zero_timeout_is_refused(void **state)
{
	(void)state;
	sv_fc_http *h = (sv_fc_http *)0x1;
	assert_int_equal(sv_fc_http_open(&h, "/nonexistent.sock", 0), SV_EINVAL);
	assert_null(h);
	assert_string_equal(sv_last_error(), "API timeout: must be greater than 0 ms (got 0)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_consecutive_requests_reuse_one_connection),
		cmocka_unit_test(test_zero_timeout_is_refused),
	};
	return svt_run_group(tests, NULL, NULL);
}
