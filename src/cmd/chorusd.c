/*
 * chorusd.c - the Chorus node: parses the configuration, claims the data
 * directory, opens the store, serves the HTTP API and runs the event loop
 * until SIGINT or SIGTERM, then shuts down gracefully: new requests are
 * refused with 503, requests in flight finish, the store is synced and
 * closed, and the process exits 0. SIGHUP reads the HTTPS certificate and
 * key again, on a worker thread; a shutdown waits for that read to end.
 *
 * Exit codes: 0 clean shutdown, 1 a runtime failure (data dir in use, port
 * taken, store unreadable), 2 a bad command line.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "../api/server.h"
#include "../common/config.h"
#include "../common/err.h"
#include "../common/log.h"
#include "../common/node_id.h"
#include "../gossip/gossip.h"
#include "../replication/coord.h"
#include "../replication/view.h"
#include "../storage/engine.h"
#include "../common/files.h"
#include "advertise.h"
#include "incarnation.h"
#include "node_keyring.h"
#include "loop.h"

#define CHORUS_VERSION "0.1.0"
#define DRAIN_TIMEOUT_MS 10000
#define LEAVE_LINGER_MS 2000 /* a node that left keeps gossiping its LEFT this long */

extern char **environ;

typedef struct {
  const config_t *cfg;
  api_server_t *server;
  loop_t *loop;
  gossip_t *gossip; /* NULL with --gossip=false */
  uv_timer_t drain_timer;
  uint64_t drain_started;
  bool draining;
  uv_timer_t linger_timer; /* after a leave */
  view_holder_t *view;
  coord_t *coord;
  incarnation_t *incarnation; /* NULL with --gossip=false */
  keyring_t keyring;          /* sealing of gossip and peer traffic; changed by rotations on the loop */
  char keyring_path[4200];
  uv_work_t reload_req; /* SIGHUP: the HTTPS certificate read again */
  bool reloading;
} node_t;

static int mkdir_p(const char *path) {
  char tmp[4096];
  if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp) return CHORUS_ETOOBIG;
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return CHORUS_EIO;
    *p = '/';
  }
  if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return CHORUS_EIO;
  return 0;
}

/* Holds an exclusive lock on <data-dir>/chorusd.lock for the life of the
 * process, so a second node on the same directory is refused up front. */
static int lock_data_dir(const char *dir) {
  char path[4200];
  snprintf(path, sizeof path, "%s/chorusd.lock", dir);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    log_error("cannot open %s: %s", path, strerror(errno));
    return CHORUS_EIO;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char pid[32] = "";
    ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
    pid[n > 0 ? n : 0] = '\0';
    pid[strcspn(pid, "\n")] = '\0';
    log_error("data dir %s is in use by another chorusd (pid %s)", dir, pid[0] ? pid : "unknown");
    close(fd);
    return CHORUS_EBUSY;
  }
  char pid[32];
  int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
  if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len)
    log_warn("cannot record the pid in %s", path);
  return 0; /* fd stays open: the lock lasts until exit */
}

/* Reads the node id persisted in the data dir, or persists the given (or a
 * fresh UUID) one. A data dir belongs to one node: a different --node-id on an
 * existing dir is refused. */
static int resolve_node_id(config_t *cfg) {
  char path[4200], stored[80] = "";
  snprintf(path, sizeof path, "%s/node_id", cfg->data_dir);
  FILE *f = fopen(path, "r");
  if (f) {
    if (!fgets(stored, sizeof stored, f)) stored[0] = '\0';
    fclose(f);
    stored[strcspn(stored, "\r\n")] = '\0';
  }
  if (stored[0]) {
    if (cfg->node_id[0] && strcmp(cfg->node_id, stored) != 0) {
      log_error("data dir %s belongs to node '%s', not '%s'", cfg->data_dir, stored, cfg->node_id);
      return CHORUS_EINVAL;
    }
    if (!node_id_valid(stored, strlen(stored))) {
      log_error("%s holds an invalid node id", path);
      return CHORUS_ECORRUPT;
    }
    memcpy(cfg->node_id, stored, strlen(stored) + 1); /* valid ids fit: at most 64 bytes */
    return 0;
  }
  if (!cfg->node_id[0]) {
    uuid_t u;
    uuid_generate(u);
    uuid_unparse_lower(u, cfg->node_id);
  }
  char text[80];
  snprintf(text, sizeof text, "%s\n", cfg->node_id);
  return file_replace_durably(path, text);
}

/* Loop thread: a refutation raised the incarnation; stored off the loop. */
static void on_incarnation(uint64_t inc, void *state) {
  node_t *n = state;
  incarnation_store(n->incarnation, inc);
}

/* Loop thread: the member table changed; the data path follows. */
static void on_members(const swim_member_t *members, size_t count, void *state) {
  node_t *n = state;
  if (view_holder_publish(n->view, members, count) != 0)
    log_warn("cannot publish the cluster view: out of memory");
}

static int start_gossip(node_t *n) {
  const config_t *cfg = n->cfg;
  if (!cfg->gossip) return 0;
  uint64_t inc = 0;
  int rc = incarnation_open(loop_uv(n->loop), cfg->data_dir, &inc, &n->incarnation);
  gossip_opts_t o = {.cfg = cfg,
                     .node_id = cfg->node_id,
                     .keyring = &n->keyring,
                     .transport = coord_gossip_transport(n->coord),
                     .incarnation = inc,
                     .phase = coord_phase(n->coord),
                     .on_incarnation = on_incarnation,
                     .on_members = on_members,
                     .state = n};
  if (!rc) rc = gossip_start(loop_uv(n->loop), &o, &n->gossip);
  if (!rc) coord_set_gossip(n->coord, n->gossip);
  return rc;
}

static void on_drain_tick(uv_timer_t *t) {
  node_t *n = t->data;
  uint64_t left = api_server_inflight(n->server);
  if (n->reloading) return; /* the reload's thread uses the server's certificate state */
  if (left == 0 || uv_now(loop_uv(n->loop)) - n->drain_started > DRAIN_TIMEOUT_MS) {
    if (left)
      log_warn("%llu requests still in flight after %d ms; stopping anyway", (unsigned long long)left,
               DRAIN_TIMEOUT_MS);
    uv_timer_stop(t);
    loop_stop(n->loop);
  }
}

/* Stops serving: requests in flight finish, then the loop stops. */
static void drain(node_t *n) {
  api_server_drain(n->server);
  n->drain_started = uv_now(loop_uv(n->loop));
  uv_timer_init(loop_uv(n->loop), &n->drain_timer);
  n->drain_timer.data = n;
  uv_timer_start(&n->drain_timer, on_drain_tick, 0, 5);
}

static void reload_work(uv_work_t *w) {
  node_t *n = w->data;
  (void)api_server_reload_tls(n->server); /* logs what it did, or why not */
}

static void reload_done(uv_work_t *w, int status) {
  (void)status;
  node_t *n = w->data;
  n->reloading = false;
}

static void on_signal(loop_t *l, int signum, void *state) {
  (void)l;
  node_t *n = state;
  if (signum == SIGHUP) { /* file reads and parsing: off the loop */
    if (n->draining || n->reloading) return;
    n->reloading = true;
    n->reload_req.data = n;
    if (uv_queue_work(loop_uv(n->loop), &n->reload_req, reload_work, reload_done) != 0) n->reloading = false;
    return;
  }
  if (n->draining) return;
  n->draining = true;
  log_info("received %s: shutting down", signum == SIGINT ? "SIGINT" : "SIGTERM");
  gossip_announce_shutdown(n->gossip); /* peers mark this node dead at once */
  drain(n);
}

static void on_left_linger(uv_timer_t *t) {
  node_t *n = t->data;
  uv_close((uv_handle_t *)t, NULL);
  if (n->draining) return;
  n->draining = true;
  log_info("left the cluster: stopping");
  drain(n);
}

/* Loop thread: the leave is done and LEFT announced; the node stops once
 * the announcement had time to spread (it is gossiped, not sent to all). */
static void on_left(void *state) {
  node_t *n = state;
  uv_timer_init(loop_uv(n->loop), &n->linger_timer);
  n->linger_timer.data = n;
  uv_timer_start(&n->linger_timer, on_left_linger, LEAVE_LINGER_MS, 0);
}

static int prepare(config_t *cfg) {
  if (mkdir_p(cfg->data_dir) != 0) {
    log_error("cannot create data dir %s: %s", cfg->data_dir, strerror(errno));
    return CHORUS_EIO;
  }
  int rc = lock_data_dir(cfg->data_dir);
  if (!rc) rc = resolve_node_id(cfg);
  if (!rc) rc = advertise_resolve(cfg);
  return rc;
}

static int run(config_t *cfg) {
  node_t n = {.cfg = cfg};
  engine_t *engine = NULL;
  char dbdir[4200], xfer_path[4200];
  snprintf(dbdir, sizeof dbdir, "%s/db", cfg->data_dir);
  int rc = api_server_create(cfg, cfg->node_id, CHORUS_VERSION, &n.server);
  if (rc) return rc; /* nothing else is open yet */
  rc = loop_create(&n.loop, on_signal, &n);
  if (rc) {
    api_server_stop(n.server);
    return rc;
  }
  {
    engine_opts_t eo = {.node_id = cfg->node_id,
                        .dir = dbdir,
                        .fsync = cfg->fsync,
                        .event_retention = cfg->event_retention,
                        .record_cache_bytes = cfg->record_cache_bytes,
                        .record_cache_off = cfg->record_cache_bytes == 0,
                        .new_actor = cfg->n_seeds > 0,
                        .tree_off = !cfg->merkle_tree,
                        .tree_rebuild = cfg->rebuild_merkle_tree,
                        .max_hints = cfg->max_hints,
                        .hints_off = cfg->max_hints == 0,
                        .hint_ttl_ms = cfg->hint_ttl_ms,
                        .on_done = engine_hook_done,
                        .state = n.server};
    rc = engine_open(&eo, &engine);
  }
  if (!rc) rc = node_keyring_load(cfg, &n.keyring, n.keyring_path, sizeof n.keyring_path);
  if (!rc) {
    swim_addr_t self = {.port = cfg->port, .peer_port = cfg->peer_port};
    snprintf(self.host, sizeof self.host, "%s", cfg->advertise);
    rc = view_holder_create(cfg->node_id, &self, (uint32_t)cfg->vnodes, (uint32_t)cfg->replicas, &n.view);
  }
  if (!rc) {
    snprintf(xfer_path, sizeof xfer_path, "%s/transfers", cfg->data_dir);
    coord_opts_t co = {.cfg = cfg,
                       .node_id = cfg->node_id,
                       .engine = engine,
                       .view = n.view,
                       .fresh = engine_created(engine) && cfg->n_seeds > 0 && cfg->gossip,
                       .state_path = xfer_path,
                       .keyring = &n.keyring,
                       .keyring_path = n.keyring_path,
                       .on_left = on_left,
                       .state = &n};
    rc = coord_start(loop_uv(n.loop), &co, &n.coord);
  }
  if (!rc) rc = start_gossip(&n);
  api_deps_t deps = {.loop = loop_uv(n.loop),
                     .engine = engine,
                     .gossip = n.gossip,
                     .view = n.view,
                     .coord = n.coord,
                     .loop_stats = loop_stats(n.loop)};
  if (!rc) rc = api_server_start(n.server, &deps);
  if (!rc) {
    log_info("chorusd %s serving %s://%s:%u (data %s, fsync %s)", CHORUS_VERSION,
             cfg->tls_cert[0] ? "https" : "http", cfg->bind, cfg->port, cfg->data_dir,
             config_fsync_name(cfg->fsync));
    rc = loop_run(n.loop);
  }
  api_server_stop(n.server); /* every request is answered by now */
  coord_close(n.coord);      /* no more peers' requests; in-flight ones fail */
  engine_close(engine);      /* drains the writer and syncs */
  coord_destroy(n.coord);    /* after the engine has handed back every job */
  gossip_close(n.gossip);    /* after the HTTP threads are gone: they read its snapshot */
  incarnation_close(n.incarnation);
  loop_destroy(n.loop);
  view_holder_destroy(n.view);
  memset(&n.keyring, 0, sizeof n.keyring);
  if (!rc) log_info("stopped cleanly");
  return rc;
}

int main(int argc, char **argv) {
  config_t cfg;
  config_action_t action;
  char err[512];
  if (config_parse(&cfg, argc, argv, environ, &action, err, sizeof err) != 0) {
    fprintf(stderr, "chorusd: %s\n", err);
    return 2;
  }
  if (action == CONFIG_HELP) {
    fputs(config_usage(), stdout);
    return 0;
  }
  if (action == CONFIG_VERSION) {
    puts("chorusd " CHORUS_VERSION);
    return 0;
  }
  signal(SIGPIPE, SIG_IGN);
  log_set_level(cfg.log_level);
  if (cfg.node_id[0]) log_set_node(cfg.node_id);
  if (prepare(&cfg) != 0) return 1;
  log_set_node(cfg.node_id);
  return run(&cfg) == 0 ? 0 : 1;
}
