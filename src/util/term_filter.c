/* The terminal filter for a guest's console shown live (smartvm/console.h
 * says what passes and what is dropped).
 *
 * A byte-at-a-time state machine after the ECMA-48 / VT500 parser model:
 * ground, escape, CSI, and "string" (OSC, DCS, SOS, PM, APC: dropped up to
 * their terminator). A CSI or escape sequence is held back until its final
 * byte tells whether it may pass; what is held never exceeds
 * SV_TERM_FILTER_SLACK bytes (a longer sequence is dropped whole), so
 * memory is fixed whatever the guest sends.
 *
 * UTF-8 is tracked only far enough to tell a continuation byte (passes)
 * from a C1 control (0x80-0x9f outside a character, or encoded as U+0080-
 * U+009F, 0xc2 0x80-0x9f, which terminals decode as controls too: dropped,
 * and the ones that introduce sequences start the same dropping as their
 * 7-bit forms). A 0xc2 is held until the next byte tells which it is.
 */
#include "util/error.h"
#include <smartvm/console.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef enum { S_GROUND, S_ESC, S_ESC_INTER, S_CSI, S_STRING, S_STRING_ESC } state;

struct sv_term_filter {
	state st;
	unsigned utf8_left; /* continuation bytes still expected */
	bool c2_held;	    /* a 0xc2 lead byte, held: with 0x80-0x9f it encodes a C1 control */
	bool csi_8bit;	    /* the CSI began with 0x9b: dropped whatever it is */
	bool overflow;	    /* the held sequence grew too long: drop it */
	size_t held_len;
	uint8_t held[SV_TERM_FILTER_SLACK];
};

#define ESC 0x1b
#define BEL 0x07
#define CAN 0x18
#define SUB 0x1a
#define ENQ 0x05

int sv_term_filter_new(sv_term_filter **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : sv_err(SV_ENOMEM, "out of memory");
}

void sv_term_filter_free(sv_term_filter *f) { free(f); }

static void hold(sv_term_filter *f, uint8_t c)
{
	if (f->held_len < sizeof(f->held))
		f->held[f->held_len++] = c;
	else
		f->overflow = true;
}

static void start(sv_term_filter *f, state st)
{
	f->st = st;
	f->held_len = 0;
	f->overflow = false;
	f->csi_8bit = false;
}

/* Whether the CSI held (ESC [ params intermediates) ending in final asks
 * the terminal something or acts beyond the screen. */
static bool csi_is_dropped(const sv_term_filter *f, uint8_t final)
{
	uint8_t prefix = 0, inter = 0;
	for (size_t i = 2; i < f->held_len; i++) {
		uint8_t c = f->held[i];
		if (c >= 0x3c && c <= 0x3f && i == 2)
			prefix = c; /* < = > ? */
		else if (c >= 0x20 && c <= 0x2f)
			inter = c;
	}
	switch (final) {
	case 'c': /* DA1, DA2 (>), DA3 (=) */
	case 'n': /* DSR, CPR, DECDSR (?) */
	case 't': /* window manipulation and reports */
	case 'x': /* DECREQTPARM; DECSACE (*x) too, harmlessly */
	case 'i': /* media copy: the printer, the screen dump */
		return true;
	case 'p':
		return inter == '$'; /* DECRQM */
	case 'w':
		return inter == '$'; /* DECRQPSR */
	case 'u':
		/* DECRQTSR; the kitty keyboard protocol (push, pop, set, query)
		 * would outlast the session in the user's terminal */
		return inter == '$' || prefix != 0;
	case 'q':
		return prefix == '>'; /* XTVERSION */
	case 'y':
		return inter == '*'; /* DECRQCRA */
	case 'S':
		return prefix == '?'; /* XTSMGRAPHICS */
	case 'm':
		/* SGR has no prefix; XTMODKEYS (>) would change how the user's
		 * keys are sent after the session, XTQMODKEYS (?) asks */
		return prefix != 0;
	default:
		return false;
	}
}

static size_t emit_held(sv_term_filter *f, uint8_t *out, size_t n, uint8_t last)
{
	memcpy(out + n, f->held, f->held_len);
	n += f->held_len;
	out[n++] = last;
	return n;
}

/* A C1 control (0x80-0x9f, raw or UTF-8 encoded): dropped; the sequence
 * introducers start their 7-bit forms' dropping. */
static void c1_control(sv_term_filter *f, uint8_t c)
{
	if (c == 0x9b) {
		start(f, S_CSI);
		f->csi_8bit = true;
	} else if (c == 0x90 || c == 0x98 || c == 0x9d || c == 0x9e || c == 0x9f) {
		start(f, S_STRING);
	}
}

/* One byte in ground state. */
static size_t ground(sv_term_filter *f, uint8_t c, uint8_t *out, size_t n)
{
	if (f->c2_held) {
		/* Terminals decode U+0080-U+009F (0xc2 0x80-0x9f) as C1 controls
		 * too: "\xc2\x9b" is a CSI. */
		f->c2_held = false;
		if (c >= 0x80 && c <= 0x9f) {
			f->utf8_left = 0;
			c1_control(f, c);
			return n;
		}
		out[n++] = 0xc2;
		if (c >= 0xa0 && c <= 0xbf) {
			f->utf8_left = 0;
			out[n++] = c;
			return n;
		}
		f->utf8_left = 0; /* a stray lead byte; c starts afresh */
	}
	if (c >= 0x80 && c <= 0xbf && f->utf8_left > 0) {
		f->utf8_left--;
		out[n++] = c;
		return n;
	}
	f->utf8_left = 0;
	if (c == ESC) {
		start(f, S_ESC);
		hold(f, c);
		return n;
	}
	if (c == ENQ)
		return n;
	if (c < 0x80) {
		out[n++] = c;
		return n;
	}
	if (c <= 0x9f) {
		c1_control(f, c);
		return n;
	}
	if (c == 0xc2) {
		f->c2_held = true;
		return n;
	}
	if (c >= 0xc3 && c <= 0xdf)
		f->utf8_left = 1;
	else if (c >= 0xe0 && c <= 0xef)
		f->utf8_left = 2;
	else if (c >= 0xf0 && c <= 0xf4)
		f->utf8_left = 3;
	out[n++] = c; /* a lead byte, or a stray one the terminal shows as U+FFFD */
	return n;
}

static size_t step(sv_term_filter *f, uint8_t c, uint8_t *out, size_t n)
{
	switch (f->st) {
	case S_GROUND:
		return ground(f, c, out, n);
	case S_ESC:
		if (c == '[') {
			f->st = S_CSI;
			hold(f, c);
		} else if (c == ']' || c == 'P' || c == 'X' || c == '^' || c == '_' || c == 'k') {
			/* ESC k: screen's and tmux's window-title string */
			start(f, S_STRING);
		} else if (c == CAN || c == SUB || c == 'Z') {
			start(f, S_GROUND); /* cancelled; ESC Z (DECID) asks for an answer */
		} else if (c == ESC) {
			start(f, S_ESC);
			hold(f, c);
		} else if (c >= 0x20 && c <= 0x2f) {
			f->st = S_ESC_INTER;
			hold(f, c);
		} else if (c >= 0x30 && c <= 0x7e) {
			n = emit_held(f, out, n, c);
			start(f, S_GROUND);
		}
		/* other C0 controls and bytes >= 0x7f inside an escape: dropped */
		return n;
	case S_ESC_INTER:
		if (c >= 0x20 && c <= 0x2f) {
			hold(f, c);
		} else if (c >= 0x30 && c <= 0x7e) {
			if (!f->overflow)
				n = emit_held(f, out, n, c);
			start(f, S_GROUND);
		} else if (c == ESC) {
			start(f, S_ESC);
			hold(f, c);
		} else if (c == CAN || c == SUB) {
			start(f, S_GROUND);
		}
		return n;
	case S_CSI:
		if (c >= 0x20 && c <= 0x3f) {
			hold(f, c);
		} else if (c >= 0x40 && c <= 0x7e) {
			if (!f->overflow && !f->csi_8bit && !csi_is_dropped(f, c))
				n = emit_held(f, out, n, c);
			start(f, S_GROUND);
		} else if (c == ESC) {
			start(f, S_ESC);
			hold(f, c);
		} else if (c == CAN || c == SUB) {
			start(f, S_GROUND);
		}
		/* other C0 controls and high bytes inside a CSI: dropped */
		return n;
	case S_STRING:
		if (c == BEL || c == 0x9c || c == CAN || c == SUB)
			start(f, S_GROUND);
		else if (c == ESC)
			f->st = S_STRING_ESC;
		return n;
	case S_STRING_ESC:
		if (c == '\\') {
			start(f, S_GROUND);
			return n;
		}
		/* An ESC ends the string and begins what follows it. */
		start(f, S_ESC);
		hold(f, ESC);
		return step(f, c, out, n);
	}
	return n;
}

size_t sv_term_filter_feed(sv_term_filter *f, const void *data, size_t len, void *out)
{
	const uint8_t *in = data;
	uint8_t *o = out;
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n = step(f, in[i], o, n);
	return n;
}
