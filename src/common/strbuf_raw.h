/*
 * strbuf_raw.h -- writing into a strbuf through a cursor, for the reply
 * writers' hot paths (an enumeration writes 10,000 instances of some 30
 * pieces each): reserve the room a piece can take at most, once, store its
 * bytes with no check per byte, then set the length.
 *
 *     char *o = strbuf_room(b, most);
 *     if (o != NULL) { ...*o++ = c...; strbuf_done(b, o); }
 *
 * Growth and failure are strbuf's (strutil.h): a strbuf that failed to grow
 * stays failed and strbuf_take reports it.
 */
#ifndef RDMS_STRBUF_RAW_H
#define RDMS_STRBUF_RAW_H

#include <stdint.h>

#include "strutil.h"

/* The slow half of strbuf_room: strbuf_reserve's growth; NULL once B has failed. */
static inline char *strbuf_grow_raw(strbuf *b, size_t n)
{
	return strbuf_reserve(b, n) ? b->data + b->len : NULL;
}

/* Where N more bytes (and the terminator) can be written to B, or NULL. */
static inline char *strbuf_room(strbuf *b, size_t n)
{
	if (b->cap > b->len + n)
		return b->data + b->len;
	return strbuf_grow_raw(b, n);
}

/* Ends a write that strbuf_room began, at O. */
static inline void strbuf_done(strbuf *b, char *o)
{
	b->len = (size_t)(o - b->data);
	*o = '\0';
}

/* V in decimal at O (room for 10 bytes); returns the end. */
static inline char *strbuf_raw_u32(char *o, uint32_t v)
{
	size_t n = 1;
	char *e;

	for (uint32_t x = v; x >= 10; x /= 10)
		n++;
	e = o + n;
	do {
		*--e = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return o + n;
}

#endif
