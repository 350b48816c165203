/*
 * frag.h -- the reply writers' templates (WS-Man and CIM-XML): the
 * constant pieces of an instance's XML, built once per class and thread,
 * kept in one text block and copied by offset.
 *
 * A fragment is copied in blocks of FRAG_BLOCK bytes, which the compiler
 * makes a few moves each instead of a call; the bytes after its end are
 * overwritten by what follows, so the writer reserves FRAG_BLOCK spare
 * bytes and the text block has FRAG_BLOCK readable bytes past FRAG_TEXT.
 */
#ifndef RDMS_FRAG_H
#define RDMS_FRAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "strutil.h"

#define FRAG_TEXT  8192
#define FRAG_BLOCK 32

typedef struct frag {
	uint16_t off, len;
} frag;

/* F's text (in the block TEXT) at O; returns the end. */
static inline char *frag_to(char *o, const char *text, frag f)
{
	const char *s = text + f.off;

	for (size_t k = 0; k < f.len; k += FRAG_BLOCK)
		memcpy(o + k, s + k, FRAG_BLOCK);
	return o + f.len;
}

/*
 * Appends A's text (when not NULL), PIECE's and B's to the block TEXT, of
 * which *USED bytes are taken, as *F; empties PIECE.  False when PIECE
 * failed or the block is full.
 */
static inline bool frag_take(char *text, size_t *used, frag *f, const frag *a, strbuf *piece,
                             const frag *b)
{
	size_t n = (a ? a->len : 0) + piece->len + (b ? b->len : 0);
	char *o = text + *used;
	bool ok = !piece->failed && *used + n <= FRAG_TEXT;

	if (ok) {
		if (a != NULL)
			o = (char *)memcpy(o, text + a->off, a->len) + a->len;
		if (piece->len > 0)
			o = (char *)memcpy(o, piece->data, piece->len) + piece->len;
		if (b != NULL)
			memcpy(o, text + b->off, b->len);
		f->off = (uint16_t)*used;
		f->len = (uint16_t)n;
		*used += n;
	}
	piece->len = 0;
	return ok;
}

#endif
