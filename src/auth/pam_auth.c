/*
 * pam_auth.c -- PAM password checks with a short-lived cache (pam_auth.h).
 *
 * Cache entries hold SHA-256(salt || user || NUL || password), where the
 * 32-byte salt is drawn once per process: a memory dump or core file shows
 * neither passwords nor hashes that could be attacked offline with a table
 * prepared in advance.  PAM modules are not all thread-safe, so PAM calls
 * are serialised by one mutex; the cache has its own, and the delay after
 * a failure runs with no lock held.  In rdmsd the cache and the delay live
 * in the unprivileged network process, whose cache misses go to a verifier
 * that asks the privileged process, where pam_auth_verify() runs PAM.
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
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <nettle/sha2.h>
#include <security/pam_appl.h>

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
	char               service[64];
	int                ttl_s;
	int                fail_delay_ms;
	unsigned char      salt[32];
	pthread_mutex_t    cache_lock;
	pthread_mutex_t    pam_lock;
	pthread_mutex_t    miss_lock;  /* one cache miss checked at a time */
	struct cache_entry cache[CACHE_SLOTS];
	pam_verify_fn      verify;     /* cache misses; pam_auth_verify by default */
	void              *verify_ctx;
};

static time_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

pam_auth *pam_auth_new(const char *service, int cache_ttl_s, int fail_delay_ms)
{
	pam_auth *pa = calloc(1, sizeof *pa);

	if (pa == NULL)
		return NULL;
	if (getrandom(pa->salt, sizeof pa->salt, 0) != (ssize_t)sizeof pa->salt) {
		free(pa);
		return NULL;
	}
	str_copy(pa->service, sizeof pa->service, service);
	pa->ttl_s = cache_ttl_s;
	pa->fail_delay_ms = fail_delay_ms;
	pthread_mutex_init(&pa->cache_lock, NULL);
	pthread_mutex_init(&pa->pam_lock, NULL);
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
	pthread_mutex_destroy(&pa->pam_lock);
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
 * The salted digest of USER and PASSWORD.  Nettle (what GnuTLS hashes with)
 * rather than GnuTLS itself: rdmsd's root process checks passwords through
 * this file and does not load the TLS library.
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
	time_t now = now_s();
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
	slot->expires = now_s() + pa->ttl_s;
	pthread_mutex_unlock(&pa->cache_lock);
}

/* Answers PAM's prompts: the password for hidden ones, nothing else. */
static int conversation(int n, const struct pam_message **msg,
                        struct pam_response **resp, void *appdata)
{
	const char *password = appdata;
	struct pam_response *r;

	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	r = calloc((size_t)n, sizeof *r);
	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		if (msg[i]->msg_style != PAM_PROMPT_ECHO_OFF)
			continue;   /* info and error texts need no answer */
		r[i].resp = strdup(password);
		if (r[i].resp == NULL) {
			for (int j = 0; j < i; j++) {
				if (r[j].resp != NULL) {
					explicit_bzero(r[j].resp, strlen(r[j].resp));
					free(r[j].resp);
				}
			}
			free(r);
			return PAM_BUF_ERR;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

/* pam_unix and others sleep inside PAM on failure; we delay outside locks. */
static void no_delay(int status, unsigned int usec, void *appdata)
{
	(void)status;
	(void)usec;
	(void)appdata;
}

/* One PAM transaction; returns 0 or fills ERR. Caller holds pam_lock. */
static uint32_t pam_verify(pam_auth *pa, const char *user, const char *password,
                           const char *rhost, char *canon, size_t canon_size,
                           rdms_error *err)
{
	struct pam_conv conv = { conversation, (void *)password };
	pam_handle_t *h = NULL;
	const void *item = NULL;
	int rc;

	rc = pam_start(pa->service, user, &conv, &h);
	if (rc != PAM_SUCCESS)
		return rdms_fail(err, WBEM_E_ACCESS_DENIED, "PAM service '%s' unusable: %s",
		                 pa->service, pam_strerror(h, rc));
	pam_set_item(h, PAM_FAIL_DELAY, (const void *)no_delay);
	if (rhost != NULL)
		pam_set_item(h, PAM_RHOST, rhost);
	rc = pam_authenticate(h, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	if (rc == PAM_SUCCESS)
		rc = pam_acct_mgmt(h, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	if (rc == PAM_SUCCESS && pam_get_item(h, PAM_USER, &item) == PAM_SUCCESS &&
	    item != NULL)
		str_copy(canon, canon_size, item);
	else if (rc == PAM_SUCCESS)
		str_copy(canon, canon_size, user);
	if (rc != PAM_SUCCESS)
		rdms_fail(err, WBEM_E_ACCESS_DENIED, "%s", pam_strerror(h, rc));
	pam_end(h, rc);
	return rc == PAM_SUCCESS ? WBEM_S_NO_ERROR : WBEM_E_ACCESS_DENIED;
}

static bool lookup_uid(const char *name, uid_t *uid)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (getpwnam_r(name, &pw, buf, sizeof buf, &res) != 0 || res == NULL)
		return false;
	*uid = pw.pw_uid;
	return true;
}

static void fail_delay(const pam_auth *pa)
{
	struct timespec ts = { pa->fail_delay_ms / 1000,
	                       (long)(pa->fail_delay_ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

uint32_t pam_auth_verify(pam_auth *pa, const char *user, const char *password,
                         const char *rhost, char *canon, size_t canon_size,
                         uid_t *uid, rdms_error *err)
{
	uint32_t rc;

	pthread_mutex_lock(&pa->pam_lock);
	rc = pam_verify(pa, user, password, rhost, canon, canon_size, err);
	pthread_mutex_unlock(&pa->pam_lock);
	if (rc == WBEM_S_NO_ERROR && !lookup_uid(canon, uid))
		rc = rdms_fail(err, WBEM_E_ACCESS_DENIED,
		               "PAM accepted '%s' but it has no passwd entry", canon);
	return rc;
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
		rc = pam_auth_verify(pa, user, password, rhost, canon, canon_size, uid, err);
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
