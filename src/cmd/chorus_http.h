/*
 * chorus_http.h - the command-line client's HTTP: libcurl easy handles set
 * up one way (node URL, token, timeout, TLS trust) and answers read into a
 * bounded buffer and parsed as JSON.
 *
 * A chorus_http_t is one easy handle, reused for every request of a
 * command, so a read-then-write goes over one kept-alive connection. The
 * bench drives its own easy handles from a multi handle and shares only
 * chorus_http_setup(). Nothing here prints: callers turn a result into
 * output or an exit code (chorus_exit.h).
 */
#ifndef CHORUS_CMD_HTTP_H
#define CHORUS_CMD_HTTP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>
#include <jansson.h>

#include "../common/buf.h"

#define CHORUS_HTTP_URL_MAX 512
#define CHORUS_HTTP_TOKEN_MAX 256
#define CHORUS_HTTP_PATH_MAX 4096
/* The largest answer read: above the largest value a node accepts as JSON (2 x 1 MiB + 64 KiB by
 * default), with room for a larger --max-value-bytes; a longer answer is an error, not truncated. */
#define CHORUS_HTTP_BODY_MAX (64u << 20)

typedef struct {
  char base[CHORUS_HTTP_URL_MAX];    /* "http://host:port" or "https://...", no trailing slash */
  char token[CHORUS_HTTP_TOKEN_MAX]; /* "" = send no Authorization header */
  char cacert[4096];                 /* "" = the system's trust store */
  long timeout_ms;                   /* whole request; > 0 */
  bool insecure;                     /* do not verify the server's certificate */
} chorus_http_opts_t;

typedef struct {
  long status;                 /* HTTP status; 0 when no answer came */
  buf_t body;                  /* the answer's bytes, NUL-terminated past len when non-empty */
  json_t *json;                /* the body parsed, when it is a JSON object; owned */
  char error[CURL_ERROR_SIZE]; /* why no answer came */
} chorus_reply_t;

typedef struct chorus_http chorus_http_t;

/* Turns "HOST:PORT", "HOST" (port 8081) or "http(s)://host:port[/]" into a
 * base URL. CHORUS_EINVAL for an empty or over-long address, or a scheme
 * other than http and https. */
int chorus_http_base_url(const char *node, char *out, size_t cap);

/* Applies the options common to every request (timeouts, TLS trust, no
 * signals, keep-alive) to e, and builds into *headers the header list every
 * request carries (Authorization when a token is set, no Expect:); the
 * caller frees it with curl_slist_free_all after e is done. */
int chorus_http_setup(CURL *e, const chorus_http_opts_t *o, struct curl_slist **headers);

/* *out is owned by the caller (chorus_http_free). */
int chorus_http_new(const chorus_http_opts_t *o, chorus_http_t **out);
void chorus_http_free(chorus_http_t *h);
const chorus_http_opts_t *chorus_http_opts(const chorus_http_t *h);
/* A request in progress ends (CHORUS_ESHUTDOWN) once *flag becomes non-zero: SIGINT during
 * `events --follow`. */
void chorus_http_abort_on(chorus_http_t *h, volatile sig_atomic_t *flag);

void chorus_reply_init(chorus_reply_t *r);
void chorus_reply_free(chorus_reply_t *r); /* and re-initialises */
/* The JSON string at obj[name], or NULL. */
const char *chorus_json_str(const json_t *obj, const char *name);
/* The server's error object's code and message ("" when absent). */
const char *chorus_reply_code(const chorus_reply_t *r);
const char *chorus_reply_message(const chorus_reply_t *r);

/* One request: method on base + path (path starts with '/' and is already
 * escaped), with body (NUL-terminated JSON, or NULL) and extra headers
 * ("Name: value", NULL-terminated list, or NULL). The previous contents of
 * *rep are freed. Returns 0 when the node answered, whatever the status;
 * CHORUS_EIO when it could not be reached or the exchange broke off,
 * CHORUS_ETIMEDOUT after timeout_ms, CHORUS_ETOOBIG for an answer over
 * CHORUS_HTTP_BODY_MAX, CHORUS_ESHUTDOWN when aborted, CHORUS_ENOMEM. */
int chorus_http_do(chorus_http_t *h, const char *method, const char *path, const char *body,
                   const char *const *headers, chorus_reply_t *rep);

/* "<prefix><key escaped>[?<query>]" into out (cap bytes): every byte of the
 * key but A-Z a-z 0-9 - . _ ~ is percent-encoded, so the node reads the key
 * back byte for byte. CHORUS_ETOOBIG when it does not fit. */
int chorus_http_key_path(const char *prefix, const char *key, const char *query, char *out, size_t cap);

#endif
