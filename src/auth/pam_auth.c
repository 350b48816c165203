/*
 * pam_auth.c -- PAM password checks with a short-lived cache (pam_auth.h).
 *
 * Cache entries hold SHA-256(salt || user || NUL || password), where the
 * 32-byte salt is drawn once per process: a memory dump or core file shows
 * neither passwords nor hashes that could be attacked offline with a table
 * prepared in advance.  The cache has a mutex, and the delay after a
 * failure runs with no lock held.  In rdmsd the cache and the delay live
 * in the unprivileged network process, whose cache misses go to a verifier
 * that asks the privileged process, which has rdmsd-pam run PAM
 * (src/privsep/pam_relay.h).  This file calls no PAM function itself.
 *
 * Cache misses are checked one at a time, and each looks at the cache
 * again once its turn comes: when the entry of a busy client expires, its
 * requests in flight (hundreds, with as many connections) then wait for
 * the first one's PAM check and find the new entry, instead of each
 * running PAM in turn -- which stalled every request for seconds, once a
 * minute, under bench/soak.sh.
 */
#include "pam_auth.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <nettle/sha2.h>

#include "../common/monotime.h"
#include "../common/strutil.h"

#define CACHE_SLOTS 64
#define DIGEST_LEN  32

struct cache_entry {
	bool          used;
	unsigned char digest[DIGEST_LEN];
	char          canon[256];
	uid_t         uid;
	time_t        expires;   /* CLOCK_MONOTONIC seconds */
};

struct pam_auth {
	int                ttl_s;
	int                fail_delay_ms;
	unsigned char      salt[32];
	pthread_mutex_t    cache_lock;
	pthread_mutex_t    miss_lock;  /* one cache miss checked at a time */
	struct cache_entry cache[CACHE_SLOTS];
	pam_verify_fn      verify;     /* cache misses */
	void              *verify_ctx;
};

pam_auth *pam_auth_new(int cache_ttl_s, int fail_delay_ms)
{
	pam_auth *pa = calloc(1, sizeof *pa);

	if (pa == NULL)
		return NULL;
	if (getrandom(pa->salt, sizeof pa->salt, 0) != (ssize_t)sizeof pa->salt) {
		free(pa);
		return NULL;
	}
	pa->ttl_s = cache_ttl_s;
	pa->fail_delay_ms = fail_delay_ms;
	pthread_mutex_init(&pa->cache_lock, NULL);
	pthread_mutex_init(&pa->miss_lock, NULL);
	return pa;
}

void pam_auth_set_verifier(pam_auth *pa, pam_verify_fn fn, void *ctx)
{
	pa->verify = fn;
	pa->verify_ctx = ctx;
}

void pam_auth_free(pam_auth *pa)
{
	if (pa == NULL)
		return;
	pthread_mutex_destroy(&pa->cache_lock);
	pthread_mutex_destroy(&pa->miss_lock);
	explicit_bzero(pa, sizeof *pa);
	free(pa);
}

void pam_auth_flush(pam_auth *pa)
{
	pthread_mutex_lock(&pa->cache_lock);
	explicit_bzero(pa->cache, sizeof pa->cache);
	pthread_mutex_unlock(&pa->cache_lock);
}

/*
 * The salted digest of USER and PASSWORD, with Nettle (what GnuTLS hashes
 * with), so the cache and its unit test need no TLS library.
 */
static void cred_digest(const pam_auth *pa, const char *user, const char *password,
                        unsigned char out[DIGEST_LEN])
{
	struct sha256_ctx ctx;

	sha256_init(&ctx);
	sha256_update(&ctx, sizeof pa->salt, pa->salt);
	sha256_update(&ctx, strlen(user) + 1, (const uint8_t *)user);   /* with its NUL */
	sha256_update(&ctx, strlen(password), (const uint8_t *)password);
	sha256_digest(&ctx, DIGEST_LEN, out);
	explicit_bzero(&ctx, sizeof ctx);
}

/* Compares without an early exit, so timing tells nothing about a digest. */
static bool digest_eq(const unsigned char *a, const unsigned char *b)
{
	unsigned char diff = 0;

	for (size_t i = 0; i < DIGEST_LEN; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}

static bool cache_lookup(pam_auth *pa, const unsigned char *digest, char *canon,
                         size_t canon_size, uid_t *uid)
{
	time_t now = mono_s();
	bool hit = false;

	pthread_mutex_lock(&pa->cache_lock);
	for (size_t i = 0; i < CACHE_SLOTS; i++) {
		struct cache_entry *e = &pa->cache[i];

		if (!e->used)
			continue;
		if (e->expires <= now) {
			explicit_bzero(e, sizeof *e);
			continue;
		}
		if (digest_eq(e->digest, digest)) {
			str_copy(canon, canon_size, e->canon);
			*uid = e->uid;
			hit = true;
			break;
		}
	}
	pthread_mutex_unlock(&pa->cache_lock);
	return hit;
}

static void cache_store(pam_auth *pa, const unsigned char *digest, const char *canon,
                        uid_t uid)
{
	struct cache_entry *slot = &pa->cache[0];

	pthread_mutex_lock(&pa->cache_lock);
	/* A free slot, else the one closest to expiry. */
	for (size_t i = 0; i < CACHE_SLOTS; i++) {
		if (!pa->cache[i].used) {
			slot = &pa->cache[i];
			break;
		}
		if (pa->cache[i].expires < slot->expires)
			slot = &pa->cache[i];
	}
	slot->used = true;
	memcpy(slot->digest, digest, DIGEST_LEN);
	str_copy(slot->canon, sizeof slot->canon, canon);
	slot->uid = uid;
	slot->expires = mono_s() + pa->ttl_s;
	pthread_mutex_unlock(&pa->cache_lock);
}

static void fail_delay(const pam_auth *pa)
{
	struct timespec ts = { pa->fail_delay_ms / 1000,
	                       (long)(pa->fail_delay_ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

bool pam_auth_cached(pam_auth *pa, const char *user, const char *password, char *canon,
                     size_t canon_size, uid_t *uid)
{
	unsigned char digest[DIGEST_LEN];
	bool hit;

	if (pa->ttl_s <= 0)
		return false;
	cred_digest(pa, user, password, digest);
	hit = cache_lookup(pa, digest, canon, canon_size, uid);
	explicit_bzero(digest, sizeof digest);
	return hit;
}

int pam_auth_fail_delay_ms(const pam_auth *pa)
{
	return pa->fail_delay_ms;
}

uint32_t pam_auth_check_undelayed(pam_auth *pa, const char *user, const char *password,
                                  const char *rhost, char *canon, size_t canon_size,
                                  uid_t *uid, rdms_error *err)
{
	unsigned char digest[DIGEST_LEN];
	bool have_digest = pa->ttl_s > 0;   /* a checker without a cache hashes nothing */
	uint32_t rc;

	if (have_digest)
		cred_digest(pa, user, password, digest);
	if (have_digest && cache_lookup(pa, digest, canon, canon_size, uid)) {
		explicit_bzero(digest, sizeof digest);
		return WBEM_S_NO_ERROR;
	}
	pthread_mutex_lock(&pa->miss_lock);
	if (have_digest && cache_lookup(pa, digest, canon, canon_size, uid)) {
		pthread_mutex_unlock(&pa->miss_lock);
		explicit_bzero(digest, sizeof digest);
		return WBEM_S_NO_ERROR;
	}
	if (pa->verify != NULL)
		rc = pa->verify(pa->verify_ctx, user, password, rhost, canon, canon_size, uid, err);
	else
		rc = rdms_fail(err, WBEM_E_ACCESS_DENIED, "no password checker is set");
	if (rc == WBEM_S_NO_ERROR && have_digest)
		cache_store(pa, digest, canon, *uid);
	pthread_mutex_unlock(&pa->miss_lock);
	explicit_bzero(digest, sizeof digest);
	return rc;
}

uint32_t pam_auth_check(pam_auth *pa, const char *user, const char *password,
                        const char *rhost, char *canon, size_t canon_size,
                        uid_t *uid, rdms_error *err)
{
	uint32_t rc = pam_auth_check_undelayed(pa, user, password, rhost, canon, canon_size,
	                                       uid, err);

	if (rc != WBEM_S_NO_ERROR)
		fail_delay(pa);
	return rc;
}
