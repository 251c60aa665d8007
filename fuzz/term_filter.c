/* Fuzzes the terminal filter (src/util/term_filter.c): every byte comes
 * from the guest and the output goes to the user's terminal. The input's
 * first bytes choose chunk sizes. Oracles: no call's output exceeds its
 * input by more than SV_TERM_FILTER_SLACK; the output does not depend on
 * how the input was cut; and the output (with a newline after it) passes a
 * fresh filter unchanged
 * (everything in it is allowed: no OSC/DCS/APC/PM/SOS introducer, query,
 * ENQ or stray C1 control survives). */
#include "fuzz.h"

#include <smartvm/console.h>
#include <string.h>

#define N_CHUNK_SIZES 4

static size_t filter_all(const uint8_t *data, size_t size, const size_t *chunk, uint8_t *out)
{
	sv_term_filter *f = NULL;
	FZ_CHECK(sv_term_filter_new(&f) == 0);
	size_t n = 0;
	for (size_t off = 0, k = 0; off < size; k++) {
		size_t len = chunk ? chunk[k % N_CHUNK_SIZES] : size - off;
		if (len > size - off)
			len = size - off;
		size_t got = sv_term_filter_feed(f, data + off, len, out + n);
		FZ_CHECK(got <= len + SV_TERM_FILTER_SLACK);
		n += got;
		off += len;
	}
	sv_term_filter_free(f);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < N_CHUNK_SIZES)
		return 0;
	size_t chunk[N_CHUNK_SIZES];
	for (size_t i = 0; i < N_CHUNK_SIZES; i++)
		chunk[i] = (size_t)data[i] % 17 + 1;
	data += N_CHUNK_SIZES;
	size -= N_CHUNK_SIZES;

	uint8_t *whole = malloc(size + SV_TERM_FILTER_SLACK + 2), *cut = malloc(size + 16 * SV_TERM_FILTER_SLACK + 1),
		*again = malloc(size + SV_TERM_FILTER_SLACK + 2);
	FZ_CHECK(whole && cut && again);
	size_t n_whole = filter_all(data, size, NULL, whole);
	size_t n_cut = filter_all(data, size, chunk, cut);
	FZ_CHECK(n_whole <= size);
	FZ_CHECK(n_cut == n_whole && memcmp(cut, whole, n_whole) == 0);
	/* A newline after it: a lone 0xc2 at the end is held until the next byte. */
	whole[n_whole] = '\n';
	size_t n_again = filter_all(whole, n_whole + 1, NULL, again);
	FZ_CHECK(n_again == n_whole + 1 && memcmp(again, whole, n_whole + 1) == 0);
	for (size_t i = 0; i < n_whole; i++) {
		FZ_CHECK(whole[i] != 0x05);
		if (whole[i] == 0x1b && i + 1 < n_whole)
			FZ_CHECK(!strchr("]PX^_Z", whole[i + 1]) || whole[i + 1] == 0);
	}
	free(whole);
	free(cut);
	free(again);
	return 0;
}
