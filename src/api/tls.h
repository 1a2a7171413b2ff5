/*
 * tls.h - the HTTPS certificate of the API (--tls-cert, --tls-key): loaded
 * at start, loaded again on SIGHUP, and handed to GnuTLS, through
 * libmicrohttpd's certificate callback, at every handshake.
 *
 * Invariants:
 * - A handshake always gets a whole pair, the certificate chain and its
 *   own private key: a reload whose files do not parse, or whose key is not
 *   the certificate's, is refused and the pair in use stays.
 * - A reload never touches a connection already set up: handshakes done
 *   keep their session, new ones get the new pair. A replaced pair is kept
 *   TLS_RETIRE_MS after it was replaced (far past any handshake's time,
 *   which the connection timeout bounds), then freed at the next reload or
 *   at tls_free.
 * - The callback has no user pointer, so the pair in use is one per process:
 *   at most one tls_t exists at a time.
 */
#ifndef CHORUS_TLS_H
#define CHORUS_TLS_H

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <stdint.h>

#define TLS_FILE_MAX (1u << 20) /* bytes of a PEM file read at most */
#define TLS_CHAIN_MAX 16        /* certificates of a chain */
#define TLS_RETIRE_MS (10u * 60u * 1000u)

typedef struct tls tls_t;

/* What an operator sees of the pair in use (GET /api/v1/status, /metrics). */
typedef struct {
  int64_t not_after;  /* the leaf certificate's expiry, seconds since the epoch */
  char subject[256];  /* its subject DN, cut to fit */
  uint64_t loaded_ms; /* wall clock of the last successful load */
  uint64_t reloads;   /* successful reloads since start */
  uint64_t failures;  /* reloads refused */
} tls_info_t;

/* Loads the pair and makes it the one every handshake gets. CHORUS_EINVAL
 * (logged: which file, and why) when a file is missing, does not parse, or
 * the key does not match the certificate; CHORUS_EBUSY when a tls_t exists
 * already; CHORUS_ENOMEM. */
int tls_open(const char *cert_path, const char *key_path, tls_t **out);
/* Reads both files again; on success new handshakes get the new pair. On
 * error (as tls_open) the pair in use stays and the failure is counted. Any
 * thread; reloads are serialised. */
int tls_reload(tls_t *t);
/* Copies the state of the pair in use. Any thread. */
void tls_info(tls_t *t, tls_info_t *out);
/* The GnuTLS certificate callback, as libmicrohttpd's
 * MHD_OPTION_HTTPS_CERT_CALLBACK takes it: the pair in use. */
gnutls_certificate_retrieve_function2 *tls_callback(void);
/* After the server has stopped: frees every pair. NULL is fine. */
void tls_free(tls_t *t);

#endif
