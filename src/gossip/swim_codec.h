/*
 * swim_codec.h - wire form of SWIM messages: msgpack with a version byte.
 *
 * Packet (UDP):  u8 SWIM_WIRE_VERSION, then one msgpack array:
 *   [type, seq, from, [host, port, peer_port], target, [host, port, peer_port],
 *    [[status, id, incarnation, [host, port, peer_port], from, phase], ...]]
 * State (TCP push-pull frame body): u8 SWIM_WIRE_VERSION, then
 *   [join, [[id, [host, port, peer_port], status, incarnation, phase], ...]]
 * phase is a swim_phase_t (swim_msg.h).
 *
 * Decoders take untrusted bytes: they bound every read, reject unknown
 * versions, types and statuses, invalid node ids, hosts that do not fit,
 * counts over the limits, and trailing bytes, and never crash.
 * Encryption (AES-256-GCM with --cluster-key) wraps these bytes; see
 * common/seal.h.
 */
#ifndef CHORUS_SWIM_CODEC_H
#define CHORUS_SWIM_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "swim_msg.h"

#define SWIM_WIRE_VERSION 2 /* 2: updates and members carry the member's phase */

/* Appends the encoding of m to out. */
int swim_msg_encode(const swim_msg_t *m, buf_t *out);
/* m is overwritten. CHORUS_ECORRUPT for anything malformed. */
int swim_msg_decode(const void *p, size_t len, swim_msg_t *m);
/* Bytes one update adds to an encoded message, exactly. */
size_t swim_update_encoded_size(const swim_update_t *u);
/* Bytes of the encoded message without its updates, counting the largest
 * header the updates array can have: encode(m) <= base + sum of the update
 * sizes. Lets the core fill a packet with updates up to a byte budget. */
size_t swim_msg_base_size(const swim_msg_t *m);

int swim_state_encode(const swim_state_t *s, buf_t *out);
/* s->members is malloc'd (caller frees it with free()). */
int swim_state_decode(const void *p, size_t len, swim_state_t *s);

#endif
