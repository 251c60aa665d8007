/* Fuzzes the console reader (src/vm/command_console.c): every byte of it
 * comes from the guest. The console is fed in chunks whose sizes the input's
 * first bytes choose, then ended, and read whole as well. Oracles: nothing
 * is final before the console ends; streaming and whole reading then agree
 * on the output, on whether the command finished, and on its status. */
#include "fuzz.h"

#include <smartvm/command.h>
#include <smartvm/error.h>
#include <string.h>

#define N_CHUNK_SIZES 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < N_CHUNK_SIZES)
		return 0;
	size_t chunk[N_CHUNK_SIZES];
	for (size_t i = 0; i < N_CHUNK_SIZES; i++)
		chunk[i] = (size_t)data[i] + 1;
	data += N_CHUNK_SIZES;
	size -= N_CHUNK_SIZES;

	char *whole = NULL;
	size_t whole_len = 0;
	int whole_status = -1;
	int rc = sv_command_parse_console((const char *)data, size, &whole, &whole_len, &whole_status);
	FZ_CHECK(rc == 0 || rc == SV_ENOTFOUND);

	sv_command_console *c = NULL;
	FZ_CHECK(sv_command_console_new(&c) == 0);
	char *streamed = malloc(size + 1);
	FZ_CHECK(streamed);
	size_t streamed_len = 0;
	for (size_t off = 0, k = 0; off < size; k++) {
		size_t n = chunk[k % N_CHUNK_SIZES];
		if (n > size - off)
			n = size - off;
		const char *out = NULL;
		size_t out_len = 0;
		FZ_CHECK(sv_command_console_feed(c, data + off, n, &out, &out_len) == 0);
		FZ_CHECK(streamed_len + out_len <= size);
		if (out_len)
			memcpy(streamed + streamed_len, out, out_len);
		streamed_len += out_len;
		off += n;
	}
	/* Before the console ends nothing is final: a guest may still print. */
	FZ_CHECK(!sv_command_console_finished(c, NULL));
	if (whole)
		FZ_CHECK(streamed_len <= whole_len && memcmp(streamed, whole, streamed_len) == 0);
	const char *rest = NULL;
	size_t rest_len = 0;
	FZ_CHECK(sv_command_console_end(c, &rest, &rest_len) == 0);
	FZ_CHECK(streamed_len + rest_len <= size);
	if (rest_len)
		memcpy(streamed + streamed_len, rest, rest_len);
	streamed_len += rest_len;
	int status = -1;
	bool finished = sv_command_console_finished(c, &status);
	FZ_CHECK(finished == (rc == 0));
	if (finished) {
		FZ_CHECK(status == whole_status);
		FZ_CHECK(whole && streamed_len == whole_len && memcmp(streamed, whole, whole_len) == 0);
	}
	sv_command_console_free(c);
	free(streamed);
	free(whole);
	return 0;
}
