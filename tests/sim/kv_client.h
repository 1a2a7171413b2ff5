/*
 * kv_client.h - the simulated clients of kv_sim and the log of their
 * writes, which the checker (kv_check.h) judges.
 *
 * Each client repeats a read-modify-write on a random key of a small key
 * space (so writes race and make siblings): a GET through a random running
 * node, then, after a short think time, a PUT (or now and then a DELETE of
 * a key that has a live value) through another random running node, with
 * the context of what it read (dvv_context of the state read: empty when
 * the key was never written). Never a blind write (DESIGN §9). Every PUT's
 * value is unique in the run ("w<write id>"); the log keeps, for every
 * write, the state its read returned (its obs), the context sent and
 * whether it was acknowledged: the coordinator's result is 0, or for a
 * write forwarded to a replica, that replica answered 200.
 *
 * Everything random is drawn from the cluster's generator, so the
 * clients' choices are part of the seeded run.
 */
#ifndef CHORUS_KV_CLIENT_H
#define CHORUS_KV_CLIENT_H

#include "kv_cluster.h"

#define KV_KEY_MAX 16

typedef enum { KV_W_PENDING = 0, KV_W_ACKED = 1, KV_W_FAILED = 2 } kv_write_status_t;

typedef struct {
  uint32_t key; /* key index */
  bool del;
  vv_t ctx;   /* the context sent */
  dvv_t read; /* what its read returned: obs(w) are its siblings */
  kv_write_status_t status;
} kv_write_t;

typedef struct {
  kv_write_t *w; /* write id i + 1 is w[i] */
  size_t n, cap;
  uint64_t reads, reads_failed;
} kv_log_t;

/* n clients on keys keys; started by kv_clients_start. */
int kv_clients_create(kv_cluster_t *kc, uint32_t n, uint32_t keys, kv_clients_t **out);
/* After the cluster is destroyed (its shutdown answers the requests in flight). */
void kv_clients_destroy(kv_clients_t *c);
int kv_clients_start(kv_clients_t *c);
/* No new requests from now on; those in flight finish. */
void kv_clients_stop(kv_clients_t *c);
bool kv_clients_idle(const kv_clients_t *c);
const kv_log_t *kv_clients_log(const kv_clients_t *c);
uint32_t kv_clients_keys(const kv_clients_t *c);
void kv_key_name(uint32_t k, char out[KV_KEY_MAX]);
/* A value's write id, or 0 when no write of this run has that value. */
uint64_t kv_value_write(const uint8_t *value, size_t len);

#endif
