/*
 * keys.c - /api/v1/keys: the keyring of every live member (GET) and its
 * rotation (POST {"op": "install"|"use"|"remove", "key": ...}), as
 * `consul keyring` and `serf keys` offer them. The work is the replication
 * service's (coord_keys.c): a listing round, a safety check, then the change
 * on every live member; ?local=true changes or lists this node alone.
 *
 * Keys travel in requests only: replies name entries by id (16 hex digits
 * of the key's SHA-256, or "none" for plaintext), never by the key.
 */
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "../common/err.h"
#include "internal.h"

static const char *op_name(int op) {
  return op == PEER_KEYS_INSTALL  ? "install"
         : op == PEER_KEYS_USE    ? "use"
         : op == PEER_KEYS_REMOVE ? "remove"
                                  : "list";
}

/* A key given by an operator: "none", the base64 of a key, or (use and
 * remove) an entry's id as GET lists it. */
static int parse_key(const char *text, bool id_ok, keyring_entry_t *entry, uint8_t id[KEYRING_ID_BYTES]) {
  size_t len = strlen(text);
  if (keyring_entry_parse(text, len, entry) == 0) {
    keyring_entry_id(entry, id);
    return 0;
  }
  if (!id_ok || len != 2 * KEYRING_ID_BYTES || strspn(text, "0123456789abcdef") != len) return CHORUS_EINVAL;
  for (size_t i = 0; i < KEYRING_ID_BYTES; i++) {
    unsigned v;
    if (sscanf(text + 2 * i, "%2x", &v) != 1) return CHORUS_EINVAL;
    id[i] = (uint8_t)v;
  }
  return 0;
}

/* {"members": {node: {"primary", "keys"} | {"error"}}, "keys": {id: {"id", "members", "primary_on"}}} */
static json_t *keyrings_json(const coord_result_t *res, bool *all_ok) {
  json_t *members = json_object(), *keys = json_object();
  *all_ok = true;
  for (size_t i = 0; members && keys && i < res->n_parts; i++) {
    const coord_part_t *p = &res->parts[i];
    if (p->status) {
      *all_ok = false;
      json_object_set_new(members, p->node, json_pack("{s:s}", "error", chorus_strerror(p->status)));
      continue;
    }
    json_t *ids = json_array();
    char primary[KEYRING_ID_TEXT] = "";
    for (size_t o = 0; ids && o + KEYRING_ID_BYTES <= p->body.len; o += KEYRING_ID_BYTES) {
      char id[KEYRING_ID_TEXT];
      keyring_id_text(p->body.data + o, id);
      if (o == 0) snprintf(primary, sizeof primary, "%s", id);
      json_array_append_new(ids, json_string(id));
      json_t *k = json_object_get(keys, id);
      if (!k) {
        k = json_pack("{s:s,s:i,s:i}", "id", id, "members", 0, "primary_on", 0);
        json_object_set_new(keys, id, k);
      }
      if (!k) continue;
      json_object_set_new(k, "members", json_integer(json_integer_value(json_object_get(k, "members")) + 1));
      if (o == 0)
        json_object_set_new(k, "primary_on",
                            json_integer(json_integer_value(json_object_get(k, "primary_on")) + 1));
    }
    json_object_set_new(members, p->node, json_pack("{s:s,s:o*}", "primary", primary, "keys", ids));
  }
  return json_pack("{s:o*,s:o*,s:I}", "members", members, "keys", keys, "members_asked",
                   (json_int_t)res->n_parts);
}

static enum MHD_Result keys_answer(api_req_t *r) {
  const coord_req_t *q = r->creq;
  const coord_result_t *res = &q->result;
  if (res->err == CHORUS_EINVAL || res->err == CHORUS_ENOMEM || res->err == CHORUS_ESHUTDOWN || !res->n_parts)
    return api_send_error3(r, 503, "unavailable", chorus_strerror(res->err ? res->err : CHORUS_ENOMEM));
  bool all_ok;
  json_t *o = keyrings_json(res, &all_ok);
  if (!o) return api_send_error3(r, 500, "internal", "out of memory");
  char id[KEYRING_ID_TEXT];
  keyring_id_text(q->keys_id, id);
  json_object_set_new(o, "op", json_string(op_name(q->keys_op)));
  if (q->keys_op != PEER_KEYS_LIST) json_object_set_new(o, "key", json_string(id));
  json_object_set_new(o, "local", json_boolean(q->keys_local));
  json_object_set_new(o, "complete", json_boolean(!res->err && all_ok));
  int status = 200;
  const char *code = NULL, *msg = NULL;
  if (res->err == CHORUS_ENOTFOUND) {
    status = 409, code = "key_not_installed";
    msg = "a live member does not hold this key: install it everywhere first (members lists each keyring)";
  } else if (res->err == CHORUS_EBUSY) {
    status = 409, code = "key_in_use";
    msg = "a live member sends with this key: use another key everywhere first";
  } else if (res->err) {
    status = 503, code = "members_unreachable";
    msg = "a live member did not list its keyring, so the change could not be checked: nothing was changed";
  } else if (!all_ok && q->keys_op != PEER_KEYS_LIST) {
    status = 503, code = "incomplete";
    msg = "some members did not apply the change (members says which): repeat the request";
  }
  if (code) json_object_set_new(o, "error", json_pack("{s:s,s:s}", "code", code, "message", msg));
  return api_send_json(r, status, o);
}

enum MHD_Result api_keys(api_req_t *r) {
  bool get = r->method == METHOD_GET || r->method == METHOD_HEAD;
  if (!get && r->method != METHOD_POST) {
    r->allow = "GET, POST";
    return api_send_error3(r, 405, "method_not_allowed", "this route does not accept that method");
  }
  if (!r->srv->coord) return api_send_error3(r, 503, "unavailable", "the replication service is not running");
  const char *local = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "local");
  int op = PEER_KEYS_LIST;
  keyring_entry_t entry = {.none = true};
  uint8_t id[KEYRING_ID_BYTES] = {0};
  if (!get) {
    json_t *root = NULL;
    const char *op_text = api_body_string(r, &root, "op");
    json_t *k = op_text ? json_object_get(root, "key") : NULL;
    if (op_text && !json_is_string(k))
      api_send_error3(r, 400, "missing_field", "the body must be a JSON object with a \"key\" string");
    if (!json_is_string(k)) {
      json_decref(root);
      return MHD_YES; /* answered */
    }
    const char *key = json_string_value(k);
    op = !strcmp(op_text, "install")  ? PEER_KEYS_INSTALL
         : !strcmp(op_text, "use")    ? PEER_KEYS_USE
         : !strcmp(op_text, "remove") ? PEER_KEYS_REMOVE
                                      : 0;
    int rc = op ? parse_key(key, op != PEER_KEYS_INSTALL, &entry, id) : CHORUS_EINVAL;
    json_decref(root); /* the key's text goes with it */
    OPENSSL_cleanse(r->body.data, r->body.len);
    if (!op) return api_send_error3(r, 400, "bad_op", "op must be install, use or remove");
    if (rc)
      return api_send_error3(r, 400, "bad_key",
                             op == PEER_KEYS_INSTALL ? "key must be \"none\" or the base64 of 32 bytes"
                                                     : "key must be \"none\", the base64 of 32 bytes, or a "
                                                       "key id (16 hex digits) as GET /api/v1/keys lists it");
  }
  coord_req_t *q = api_coord_new(r);
  if (!q) return api_send_error3(r, 500, "internal", "out of memory");
  q->kind = COORD_KEYS;
  q->keys_op = op;
  q->keys_entry = entry;
  memcpy(q->keys_id, id, sizeof id);
  q->keys_local = local && strcmp(local, "true") == 0;
  OPENSSL_cleanse(&entry, sizeof entry);
  return api_coord_run(r, keys_answer);
}
