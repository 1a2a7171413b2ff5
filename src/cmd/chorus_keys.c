/*
 * chorus_keys.c - `chorus keys`: the gossip and peer encryption keys of
 * every live member, and their rotation (POST /api/v1/keys), as `consul
 * keyring` and `serf keys` do it:
 *   chorus keys                      every member's keyring, by key id
 *   chorus keys install KEY          every member can now open KEY
 *   chorus keys use KEY|ID           every member sends with it
 *   chorus keys remove KEY|ID        KEY is refused from then on
 * --local changes or lists the asked node only. KEY is the base64 of 32
 * bytes, or "none" (plaintext); the node names keys by id only.
 */
#include <stdio.h>
#include <string.h>

#include "chorus_cmd.h"
#include "chorus_exit.h"
#include "chorus_table.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Keys by id with the members holding each, then members that did not answer. */
static int show_keyrings(const json_t *j) {
  static const char *const heads[] = {"KEY", "MEMBERS", "PRIMARY ON"};
  static const char *const fields[] = {"id", "members", "primary_on"};
  json_int_t asked = json_integer_value(json_object_get(j, "members_asked"));
  int rc = chorus_table_objects(stdout, json_object_get(j, "keys"), N_OF(heads), heads, fields);
  printf("%" JSON_INTEGER_FORMAT " members asked%s\n", asked,
         json_is_true(json_object_get(j, "local")) ? " (this node only)" : "");
  const char *node;
  const json_t *m;
  json_object_foreach((json_t *)json_object_get(j, "members"), node, m) {
    const char *err = chorus_json_str(m, "error");
    if (err) printf("  %s did not answer: %s\n", node, err);
  }
  return rc ? chorus_exit_fail(CHORUS_EXIT_SERVER, "cannot print the table") : 0;
}

int chorus_keys_run(const chorus_run_t *run) {
  const chorus_opts_t *o = run->opts;
  const char *op = o->nargs > 0 ? o->args[0] : "list";
  bool list = strcmp(op, "list") == 0;
  if (!list && strcmp(op, "install") && strcmp(op, "use") && strcmp(op, "remove"))
    return chorus_exit_fail(CHORUS_EXIT_USAGE, "keys: unknown operation %s (list, install, use, remove)", op);
  if (list != (o->nargs < 2))
    return chorus_exit_fail(CHORUS_EXIT_USAGE, list ? "keys list takes no key" : "keys %s needs a KEY", op);
  const char *path = o->local ? "/api/v1/keys?local=true" : "/api/v1/keys";
  chorus_reply_t rep;
  chorus_reply_init(&rep);
  int rc;
  if (list) {
    rc = chorus_http_do(run->http, "GET", path, NULL, NULL, &rep);
  } else {
    json_t *body = json_pack("{s:s,s:s}", "op", op, "key", o->args[1]);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) {
      chorus_reply_free(&rep);
      return chorus_exit_fail(CHORUS_EXIT_SERVER, "out of memory");
    }
    rc = chorus_http_do(run->http, "POST", path, text, NULL, &rep);
    memset(text, 0, strlen(text)); /* it holds the key */
    free(text);
  }
  /* the members' keyrings come with refusals too: they say which member is in the way */
  if (!rc && o->json && rep.body.len) printf("%.*s\n", (int)rep.body.len, (const char *)rep.body.data);
  if (!rc && !o->json && rep.json && json_object_get(rep.json, "keys")) {
    if (!list)
      printf("%s %s: %s\n", op, chorus_json_str(rep.json, "key") ? chorus_json_str(rep.json, "key") : "?",
             json_is_true(json_object_get(rep.json, "complete")) ? "done on every member asked"
                                                                 : "not done everywhere");
    show_keyrings(rep.json);
  }
  int code = chorus_exit_report(list ? "keys" : op, rc, &rep, chorus_http_opts(run->http));
  chorus_reply_free(&rep);
  return code;
}
