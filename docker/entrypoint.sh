#!/bin/sh
# entrypoint.sh - the image's entrypoint (/usr/local/bin/chorus-entrypoint):
# runs chorusd with the container's arguments, after one fix-up.
# A node binding every address advertises 127.0.0.1 unless told otherwise,
# which no other container can reach. When neither CHORUS_ADVERTISE nor
# --advertise is given, the node advertises the container's own address: the
# first of `hostname -I`, i.e. the pod IP under Kubernetes or the address on
# the compose network. With several networks, set CHORUS_ADVERTISE to the one
# members share (an address, or a name chorusd resolves at start).
# exec: chorusd replaces this shell, so the stop signal (SIGTERM) reaches it.
set -eu

case " $* " in
*" --advertise"*) ;;
*)
  if [ -z "${CHORUS_ADVERTISE:-}" ]; then
    addr=$(hostname -I 2>/dev/null || true)
    addr=${addr%% *}
    if [ -n "$addr" ]; then
      CHORUS_ADVERTISE=$addr
      export CHORUS_ADVERTISE
    fi
  fi
  ;;
esac
exec chorusd "$@"
