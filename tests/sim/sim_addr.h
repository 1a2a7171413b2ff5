/*
 * sim_addr.h - naming of simulated nodes: node index <-> node id <-> address.
 *
 * Short form: node i is "node-<i>" at host 10.<i>>16>.<(i>>8)&255>.<i&255>.
 * Long form: "node-<i>-ppp..." padded to NODE_ID_MAX bytes, at host
 * "h<i>.ppp..." padded to SWIM_HOST_MAX bytes, so that every update is as
 * large as the wire allows and packet budgets are tested at their limit.
 * UDP port SIM_PORT, TCP port SIM_PEER_PORT in both forms.
 *
 * Both mappings are pure arithmetic, so routing a packet or attributing an
 * event costs O(1) without any table. The reverse functions accept exactly
 * the strings produced here (either form), nothing else.
 */
#ifndef CHORUS_SIM_ADDR_H
#define CHORUS_SIM_ADDR_H

#include <stdbool.h>
#include <stdint.h>

#include "gossip/swim_msg.h"

#define SIM_PORT 7946
#define SIM_PEER_PORT 7947
#define SIM_MAX_NODES (1u << 24)

void sim_node_id(uint32_t i, bool long_form, char id[NODE_ID_MAX + 1]);
void sim_node_addr(uint32_t i, bool long_form, swim_addr_t *a);
/* The node index, or -1 if id is not a simulated node's. */
int64_t sim_id_index(const char *id);
/* The node index, or -1 if nothing of the simulation listens at a. */
int64_t sim_addr_index(const swim_addr_t *a);

#endif
