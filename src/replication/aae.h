/*
 * aae.h - what anti-entropy exchanges report (coord_aae.c): the result of
 * one exchange, the state of the service, and the result of a compare an
 * operator asked for. Plain data, shared by the service and the API.
 */
#ifndef CHORUS_AAE_H
#define CHORUS_AAE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/node_id.h"

#define AAE_PEERS_MAX 64    /* peers whose last exchange is remembered */
#define AAE_SAMPLE_KEYS 100 /* differing keys a compare names */
#define AAE_KEY_SHOWN 128   /* bytes of a key a compare names */

typedef struct {
  char peer[NODE_ID_MAX + 1];
  uint64_t started_ms, ended_ms;       /* wall clock */
  int status;                          /* 0, or why it stopped (CHORUS_E*) */
  uint64_t ranges;                     /* token ranges the two share */
  uint64_t tree_nodes;                 /* tree hashes compared */
  uint64_t segments_differing;         /* leaves (segments) whose keys were compared */
  uint64_t keys_compared;              /* keys listed by either side in those segments */
  uint64_t keys_differing;             /* keys held by one side only, or with other versions */
  uint64_t keys_pushed;                /* records sent to the peer */
  uint64_t keys_pulled;                /* records taken from the peer that changed ours */
  uint64_t record_bytes;               /* bytes of the records that travelled either way */
  uint64_t bytes_sent, bytes_received; /* payload bytes of every message of the exchange */
} aae_exchange_t;

typedef struct {
  bool enabled;
  uint64_t interval_ms, repair_rate;
  uint64_t exchanges, exchanges_failed;
  uint64_t keys_repaired, keys_pushed, keys_pulled;
  uint64_t bytes_sent, bytes_received;
  uint64_t tombstones_reaped;
  bool running;
  aae_exchange_t current;             /* when running */
  size_t queued;                      /* peers a full repair (POST /api/v1/repair) still has to visit */
  aae_exchange_t last[AAE_PEERS_MAX]; /* the last exchange with each peer */
  size_t n_last;
} aae_status_t;

typedef struct {
  aae_exchange_t x;
  size_t n_keys;
  char keys[AAE_SAMPLE_KEYS][AAE_KEY_SHOWN + 1]; /* some differing keys (cut, NUL-terminated) */
  char where[AAE_SAMPLE_KEYS]; /* 'l': only here, 'r': only there, 'b': both, other versions */
  size_t n_segments;
  uint32_t segments[AAE_SAMPLE_KEYS]; /* segments holding differing keys (some) */
  unsigned bits;
} aae_compare_t;

#endif
