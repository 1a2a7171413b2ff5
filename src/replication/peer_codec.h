/*
 * peer_codec.h - wire form of the messages replicas exchange over the peer
 * transport (TCP, --peer-port): frames, and the msgpack messages inside.
 *
 * Frame:  u32be n, then n payload bytes (n <= the receiver's limit,
 *         PEER_FRAME_MAX). Without --cluster-key the payload is the
 *         plaintext below; with it, seal_box(plaintext) (seal.h).
 * Plaintext: u8 PEER_WIRE_VERSION, then one msgpack array
 *   [type, req_id, from, clock, body]
 *     type     u8, peer_type_t
 *     req_id   u64 chosen by the requester, echoed by the reply
 *     from     str, the sender's node id (node_id.h)
 *     clock    map {node id str: u64 > 0}, keys in strcmp order, at most
 *              PEER_CLOCK_MAX entries: the sender's Fidge/Mattern node clock
 *     body     array, per type:
 *   PEER_REPLICATE      [op u8 (put, delete, read repair, hint delivery),
 *                        key bin 1..PEER_KEY_MAX, record bin <= PEER_RECORD_MAX
 *                        (record.h bytes, opaque here), hint_for str node id
 *                        | nil, request_id str <= PEER_REQUEST_ID_MAX | nil]
 *   PEER_REPLICATE_ACK  [status int32 <= 0, event_id u64 (0: none)]
 *   PEER_READ           [key bin, have bin <= PEER_RECORD_MAX | nil]: have
 *                        is the requester's state of the key without its
 *                        values (record.h bytes, opaque here)
 *   PEER_READ_REPLY     [status int32 <= 0, record bin | nil (not found, or
 *                        covered), covered bool: the requester's have
 *                        already holds everything this replica's state
 *                        would add, so the record did not travel]
 *   PEER_FORWARD        [op u8 (put, delete), key bin, value bin <=
 *                        RECORD_MAX_VALUE | nil, context str <=
 *                        PEER_CONTEXT_MAX | nil, r u8, w u8, request_id str | nil]
 *   PEER_FORWARD_REPLY  [status int32 <= 0, flags u8 (PEER_FWD_*), event_id u64,
 *                        record bin <= PEER_RECORD_MAX | nil, required u8,
 *                        responsible str node id | nil, then six arrays of
 *                        at most PEER_NODES_MAX node ids: replicas, ok,
 *                        failed, hinted, repaired, pending, then dots: an
 *                        array of at most PEER_DOTS_MAX [node str, counter
 *                        u64 > 0], the write's own dot first and then those
 *                        it replaced, empty when it applied nothing]: the
 *                        outcome of a forwarded write as data; the
 *                        forwarding node renders the client's reply from
 *                        it. A reply of 12 fields (no dots, from a node of
 *                        an earlier version) is accepted
 *   PEER_EVENTS         [since u64, limit u32]
 *   PEER_EVENTS_REPLY   [status int32 <= 0, events bin <= PEER_RECORD_MAX
 *                        (an events part, events_part.h, opaque here; empty
 *                        when status is not 0)]
 *   PEER_PING, PEER_PONG []
 *   PEER_PUSH_PULL, PEER_PUSH_PULL_REPLY
 *                       [state bin <= PEER_RECORD_MAX]: a membership table
 *                       (swim_codec.h state encoding, opaque here)
 *   PEER_TREE           [ring_version u64, level u8 <= PEER_TREE_LEVEL_MAX,
 *                        nodes bin: u64be node indices, at most
 *                        PEER_TREE_NODES_MAX]: hashes of the replier's
 *                        anti-entropy tree (merkle.h) at level, seen through
 *                        the token ranges the two nodes share on the ring
 *                        of ring_version
 *   PEER_TREE_REPLY     [status int32 <= 0, hashes bin: u64be, one per node
 *                        asked (empty when status is not 0)]
 *   PEER_TREE_KEYS      [ring_version u64, segments bin: u32be segments, at
 *                        most PEER_TREE_SEGMENTS_MAX]
 *   PEER_TREE_KEYS_REPLY [status int32 <= 0, keys bin <= PEER_RECORD_MAX (a
 *                        treekeys.h list, opaque here)]
 *   PEER_RANGE          [ranges bin: u64be lo, hi pairs, at most
 *                        PEER_RANGES_MAX, after bin | nil: u64be token then
 *                        the key (1..PEER_KEY_MAX bytes) of the last record
 *                        the requester has (nil: from the start), max_bytes
 *                        u32]: the next records of an ownership transfer
 *   PEER_RANGE_REPLY    [status int32 <= 0, batch bin <= PEER_BATCH_MAX (a
 *                        recbatch.h batch of (key, record), opaque here;
 *                        empty when status is not 0), done bool: the ranges
 *                        were read to their end]
 *   PEER_HANDOFF        [mode u8 (PEER_HANDOFF_OFFER: the batch carries the
 *                        sender's versions without values; PEER_HANDOFF_PUSH:
 *                        whole records to merge), batch bin <= PEER_BATCH_MAX]
 *   PEER_HANDOFF_REPLY  [status int32 <= 0, covered bin <= PEER_COVERED_MAX:
 *                        offer: one bit per entry (bit i of byte i / 8, low
 *                        bit first), set when the receiver's state already
 *                        covers the sender's; push: empty, sent once every
 *                        record is merged durably]
 *   PEER_KEYRING        [op u8 (PEER_KEYS_LIST, _INSTALL, _USE, _REMOVE),
 *                        entry bin | nil: nil for list; install: the key
 *                        (SEAL_KEY_BYTES) or empty for "none" (plaintext);
 *                        use, remove: an entry's id (KEYRING_ID_BYTES)]
 *   PEER_KEYRING_REPLY  [status int32 <= 0, ids bin: the replier's keyring
 *                        after the op, KEYRING_ID_BYTES per entry, the
 *                        primary first, 1..KEYRING_MAX of them (empty when
 *                        status is not 0)]
 * PEER_REPLICATE's op PEER_OP_REPAIR carries a state anti-entropy found
 * missing or older on the receiver; PEER_OP_REAP a tombstone's state the
 * receiver drops if it holds exactly that (tombstone collection).
 * status is 0 or a negative CHORUS_E* code of the replying node.
 *
 * Versions: PEER_WIRE_VERSION changes when the layout of a message changes
 * (fields, their types or arity). The bytes inside an opaque bin field
 * (record, events part, membership state) carry their own magic and
 * version, so their format changes without a new wire version. So it was
 * when PEER_EVENTS_REPLY's bytes went from JSON text to an events part: a
 * node of the earlier release is read as a member whose reply does not
 * decode (reported as such by the gather), never misread.
 * Version 2: PEER_FORWARD_REPLY carries a forwarded write's outcome as
 * data; PEER_READ may say what the requester holds (anti-entropy pulls a
 * record only when it adds something). A new message type needs no new version: a node of an earlier
 * release refuses it as a frame that does not decode (the anti-entropy
 * types; an exchange with such a node fails and is retried).
 *
 * Every value is in msgpack's shortest form (what msgpack-c writes), and the
 * decoder accepts nothing else, so the encoding of a message is unique:
 * decode(encode(m)) == m and encode(decode(b)) == b. The decoder takes
 * untrusted bytes: it bounds every read, rejects unknown versions, types and
 * ops, wrong arities, out-of-range integers, invalid or unsorted node ids,
 * over-long fields, str fields holding a NUL and trailing bytes
 * (CHORUS_ECORRUPT), never crashes, and allocates only the clock, one entry
 * per entry actually read. The codec checks form, not meaning: whether a
 * reply's req_id is outstanding or r <= N is the transport's and the
 * coordinator's business.
 */
#ifndef CHORUS_PEER_CODEC_H
#define CHORUS_PEER_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../common/keyring.h"
#include "../common/node_id.h"
#include "../storage/context.h"
#include "../storage/dvv.h"
#include "../storage/record.h"
#include "../storage/vv.h"

#define PEER_WIRE_VERSION 2     /* 2: PEER_FORWARD_REPLY carries the outcome as data */
#define PEER_FRAME_PREFIX 4     /* the u32be length */
#define PEER_KEY_MAX 1024       /* keys are 1..1024 bytes, as in the HTTP API */
#define PEER_CLOCK_MAX 1024     /* node clock entries: one per node whose events were seen */
#define PEER_REQUEST_ID_MAX 128 /* X-Request-Id, as ENGINE_REQUEST_ID_MAX */
/* X-Chorus-Context: whatever the HTTP API accepts must be forwardable. */
#define PEER_CONTEXT_MAX CONTEXT_MAX_CHARS
/* A record: one value of up to RECORD_MAX_VALUE plus 6 MiB for the other
 * siblings, their contexts and dots. A record over it cannot be replicated
 * (the encoder says CHORUS_ETOOBIG); with the default --max-value-bytes of
 * 1 MiB that takes dozens of concurrent siblings. JSON reply bodies share
 * the bound. */
#define PEER_RECORD_MAX (RECORD_MAX_VALUE + 6u * 1024 * 1024)
/* A frame payload: the largest record plus room for every other field at
 * its limit (the clock alone is under 80 KiB) and the seal's overhead. It is
 * also what a peer can make a receiver buffer per connection before the
 * frame can be checked, hence no larger. */
#define PEER_FRAME_MAX (PEER_RECORD_MAX + 1024u * 1024)

typedef enum {
  PEER_REPLICATE = 1,
  PEER_REPLICATE_ACK = 2,
  PEER_READ = 3,
  PEER_READ_REPLY = 4,
  PEER_FORWARD = 5,
  PEER_FORWARD_REPLY = 6,
  PEER_EVENTS = 7,
  PEER_EVENTS_REPLY = 8,
  PEER_PING = 9,
  PEER_PONG = 10,
  PEER_PUSH_PULL = 11, /* membership: this node's table; the answer is the peer's */
  PEER_PUSH_PULL_REPLY = 12,
  PEER_TREE = 13, /* anti-entropy: tree hashes over shared ranges */
  PEER_TREE_REPLY = 14,
  PEER_TREE_KEYS = 15, /* anti-entropy: the keys of differing segments */
  PEER_TREE_KEYS_REPLY = 16,
  PEER_RANGE = 17, /* ownership transfer: the next records of token ranges */
  PEER_RANGE_REPLY = 18,
  PEER_HANDOFF = 19, /* ownership transfer: records a node no longer owns, to their owners */
  PEER_HANDOFF_REPLY = 20,
  PEER_KEYRING = 21, /* gossip and peer key rotation: list, install, use, remove (keyring.h) */
  PEER_KEYRING_REPLY = 22,
} peer_type_t;
#define PEER_TYPE_LAST PEER_KEYRING_REPLY
/* PEER_KEYRING ops */
#define PEER_KEYS_LIST 1
#define PEER_KEYS_INSTALL 2
#define PEER_KEYS_USE 3
#define PEER_KEYS_REMOVE 4
#define PEER_RANGES_MAX 8192 /* token ranges in one PEER_RANGE */
/* A record batch: one record at its limit, its key and the batch's framing. */
#define PEER_BATCH_MAX (PEER_RECORD_MAX + 4096u)
#define PEER_COVERED_MAX 8192 /* bytes of an offer's bitmap: 65536 entries (recbatch.h) */
#define PEER_HANDOFF_OFFER 1
#define PEER_HANDOFF_PUSH 2
#define PEER_TREE_LEVEL_MAX 6       /* MERKLE_BITS_MAX / MERKLE_FANOUT_BITS */
#define PEER_TREE_NODES_MAX 4096    /* nodes asked in one PEER_TREE: a 32 KiB reply */
#define PEER_TREE_SEGMENTS_MAX 1024 /* segments asked in one PEER_TREE_KEYS */

typedef enum {
  PEER_OP_PUT = 1,
  PEER_OP_DELETE = 2,
  PEER_OP_READ_REPAIR = 3, /* PEER_REPLICATE only */
  PEER_OP_HINT = 4,        /* PEER_REPLICATE only: a stored hint delivered to its owner */
  PEER_OP_REPAIR = 5,      /* PEER_REPLICATE only: anti-entropy */
  PEER_OP_REAP = 6,        /* PEER_REPLICATE only: drop this tombstone state if held exactly */
} peer_op_t;

/* A bin or str field: a view into the decoded input, valid as long as those
 * bytes are. p == NULL is nil, allowed only where the layout says "| nil";
 * an empty value has a non-NULL p. */
typedef struct {
  const uint8_t *p;
  size_t len;
} peer_bytes_t;

typedef struct {
  peer_op_t op;
  peer_bytes_t key;
  peer_bytes_t record;
  char hint_for[NODE_ID_MAX + 1]; /* "" for nil: the receiver stores the record as its own */
  peer_bytes_t request_id;
} peer_replicate_t;

typedef struct {
  int32_t status;
  uint64_t event_id;
} peer_replicate_ack_t;

typedef struct {
  peer_bytes_t key;
  peer_bytes_t have; /* nil: the requester says nothing of what it holds */
} peer_read_t;

typedef struct {
  int32_t status;
  peer_bytes_t record; /* nil when not found, or covered */
  bool covered;        /* the requester's have would not change by a merge of this replica's state */
} peer_read_reply_t;

typedef struct {
  peer_op_t op; /* PEER_OP_PUT or PEER_OP_DELETE */
  peer_bytes_t key;
  peer_bytes_t value;
  peer_bytes_t context;
  uint8_t r, w;
  peer_bytes_t request_id;
} peer_forward_t;

#define PEER_NODES_MAX 16                /* node ids in one list of a forward reply */
#define PEER_DOTS_MAX (DVV_DOTS_MAX + 1) /* a forward reply's dots: its own and those it replaced */
/* PEER_FORWARD_REPLY flags */
#define PEER_FWD_NO_SPACE 1u       /* the coordinator's disk is full */
#define PEER_FWD_REQUEST_REUSED 2u /* X-Request-Id reused for another key or op */
#define PEER_FWD_QUORUM 4u         /* W was met */
#define PEER_FWD_FLAGS 7u

typedef struct {
  uint8_t n;
  char id[PEER_NODES_MAX][NODE_ID_MAX + 1];
} peer_nodes_t;

/* The lists of a forward reply, in wire order. */
enum {
  PEER_FWD_REPLICAS,
  PEER_FWD_OK,
  PEER_FWD_FAILED,
  PEER_FWD_HINTED,
  PEER_FWD_REPAIRED,
  PEER_FWD_PENDING, /* asked, no answer yet when the request was answered */
  PEER_FWD_LISTS
};

typedef struct {
  int32_t status; /* the request's outcome: 0 or a CHORUS_E* code */
  uint8_t flags;
  uint64_t event_id;                 /* the coordinator's event (0: none) */
  peer_bytes_t record;               /* the key's state (record.h), nil when none */
  uint8_t required;                  /* W as applied */
  char responsible[NODE_ID_MAX + 1]; /* "" when none */
  /* PEER_FWD_LISTS lists, NULL when all are empty. Kept out of line so that
   * every peer_msg_t stays small: to encode, the caller's memory; decoded,
   * allocated and owned by the message (peer_msg_free frees it). */
  peer_nodes_t *lists;
  bool lists_owned; /* private to the codec */
  /* The write's dot (counter 0: none) and the dots it replaced: to encode,
   * the caller's memory; decoded, owned by the message. */
  dvv_dot_t dot;
  dvv_dots_t replaced;
  bool replaced_owned; /* private to the codec */
} peer_forward_reply_t;

typedef struct {
  uint64_t since;
  uint32_t limit;
} peer_events_t;

typedef struct {
  int32_t status;
  peer_bytes_t events;
} peer_events_reply_t;

typedef struct {
  peer_bytes_t state;
} peer_push_pull_t;

typedef struct {
  uint64_t ring_version;
  uint8_t level;
  peer_bytes_t nodes; /* u64be each */
} peer_tree_t;

typedef struct {
  int32_t status;
  peer_bytes_t hashes; /* u64be each */
} peer_tree_reply_t;

typedef struct {
  uint64_t ring_version;
  peer_bytes_t segments; /* u32be each */
} peer_tree_keys_t;

typedef struct {
  int32_t status;
  peer_bytes_t keys; /* treekeys.h */
} peer_tree_keys_reply_t;

typedef struct {
  peer_bytes_t ranges; /* u64be lo, hi pairs */
  peer_bytes_t after;  /* nil, or u64be token + key */
  uint32_t max_bytes;
} peer_range_t;

typedef struct {
  int32_t status;
  peer_bytes_t batch; /* recbatch.h */
  bool done;
} peer_range_reply_t;

typedef struct {
  uint8_t mode;       /* PEER_HANDOFF_OFFER or PEER_HANDOFF_PUSH */
  peer_bytes_t batch; /* recbatch.h */
} peer_handoff_t;

typedef struct {
  int32_t status;
  peer_bytes_t covered; /* offer: a bitmap, one bit per entry */
} peer_handoff_reply_t;

typedef struct {
  uint8_t op;         /* PEER_KEYS_* */
  peer_bytes_t entry; /* nil (list), a key or empty (install), an id (use, remove) */
} peer_keyring_t;

typedef struct {
  int32_t status;
  peer_bytes_t ids; /* KEYRING_ID_BYTES each, the primary first */
} peer_keyring_reply_t;

typedef struct {
  peer_type_t type;
  uint64_t req_id;
  char from[NODE_ID_MAX + 1];
  vv_t clock; /* owned */
  union {     /* the member named after type; PEER_PING and PEER_PONG have none */
    peer_replicate_t replicate;
    peer_replicate_ack_t replicate_ack;
    peer_read_t read;
    peer_read_reply_t read_reply;
    peer_forward_t forward;
    peer_forward_reply_t forward_reply;
    peer_events_t events;
    peer_events_reply_t events_reply;
    peer_push_pull_t push_pull; /* PEER_PUSH_PULL and PEER_PUSH_PULL_REPLY */
    peer_tree_t tree;
    peer_tree_reply_t tree_reply;
    peer_tree_keys_t tree_keys;
    peer_tree_keys_reply_t tree_keys_reply;
    peer_range_t range;
    peer_range_reply_t range_reply;
    peer_handoff_t handoff;
    peer_handoff_reply_t handoff_reply;
    peer_keyring_t keyring;
    peer_keyring_reply_t keyring_reply;
  };
} peer_msg_t;

/* Zeroes m with an empty clock; peer_msg_free releases the clock. */
void peer_msg_init(peer_msg_t *m);
void peer_msg_free(peer_msg_t *m);

/* Appends the plaintext of m to out. CHORUS_EINVAL for a message the decoder
 * would refuse (unknown type or op, invalid id, empty key, nil where the
 * layout has none, NUL in a str field, status > 0, http_status out of
 * range), CHORUS_ETOOBIG for a field or clock over its limit, CHORUS_ENOMEM;
 * on error out keeps its previous length. */
int peer_msg_encode(const peer_msg_t *m, buf_t *out);

/* Decodes plaintext p[0..len) into m, whose clock must be initialised and is
 * replaced; every view points into p. CHORUS_ECORRUPT for anything
 * malformed, CHORUS_ENOMEM; on error m is zeroed with an empty clock. */
int peer_msg_decode(const void *p, size_t len, peer_msg_t *m);

/* Splits the first frame off the received bytes p[0..len): 0 with a whole
 * frame (*payload points into p, *consumed = PEER_FRAME_PREFIX +
 * *payload_len); CHORUS_EAGAIN while the prefix or the payload is incomplete;
 * CHORUS_ETOOBIG as soon as the prefix announces more than max_payload bytes
 * - the stream cannot be resynchronised, so the connection must be dropped.
 * On anything but 0 the outputs are NULL / 0. */
int peer_frame_split(const void *p, size_t len, size_t max_payload, const uint8_t **payload,
                     size_t *payload_len, size_t *consumed);

/* Framing in place: peer_frame_begin appends a placeholder prefix and returns
 * the frame's offset in out; the payload is then appended directly (by
 * peer_msg_encode or seal_box); peer_frame_finish writes the prefix.
 * finish returns CHORUS_ETOOBIG if the payload is over max_payload, or the
 * error out has met since begin, and then cuts out back to start. */
size_t peer_frame_begin(buf_t *out);
int peer_frame_finish(buf_t *out, size_t start, size_t max_payload);

#endif
