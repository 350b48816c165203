/*
 * wsman_replay.c -- replies to re-sent requests.
 *
 * wsl runs curl with --retry, so every request that got an HTTP 500 (and
 * any whose reply was lost) arrives a second time with the same MessageID.
 * A method must not run twice for that, and a Pull must not skip a page.
 * The first reply is therefore kept, keyed by (caller, MessageID, hash of
 * the body), and a request with the same key gets a copy of it; a copy
 * that is still running makes the second one wait for its reply.  The body
 * hash is part of the key because some clients number MessageIDs 0, 1, 2
 * per process, so the same id from a new process with another request must
 * run normally.
 *
 * The cache is a ring of slots (oldest evicted first) bounded in count,
 * bytes and age.  A slot still running is never evicted.
 */
#include "wsman_internal.h"

#include <stdlib.h>
#include <string.h>

#include "../common/monotime.h"

typedef struct replay_slot {
	uint64_t key;        /* 0: empty */
	uint64_t token;
	char    *owner;
	char    *message_id;
	uint64_t body_hash;
	bool     pending;
	time_t   when;
	int      status;
	char    *body;
	size_t   len;
} replay_slot;

struct wsman_replay {
	pthread_mutex_t lock;
	pthread_cond_t  done;
	replay_slot    *slots;
	size_t          nslots, next;
	size_t          bytes, max_bytes;
	int             ttl_s;
	uint64_t        last_token;
};

uint64_t wsman_hash(const void *data, size_t len, uint64_t seed)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ull ^ seed;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

wsman_replay *wsman_replay_new(size_t slots, size_t max_bytes, int ttl_s)
{
	wsman_replay *r = calloc(1, sizeof *r);

	if (r == NULL)
		return NULL;
	r->slots = calloc(slots, sizeof *r->slots);
	if (r->slots == NULL) {
		free(r);
		return NULL;
	}
	r->nslots = slots;
	r->max_bytes = max_bytes;
	r->ttl_s = ttl_s;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->done, NULL);
	return r;
}

static void slot_clear(wsman_replay *r, replay_slot *s)
{
	r->bytes -= s->len;
	free(s->owner);
	free(s->message_id);
	free(s->body);
	memset(s, 0, sizeof *s);
}

void wsman_replay_free(wsman_replay *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nslots; i++)
		slot_clear(r, &r->slots[i]);
	free(r->slots);
	pthread_cond_destroy(&r->done);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static replay_slot *find(wsman_replay *r, uint64_t key, const char *owner,
                         const char *id, uint64_t hash, time_t now)
{
	for (size_t i = 0; i < r->nslots; i++) {
		replay_slot *s = &r->slots[i];

		if (s->key != key || s->body_hash != hash || strcmp(s->owner, owner) != 0
		    || strcmp(s->message_id, id) != 0)
			continue;
		if (!s->pending && now - s->when > r->ttl_s) {
			slot_clear(r, s);
			return NULL;
		}
		return s;
	}
	return NULL;
}

/* The next slot that may be reused, oldest first; NULL when all are running. */
static replay_slot *victim(wsman_replay *r)
{
	for (size_t n = 0; n < r->nslots; n++) {
		size_t i = (r->next + n) % r->nslots;

		if (!r->slots[i].pending) {
			r->next = (i + 1) % r->nslots;
			return &r->slots[i];
		}
	}
	return NULL;
}

bool wsman_replay_begin(wsman_replay *r, const char *owner, const char *message_id,
                        uint64_t hash, wsman_reply *out, uint64_t *token)
{
	uint64_t key = wsman_hash(message_id, strlen(message_id),
	                          wsman_hash(owner, strlen(owner), hash)) | 1;
	replay_slot *s;

	*token = 0;
	pthread_mutex_lock(&r->lock);
	for (;;) {
		s = find(r, key, owner, message_id, hash, mono_s());
		if (s == NULL || !s->pending)
			break;
		pthread_cond_wait(&r->done, &r->lock);
	}
	if (s != NULL) {
		char *copy = malloc(s->len + 1);

		if (copy != NULL) {
			memcpy(copy, s->body, s->len + 1);
			out->http_status = s->status;
			out->body = copy;
			out->len = s->len;
			pthread_mutex_unlock(&r->lock);
			return true;
		}
		pthread_mutex_unlock(&r->lock);
		return false;     /* no memory to copy: run it, uncached */
	}
	s = victim(r);
	if (s != NULL) {
		slot_clear(r, s);
		s->owner = strdup(owner);
		s->message_id = strdup(message_id);
		if (s->owner == NULL || s->message_id == NULL) {
			slot_clear(r, s);
		} else {
			s->key = key;
			s->body_hash = hash;
			s->pending = true;
			s->token = ++r->last_token;
			*token = s->token;
		}
	}
	pthread_mutex_unlock(&r->lock);
	return false;
}

void wsman_replay_finish(wsman_replay *r, uint64_t token, const wsman_reply *reply)
{
	replay_slot *s = NULL;

	if (token == 0)
		return;
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->nslots && s == NULL; i++)
		if (r->slots[i].token == token && r->slots[i].pending)
			s = &r->slots[i];
	if (s != NULL) {
		s->pending = false;
		s->when = mono_s();
		/* A reply bigger than an eighth of the budget is not kept: re-running
		 * such a request (an enumeration) does no harm. */
		if (reply->body == NULL || reply->len > r->max_bytes / 8) {
			slot_clear(r, s);
		} else {
			/* Make room, oldest first, never evicting S itself. */
			for (size_t n = 0; n < r->nslots && r->bytes + reply->len > r->max_bytes; n++) {
				replay_slot *o = &r->slots[(r->next + n) % r->nslots];
				if (o != s && !o->pending && o->key != 0)
					slot_clear(r, o);
			}
			s->body = malloc(reply->len + 1);
			if (s->body == NULL) {
				slot_clear(r, s);
			} else {
				memcpy(s->body, reply->body, reply->len);
				s->body[reply->len] = '\0';
				s->len = reply->len;
				s->status = reply->http_status;
				r->bytes += s->len;
			}
		}
	}
	pthread_cond_broadcast(&r->done);
	pthread_mutex_unlock(&r->lock);
}
