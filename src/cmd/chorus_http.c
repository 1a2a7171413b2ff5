/*
 * chorus_http.c - libcurl under the command-line client (see chorus_http.h).
 *
 * Invariants: an answer is read into a buf_t that stops growing at
 * CHORUS_HTTP_BODY_MAX (the transfer is then refused, never truncated
 * silently); curl never raises signals (CURLOPT_NOSIGNAL), so SIGINT
 * reaches the command; every request of a chorus_http_t reuses its easy
 * handle and with it the kept-alive connection.
 */
#include "chorus_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"

struct chorus_http {
  CURL *easy;
  struct curl_slist *headers; /* those of chorus_http_setup */
  chorus_http_opts_t opts;
  volatile sig_atomic_t *abort_flag; /* NULL: never aborted */
  bool too_big;                      /* the current answer passed CHORUS_HTTP_BODY_MAX */
};

int chorus_http_base_url(const char *node, char *out, size_t cap) {
  if (!node || !node[0]) return CHORUS_EINVAL;
  const char *scheme = "http://";
  const char *rest = node;
  if (strncmp(node, "http://", 7) == 0) {
    rest = node + 7;
  } else if (strncmp(node, "https://", 8) == 0) {
    scheme = "https://";
    rest = node + 8;
  } else if (strstr(node, "://")) {
    return CHORUS_EINVAL;
  }
  size_t n = strlen(rest);
  while (n > 0 && rest[n - 1] == '/')
    n--;
  if (n == 0 || memchr(rest, '/', n) || memchr(rest, ' ', n)) return CHORUS_EINVAL;
  /* a bare host gets the default port; an IPv6 literal is written [::1]:8081 */
  const char *colon = memrchr(rest, ':', n);
  bool has_port = colon && (rest[0] != '[' || colon > (const char *)memchr(rest, ']', n));
  int len = snprintf(out, cap, "%s%.*s%s", scheme, (int)n, rest, has_port ? "" : ":8081");
  return len < 0 || (size_t)len >= cap ? CHORUS_EINVAL : 0;
}

static int slist_add(struct curl_slist **l, const char *s) {
  struct curl_slist *more = curl_slist_append(*l, s);
  if (!more) return CHORUS_ENOMEM;
  *l = more;
  return 0;
}

int chorus_http_setup(CURL *e, const chorus_http_opts_t *o, struct curl_slist **headers) {
  *headers = NULL;
  CURLcode c = CURLE_OK;
  c |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  c |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o->timeout_ms);
  c |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, o->timeout_ms);
  c |= curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
  c |= curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  c |= curl_easy_setopt(e, CURLOPT_USERAGENT, "chorus");
  c |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  if (o->cacert[0]) c |= curl_easy_setopt(e, CURLOPT_CAINFO, o->cacert);
  if (o->insecure) {
    c |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    c |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (c != CURLE_OK) return CHORUS_EINVAL;
  /* curl waits for "100 Continue" before sending a large body; the node never asks for that pause */
  int rc = slist_add(headers, "Expect:");
  if (!rc) rc = slist_add(headers, "Content-Type: application/json");
  if (!rc && o->token[0]) {
    char auth[CHORUS_HTTP_TOKEN_MAX + 32];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", o->token);
    rc = slist_add(headers, auth);
  }
  if (rc) {
    curl_slist_free_all(*headers);
    *headers = NULL;
  }
  return rc;
}

static size_t on_body(char *p, size_t size, size_t n, void *user) {
  chorus_http_t *h = user;
  chorus_reply_t *rep = NULL;
  curl_easy_getinfo(h->easy, CURLINFO_PRIVATE, (char **)&rep);
  size_t len = size * n;
  if (!rep || len > CHORUS_HTTP_BODY_MAX - rep->body.len) {
    h->too_big = true;
    return 0; /* ends the transfer with CURLE_WRITE_ERROR */
  }
  buf_put(&rep->body, p, len);
  return rep->body.err ? 0 : len;
}

static int on_progress(void *user, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un) {
  const chorus_http_t *h = user;
  return h->abort_flag && *h->abort_flag ? 1 : 0;
}

int chorus_http_new(const chorus_http_opts_t *o, chorus_http_t **out) {
  chorus_http_t *h = calloc(1, sizeof *h);
  if (!h) return CHORUS_ENOMEM;
  h->opts = *o;
  h->easy = curl_easy_init();
  int rc = h->easy ? chorus_http_setup(h->easy, o, &h->headers) : CHORUS_ENOMEM;
  if (rc) goto fail;
  CURLcode c = curl_easy_setopt(h->easy, CURLOPT_WRITEFUNCTION, on_body);
  c |= curl_easy_setopt(h->easy, CURLOPT_WRITEDATA, h);
  c |= curl_easy_setopt(h->easy, CURLOPT_XFERINFOFUNCTION, on_progress);
  c |= curl_easy_setopt(h->easy, CURLOPT_XFERINFODATA, h);
  c |= curl_easy_setopt(h->easy, CURLOPT_NOPROGRESS, 0L);
  if (c != CURLE_OK) {
    rc = CHORUS_EINVAL;
    goto fail;
  }
  *out = h;
  return 0;
fail:
  chorus_http_free(h);
  return rc;
}

void chorus_http_free(chorus_http_t *h) {
  if (!h) return;
  if (h->easy) curl_easy_cleanup(h->easy);
  curl_slist_free_all(h->headers);
  free(h);
}

const chorus_http_opts_t *chorus_http_opts(const chorus_http_t *h) {
  return &h->opts;
}

void chorus_http_abort_on(chorus_http_t *h, volatile sig_atomic_t *flag) {
  h->abort_flag = flag;
}

void chorus_reply_init(chorus_reply_t *r) {
  r->status = 0;
  buf_init(&r->body);
  r->json = NULL;
  r->error[0] = '\0';
}

void chorus_reply_free(chorus_reply_t *r) {
  buf_free(&r->body);
  json_decref(r->json);
  chorus_reply_init(r);
}

const char *chorus_json_str(const json_t *obj, const char *name) {
  return json_string_value(json_object_get(obj, name));
}

const char *chorus_reply_code(const chorus_reply_t *r) {
  const char *s = chorus_json_str(json_object_get(r->json, "error"), "code");
  return s ? s : "";
}

const char *chorus_reply_message(const chorus_reply_t *r) {
  const char *s = chorus_json_str(json_object_get(r->json, "error"), "message");
  return s ? s : "";
}

static int transport_error(chorus_http_t *h, CURLcode c) {
  switch (c) {
  case CURLE_OPERATION_TIMEDOUT: return CHORUS_ETIMEDOUT;
  case CURLE_OUT_OF_MEMORY: return CHORUS_ENOMEM;
  case CURLE_ABORTED_BY_CALLBACK: return CHORUS_ESHUTDOWN;
  case CURLE_WRITE_ERROR: return h->too_big ? CHORUS_ETOOBIG : CHORUS_ENOMEM;
  default: return CHORUS_EIO;
  }
}

int chorus_http_do(chorus_http_t *h, const char *method, const char *path, const char *body,
                   const char *const *headers, chorus_reply_t *rep) {
  chorus_reply_free(rep);
  char url[CHORUS_HTTP_URL_MAX + CHORUS_HTTP_PATH_MAX];
  int n = snprintf(url, sizeof url, "%s%s", h->opts.base, path);
  if (n < 0 || (size_t)n >= sizeof url) return CHORUS_ETOOBIG;
  /* this request's own headers, then copies of the common ones; freed with extra */
  struct curl_slist *list = h->headers, *extra = NULL;
  if (headers && headers[0]) {
    int rc = 0;
    for (size_t i = 0; !rc && headers[i]; i++)
      rc = slist_add(&extra, headers[i]);
    for (const struct curl_slist *l = h->headers; !rc && l; l = l->next)
      rc = slist_add(&extra, l->data);
    if (rc) {
      curl_slist_free_all(extra);
      return rc;
    }
    list = extra;
  }
  h->too_big = false;
  CURL *e = h->easy;
  CURLcode c = curl_easy_setopt(e, CURLOPT_URL, url);
  c |= curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)rep);
  c |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, list);
  c |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, rep->error);
  if (body) {
    c |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    c |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
  } else {
    c |= curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  }
  c |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, strcmp(method, "GET") == 0 ? NULL : method);
  int rc = c == CURLE_OK ? 0 : CHORUS_EINVAL;
  if (!rc) {
    c = curl_easy_perform(e);
    if (c != CURLE_OK) {
      if (!rep->error[0]) snprintf(rep->error, sizeof rep->error, "%s", curl_easy_strerror(c));
      rc = transport_error(h, c);
    }
  }
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->headers);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL);
  curl_slist_free_all(extra);
  if (rc) return rc;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &rep->status);
  buf_put_u8(&rep->body, 0); /* a terminator for printing, not counted in len */
  if (rep->body.err) return CHORUS_ENOMEM;
  rep->body.len--;
  json_t *j = json_loadb((const char *)rep->body.data, rep->body.len, 0, NULL);
  if (json_is_object(j))
    rep->json = j;
  else
    json_decref(j);
  return 0;
}

int chorus_http_key_path(const char *prefix, const char *key, const char *query, char *out, size_t cap) {
  char *esc = curl_easy_escape(NULL, key, (int)strnlen(key, CHORUS_HTTP_PATH_MAX));
  if (!esc) return CHORUS_ENOMEM;
  int n = snprintf(out, cap, "%s%s%s%s", prefix, esc, query && query[0] ? "?" : "", query ? query : "");
  curl_free(esc);
  return n < 0 || (size_t)n >= cap ? CHORUS_ETOOBIG : 0;
}
