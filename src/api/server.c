/*
 * server.c - libmicrohttpd daemon, request lifecycle, routing and replies.
 *
 * A request is answered only after its upload has been consumed (the final
 * call of the access handler): queueing a response earlier makes
 * libmicrohttpd close the connection instead of keeping it alive. The two
 * exceptions are deliberate: a body larger than the limit is refused as soon
 * as that is known, so it is never buffered, and the connection closes.
 *
 * Per-request state (api_req_t) lives from the first call of the access
 * handler to the completion callback; a request handed to the engine is
 * counted in-flight for exactly that span, which is what shutdown waits for.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/err.h"
#include "../common/log.h"
#include "../replication/view.h"
#include "cors.h"
#include "internal.h"

#define DATA_PREFIX "/api/v1/data"

void api_iso_time(uint64_t ms, char out[32]) {
  time_t secs = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + n, 32 - n, ".%03uZ", (unsigned)(ms % 1000));
}

json_t *api_vv_json(const vv_t *v) {
  json_t *clocks = json_object();
  for (size_t i = 0; clocks && i < v->n; i++)
    json_object_set_new(clocks, v->e[i].node, json_integer((json_int_t)v->e[i].counter));
  return json_pack("{s:o*}", "clocks", clocks);
}

/* Whether the request's Origin is the page of a cluster member (cors.h). */
static const char *allowed_origin(const api_req_t *r) {
  const char *origin = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Origin");
  cors_origin_t o;
  if (!origin || !r->srv->view || !cors_parse(origin, &o)) return NULL;
  view_t *v = view_acquire(r->srv->view);
  bool ok = false;
  for (size_t i = 0; i < v->n && !ok; i++)
    ok = cors_matches(&o, v->members[i].addr.host, v->members[i].addr.port);
  view_release(v);
  return ok ? origin : NULL;
}

enum MHD_Result api_queue(api_req_t *r, int status, struct MHD_Response *resp) {
  const char *origin = r->route == ROUTE_STATIC || r->route == ROUTE_WS ? NULL : allowed_origin(r);
  if (origin) {
    MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
    MHD_add_response_header(resp, "Vary", "Origin");
    if (r->method == METHOD_OPTIONS) {
      MHD_add_response_header(resp, "Access-Control-Allow-Methods", "GET, HEAD, PUT, DELETE, POST");
      MHD_add_response_header(resp, "Access-Control-Allow-Headers",
                              "Content-Type, Authorization, X-Request-Id");
      MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
    }
  }
  if (status == 405) {
    const char *allow = r->allow                   ? r->allow
                        : r->route == ROUTE_DATA   ? "GET, PUT, DELETE"
                        : r->route == ROUTE_STATIC ? "GET, HEAD"
                                                   : "GET";
    MHD_add_response_header(resp, "Allow", allow);
  }
  if (status == 401) MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
  enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)status, resp);
  MHD_destroy_response(resp);
  r->answered = true;
  uint64_t took = clock_mono_ns() - r->t0_ns;
  metrics_observe(r->route, r->method, status, took);
  log_debug("http: %s %s%s%.*s -> %d in %.3f ms", metrics_method_name(r->method),
            metrics_route_name(r->route), r->key ? " key=" : "",
            r->key ? (int)(r->key_len > 80 ? 80 : r->key_len) : 0, r->key ? r->key : "", status,
            (double)took / 1e6);
  return ret;
}

/* A response whose body (malloc'd, or NULL) it takes over, with one extra
 * header when name is not NULL. */
static enum MHD_Result send_body(api_req_t *r, int status, char *body, size_t len, const char *content_type,
                                 const char *name, const char *value) {
  struct MHD_Response *resp = MHD_create_response_from_buffer(
      len, body ? body : (void *)"", body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
  if (!resp) {
    free(body);
    return MHD_NO;
  }
  MHD_add_response_header(resp, "Content-Type", content_type);
  if (name) MHD_add_response_header(resp, name, value);
  return api_queue(r, status, resp);
}

enum MHD_Result api_send(api_req_t *r, int status, char *body, size_t len, const char *content_type) {
  return send_body(r, status, body, len, content_type, NULL, NULL);
}

enum MHD_Result api_send_json_with(api_req_t *r, int status, json_t *v, const char *name, const char *value) {
  char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
  json_decref(v);
  if (!text) {
    static const char oom[] = "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
    char *copy = strdup(oom);
    return api_send(r, 500, copy, copy ? strlen(copy) : 0, "application/json");
  }
  return send_body(r, status, text, strlen(text), "application/json", name, value);
}

enum MHD_Result api_send_json(api_req_t *r, int status, json_t *v) {
  return api_send_json_with(r, status, v, NULL, NULL);
}

json_t *api_error_json(const char *code, const char *message) {
  return json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message);
}

enum MHD_Result api_send_error3(api_req_t *r, int status, const char *code, const char *message) {
  return api_send_json(r, status, api_error_json(code, message));
}

enum MHD_Result api_send_error(api_req_t *r, const api_error_t *e) {
  return api_send_error3(r, e->status, e->code, e->message);
}

/* Whether url is prefix itself or a path below it. */
static bool under(const char *url, const char *prefix) {
  size_t n = strlen(prefix);
  return strncmp(url, prefix, n) == 0 && (url[n] == '\0' || url[n] == '/');
}

static api_route_t route_of(const char *url) {
  if (strcmp(url, "/health") == 0) return ROUTE_HEALTH;
  if (strcmp(url, "/metrics") == 0) return ROUTE_METRICS;
  if (strcmp(url, "/api/v1/status") == 0) return ROUTE_STATUS;
  if (strcmp(url, "/api/v1/vector-clock") == 0) return ROUTE_VECTOR_CLOCK;
  if (strncmp(url, "/gossip/", 8) == 0) return ROUTE_GOSSIP;
  if (strcmp(url, "/api/v1/ring") == 0 || strncmp(url, "/api/v1/ring/", 13) == 0) return ROUTE_RING;
  if (strncmp(url, "/api/v1/cluster/", 16) == 0) return ROUTE_CLUSTER;
  if (under(url, "/api/v1/merkle-tree")) return ROUTE_MERKLE;
  if (strcmp(url, "/api/v1/repair") == 0) return ROUTE_REPAIR;
  if (strcmp(url, "/api/v1/transfers") == 0) return ROUTE_TRANSFERS;
  if (strcmp(url, "/api/v1/keys") == 0) return ROUTE_KEYS;
  if (under(url, DATA_PREFIX)) return ROUTE_DATA;
  if (strcmp(url, "/ws") == 0) return ROUTE_WS;
  /* everything outside the API's namespaces is the dashboard's */
  if (under(url, "/api") || under(url, "/gossip") || under(url, "/ws") || under(url, "/metrics") ||
      under(url, "/health"))
    return ROUTE_UNKNOWN;
  return ROUTE_STATIC;
}

static bool carries_body(api_req_t *r) {
  return r->method == METHOD_PUT || r->method == METHOD_POST || r->method == METHOD_OTHER ||
         r->method == METHOD_OPTIONS;
}

/* Constant-time comparison, so the token cannot be guessed byte by byte from timings. */
static bool same_token(const char *want, const char *got) {
  size_t wl = strlen(want), gl = strlen(got);
  unsigned diff = (unsigned)(wl ^ gl);
  for (size_t i = 0; i < wl; i++)
    diff |= (unsigned)(want[i] ^ (i < gl ? got[i] : 0));
  return diff == 0;
}

/* The Authorization header's bearer token; for /ws also ?token=, as
 * browsers cannot set headers on a WebSocket. */
static bool token_ok(const api_server_t *s, const api_req_t *r) {
  const char *got = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
  if (got && strncmp(got, "Bearer ", 7) == 0 && same_token(s->cfg->api_token, got + 7)) return true;
  got = r->route == ROUTE_WS ? MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "token") : NULL;
  return got && same_token(s->cfg->api_token, got);
}

bool api_hold(api_req_t *r) {
  /* Counted first, then the drain flag read: the drain sets the flag, then
   * reads the count (both sequentially consistent), so either it sees this
   * request or this request sees the drain, never neither. */
  atomic_fetch_add(&r->srv->inflight, 1);
  if (atomic_load(&r->srv->draining)) {
    atomic_fetch_sub(&r->srv->inflight, 1);
    return false;
  }
  atomic_store(&r->state, REQ_SUSPENDED);
  return true;
}

static enum MHD_Result dispatch(api_req_t *r, const char *url) {
  api_server_t *s = r->srv;
  if (atomic_load(&s->draining)) return api_send_error3(r, 503, "shutting_down", "the node is shutting down");
  /* the dashboard's files hold no data: they stay open like /health */
  bool open_route = r->route == ROUTE_HEALTH || r->route == ROUTE_METRICS || r->route == ROUTE_STATIC;
  /* a CORS preflight carries no credentials; it is answered for any API route */
  if (r->method == METHOD_OPTIONS && r->route != ROUTE_STATIC && r->route != ROUTE_WS)
    return api_send(r, 204, NULL, 0, "text/plain");
  if (s->cfg->api_token[0] && !open_route && !token_ok(s, r))
    return api_send_error3(r, 401, "unauthorized",
                           "a valid 'Authorization: Bearer <token>' header is required");
  bool get = r->method == METHOD_GET || r->method == METHOD_HEAD;
  switch (r->route) {
  case ROUTE_DATA:
    if (!get && r->method != METHOD_PUT && r->method != METHOD_DELETE) break;
    return api_data_begin(r, url + strlen(DATA_PREFIX));
  case ROUTE_HEALTH:
    if (get) return api_health(r);
    break;
  case ROUTE_METRICS:
    if (get) return api_metrics(r);
    break;
  case ROUTE_STATUS:
    if (get) return api_status(r);
    break;
  case ROUTE_VECTOR_CLOCK:
    if (get) return api_vector_clock(r);
    break;
  case ROUTE_GOSSIP: return api_gossip(r, url);
  case ROUTE_RING: return api_ring(r, url);
  case ROUTE_WS:
    if (r->method == METHOD_GET) return api_ws(r);
    break;
  case ROUTE_STATIC:
    if (get) return api_static(r, url);
    break;
  case ROUTE_MERKLE: return api_merkle(r, url);
  case ROUTE_REPAIR: return api_repair(r);
  case ROUTE_TRANSFERS: return api_transfers(r);
  case ROUTE_KEYS: return api_keys(r);
  case ROUTE_CLUSTER:
    if (!get) break;
    return strcmp(url, "/api/v1/cluster/events") == 0 ? api_cluster_events(r)
                                                      : api_send_error3(r, 404, "not_found", "no such route");
  default: return api_send_error3(r, 404, "not_found", "no such route");
  }
  return api_send_error3(r, 405, "method_not_allowed", "this route does not accept that method");
}

static api_req_t *req_new(api_server_t *s, struct MHD_Connection *c, const char *url, const char *method) {
  api_req_t *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->srv = s;
  r->conn = c;
  r->t0_ns = clock_mono_ns();
  r->route = route_of(url);
  r->method = metrics_method(method);
  /* JSON escapes can double a value's size; anything past this is refused unread */
  r->body_cap = 2 * s->cfg->max_value_bytes + 65536;
  buf_init(&r->body);
  api_body_init(&r->input);
  engine_job_init(&r->job);
  atomic_init(&r->state, REQ_NEW);
  atomic_init(&r->ws_slot, false);
  return r;
}

static void req_free(api_req_t *r) {
  if (atomic_load(&r->ws_slot)) ws_release(r->srv->ws); /* answered, but never upgraded */
  buf_free(&r->body);
  api_body_free(&r->input);
  engine_job_release(&r->job);
  if (r->creq) coord_result_free(&r->creq->result);
  free(r->creq);
  free(r->cursors);
  free(r->key);
  free(r);
}

/* The declared body is over the limit: refuse before reading a byte of it. */
static bool declared_too_big(api_req_t *r) {
  const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Length");
  if (!cl) return false;
  char *end = NULL;
  unsigned long long n = strtoull(cl, &end, 10);
  return end != cl && n > r->body_cap;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size,
                                  void **con_cls) {
  api_server_t *s = cls;
  api_req_t *r = *con_cls;
  if (!r) {
    r = req_new(s, c, url, method);
    if (!r) return MHD_NO;
    *con_cls = r;
    if (carries_body(r) && declared_too_big(r))
      return api_send_error3(r, 413, "value_too_large", "the body is larger than the node accepts");
    return MHD_YES;
  }
  if (*upload_size) {
    size_t n = *upload_size;
    *upload_size = 0;
    if (r->answered) return MHD_YES;
    if (r->body.len + n > r->body_cap)
      return api_send_error3(r, 413, "value_too_large", "the body is larger than the node accepts");
    buf_put(&r->body, upload, n);
    if (r->body.err) return api_send_error3(r, 500, "internal", "out of memory");
    return MHD_YES;
  }
  if (r->answered) return MHD_YES;
  if (atomic_load(&r->state) == REQ_DONE) return r->answer(r); /* set by the route that suspended */
  return dispatch(r, url);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  api_server_t *s = cls;
  api_req_t *r = *con_cls;
  if (!r) return;
  if (atomic_load(&r->state) != REQ_NEW) atomic_fetch_sub(&s->inflight, 1);
  req_free(r);
  *con_cls = NULL;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Percent-decodes the URL in place like libmicrohttpd does, except that an
 * encoded NUL becomes the overlong form C0 80: the path stays a C string and
 * the key check rejects it as invalid UTF-8 instead of silently cutting it. */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s) {
  char *w = s;
  for (const char *p = s; *p; p++) {
    int hi, lo;
    if (p[0] == '%' && (hi = hexval(p[1])) >= 0 && (lo = hexval(p[2])) >= 0) {
      int v = hi << 4 | lo;
      if (v == 0) {
        *w++ = (char)0xC0;
        *w++ = (char)0x80;
      } else {
        *w++ = (char)v;
      }
      p += 2;
    } else {
      *w++ = *p;
    }
  }
  *w = '\0';
  return (size_t)(w - s);
}

static void mhd_log(void *cls, const char *fmt, va_list ap) {
  char line[512];
  vsnprintf(line, sizeof line, fmt, ap);
  size_t n = strlen(line);
  while (n && line[n - 1] == '\n')
    line[--n] = '\0';
  log_warn("http: %s", line);
}

int api_server_create(const config_t *cfg, const char *node_id, const char *version, api_server_t **out) {
  api_server_t *s = calloc(1, sizeof *s);
  if (!s) return CHORUS_ENOMEM;
  s->cfg = cfg;
  snprintf(s->node_id, sizeof s->node_id, "%s", node_id);
  s->version = version;
  s->started_ms = clock_wall_ms();
  s->started_mono_ns = clock_mono_ns();
  atomic_init(&s->draining, false);
  atomic_init(&s->inflight, 0);
  if (cfg->tls_cert[0]) {
    int rc = tls_open(cfg->tls_cert, cfg->tls_key, &s->tls);
    if (rc) {
      free(s);
      return rc;
    }
  }
  *out = s;
  return 0;
}

int api_server_reload_tls(api_server_t *s) {
  if (!s->tls) {
    log_info("http: SIGHUP: no --tls-cert to read again");
    return 0;
  }
  return tls_reload(s->tls);
}

int api_server_start(api_server_t *s, const api_deps_t *deps) {
  s->engine = deps->engine;
  s->gossip = deps->gossip;
  s->view = deps->view;
  s->coord = deps->coord;
  s->loop_stats = deps->loop_stats;
  static_root_resolve(s->cfg->web_root, s->web_root, sizeof s->web_root);
  log_info("http: dashboard files from %s", s->web_root);
  int rc = ws_create(deps->loop, s, &s->ws);
  if (rc) return rc;
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                   MHD_ALLOW_UPGRADE | MHD_USE_ERROR_LOG | MHD_USE_TURBO;
  /* HTTPS: GnuTLS asks tls.c for the certificate at every handshake, so a
   * reload needs no restart of the daemon */
  struct MHD_OptionItem tls_opts[] = {{MHD_OPTION_HTTPS_CERT_CALLBACK, 0, (void *)tls_callback()},
                                      {MHD_OPTION_END, 0, NULL}};
  if (s->tls) {
    if (MHD_is_feature_supported(MHD_FEATURE_HTTPS_CERT_CALLBACK) != MHD_YES) {
      log_error("http: this libmicrohttpd cannot take a certificate callback; HTTPS is not available");
      return CHORUS_EINVAL;
    }
    flags |= MHD_USE_TLS;
  } else {
    tls_opts[0].option = MHD_OPTION_END;
  }
  struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, s->cfg->bind, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(s->cfg->port);
  } else if (inet_pton(AF_INET6, s->cfg->bind, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(s->cfg->port);
    flags |= MHD_USE_IPv6;
  } else {
    log_error("http: --bind %s is not an IP address", s->cfg->bind);
    return CHORUS_EINVAL;
  }
  s->daemon = MHD_start_daemon(
      flags, s->cfg->port, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
      MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE,
      (unsigned)s->cfg->http_threads, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
      MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
      MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384,
      MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
  if (!s->daemon) {
    log_error("http: cannot listen on %s:%u (in use, or no permission)", s->cfg->bind, s->cfg->port);
    return CHORUS_EIO;
  }
  return 0;
}

void api_server_drain(api_server_t *s) {
  atomic_store(&s->draining, true);
  if (s->ws) ws_shutdown(s->ws);
}

uint64_t api_server_inflight(const api_server_t *s) {
  return atomic_load(&((api_server_t *)s)->inflight) + (s->ws ? ws_open(s->ws) : 0);
}

void api_server_stop(api_server_t *s) {
  if (!s) return;
  if (s->ws) ws_close(s->ws); /* upgraded sockets go back to the daemon before it stops */
  if (s->daemon) MHD_stop_daemon(s->daemon);
  ws_free(s->ws);
  tls_free(s->tls);
  free(s);
}
