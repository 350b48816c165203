/*
 * host_tls.c -- a broker's TLS to its hosts (host_tls.h).
 *
 * libcurl (built on OpenSSL here) checks a server certificate against CAs
 * or a public-key pin, not against a certificate fingerprint, and it sends
 * the request as soon as the handshake ends.  So the check is OpenSSL's
 * own: CURLOPT_SSL_CTX_FUNCTION replaces the context's certificate
 * verification with a comparison of the peer's leaf certificate with the
 * pin, during the handshake, before a byte of the request is sent.
 */
#include "host_tls.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "../common/file_read.h"

#define MAX_PEM (64 * 1024)

uint32_t fleet_identity_load(const rdms_config *cfg, fleet_identity *id, rdms_error *err)
{
	*id = (fleet_identity){ NULL, NULL };
	if (cfg->fleet_cert[0] == '\0' || cfg->fleet_key[0] == '\0')
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER, "a broker needs fleet_cert and "
		                 "fleet_key: the client certificate hosts let it in by");
	if ((id->cert_pem = file_read_small(cfg->fleet_cert, MAX_PEM, err)) == NULL ||
	    (id->key_pem = file_read_small(cfg->fleet_key, MAX_PEM, err)) == NULL) {
		fleet_identity_clear(id);
		return err->code;
	}
	return WBEM_S_NO_ERROR;
}

void fleet_identity_clear(fleet_identity *id)
{
	if (id->key_pem != NULL)
		explicit_bzero(id->key_pem, strlen(id->key_pem));
	free(id->key_pem);
	free(id->cert_pem);
	*id = (fleet_identity){ NULL, NULL };
}

bool fleet_fingerprint_parse(const char *text, uint8_t out[32])
{
	size_t n = 0;
	int hi = -1;

	if (strncasecmp(text, "SHA256:", 7) == 0)
		text += 7;
	for (const char *p = text; *p != '\0'; p++) {
		int v;

		if (*p == ':' && hi < 0)
			continue;
		if (!isxdigit((unsigned char)*p) || n == 32)
			return false;
		v = isdigit((unsigned char)*p) ? *p - '0' : tolower((unsigned char)*p) - 'a' + 10;
		if (hi < 0) {
			hi = v;
		} else {
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	return n == 32 && hi < 0;
}

void fleet_fingerprint_text(const uint8_t fp[32], char *out, size_t size)
{
	size_t o = (size_t)snprintf(out, size, "SHA256:");

	for (size_t i = 0; i < 32 && o + 3 < size; i++)
		o += (size_t)snprintf(out + o, size - o, "%02X%s", fp[i], i + 1 < 32 ? ":" : "");
}

/* OpenSSL's verification, replaced: the leaf certificate must be the pinned one. */
static int verify_pinned(X509_STORE_CTX *store, void *arg)
{
	fleet_pin *pin = arg;
	X509 *leaf = X509_STORE_CTX_get0_cert(store);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0;

	pin->mismatch = leaf == NULL || X509_digest(leaf, EVP_sha256(), md, &len) != 1 ||
	                len != 32 || CRYPTO_memcmp(md, pin->sha256, 32) != 0;
	if (pin->mismatch) {
		X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
		return 0;
	}
	return 1;
}

static CURLcode on_ssl_ctx(CURL *h, void *ssl_ctx, void *arg)
{
	(void)h;
	SSL_CTX_set_cert_verify_callback(ssl_ctx, verify_pinned, arg);
	return CURLE_OK;
}

bool fleet_tls_setup(CURL *h, const fleet_identity *id, fleet_pin *pin)
{
	struct curl_blob cert = { id->cert_pem, strlen(id->cert_pem), CURL_BLOB_COPY };
	struct curl_blob key = { id->key_pem, strlen(id->key_pem), CURL_BLOB_COPY };
	CURLcode rc = CURLE_OK;

	rc |= curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cert);
	rc |= curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
	rc |= curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &key);
	rc |= curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
	rc |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	rc |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	/*
	 * No CA is asked (verify_pinned decides alone), so none is read: libcurl
	 * would otherwise parse the system's whole bundle for every connection
	 * (some 140 certificates, tens of milliseconds of CPU a call).
	 */
	rc |= curl_easy_setopt(h, CURLOPT_CAINFO, NULL);
	rc |= curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
	rc |= curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
	rc |= curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, pin);
	/* a resumed TLS session would skip the check: none are kept */
	rc |= curl_easy_setopt(h, CURLOPT_SSL_SESSIONID_CACHE, 0L);
	return rc == CURLE_OK;
}
