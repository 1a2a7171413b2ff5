/*
 * advertise.h - the address a node advertises to its peers (--advertise),
 * as an IP literal.
 *
 * Peers reach a member's gossip and peer ports at the address it
 * advertises, and the peer transport connects only to IP literals. A host
 * name given to --advertise (a container's or a pod's DNS name) is
 * therefore resolved once, at start, in the family of --bind, and the node
 * advertises the address it resolved to.
 */
#ifndef CHORUS_ADVERTISE_H
#define CHORUS_ADVERTISE_H

#include "../common/config.h"

/* Replaces a host name in cfg->advertise with its first address of
 * --bind's family (IPv4 unless --bind is an IPv6 address). An IP literal
 * stays. CHORUS_EINVAL (logged) when the name does not resolve. Blocking:
 * at start-up only. */
int advertise_resolve(config_t *cfg);

#endif
