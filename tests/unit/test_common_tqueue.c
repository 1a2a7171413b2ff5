/*
 * test_common_tqueue.c - the thread-to-thread FIFO: order, bounded takes
 * with items that run alone, close with and without draining, waits that
 * time out, and producers on several threads losing nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>

#include "common/err.h"
#include "common/tqueue.h"

typedef struct item {
  int v;
  bool alone;
  struct item *next;
} item_t;

static bool is_alone(const void *p) {
  return ((const item_t *)p)->alone;
}

static int values(const tqueue_t *q, const item_t *list, int *out, int max) {
  int n = 0;
  for (const item_t *i = list; i && n < max; i = tqueue_next(q, i))
    out[n++] = i->v;
  return n;
}

static void test_items_come_out_in_push_order(void **state) {
  tqueue_t q;
  assert_int_equal(tqueue_init(&q, offsetof(item_t, next)), 0);
  item_t it[5];
  for (int i = 0; i < 5; i++) {
    it[i] = (item_t){.v = i};
    bool was_empty = false;
    assert_int_equal(tqueue_push(&q, &it[i], &was_empty), 0);
    assert_int_equal(was_empty, i == 0);
  }
  int got[8];
  assert_int_equal(values(&q, tqueue_take_all(&q), got, 8), 5);
  for (int i = 0; i < 5; i++)
    assert_int_equal(got[i], i);
  assert_null(tqueue_take_all(&q));
  tqueue_destroy(&q);
}

static void test_take_is_bounded_and_an_alone_item_is_taken_by_itself(void **state) {
  tqueue_t q;
  assert_int_equal(tqueue_init(&q, offsetof(item_t, next)), 0);
  item_t it[7];
  for (int i = 0; i < 7; i++) {
    it[i] = (item_t){.v = i, .alone = i == 3};
    assert_int_equal(tqueue_push(&q, &it[i], NULL), 0);
  }
  size_t n;
  int got[8];
  item_t *g = tqueue_take(&q, 2, is_alone, &n);
  assert_int_equal(n, 2);
  assert_int_equal(values(&q, g, got, 8), 2);
  assert_int_equal(got[1], 1);
  g = tqueue_take(&q, 10, is_alone, &n); /* stops before the alone item */
  assert_int_equal(n, 1);
  assert_int_equal(g->v, 2);
  assert_null(g->next);
  g = tqueue_take(&q, 10, is_alone, &n);
  assert_int_equal(n, 1);
  assert_int_equal(g->v, 3);
  g = tqueue_take(&q, 10, is_alone, &n);
  assert_int_equal(n, 3);
  assert_int_equal(values(&q, g, got, 8), 3);
  assert_int_equal(got[2], 6);
  assert_null(tqueue_take(&q, 10, is_alone, &n));
  assert_int_equal(n, 0);
  /* the queue is usable again after it ran empty */
  assert_int_equal(tqueue_push(&q, &it[0], NULL), 0);
  assert_ptr_equal(tqueue_take(&q, 1, NULL, &n), &it[0]);
  tqueue_destroy(&q);
}

static void test_close_refuses_pushes_and_hands_back_or_keeps_what_is_left(void **state) {
  tqueue_t q;
  assert_int_equal(tqueue_init(&q, offsetof(item_t, next)), 0);
  item_t a = {.v = 1}, b = {.v = 2};
  assert_int_equal(tqueue_push(&q, &a, NULL), 0);
  assert_null(tqueue_close(&q, false));
  assert_int_equal(tqueue_push(&q, &b, NULL), CHORUS_ESHUTDOWN);
  assert_int_equal(tqueue_wait(&q, 0), TQUEUE_ITEMS); /* closed, but not drained */
  size_t n;
  assert_ptr_equal(tqueue_take(&q, 5, NULL, &n), &a);
  assert_int_equal(tqueue_wait(&q, UINT64_MAX), TQUEUE_CLOSED);
  tqueue_destroy(&q);

  assert_int_equal(tqueue_init(&q, offsetof(item_t, next)), 0);
  assert_int_equal(tqueue_push(&q, &a, NULL), 0);
  assert_int_equal(tqueue_push(&q, &b, NULL), 0);
  item_t *left = tqueue_close(&q, true);
  assert_ptr_equal(left, &a);
  assert_ptr_equal(left->next, &b);
  assert_null(tqueue_take_all(&q));
  tqueue_destroy(&q);
}

static void test_wait_times_out_on_an_empty_queue(void **state) {
  tqueue_t q;
  assert_int_equal(tqueue_init(&q, offsetof(item_t, next)), 0);
  assert_int_equal(tqueue_wait(&q, 5), TQUEUE_TIMEOUT);
  tqueue_destroy(&q);
}

enum { PRODUCERS = 4, PER_PRODUCER = 20000 };

typedef struct {
  tqueue_t *q;
  item_t *items;
} producer_t;

static void *produce(void *arg) {
  producer_t *p = arg;
  for (int i = 0; i < PER_PRODUCER; i++)
    if (tqueue_push(p->q, &p->items[i], NULL) != 0) abort();
  return NULL;
}

/* A consumer asleep in tqueue_wait gets every item of every producer, each
 * producer's in its own order. */
static void test_producers_on_threads_lose_nothing_and_keep_their_order(void **state) {
  tqueue_t q;
  assert_int_equal(tqueue_init(&q, offsetof(item_t, next)), 0);
  static item_t items[PRODUCERS][PER_PRODUCER];
  producer_t prod[PRODUCERS];
  pthread_t th[PRODUCERS];
  for (int p = 0; p < PRODUCERS; p++) {
    for (int i = 0; i < PER_PRODUCER; i++)
      items[p][i] = (item_t){.v = p * PER_PRODUCER + i};
    prod[p] = (producer_t){&q, items[p]};
    assert_int_equal(pthread_create(&th[p], NULL, produce, &prod[p]), 0);
  }
  int last[PRODUCERS] = {-1, -1, -1, -1};
  int total = 0;
  while (total < PRODUCERS * PER_PRODUCER) {
    assert_int_equal(tqueue_wait(&q, UINT64_MAX), TQUEUE_ITEMS);
    size_t n;
    for (item_t *i = tqueue_take(&q, 256, NULL, &n); i; i = i->next) {
      int p = i->v / PER_PRODUCER, k = i->v % PER_PRODUCER;
      assert_int_equal(k, last[p] + 1);
      last[p] = k;
      total++;
    }
  }
  for (int p = 0; p < PRODUCERS; p++)
    pthread_join(th[p], NULL);
  assert_null(tqueue_take_all(&q));
  tqueue_destroy(&q);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_items_come_out_in_push_order),
      cmocka_unit_test(test_take_is_bounded_and_an_alone_item_is_taken_by_itself),
      cmocka_unit_test(test_close_refuses_pushes_and_hands_back_or_keeps_what_is_left),
      cmocka_unit_test(test_wait_times_out_on_an_empty_queue),
      cmocka_unit_test(test_producers_on_threads_lose_nothing_and_keep_their_order),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
