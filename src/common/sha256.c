/*
 * sha256.c - SHA-256 through one EVP_MD fetched on first use (see sha256.h).
 * The fetched algorithm lives as long as the process; if it cannot be
 * fetched, every call falls back to the one-shot SHA256(), so the digest
 * never depends on which path ran.
 */
#include "sha256.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <pthread.h>

static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void fetch_sha256(void) {
  sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void sha256_digest(const void *p, size_t n, uint8_t out[SHA256_BYTES]) {
  const void *in = n ? p : (const void *)"";
  pthread_once(&sha256_once, fetch_sha256);
  if (!sha256_md || !EVP_Digest(in, n, out, NULL, sha256_md, NULL)) SHA256(in, n, out);
}
