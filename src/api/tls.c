/*
 * tls.c - the HTTPS certificate and key of the API, and their reload (see
 * tls.h for the invariants).
 *
 * The pair in use is one atomic pointer read by GnuTLS's certificate
 * callback on the HTTP threads; a reload builds a whole new pair first,
 * checks it, then swaps the pointer. The old pair goes on a list of retired
 * pairs, freed once TLS_RETIRE_MS have passed since its retirement: a
 * handshake that read the old pointer just before the swap still uses it
 * for a few milliseconds, and the connection timeout (60 s) bounds how long
 * any handshake can last.
 */
#include "tls.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/x509.h>

#include "../common/buf.h"
#include "../common/clock.h"
#include "../common/err.h"
#include "../common/files.h"
#include "../common/log.h"
#include "internal.h"

typedef struct pair {
  gnutls_pcert_st chain[TLS_CHAIN_MAX];
  unsigned n_chain;
  gnutls_privkey_t key;
  int64_t not_after;
  char subject[256];
  uint64_t retired_ms; /* wall clock when replaced; 0 while in use */
  struct pair *next;   /* on the retired list */
} pair_t;

struct tls {
  char cert_path[4096], key_path[4096];
  pthread_mutex_t mu; /* serialises reloads and guards the counters and the retired list */
  pair_t *retired;
  uint64_t loaded_ms, reloads, failures;
};

/* The pair every handshake gets; NULL when no tls_t exists. */
static _Atomic(pair_t *) current;

static void pair_free(pair_t *p) {
  if (!p) return;
  for (unsigned i = 0; i < p->n_chain; i++)
    gnutls_pcert_deinit(&p->chain[i]);
  if (p->key) gnutls_privkey_deinit(p->key);
  free(p);
}

/* Reads a PEM file into a datum over out's bytes. */
static int read_pem(const char *what, const char *path, buf_t *out, gnutls_datum_t *d) {
  int rc = file_read_all(path, TLS_FILE_MAX, out);
  if (rc) {
    log_error("tls: cannot read the %s %s: %s", what, path,
              rc == CHORUS_ENOTFOUND ? "no such file"
              : rc == CHORUS_ETOOBIG ? "larger than 1 MiB"
                                     : "read error");
    return CHORUS_EINVAL;
  }
  d->data = out->data;
  d->size = (unsigned)out->len;
  return 0;
}

/* Whether key is the private half of the leaf certificate's public key. */
static bool key_matches(gnutls_privkey_t key, gnutls_pcert_st *leaf) {
  gnutls_pubkey_t pub;
  if (gnutls_pubkey_init(&pub) < 0) return false;
  unsigned char a[64], b[64];
  size_t na = sizeof a, nb = sizeof b;
  bool same = gnutls_pubkey_import_privkey(pub, key, 0, 0) >= 0 &&
              gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA256, a, &na) >= 0 &&
              gnutls_pubkey_get_key_id(leaf->pubkey, GNUTLS_KEYID_USE_SHA256, b, &nb) >= 0 && na == nb &&
              memcmp(a, b, na) == 0;
  gnutls_pubkey_deinit(pub);
  return same;
}

/* The leaf's expiry and subject, for the operator. */
static void describe(pair_t *p) {
  gnutls_x509_crt_t crt;
  snprintf(p->subject, sizeof p->subject, "?");
  if (gnutls_x509_crt_init(&crt) < 0) return;
  if (gnutls_x509_crt_import(crt, &p->chain[0].cert, GNUTLS_X509_FMT_DER) >= 0) {
    p->not_after = (int64_t)gnutls_x509_crt_get_expiration_time(crt);
    gnutls_datum_t dn = {0};
    if (gnutls_x509_crt_get_dn3(crt, &dn, 0) >= 0) {
      snprintf(p->subject, sizeof p->subject, "%.*s", (int)dn.size, (const char *)dn.data);
      gnutls_free(dn.data);
    }
  }
  gnutls_x509_crt_deinit(crt);
}

static int load_pair(const char *cert_path, const char *key_path, pair_t **out) {
  pair_t *p = calloc(1, sizeof *p);
  if (!p) return CHORUS_ENOMEM;
  buf_t cert_pem = {0}, key_pem = {0};
  gnutls_datum_t cd, kd;
  int rc = read_pem("certificate", cert_path, &cert_pem, &cd);
  if (!rc) rc = read_pem("key", key_path, &key_pem, &kd);
  if (!rc) {
    p->n_chain = TLS_CHAIN_MAX;
    int g = gnutls_pcert_list_import_x509_raw(p->chain, &p->n_chain, &cd, GNUTLS_X509_FMT_PEM,
                                              GNUTLS_X509_CRT_LIST_IMPORT_FAIL_IF_EXCEED);
    if (g < 0 || p->n_chain == 0) {
      log_error("tls: %s holds no PEM certificate chain of at most %d: %s", cert_path, TLS_CHAIN_MAX,
                g < 0 ? gnutls_strerror(g) : "empty");
      p->n_chain = 0;
      rc = CHORUS_EINVAL;
    }
  }
  if (!rc) {
    int g = gnutls_privkey_init(&p->key);
    if (g >= 0) g = gnutls_privkey_import_x509_raw(p->key, &kd, GNUTLS_X509_FMT_PEM, NULL, 0);
    if (g < 0) {
      log_error("tls: %s holds no unencrypted PEM private key: %s", key_path, gnutls_strerror(g));
      rc = CHORUS_EINVAL;
    }
  }
  if (!rc && !key_matches(p->key, &p->chain[0])) {
    log_error("tls: the key in %s is not the key of the certificate in %s", key_path, cert_path);
    rc = CHORUS_EINVAL;
  }
  if (key_pem.data) memset(key_pem.data, 0, key_pem.cap);
  buf_free(&key_pem);
  buf_free(&cert_pem);
  if (rc) {
    pair_free(p);
    return rc;
  }
  describe(p);
  *out = p;
  return 0;
}

static int retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
                    const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length, gnutls_pcert_st **pcert,
                    unsigned int *pcert_length, gnutls_privkey_t *pkey) {
  (void)session, (void)req_ca_rdn, (void)nreqs, (void)pk_algos, (void)pk_algos_length;
  pair_t *p = atomic_load_explicit(&current, memory_order_acquire);
  if (!p) return -1;
  *pcert = p->chain;
  *pcert_length = p->n_chain;
  *pkey = p->key;
  return 0;
}

static void log_serving(const char *what, const pair_t *p) {
  char until[32];
  api_iso_time(p->not_after > 0 ? (uint64_t)p->not_after * 1000u : 0, until);
  log_info("tls: %s the certificate of %s, valid until %s", what, p->subject, until);
}

gnutls_certificate_retrieve_function2 *tls_callback(void) {
  return retrieve;
}

int tls_open(const char *cert_path, const char *key_path, tls_t **out) {
  if (atomic_load(&current)) return CHORUS_EBUSY;
  tls_t *t = calloc(1, sizeof *t);
  if (!t) return CHORUS_ENOMEM;
  snprintf(t->cert_path, sizeof t->cert_path, "%s", cert_path);
  snprintf(t->key_path, sizeof t->key_path, "%s", key_path);
  pair_t *p = NULL;
  int rc = load_pair(t->cert_path, t->key_path, &p);
  if (rc) {
    free(t);
    return rc;
  }
  pthread_mutex_init(&t->mu, NULL);
  t->loaded_ms = clock_wall_ms();
  atomic_store_explicit(&current, p, memory_order_release);
  log_serving("serving", p);
  *out = t;
  return 0;
}

/* Frees the retired pairs replaced more than TLS_RETIRE_MS ago. Under t->mu. */
static void reap_retired(tls_t *t, uint64_t now_ms) {
  for (pair_t **pp = &t->retired; *pp;) {
    pair_t *p = *pp;
    if (now_ms - p->retired_ms >= TLS_RETIRE_MS) {
      *pp = p->next;
      pair_free(p);
    } else {
      pp = &p->next;
    }
  }
}

int tls_reload(tls_t *t) {
  pair_t *p = NULL;
  pthread_mutex_lock(&t->mu);
  int rc = load_pair(t->cert_path, t->key_path, &p);
  uint64_t now = clock_wall_ms();
  if (rc) {
    t->failures++;
    log_warn("tls: reload refused; still serving the certificate loaded before");
  } else {
    pair_t *old = atomic_exchange_explicit(&current, p, memory_order_acq_rel);
    old->retired_ms = now;
    old->next = t->retired;
    t->retired = old;
    t->loaded_ms = now;
    t->reloads++;
    log_serving("reloaded; serving", p);
  }
  reap_retired(t, now);
  pthread_mutex_unlock(&t->mu);
  return rc;
}

void tls_info(tls_t *t, tls_info_t *out) {
  memset(out, 0, sizeof *out);
  pthread_mutex_lock(&t->mu);
  pair_t *p = atomic_load_explicit(&current, memory_order_acquire);
  out->not_after = p->not_after;
  snprintf(out->subject, sizeof out->subject, "%s", p->subject);
  out->loaded_ms = t->loaded_ms;
  out->reloads = t->reloads;
  out->failures = t->failures;
  pthread_mutex_unlock(&t->mu);
}

void tls_free(tls_t *t) {
  if (!t) return;
  pair_free(atomic_exchange(&current, NULL));
  while (t->retired) {
    pair_t *p = t->retired;
    t->retired = p->next;
    pair_free(p);
  }
  pthread_mutex_destroy(&t->mu);
  free(t);
}
