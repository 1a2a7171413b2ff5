/*
 * static.h - the dashboard's files: every GET/HEAD outside /api/, /gossip/,
 * /ws, /metrics and /health is served from the web root (--web-root).
 *
 * The pure helpers below decide what a path may name and how it is served;
 * static.c opens and sends the file. Invariant: a file is served only if
 * its real path (symlinks resolved) lies inside the real web root, and the
 * request path held no "..", control byte, backslash or invalid UTF-8.
 */
#ifndef CHORUS_STATIC_H
#define CHORUS_STATIC_H

#include <stdbool.h>
#include <stddef.h>

/* The web root: given (resolved to an absolute path when it exists), else
 * dirname(/proc/self/exe)/../web/dist when that exists, else ./web/dist.
 * Never fails: a root that does not exist serves the "not built" page. */
void static_root_resolve(const char *given, char *out, size_t cap);

/* Copies a decoded URL path ("/assets/app.js") into out relative to the
 * root, without the leading '/' and empty segments ("assets/app.js"; "" for
 * the root). CHORUS_EINVAL for a ".." or "." segment, a control byte, a
 * backslash or invalid UTF-8 (an encoded NUL arrives as invalid UTF-8);
 * CHORUS_ENOTFOUND for a hidden name (a segment starting with '.');
 * CHORUS_ETOOBIG when it does not fit in cap bytes. */
int static_path_clean(const char *url, char *out, size_t cap);
/* Whether the last segment of a cleaned path has an extension: paths
 * without one are the dashboard's client-side routes. */
bool static_has_extension(const char *rel);
/* The Content-Type of a file name by its extension (any case);
 * application/octet-stream when unknown. */
const char *static_content_type(const char *rel);
/* Vite's content-hashed files under assets/ never change: cached for a
 * year; everything else (index.html first) is revalidated. */
const char *static_cache_control(const char *rel);
/* Whether an If-None-Match header value ("*", or a list of entity tags,
 * weak or not) matches etag (a quoted strong tag). */
bool static_etag_match(const char *if_none_match, const char *etag);

#endif
