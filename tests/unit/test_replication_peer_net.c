/*
 * test_replication_peer_net.c - the peer transport between two endpoints
 * in one process over loopback: request and reply matched by id, pipelined
 * requests, timeouts, refused connections and their backoff, sealing with
 * the cluster key (a wrong key is dropped and counted), and close failing
 * what is in flight.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/err.h"
#include "replication/peer_net.h"

#define KEY_A "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define KEY_B "HxwdHhscGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA="

typedef struct {
  config_t cfg;
  keyring_t keys;
  peer_net_t *net;
  int requests;      /* requests served */
  bool answer;       /* answer them (else stay silent) */
  peer_conn_t *held; /* a request kept for a later answer */
  uint64_t held_id;
} end_t;

typedef struct {
  int calls, status;
  peer_type_t type;
  int32_t ack_status;
  uint64_t order; /* completion order */
} result_t;

static uint64_t completions;

static void on_reply(int status, const peer_msg_t *reply, void *arg) {
  result_t *r = arg;
  r->calls++;
  r->status = status;
  r->order = ++completions;
  if (reply) {
    r->type = reply->type;
    if (reply->type == PEER_REPLICATE_ACK) r->ack_status = reply->replicate_ack.status;
  }
}

static void on_request(peer_conn_t *conn, const peer_msg_t *req, void *state) {
  end_t *e = state;
  e->requests++;
  if (!e->answer) return;
  peer_msg_t m;
  peer_msg_init(&m);
  m.type = PEER_REPLICATE_ACK;
  m.replicate_ack.status = -(int32_t)req->replicate.key.len; /* echo something of the request */
  assert_int_equal(peer_net_respond(conn, req->req_id, &m), 0);
  peer_msg_free(&m);
}

/* A loopback port where nothing accepts: bound, never listening (fd kept open by the caller). */
static uint16_t refusing_port(int *fd) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof sa;
  *fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(*fd >= 0);
  assert_int_equal(bind(*fd, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal(getsockname(*fd, (struct sockaddr *)&sa, &len), 0);
  return ntohs(sa.sin_port);
}

static void end_start(end_t *e, uv_loop_t *loop, const char *id, const char *key) {
  memset(e, 0, sizeof *e);
  config_defaults(&e->cfg);
  snprintf(e->cfg.bind, sizeof e->cfg.bind, "127.0.0.1");
  e->cfg.peer_port = 0; /* any free port */
  uint8_t raw[SEAL_KEY_BYTES];
  if (key) assert_int_equal(seal_key_parse(key, raw), 0);
  keyring_init(&e->keys, key ? raw : NULL);
  e->answer = true;
  peer_net_opts_t o = {.cfg = &e->cfg, .node_id = id, .keyring = &e->keys, .on_request = on_request, .state = e};
  assert_int_equal(peer_net_start(loop, &o, &e->net), 0);
  e->cfg.peer_port = peer_net_port(e->net);
  assert_true(e->cfg.peer_port != 0);
}

/* A fresh loop with two ends, "a" and "b", without a cluster key. */
static void pair_start(uv_loop_t *loop, end_t *a, end_t *b) {
  uv_loop_init(loop);
  end_start(a, loop, "a", NULL);
  end_start(b, loop, "b", NULL);
}

static swim_addr_t addr_of(const end_t *e) {
  swim_addr_t a;
  memset(&a, 0, sizeof a);
  snprintf(a.host, sizeof a.host, "127.0.0.1");
  a.peer_port = e->cfg.peer_port;
  return a;
}

static void send_replicate(end_t *from, const swim_addr_t *to, const char *key, uint64_t timeout, result_t *r) {
  peer_msg_t m;
  peer_msg_init(&m);
  m.type = PEER_REPLICATE;
  m.replicate.op = PEER_OP_PUT;
  m.replicate.key = (peer_bytes_t){(const uint8_t *)key, strlen(key)};
  m.replicate.record = (peer_bytes_t){(const uint8_t *)"rec", 3};
  assert_int_equal(peer_net_request(from->net, to, &m, timeout, on_reply, r), 0);
  peer_msg_free(&m);
}

/* Runs the loop until cond holds or 5 s pass. */
static void run_until(uv_loop_t *loop, bool (*cond)(void *), void *arg) {
  uint64_t end = uv_now(loop) + 5000;
  while (!cond(arg) && uv_now(loop) < end) {
    uv_run(loop, UV_RUN_ONCE);
    uv_update_time(loop);
  }
}

static bool called(void *arg) {
  return ((result_t *)arg)->calls > 0;
}

typedef struct {
  result_t *r;
  size_t n;
} results_t;

static bool all_called(void *arg) {
  results_t *rs = arg;
  for (size_t i = 0; i < rs->n; i++)
    if (!rs->r[i].calls) return false;
  return true;
}

static void close_all(uv_loop_t *loop, end_t *a, end_t *b) {
  peer_net_close(a->net);
  if (b) peer_net_close(b->net);
  uv_run(loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(loop), 0);
}

static void test_request_gets_its_reply(void **state) {
  uv_loop_t loop;
  end_t a, b;
  pair_start(&loop, &a, &b);
  swim_addr_t to = addr_of(&b);
  result_t r = {0};
  send_replicate(&a, &to, "key-7", 2000, &r);
  run_until(&loop, called, &r);
  assert_int_equal(r.calls, 1);
  assert_int_equal(r.status, 0);
  assert_int_equal(r.type, PEER_REPLICATE_ACK);
  assert_int_equal(r.ack_status, -5);
  assert_int_equal(b.requests, 1);
  assert_true(atomic_load(&peer_net_counters(a.net)->connects) == 1);
  close_all(&loop, &a, &b);
}

static void test_pipelined_requests_each_get_their_own_reply(void **state) {
  uv_loop_t loop;
  end_t a, b;
  pair_start(&loop, &a, &b);
  swim_addr_t to = addr_of(&b);
  result_t r[50];
  memset(r, 0, sizeof r);
  char key[16];
  for (int i = 0; i < 50; i++) {
    snprintf(key, sizeof key, "%.*s", i % 10 + 1, "kkkkkkkkkk");
    send_replicate(&a, &to, key, 2000, &r[i]);
  }
  results_t rs = {r, 50};
  run_until(&loop, all_called, &rs);
  for (int i = 0; i < 50; i++) {
    assert_int_equal(r[i].calls, 1);
    assert_int_equal(r[i].status, 0);
    assert_int_equal(r[i].ack_status, -(i % 10 + 1));
  }
  assert_true(atomic_load(&peer_net_counters(a.net)->connects) == 1); /* one connection carried them all */
  close_all(&loop, &a, &b);
}

static void test_silent_peer_times_out(void **state) {
  uv_loop_t loop;
  end_t a, b;
  pair_start(&loop, &a, &b);
  b.answer = false;
  swim_addr_t to = addr_of(&b);
  result_t r = {0};
  uint64_t t0 = uv_now(&loop);
  send_replicate(&a, &to, "k", 200, &r);
  run_until(&loop, called, &r);
  assert_int_equal(r.status, CHORUS_ETIMEDOUT);
  assert_true(uv_now(&loop) - t0 >= 200);
  assert_int_equal(b.requests, 1);
  assert_true(atomic_load(&peer_net_counters(a.net)->timeouts) == 1);
  close_all(&loop, &a, &b);
}

static void test_refused_connection_fails_and_backs_off(void **state) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  end_t a;
  end_start(&a, &loop, "a", NULL);
  swim_addr_t nobody;
  memset(&nobody, 0, sizeof nobody);
  snprintf(nobody.host, sizeof nobody.host, "127.0.0.1");
  int fd;
  nobody.peer_port = refusing_port(&fd); /* nothing listens there */
  result_t r1 = {0}, r2 = {0};
  send_replicate(&a, &nobody, "k", 2000, &r1);
  run_until(&loop, called, &r1);
  assert_int_equal(r1.status, CHORUS_EIO);
  /* In backoff: the next request fails at once, without a connection attempt. */
  send_replicate(&a, &nobody, "k", 2000, &r2);
  assert_int_equal(r2.calls, 1);
  assert_int_equal(r2.status, CHORUS_EIO);
  assert_true(atomic_load(&peer_net_counters(a.net)->connect_failures) == 1);
  close(fd);
  close_all(&loop, &a, NULL);
}

static void test_sealed_frames_pass_with_the_same_key_and_drop_with_another(void **state) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  end_t a, b, c;
  end_start(&a, &loop, "a", KEY_A);
  end_start(&b, &loop, "b", KEY_A);
  end_start(&c, &loop, "c", KEY_B);
  result_t ok = {0}, bad = {0};
  swim_addr_t to_b = addr_of(&b), to_c = addr_of(&c);
  send_replicate(&a, &to_b, "kk", 2000, &ok);
  run_until(&loop, called, &ok);
  assert_int_equal(ok.status, 0);
  assert_int_equal(ok.ack_status, -2);
  send_replicate(&a, &to_c, "kk", 2000, &bad);
  run_until(&loop, called, &bad);
  assert_int_equal(bad.status, CHORUS_EIO); /* c closed the connection */
  assert_int_equal(c.requests, 0);
  assert_true(atomic_load(&peer_net_counters(c.net)->dropped_auth) == 1);
  peer_net_close(c.net);
  close_all(&loop, &a, &b);
}

static void test_close_fails_requests_in_flight_once(void **state) {
  uv_loop_t loop;
  end_t a, b;
  pair_start(&loop, &a, &b);
  b.answer = false;
  swim_addr_t to = addr_of(&b);
  result_t r = {0};
  send_replicate(&a, &to, "k", 5000, &r);
  for (int i = 0; i < 20 && b.requests == 0; i++)
    uv_run(&loop, UV_RUN_NOWAIT);
  peer_net_close(a.net);
  assert_int_equal(r.calls, 1);
  assert_int_equal(r.status, CHORUS_ESHUTDOWN);
  peer_net_close(b.net);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(r.calls, 1);
  assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_request_rejects_reply_types_and_bad_arguments(void **state) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  end_t a;
  end_start(&a, &loop, "a", NULL);
  swim_addr_t to = addr_of(&a);
  peer_msg_t m;
  peer_msg_init(&m);
  m.type = PEER_REPLICATE_ACK;
  result_t r = {0};
  assert_int_equal(peer_net_request(a.net, &to, &m, 100, on_reply, &r), CHORUS_EINVAL);
  m.type = PEER_PING;
  assert_int_equal(peer_net_request(a.net, NULL, &m, 100, on_reply, &r), CHORUS_EINVAL);
  assert_int_equal(r.calls, 0);
  peer_msg_free(&m);
  close_all(&loop, &a, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_request_gets_its_reply),
      cmocka_unit_test(test_pipelined_requests_each_get_their_own_reply),
      cmocka_unit_test(test_silent_peer_times_out),
      cmocka_unit_test(test_refused_connection_fails_and_backs_off),
      cmocka_unit_test(test_sealed_frames_pass_with_the_same_key_and_drop_with_another),
      cmocka_unit_test(test_close_fails_requests_in_flight_once),
      cmocka_unit_test(test_request_rejects_reply_types_and_bad_arguments),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
