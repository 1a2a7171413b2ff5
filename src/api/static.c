/*
 * static.c - serves the dashboard's files (see static.h).
 *
 * A path is cleaned first (static_path_clean), then resolved with
 * realpath and required to lie inside the real web root, so neither ".."
 * nor a symlink leads out of it; the file is opened without following a
 * final symlink and must be a regular file. Files go out with
 * MHD_create_response_from_fd (sendfile), with an ETag made of size and
 * modification time, so a browser's revalidation of index.html is a 304.
 * A path without an extension that names no file is a client-side route
 * and gets index.html; a missing file with an extension is a JSON 404.
 */
#include "static.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/err.h"
#include "../common/log.h"
#include "../common/utf8.h"
#include "internal.h"

static const char NOT_BUILT[] =
    "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Chorus</title></head>\n"
    "<body><h1>Chorus</h1>\n<p>The dashboard is not built: run <code>make</code> in the repository root "
    "(it builds <code>web/dist</code>), or start the node with <code>--web-root</code> pointing at a built "
    "dashboard.</p>\n<p>The API answers meanwhile: <a href=\"/api/v1/status\">/api/v1/status</a>.</p>\n"
    "</body></html>\n";

static const struct {
  const char *ext, *type;
} TYPES[] = {
    {"html", "text/html; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"ico", "image/x-icon"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"woff2", "font/woff2"},
    {"woff", "font/woff"},
    {"txt", "text/plain; charset=utf-8"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"webp", "image/webp"},
    {"wasm", "application/wasm"},
    {"webmanifest", "application/manifest+json"},
};

/* The extension of the last segment, or NULL. */
static const char *extension(const char *rel) {
  const char *base = strrchr(rel, '/');
  base = base ? base + 1 : rel;
  const char *dot = strrchr(base, '.');
  return dot && dot != base && dot[1] ? dot + 1 : NULL;
}

bool static_has_extension(const char *rel) {
  return extension(rel) != NULL;
}

const char *static_content_type(const char *rel) {
  const char *ext = extension(rel);
  for (size_t i = 0; ext && i < sizeof TYPES / sizeof TYPES[0]; i++)
    if (strcasecmp(ext, TYPES[i].ext) == 0) return TYPES[i].type;
  return "application/octet-stream";
}

const char *static_cache_control(const char *rel) {
  return strncmp(rel, "assets/", 7) == 0 ? "public, max-age=31536000, immutable" : "no-cache";
}

int static_path_clean(const char *url, char *out, size_t cap) {
  size_t len = strlen(url), o = 0;
  if (cap == 0) return CHORUS_ETOOBIG;
  if (!utf8_valid(url, len)) return CHORUS_EINVAL;
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)url[i];
    if (ch < 0x20 || ch == 0x7f || ch == '\\') return CHORUS_EINVAL;
  }
  int rc = 0;
  for (const char *p = url; *p;) {
    p += strspn(p, "/");
    size_t n = strcspn(p, "/");
    if (n == 0) break;
    if (p[0] == '.') {
      bool dots = n <= 2 && (n == 1 || p[1] == '.');
      if (dots) return CHORUS_EINVAL;
      rc = CHORUS_ENOTFOUND; /* hidden: reported once the whole path is checked */
    }
    if (o + (o ? 1 : 0) + n >= cap) return CHORUS_ETOOBIG;
    if (o) out[o++] = '/';
    memcpy(out + o, p, n);
    o += n;
    p += n;
  }
  out[o] = '\0';
  return rc;
}

bool static_etag_match(const char *inm, const char *etag) {
  size_t el = strlen(etag);
  for (const char *p = inm; *p;) {
    p += strspn(p, " \t,");
    size_t n = strcspn(p, ",");
    size_t end = n;
    while (end && (p[end - 1] == ' ' || p[end - 1] == '\t'))
      end--;
    const char *tag = p;
    if (end >= 2 && strncmp(tag, "W/", 2) == 0) { /* If-None-Match compares weakly */
      tag += 2;
      end -= 2;
    }
    if ((end == 1 && tag[0] == '*') || (end == el && memcmp(tag, etag, el) == 0)) return true;
    p += n;
  }
  return false;
}

void static_root_resolve(const char *given, char *out, size_t cap) {
  char real[PATH_MAX], exe[PATH_MAX], cand[PATH_MAX + 16];
  if (given && given[0]) {
    snprintf(out, cap, "%s", realpath(given, real) ? real : given);
    return;
  }
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  char *slash = n > 0 ? (exe[n] = '\0', strrchr(exe, '/')) : NULL;
  if (slash) {
    *slash = '\0';
    snprintf(cand, sizeof cand, "%s/../web/dist", exe);
    if (realpath(cand, real)) {
      snprintf(out, cap, "%s", real);
      return;
    }
  }
  snprintf(out, cap, "%s", realpath("web/dist", real) ? real : "web/dist");
}

/* Opens rel under root if its real path stays inside root and it is a
 * regular file: the fd, or -1. */
static int open_inside(const char *root, const char *rel, struct stat *st) {
  char path[PATH_MAX * 2], real[PATH_MAX];
  if (snprintf(path, sizeof path, "%s/%s", root, rel) >= (int)sizeof path || !realpath(path, real)) return -1;
  size_t rl = strlen(root);
  if (strncmp(real, root, rl) != 0 || (root[rl - 1] != '/' && real[rl] != '/')) return -1;
  int fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return -1;
  if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
    close(fd);
    return -1;
  }
  return fd;
}

static enum MHD_Result send_not_built(api_req_t *r) {
  struct MHD_Response *resp =
      MHD_create_response_from_buffer(sizeof NOT_BUILT - 1, (void *)NOT_BUILT, MHD_RESPMEM_PERSISTENT);
  if (!resp) return MHD_NO;
  MHD_add_response_header(resp, "Content-Type", "text/html; charset=utf-8");
  MHD_add_response_header(resp, "Cache-Control", "no-cache");
  return api_queue(r, 200, resp);
}

/* Sends the open file (fd is the response's from here on), or a 304. */
static enum MHD_Result send_file(api_req_t *r, int fd, const struct stat *st, const char *rel) {
  char etag[64];
  snprintf(etag, sizeof etag, "\"%llx-%llx\"", (unsigned long long)st->st_size,
           (unsigned long long)st->st_mtim.tv_sec * 1000000000ull + (unsigned long long)st->st_mtim.tv_nsec);
  const char *inm = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "If-None-Match");
  int status = 200;
  struct MHD_Response *resp;
  if (inm && static_etag_match(inm, etag)) {
    close(fd);
    status = 304;
    resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
  } else {
    resp = MHD_create_response_from_fd64((uint64_t)st->st_size, fd);
    if (!resp) close(fd);
  }
  if (!resp) return api_send_error3(r, 500, "internal", "out of memory");
  if (status == 200) MHD_add_response_header(resp, "Content-Type", static_content_type(rel));
  MHD_add_response_header(resp, "Cache-Control", static_cache_control(rel));
  MHD_add_response_header(resp, "ETag", etag);
  MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
  return api_queue(r, status, resp);
}

enum MHD_Result api_static(api_req_t *r, const char *url) {
  char rel[PATH_MAX];
  int rc = static_path_clean(url, rel, sizeof rel);
  if (rc == CHORUS_EINVAL)
    return api_send_error3(r, 400, "bad_path", "the path names no file of the dashboard");
  if (rc) return api_send_error3(r, 404, "not_found", "no such file");
  const char *root = r->srv->web_root;
  struct stat st;
  int fd = rel[0] ? open_inside(root, rel, &st) : -1;
  if (fd >= 0) return send_file(r, fd, &st, rel);
  if (static_has_extension(rel)) return api_send_error3(r, 404, "not_found", "no such file");
  /* the root, or a client-side route of the dashboard */
  fd = open_inside(root, "index.html", &st);
  return fd >= 0 ? send_file(r, fd, &st, "index.html") : send_not_built(r);
}
