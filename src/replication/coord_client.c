/*
 * coord_client.c - coordinating client requests (see coord.h): the plan
 * (plan.h) says who takes part, the quorum tracker (quorum.h) when to
 * answer; this file sends the messages, submits the local jobs and keeps
 * each op until everything it started has come back.
 *
 * Writes: the local apply comes first (its state, with this node's new dot,
 * is what the replicas merge); then one PEER_REPLICATE per other target in
 * parallel, and a local hint job per owner without a fallback. The answer
 * goes out at the verdict, but not while a hint job the op started is out:
 * the reply names the coordinator in hinted_nodes only for hints that were
 * committed (one may be refused: out of memory, --max-hints reached), so
 * the last hint job back answers. Later acks are still counted for the log.
 *
 * Out of memory never changes a result silently: a request whose inputs
 * cannot be copied fails, a target whose message cannot be built counts as
 * failed, a reply whose state cannot be merged counts as failed, and a
 * repair that was not sent is not reported.
 *
 * Reads: every live replica is asked at once (this node through its own
 * engine); replies are merged with dvv_sync as they come. At the verdict
 * the answer goes out and the replies so far that lack something of the
 * merge are repaired; once every reply is in, any replica still behind the
 * final merge is repaired too.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/err.h"
#include "../common/log.h"
#include "../storage/context.h"
#include "coord_internal.h"

typedef struct {
  op_t *op;
  size_t idx;
} call_t;

bool coord_view_up(const char *id, void *view) {
  return view_is_up(view, id);
}

static uint64_t now_ms(coord_t *c) {
  return c->env.now_ms(c->env.state);
}

/* ---- op lifetime ---- */

static void op_free(op_t *op) {
  coord_t *c = op->c;
  if (op->prev)
    op->prev->next = op->next;
  else
    c->ops = op->next;
  if (op->next) op->next->prev = op->prev;
  view_release(op->view);
  free(op->key);
  free(op->value);
  vv_free(&op->ctx);
  vv_free(&op->clock);
  dvv_free(&op->state);
  dvv_dots_free(&op->replaced);
  buf_free(&op->record);
  for (size_t i = 0; i < QUORUM_MAX_TARGETS; i++)
    dvv_free(&op->got[i]);
  if (c->n_spare_ops < COORD_SPARE_OPS && !c->closing) {
    c->spare_ops[c->n_spare_ops++] = op; /* reused: ops are large, malloc of big chunks is not cheap */
    return;
  }
  free(op);
}

static void final_repairs(op_t *op);
static void repair(op_t *op, size_t idx);
static void keep_hint(op_t *op, const char *owner);
static void record_reply(op_t *op, const peer_msg_t *reply, event_type_t type);

/* Frees op once answered and nothing it started is outstanding. A caller
 * that may trigger callbacks which settle op (a send can fail at once)
 * holds it with pending++ meanwhile. */
static void op_settle(op_t *op) {
  if (op->req || op->pending > 0) return;
  if (op->kind == ENGINE_GET && !op->final_repair_done) {
    op->final_repair_done = true;
    op->pending++;
    final_repairs(op);
    op->pending--;
    if (op->pending > 0) return;
  }
  op_free(op);
}

/* Whether target i's reply lacks something of the merge so far. */
static bool lacks_merge(const op_t *op, size_t i) {
  dvv_t tmp;
  dvv_init(&tmp);
  bool stale =
      dvv_copy(&tmp, &op->got[i]) == 0 && dvv_sync(&tmp, &op->state) == 0 && !dvv_equal(&tmp, &op->got[i]);
  dvv_free(&tmp);
  return stale;
}

/* Answers op's request with what it has now (see answer). */
static void answer_now(op_t *op) {
  coord_req_t *req = op->req;
  if (!req) return;
  op->req = NULL;
  coord_result_t *res = &req->result;
  if (op->local_err) {
    res->err = op->local_err;
  } else if (op->q.verdict == QUORUM_FAILED) {
    res->err = CHORUS_ETIMEDOUT;
    coord_count(&op->c->stats.quorum_failures);
  } else if (op->kind == ENGINE_GET && dvv_live_count(&op->state) == 0) {
    res->err = CHORUS_ENOTFOUND;
  }
  res->no_space = op->no_space;
  res->request_reused = op->request_reused;
  if (dvv_copy(&res->state, &op->state) != 0 && !res->err) res->err = CHORUS_ENOMEM;
  res->dot = op->dot;
  if (dvv_dots_copy(&res->replaced, &op->replaced) != 0)
    res->dot.counter = 0; /* no claim rather than half of one */
  res->event_id = op->event_id;
  res->plan = op->plan;
  res->quorum = op->q;
  res->required = op->need;
  for (size_t i = 0; i < op->plan.n_local_hints; i++)
    memcpy(res->local_hints[i], op->plan.local_hints[i], sizeof res->local_hints[i]);
  res->n_local_hints = op->kind == ENGINE_GET ? 0 : op->plan.n_local_hints;
  res->hints_kept = op->hints_kept;
  for (size_t i = 0; i < op->q.n; i++)
    if (op->repair_sent[i]) memcpy(res->repaired[res->n_repaired++], op->q.t[i].node, NODE_ID_MAX + 1);
  req->done(req);
}

/* The answer names the hints kept, so it waits for every hint job out;
 * hint_stored answers with the last one. */
static void answer(op_t *op) {
  if (op->hints_out > 0) return;
  answer_now(op);
}

static void fail_now(coord_req_t *req, int err) {
  req->result.err = err;
  req->done(req);
}

static void verdict(op_t *op) {
  if (op->q.verdict == QUORUM_PENDING) return;
  if (op->kind == ENGINE_GET) {
    /* repairs of what is known now are part of the answer (repaired_nodes) */
    for (size_t i = 0; i < op->q.n; i++) {
      if (op->has_got[i] && !op->repair_sent[i] && lacks_merge(op, i)) repair(op, i);
    }
  }
  answer(op);
}

/* ---- messages ---- */

static const view_member_t *member(op_t *op, const char *id) {
  return view_find(op->view, id);
}

/* Sends msg to target idx; the reply goes to cb with a call_t. False when
 * nothing was sent (the target counts as failed). */
static bool send_to(op_t *op, size_t idx, peer_msg_t *msg, peer_reply_fn cb) {
  const view_member_t *m = member(op, op->q.t[idx].node);
  call_t *call = malloc(sizeof *call);
  if (!m || !call) {
    free(call);
    return false;
  }
  if (vv_copy(&msg->clock, &op->clock) != 0) {
    free(call);
    return false;
  }
  call->op = op;
  call->idx = idx;
  op->pending++;
  if (coord_request(op->c, &m->addr, msg, op->c->cfg->request_timeout_ms, cb, call) != 0) {
    op->pending--;
    free(call);
    return false;
  }
  return true;
}

/* ---- writes ---- */

/* A write did not reach target idx, though membership thought it up: its
 * write waits here as a hint (which never counts toward W). */
static void replica_failed(op_t *op, size_t idx) {
  const quorum_target_t *t = &op->q.t[idx];
  coord_count(&op->c->stats.replica_failures);
  if (!op->c->closing) keep_hint(op, t->hint_for[0] ? t->hint_for : t->node);
  quorum_reply(&op->q, idx, false);
}

static void on_replicate_reply(int status, const peer_msg_t *reply, void *arg) {
  call_t *call = arg;
  op_t *op = call->op;
  size_t idx = call->idx;
  free(call);
  bool ok = status == 0 && reply->type == PEER_REPLICATE_ACK && reply->replicate_ack.status == 0;
  if (ok) {
    quorum_reply(&op->q, idx, true);
    record_reply(op, reply, EVENT_ACK);
  } else {
    log_debug("coord: %s did not apply a write (%s)", op->q.t[idx].node,
              chorus_strerror(status ? status : reply->replicate_ack.status));
    replica_failed(op, idx);
  }
  verdict(op);
  op->pending--; /* only now: a hint job that fails at once may settle op */
  op_settle(op);
}

/* Sends op's encoded state to target idx (a replica write, a hint for the
 * target's hint_for, or a read repair). False when nothing was sent. */
static bool send_state(op_t *op, size_t idx, peer_op_t pop, peer_reply_fn cb) {
  peer_msg_t m;
  peer_msg_init(&m);
  m.type = PEER_REPLICATE;
  m.replicate.op = pop;
  m.replicate.key = (peer_bytes_t){(const uint8_t *)op->key, op->key_len};
  m.replicate.record = (peer_bytes_t){op->record.data, op->record.len};
  snprintf(m.replicate.hint_for, sizeof m.replicate.hint_for, "%s", op->q.t[idx].hint_for);
  if (op->request_id[0] && pop != PEER_OP_READ_REPAIR)
    m.replicate.request_id = (peer_bytes_t){(const uint8_t *)op->request_id, strlen(op->request_id)};
  bool sent = send_to(op, idx, &m, cb);
  peer_msg_free(&m);
  return sent;
}

static void replicate_to(op_t *op, size_t idx, peer_op_t pop) {
  if (!send_state(op, idx, pop, on_replicate_reply)) replica_failed(op, idx);
}

/* A job an op started (a hint it keeps, a repair of its own copy) is back. */
static void job_back(cjob_t *j) {
  op_t *op = j->op;
  coord_cjob_free(j);
  op->pending--;
  op_settle(op);
}

/* A receive job's completion, on the writer thread: nobody waits for it,
 * so it is freed there, without a trip through the inbox. */
static void receive_done(engine_job_t *job) {
  coord_cjob_free((cjob_t *)job->user);
}

/* Records the receive event of a replica's reply (an ack or a read
 * answer), so the reply's arrow has both ends in the event logs. The job
 * owns copies of what it needs and outlives nothing: the engine drains its
 * queue before it closes. */
static void record_reply(op_t *op, const peer_msg_t *reply, event_type_t type) {
  cjob_t *j = coord_cjob_received(op->c, NULL, reply, op->key, op->key_len);
  if (!j) return; /* the event is lost, nothing else */
  j->hook.done = receive_done;
  j->job.op = ENGINE_RECEIVE;
  j->job.event_type = type;
  if (op->c->env.submit(op->c->env.state, &j->job) != 0) coord_cjob_free(j);
}

static void hint_stored(cjob_t *j) {
  op_t *op = j->op;
  op->hints_out--;
  if (j->job.err) {
    log_warn("coord: cannot keep a hint for %s: %s", j->owner, chorus_strerror(j->job.err));
  } else {
    op->hints_kept++;
    coord_count(&op->c->stats.hints_kept);
  }
  verdict(op); /* an answer held for the hint jobs goes out with the last one */
  job_back(j);
}

static void keep_hint(op_t *op, const char *owner) {
  cjob_t *j = coord_cjob_state(op->c, hint_stored, ENGINE_HINT_PUT, op->key, op->key_len, &op->state);
  if (!j) {
    log_warn("coord: cannot keep a hint for %s: out of memory", owner);
    return;
  }
  snprintf(j->owner, sizeof j->owner, "%s", owner);
  j->op = op;
  j->job.hint_owner = j->owner;
  op->pending++;
  op->hints_out++;
  coord_cjob_submit(j);
}

static void write_applied(cjob_t *j) {
  op_t *op = j->op;
  engine_job_t *job = &j->job;
  op->pending--;
  op->event_id = job->event_id;
  int rc = job->err;
  op->dot = job->dot;
  op->replaced = job->replaced; /* taken over */
  job->replaced = (dvv_dots_t){0};
  if (!rc) rc = dvv_copy(&op->state, &job->state);
  if (!rc) rc = vv_copy(&op->clock, &job->clock);
  if (!rc) rc = record_encode(&op->state, &op->record);
  if (rc) {
    op->local_err = rc;
    op->no_space = job->no_space;
    op->request_reused = job->request_reused;
    if (rc == CHORUS_ENOTFOUND && job->state.n && dvv_copy(&op->state, &job->state) != 0)
      op->local_err = CHORUS_ENOMEM; /* the 404 would lose its context */
    coord_cjob_free(j);
    answer(op);
    op_settle(op);
    return;
  }
  coord_cjob_free(j);
  peer_op_t pop = op->kind == ENGINE_DELETE ? PEER_OP_DELETE : PEER_OP_PUT;
  /* held: a send or a hint job may fail at once and settle or answer op */
  op->pending++;
  op->hints_out++;
  for (size_t i = 0; i < op->q.n; i++) {
    if (strcmp(op->q.t[i].node, op->c->self) == 0)
      quorum_reply(&op->q, i, true);
    else
      replicate_to(op, i, pop);
  }
  for (size_t i = 0; i < op->plan.n_local_hints; i++)
    keep_hint(op, op->plan.local_hints[i]);
  op->hints_out--;
  op->pending--;
  verdict(op);
  op_settle(op);
}

/* The outcome a forwarded write's coordinator reported becomes this
 * request's result. A state that does not decode (or does not fit in
 * memory) is not the coordinator's answer. */
static int take_forward_reply(coord_result_t *res, const peer_forward_reply_t *fr) {
  int rc = fr->record.p ? record_decode(fr->record.p, fr->record.len, &res->state) : 0;
  if (rc) return rc;
  res->forwarded = true;
  res->err = fr->status;
  res->no_space = fr->flags & PEER_FWD_NO_SPACE;
  res->request_reused = fr->flags & PEER_FWD_REQUEST_REUSED;
  res->event_id = fr->event_id;
  res->dot = fr->dot;
  if (dvv_dots_copy(&res->replaced, &fr->replaced) != 0) res->dot.counter = 0; /* no claim rather than half */
  coord_outcome_t *oc = &res->outcome;
  memcpy(oc->responsible, fr->responsible, sizeof oc->responsible);
  if (fr->lists)
    memcpy(oc->lists, fr->lists, sizeof oc->lists);
  else
    memset(oc->lists, 0, sizeof oc->lists);
  oc->quorum_achieved = fr->flags & PEER_FWD_QUORUM;
  oc->required = fr->required;
  return 0;
}

static void on_forward_reply(int status, const peer_msg_t *reply, void *arg) {
  call_t *call = arg;
  op_t *op = call->op;
  free(call);
  op->pending--;
  if (op->req) {
    coord_result_t *res = &op->req->result;
    if (status == 0 && reply->type == PEER_FORWARD_REPLY) {
      int rc = take_forward_reply(res, &reply->forward_reply);
      if (rc) op->local_err = rc;
    } else {
      op->local_err = status ? status : CHORUS_ECORRUPT;
      if (op->local_err == CHORUS_EIO) op->local_err = CHORUS_EBUSY;
    }
    op->q.verdict = QUORUM_MET; /* the coordinator's answer stands for the quorum */
    if (res->forwarded) {
      coord_req_t *req = op->req;
      op->req = NULL;
      res->plan = op->plan;
      req->done(req);
    } else {
      answer(op);
    }
  }
  op_settle(op);
}

static void forward_out(op_t *op) {
  coord_count(&op->c->stats.forwarded);
  peer_msg_t m;
  peer_msg_init(&m);
  char *ctx = NULL;
  m.type = PEER_FORWARD;
  m.forward.op = op->kind == ENGINE_DELETE ? PEER_OP_DELETE : PEER_OP_PUT;
  m.forward.key = (peer_bytes_t){(const uint8_t *)op->key, op->key_len};
  if (op->kind == ENGINE_PUT)
    m.forward.value = (peer_bytes_t){op->value ? op->value : (const uint8_t *)"", op->value_len};
  /* without its context the write would supersede every sibling */
  int rc = op->has_ctx ? context_encode(&op->ctx, &ctx) : 0;
  if (ctx) m.forward.context = (peer_bytes_t){(const uint8_t *)ctx, strlen(ctx)};
  m.forward.r = (uint8_t)op->r;
  m.forward.w = (uint8_t)op->w;
  if (op->request_id[0])
    m.forward.request_id = (peer_bytes_t){(const uint8_t *)op->request_id, strlen(op->request_id)};
  quorum_init(&op->q, 1, now_ms(op->c) + op->c->cfg->request_timeout_ms);
  size_t idx = 0;
  if (!rc) rc = coord_clock(op->c, &op->clock);
  bool sent = !rc && quorum_add(&op->q, op->plan.coordinator, NULL, true, &idx) == 0 &&
              send_to(op, idx, &m, on_forward_reply);
  if (!rc && !sent) rc = CHORUS_EBUSY;
  free(ctx);
  peer_msg_free(&m);
  if (rc) {
    op->local_err = rc;
    answer(op);
  }
}

static void start_write(op_t *op) {
  coord_t *c = op->c;
  if (!op->plan.self_is_replica) {
    if (op->forwarded_in || !op->plan.coordinator[0]) {
      op->local_err = CHORUS_EBUSY; /* no replica of this key is reachable */
      answer(op);
      return;
    }
    forward_out(op);
    return;
  }
  coord_count(&c->stats.writes);
  op->need = plan_cap_quorum(&op->plan, op->w ? op->w : (uint32_t)c->cfg->write_quorum);
  quorum_init(&op->q, op->need, now_ms(c) + c->cfg->request_timeout_ms);
  for (size_t i = 0; i < op->plan.n_targets; i++) {
    const plan_target_t *t = &op->plan.targets[i];
    quorum_add(&op->q, t->node, t->hint_for, t->counts, NULL);
  }
  cjob_t *j = coord_cjob_new(c, write_applied);
  if (!j) {
    op->local_err = CHORUS_ENOMEM;
    answer(op);
    return;
  }
  j->op = op;
  j->job.op = op->kind;
  j->job.key = op->key;
  j->job.key_len = op->key_len;
  j->job.value = op->value;
  j->job.value_len = op->value_len;
  j->job.ctx = op->has_ctx ? &op->ctx : NULL;
  j->job.request_id = op->request_id[0] ? op->request_id : NULL;
  op->pending++;
  coord_cjob_submit(j);
}

/* ---- reads ---- */

/* Not-found replies count toward R only once every replica has answered
 * (Riak's notfound_ok = false): a replica that never received a key (it
 * joined later, or missed the write) must not hide the copies the others
 * hold, while a key that is nowhere still answers 404 without a timeout. */
static void count_empties(op_t *op) {
  for (size_t i = 0; i < op->q.n; i++) {
    if (!op->empty[i]) continue;
    op->empty[i] = false;
    quorum_reply(&op->q, i, true);
  }
}

static bool all_answered(const op_t *op) {
  for (size_t i = 0; i < op->q.n; i++)
    if (op->q.t[i].state == QUORUM_WAITING && !op->empty[i]) return false;
  return true;
}

/* A replica's state (NULL: it failed) for target idx. A state that cannot
 * be merged (out of memory) counts as a failed reply: the answer must not
 * claim a replica whose versions it lacks. */
static void read_reply(op_t *op, size_t idx, const dvv_t *s) {
  bool ok = s != NULL;
  if (!ok) coord_count(&op->c->stats.replica_failures);
  if (ok && (dvv_copy(&op->got[idx], s) != 0 || dvv_sync(&op->state, s) != 0)) {
    log_warn("coord: the reply of %s to a read is not merged: out of memory", op->q.t[idx].node);
    ok = false;
  }
  op->has_got[idx] = ok;
  if (ok && s->n == 0 && op->q.verdict == QUORUM_PENDING)
    op->empty[idx] = true;
  else
    quorum_reply(&op->q, idx, ok);
  if (all_answered(op)) count_empties(op);
  verdict(op);
}

/* A read's reply is counted while the op still holds its pending mark: the
 * verdict may start a repair that fails at once and settles what it can,
 * and the op must outlive that (it is released by op_settle at the end). */
static void read_local_done(cjob_t *j) {
  op_t *op = j->op;
  int err = j->job.err == CHORUS_ENOTFOUND ? 0 : j->job.err;
  if (!op->event_id) op->event_id = j->job.event_id;
  read_reply(op, j->target, err ? NULL : &j->job.state);
  coord_cjob_free(j);
  op->pending--;
  op_settle(op);
}

static void on_read_reply(int status, const peer_msg_t *reply, void *arg) {
  call_t *call = arg;
  op_t *op = call->op;
  size_t idx = call->idx;
  free(call);
  dvv_t s;
  dvv_init(&s);
  bool ok = status == 0 && reply->type == PEER_READ_REPLY && reply->read_reply.status == 0 &&
            (!reply->read_reply.record.p ||
             record_decode(reply->read_reply.record.p, reply->read_reply.record.len, &s) == 0);
  read_reply(op, idx, ok ? &s : NULL);
  if (ok) record_reply(op, reply, EVENT_READ_REPLY);
  dvv_free(&s);
  op->pending--; /* held until here, as in read_local_done */
  op_settle(op);
}

static void on_repair_reply(int status, const peer_msg_t *reply, void *arg) {
  call_t *call = arg;
  op_t *op = call->op;
  free(call);
  op->pending--;
  (void)status;
  (void)reply;
  op_settle(op);
}

/* Submits the merge so far as a read repair of this node's own copy. */
static bool repair_local(op_t *op) {
  cjob_t *j = coord_cjob_state(op->c, job_back, ENGINE_MERGE, op->key, op->key_len, &op->state);
  if (!j) return false;
  j->op = op;
  j->job.event_type = EVENT_READ_REPAIR;
  op->pending++;
  return coord_cjob_submit(j) == 0;
}

/* Sends the merge so far to target idx, which lacks some of it. Only a
 * repair on its way is reported (repaired_nodes) and counted. */
static void repair(op_t *op, size_t idx) {
  bool sent;
  if (strcmp(op->q.t[idx].node, op->c->self) == 0) {
    sent = repair_local(op);
  } else {
    buf_reset(&op->record);
    sent = record_encode(&op->state, &op->record) == 0 &&
           send_state(op, idx, PEER_OP_READ_REPAIR, on_repair_reply);
  }
  if (!sent) {
    log_warn("coord: cannot send a read repair to %s", op->q.t[idx].node);
    return;
  }
  op->repair_sent[idx] = true;
  coord_count(&op->c->stats.read_repairs);
}

/* Every reply is in: replicas still behind the final merge get it. */
static void final_repairs(op_t *op) {
  if (op->state.n == 0) return;
  for (size_t i = 0; i < op->q.n; i++) {
    if (op->has_got[i] && lacks_merge(op, i)) {
      dvv_sync(&op->got[i], &op->state); /* what it will hold once repaired */
      repair(op, i);
    }
  }
}

static void start_read(op_t *op) {
  coord_t *c = op->c;
  coord_count(&c->stats.reads);
  op->need = plan_cap_quorum(&op->plan, op->r ? op->r : (uint32_t)c->cfg->read_quorum);
  quorum_init(&op->q, op->need, now_ms(c) + c->cfg->request_timeout_ms);
  for (size_t i = 0; i < op->plan.n_targets; i++)
    quorum_add(&op->q, op->plan.targets[i].node, NULL, true, NULL);
  if (quorum_check(&op->q) == QUORUM_FAILED) {
    answer(op);
    return;
  }
  op->local_err = coord_clock(c, &op->clock); /* the replicas' events must follow this one */
  if (op->local_err) {
    answer(op);
    return;
  }
  for (size_t i = 0; i < op->q.n; i++) {
    if (strcmp(op->q.t[i].node, c->self) == 0) {
      cjob_t *j = coord_cjob_new(c, read_local_done);
      if (!j) {
        quorum_reply(&op->q, i, false);
        continue;
      }
      j->op = op;
      j->target = i;
      j->job.op = ENGINE_GET;
      j->job.key = op->key;
      j->job.key_len = op->key_len;
      op->pending++;
      coord_cjob_submit(j);
      continue;
    }
    peer_msg_t m;
    peer_msg_init(&m);
    m.type = PEER_READ;
    m.read.key = (peer_bytes_t){(const uint8_t *)op->key, op->key_len};
    if (!send_to(op, i, &m, on_read_reply)) quorum_reply(&op->q, i, false);
    peer_msg_free(&m);
  }
  verdict(op);
}

/* ---- entry points ---- */

/* An op holding copies of req's inputs, not yet on c->ops; NULL when out
 * of memory (a write without the client's context would supersede every
 * sibling, so a context that cannot be copied fails the request too). */
static op_t *op_new(coord_t *c, const coord_req_t *req) {
  op_t *op = c->n_spare_ops ? c->spare_ops[--c->n_spare_ops] : malloc(sizeof *op);
  if (!op) return NULL;
  memset(op, 0, sizeof *op);
  vv_init(&op->ctx);
  vv_init(&op->clock);
  dvv_init(&op->state);
  buf_init(&op->record);
  for (size_t i = 0; i < QUORUM_MAX_TARGETS; i++)
    dvv_init(&op->got[i]);
  op->key = malloc(req->key_len + 1);
  op->value = req->value_len ? malloc(req->value_len) : NULL;
  if (!op->key || (req->value_len && !op->value) || (req->ctx && vv_copy(&op->ctx, req->ctx) != 0)) {
    free(op->key);
    free(op->value);
    vv_free(&op->ctx);
    free(op);
    return NULL;
  }
  memcpy(op->key, req->key, req->key_len);
  op->key[req->key_len] = '\0';
  op->key_len = req->key_len;
  if (req->value_len) memcpy(op->value, req->value, req->value_len);
  op->value_len = req->value_len;
  op->has_ctx = req->ctx != NULL;
  if (req->request_id) snprintf(op->request_id, sizeof op->request_id, "%s", req->request_id);
  op->kind = req->op;
  op->r = req->r;
  op->w = req->w;
  return op;
}

void coord_client_start(coord_t *c, coord_req_t *req, bool forwarded) {
  coord_result_init(&req->result);
  if (c->closing) {
    fail_now(req, CHORUS_ESHUTDOWN);
    return;
  }
  if (req->kind == COORD_EVENTS) {
    coord_gather_start(c, req);
    return;
  }
  if (req->kind == COORD_COMPARE) {
    coord_aae_compare(c, req);
    return;
  }
  if (req->kind == COORD_REPAIR) {
    req->result.err = coord_aae_repair_all(c, &req->result.queued);
    req->done(req);
    return;
  }
  if (req->kind == COORD_KEYS) {
    coord_keys_start(c, req);
    return;
  }
  if (req->kind == COORD_LEAVE) {
    req->result.err = coord_xfer_leave(c, req->force);
    req->done(req);
    return;
  }
  /* the last pass of a leave: what comes in now would be left behind */
  if (coord_xfer_refusing(c)) {
    fail_now(req, CHORUS_ESHUTDOWN);
    return;
  }
  /* A node with seeds that no seed answered yet knows no ring but itself:
   * acting alone would take writes as a one-node cluster (forwarded ones
   * too: their sender's ring names it, its own does not). */
  if (c->env.joined && !c->env.joined(c->env.state)) {
    fail_now(req, CHORUS_ENOTJOINED);
    return;
  }
  op_t *op = op_new(c, req);
  if (!op) {
    fail_now(req, CHORUS_ENOMEM);
    return;
  }
  op->c = c;
  op->req = req;
  op->forwarded_in = forwarded;
  op->next = c->ops;
  if (c->ops) c->ops->prev = op;
  c->ops = op;
  coord_wake(c);
  op->view = view_acquire(c->view);
  op->pending++; /* held until started: a send may fail at once and settle op */
  int rc = plan_make(op->view->ring, ring_key_token(op->key, op->key_len), (size_t)c->cfg->replicas, c->self,
                     op->kind == ENGINE_GET ? PLAN_READ : PLAN_WRITE, coord_view_up, op->view, &op->plan);
  if (!rc && op->kind != ENGINE_GET && view_moving(op->view))
    rc = plan_add_pending(&op->plan, op->view->next, (size_t)c->cfg->replicas, coord_view_up, op->view);
  if (rc) {
    op->local_err = rc;
    answer(op);
  } else if (op->kind == ENGINE_GET) {
    start_read(op);
  } else {
    start_write(op);
  }
  op->pending--;
  op_settle(op);
}

void coord_client_tick(coord_t *c, uint64_t now) {
  for (op_t *op = c->ops, *next; op; op = next) {
    next = op->next;
    if (!op->req) continue;
    if (now >= op->q.deadline_ms) count_empties(op); /* answered in time, though empty */
    quorum_tick(&op->q, now);
    verdict(op);
    op_settle(op);
  }
}

/* Closing: nothing waits any longer. A verdict held only for hint jobs
 * stands, naming the hints committed so far; the rest fail. */
void coord_client_fail_all(coord_t *c) {
  for (op_t *op = c->ops, *next; op; op = next) {
    next = op->next;
    if (op->req) {
      if (op->q.verdict == QUORUM_PENDING) op->local_err = CHORUS_ESHUTDOWN;
      answer_now(op);
    }
    op_settle(op);
  }
}
