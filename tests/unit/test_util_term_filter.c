/* util/term_filter: a guest's console shown live on a terminal keeps what
 * draws and loses what would act through the terminal (smartvm/console.h). */
#include "svtest.h"

#include <smartvm/console.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Feeds the pieces in order (NULL-terminated) and compares the joined output. */
static void assert_filtered_pieces(const char *const *pieces, const char *want, size_t want_len)
{
	sv_term_filter *f = NULL;
	assert_int_equal(sv_term_filter_new(&f), 0);
	char out[4096];
	size_t n = 0;
	for (size_t i = 0; pieces[i]; i++) {
		size_t len = strlen(pieces[i]);
		size_t got = sv_term_filter_feed(f, pieces[i], len, out + n);
		assert_true(got <= len + SV_TERM_FILTER_SLACK);
		n += got;
	}
	sv_term_filter_free(f);
	if (n != want_len || memcmp(out, want, n) != 0)
		fail_msg("filtered to \"%.*s\" (%zu bytes), wanted \"%s\"", (int)n, out, n, want);
}

#define assert_filtered(in, want) assert_filtered_pieces((const char *const[]){(in), NULL}, (want), strlen(want))
#define assert_kept(in) assert_filtered((in), (in))

static void test_text_colours_and_cursor_movement_pass(void **state)
{
	(void)state;
	assert_kept("plain text\r\n");
	assert_kept("a\x1b[31mred\x1b[0m \x1b[1;38;5;208mbold\x1b[m\r\n");
	assert_kept("\x1b[2J\x1b[H\x1b[10;5H\x1b[K\x1b[3A\x1b[2C");
	assert_kept("\x1b[?1049h\x1b[?25l\x1b[?25h\x1b[?1049l"); /* alternate screen, cursor */
	assert_kept("\x1b[1;24r\x1b(B\x1b)0\x1b" "7\x1b" "8\x1b" "M");  /* scroll region, charsets, save/restore */
	assert_kept("\x1b[2 q");                                        /* DECSCUSR: cursor shape */
	assert_kept("tab\there\b\a");                                   /* C0 controls that draw */
	assert_kept("\x1b[s\x1b[u");                                    /* save/restore cursor */
}

static void test_utf8_passes_including_continuation_bytes_in_the_c1_range(void **state)
{
	(void)state;
	assert_kept("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"); /* é € 😀: 0x82, 0x9f, 0x98 continue */
}

static void test_osc_title_clipboard_and_hyperlinks_are_dropped(void **state)
{
	(void)state;
	assert_filtered("a\x1b]0;PWNED\x07" "b", "ab");
	assert_filtered("\x1b]52;c;ZWNobyBldmls\x1b\\x", "x");
	assert_filtered("\x1b]8;;http://evil/\x1b\\link\x1b]8;;\x1b\\", "link");
	assert_filtered("\x1b]4;1;?\x07", ""); /* palette query */
	/* A string ends at CAN too; an ESC that is not ST starts what follows. */
	assert_filtered("\x1b]2;t\x18ok", "ok");
	assert_filtered("\x1b]2;t\x1b[1mB", "\x1b[1mB");
}

static void test_dcs_apc_pm_sos_are_dropped(void **state)
{
	(void)state;
	assert_filtered("\x1bP$qm\x1b\\after", "after");   /* DECRQSS */
	assert_filtered("\x1bP+q544e\x1b\\", "");          /* XTGETTCAP */
	assert_filtered("\x1b_Gf=100;AAAA\x1b\\k", "k");   /* APC (kitty graphics) */
	assert_filtered("\x1b^pm\x1b\\\x1bXsos\x1b\\z", "z");
	assert_filtered("\x1bkwindow-name\x1b\\w", "w"); /* screen/tmux title */
}

static void test_queries_the_terminal_would_answer_are_dropped(void **state)
{
	(void)state;
	const char *queries[] = {"\x1b[c",     "\x1b[0c",  "\x1b[>c",  "\x1b[=c", "\x1b[5n",	 "\x1b[6n",
				 "\x1b[?6n",   "\x1b[?2026$p", "\x1b[2$p", "\x1b[14t", "\x1b[21t", "\x1b[>q",
				 "\x1b[1x",    "\x1b[1;1;1;1;1*y", "\x1b[?u", "\x1b[?1;1S", "\x1b[?4m", "\x1b[1$w",
				 "\x1b[1$u",   "\x1b[5i",  "\x1bZ",    "\x05",
				 /* keyboard modes that would outlast the session */
				 "\x1b[>1u", "\x1b[<u", "\x1b[=1;1u", "\x1b[>4;2m"};
	for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
		char in[64];
		snprintf(in, sizeof(in), "<%s>", queries[i]);
		assert_filtered(in, "<>");
	}
}

static void test_eight_bit_controls_are_dropped_with_their_sequences(void **state)
{
	(void)state;
	assert_filtered("a\x9b" "6nb", "ab");          /* 8-bit CSI DSR */
	assert_filtered("a\x9b" "31mb", "ab");         /* 8-bit CSI is dropped whatever it is */
	assert_filtered("a\x9d" "0;t\x9c" "b", "ab");  /* 8-bit OSC ... ST */
	assert_filtered("a\x90$qm\x9c" "b", "ab");     /* 8-bit DCS */
	assert_filtered("a\x85\x8d" "b", "ab");        /* other C1 controls */
	/* The same controls encoded in UTF-8 (U+009B, U+009D, U+0085). */
	assert_filtered("a\xc2\x9b" "6nb", "ab");
	assert_filtered("a\xc2\x9d" "0;t\x07" "b", "ab");
	assert_filtered("a\xc2\x85" "b", "ab");
	assert_kept("\xc2\xa0\xc2\xbf");                /* U+00A0, U+00BF: text */
	assert_filtered_pieces((const char *const[]){"a\xc2", "\x9b" "6n", "b", NULL}, "ab", 2);
	assert_filtered_pieces((const char *const[]){"a\xc2", "x", NULL}, "a\xc2x", 3); /* stray lead kept */
}

static void test_sequences_split_across_reads_are_judged_whole(void **state)
{
	(void)state;
	assert_filtered_pieces((const char *const[]){"x\x1b", "[", "6", "n", "y", NULL}, "xy", 2);
	assert_filtered_pieces((const char *const[]){"\x1b[3", "1mred", NULL}, "\x1b[31mred", 8);
	assert_filtered_pieces((const char *const[]){"\x1b]0;ti", "tle\x1b", "\\ok", NULL}, "ok", 2);
	assert_filtered_pieces((const char *const[]){"caf\xc3", "\xa9", NULL}, "caf\xc3\xa9", 5);
}

static void test_an_overlong_sequence_is_dropped_and_what_follows_passes(void **state)
{
	(void)state;
	char in[300] = "\x1b[";
	memset(in + 2, '1', 200);
	strcpy(in + 202, "mafter");
	assert_filtered(in, "after");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_text_colours_and_cursor_movement_pass),
	    cmocka_unit_test(test_utf8_passes_including_continuation_bytes_in_the_c1_range),
	    cmocka_unit_test(test_osc_title_clipboard_and_hyperlinks_are_dropped),
	    cmocka_unit_test(test_dcs_apc_pm_sos_are_dropped),
	    cmocka_unit_test(test_queries_the_terminal_would_answer_are_dropped),
	    cmocka_unit_test(test_eight_bit_controls_are_dropped_with_their_sequences),
	    cmocka_unit_test(test_sequences_split_across_reads_are_judged_whole),
	    cmocka_unit_test(test_an_overlong_sequence_is_dropped_and_what_follows_passes),
	};
	return svt_run_group(tests, NULL, NULL);
}
