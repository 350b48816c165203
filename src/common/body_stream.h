/*
 * body_stream.h -- a reply body written while it is sent.
 *
 * An enumeration of 10,000 instances is megabytes of text; built whole it
 * makes the network process's memory follow the reply's size.  A front end
 * that can produce its reply piece by piece hands the transport the start
 * of it and a body_stream; the transport asks for the next piece each time
 * it has room on the connection (http.c: MHD's content reader, chunked
 * encoding), so only one piece (about BODY_STREAM_PIECE bytes) exists at a
 * time.  NEXT runs on the transport's thread and must not block: it renders
 * from what the request already holds (a session snapshot), with no round
 * trip to the privileged process.
 *
 * Whatever could fail on the request has failed before the first byte;
 * a piece can still fail to be made (out of memory).  Then the reply is
 * not finished as if it were whole: the transport ends the transfer with
 * an error (the connection is closed without the chunked terminator), so
 * the client sees an incomplete reply, never a short one that looks whole.
 */
#ifndef RDMS_BODY_STREAM_H
#define RDMS_BODY_STREAM_H

#include <stddef.h>

#include "strutil.h"

/* What a piece should be, at least (the last one may be shorter). */
#define BODY_STREAM_PIECE (16 * 1024)

typedef enum body_stream_rc {
	BODY_STREAM_MORE = 1,     /* B has a piece; more follow */
	BODY_STREAM_END = 0,      /* B has the last piece (perhaps empty) */
	BODY_STREAM_FAILED = -1,  /* the rest cannot be made: the reply stays incomplete */
} body_stream_rc;

typedef struct body_stream {
	/* Appends the next piece to B (empty on entry). */
	body_stream_rc (*next)(void *ctx, strbuf *b);
	/* Frees CTX; called once, whether the stream ended or not. */
	void (*done)(void *ctx);
	void *ctx;          /* NULL NEXT: no stream */
} body_stream;

/* Ends S without running it (a reply that will not be sent); S is then empty. */
static inline void body_stream_end(body_stream *s)
{
	if (s->done != NULL)
		s->done(s->ctx);
	*s = (body_stream){ 0 };
}

/*
 * For callers that want the whole body (tests, fuzz harnesses, in-process
 * use): the rest of S appended to B, and S finished.  False when S failed
 * or B could not grow.
 */
static inline bool body_stream_drain(body_stream *s, strbuf *b)
{
	body_stream_rc rc = BODY_STREAM_MORE;
	strbuf piece = { 0 };

	while (s->next != NULL && rc == BODY_STREAM_MORE) {
		piece.len = 0;
		rc = s->next(s->ctx, &piece);
		if (piece.failed)
			rc = BODY_STREAM_FAILED;
		else if (piece.len > 0)
			strbuf_append(b, piece.data, piece.len);
	}
	strbuf_free(&piece);
	body_stream_end(s);
	return rc != BODY_STREAM_FAILED && !b->failed;
}

/*
 * The whole reply: the rest of S appended to *BODY (malloc'd, *LEN bytes;
 * may be NULL when S is empty).  False, with *BODY freed and NULL, when
 * that failed.
 */
static inline bool body_stream_into(body_stream *s, char **body, size_t *len)
{
	strbuf b = { .data = *body, .len = *len, .cap = *body != NULL ? *len + 1 : 0 };
	bool ok = body_stream_drain(s, &b);

	if (!ok)
		strbuf_free(&b);
	*body = b.data;
	*len = b.len;
	return ok;
}

#endif
