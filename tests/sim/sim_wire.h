/*
 * sim_wire.h - the codec boundary of the simulated network.
 *
 * Every message a core sends is encoded with swim_msg_encode, decoded back
 * at once and compared field by field with the original (a codec that loses
 * or alters a field is caught at the send that shows it), and travels as
 * bytes; the receiver gets what swim_msg_decode makes of those bytes.
 * Push-pull states take the same path through swim_state_encode/decode.
 * Faults are counted here, never hidden: a message that fails to encode or
 * decode is not delivered.
 */
#ifndef CHORUS_SIM_WIRE_H
#define CHORUS_SIM_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "gossip/swim_msg.h"

typedef struct {
  uint64_t encode_errors;
  uint64_t decode_errors;
  uint64_t mismatches; /* decode(encode(x)) != x */
  uint64_t oversize;   /* packet + overhead > SWIM_PACKET_MAX */
} sim_wire_faults_t;

typedef struct {
  buf_t buf;
  swim_msg_t scratch;
  size_t overhead; /* the transport's per-packet bytes (swim_config_t.packet_overhead) */
  sim_wire_faults_t faults;
} sim_wire_t;

void sim_wire_init(sim_wire_t *w, size_t overhead);
void sim_wire_free(sim_wire_t *w);

/* Encodes m into malloc'd bytes (*data, *len) after checking the round trip.
 * CHORUS_ECORRUPT (counted) if the codec fails or alters m; CHORUS_ENOMEM. */
int sim_wire_pack_msg(sim_wire_t *w, const swim_msg_t *m, uint8_t **data, size_t *len);
int sim_wire_unpack_msg(sim_wire_t *w, const uint8_t *data, size_t len, swim_msg_t *m);
/* Same for a push-pull state; st->members of the unpacked state is malloc'd. */
int sim_wire_pack_state(sim_wire_t *w, const swim_state_t *st, uint8_t **data, size_t *len);
int sim_wire_unpack_state(sim_wire_t *w, const uint8_t *data, size_t len, swim_state_t *st);

#endif
