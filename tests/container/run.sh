#!/bin/bash
# run.sh - the container test: builds the image from docker/Dockerfile and
# proves that three containers of it form a cluster and replicate a write.
#   1. the base image debian:bookworm-slim, made with mmdebstrap and imported
#      when podman does not have it (no registry needed)
#   2. the image, built with podman (builder stage compile included)
#   3. its configuration (user, healthcheck, stop signal, ports, volume), the
#      CHORUS_* variables of docker/ against the image's chorusd
#      (docker/check-config.sh), and the compose and Kubernetes files
#      (tests/container/check_manifests.py, and docker-compose config)
#   4. three nodes on a podman network, started as the StatefulSet runs them
#      (read-only root, no capabilities) and seeded by name as compose does:
#      3 alive members everywhere, a write on node-1 read back with
#      ?local=true on every replica the ring names, the HEALTHCHECK healthy,
#      node-3 restarted on its volume at a new address, SIGTERM exits 0
# Containers, network and volumes are removed at the end, even on failure;
# the image stays (CHORUS_CONTAINER_IMAGE, default localhost/chorus:test) so
# the next build reuses its layers. Needs root (rootful podman).
# Usage: tests/container/run.sh        Ends with "N passed, N failed".
# shellcheck disable=SC2317  # the functions below run through until_ok and trap
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
image=${CHORUS_CONTAINER_IMAGE:-localhost/chorus:test}
base=docker.io/library/debian:bookworm-slim
tag=chorus-ct$$
net=$tag-net
podman=(podman --runtime runc --cgroup-manager=cgroupfs)
limits=(--ulimit nofile=20000:20000 --ulimit nproc=4096:4096)
work=$(mktemp -d)
passed=0 failed=0

cleanup() {
  local i
  for i in 1 2 3; do "${podman[@]}" rm -f -t 0 "$tag-node-$i" >/dev/null 2>&1 || true; done
  for i in 1 2 3; do "${podman[@]}" volume rm -f "$tag-data-$i" >/dev/null 2>&1 || true; done
  "${podman[@]}" network rm -f "$net" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { echo "ok $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
finish() { echo "$passed passed, $failed failed"; ((failed == 0)); exit; }

# until SECONDS CMD...: runs CMD every half second until it succeeds or time runs out.
until_ok() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}

if ((EUID != 0)); then
  echo "container test: needs root (rootful podman)"; fail setup "not root"; finish
fi
for cmd in podman mmdebstrap docker-compose curl jq python3; do
  command -v "$cmd" >/dev/null || { fail setup "$cmd not found (scripts/install-deps.sh installs it)"; finish; }
done

# 1. The base image, as a registry would give it.
if "${podman[@]}" image exists "$base"; then
  ok base_image
elif mmdebstrap --quiet --variant=minbase bookworm "$work/rootfs.tar" >"$work/base.log" 2>&1 &&
  "${podman[@]}" import --change 'CMD ["bash"]' "$work/rootfs.tar" "$base" >>"$work/base.log" 2>&1; then
  rm -f "$work/rootfs.tar"
  ok base_image
else
  tail -n 20 "$work/base.log"; fail base_image "mmdebstrap or podman import failed"; finish
fi

# 2. The image. The builder trusts the CAs this host trusts (a build secret,
# never in a layer); its RUN steps use the host's network, so the build needs
# no bridge of its own.
secret=()
ca=/etc/ssl/certs/ca-certificates.crt
[[ -f $ca ]] && secret=(--secret "id=ca-certificates,src=$ca")
start=$SECONDS
if "${podman[@]}" build "${limits[@]}" --network host --format docker "${secret[@]}" \
  -t "$image" -f "$root/docker/Dockerfile" "$root" >"$work/build.log" 2>&1; then
  echo "# image built in $((SECONDS - start)) s"
  ok image_build
else
  tail -n 40 "$work/build.log"; fail image_build "podman build failed"; finish
fi

# 3. What the image and the files around it promise.
want='10001:10001|[CMD chorus-healthcheck]|SIGTERM|[chorus-entrypoint]|map[/var/lib/chorus:{}]'
got=$("${podman[@]}" image inspect --format \
  '{{.Config.User}}|{{.HealthCheck.Test}}|{{.Config.StopSignal}}|{{.Config.Entrypoint}}|{{.Config.Volumes}}' "$image")
# shellcheck disable=SC2016  # a Go template, not a shell expansion
ports=$("${podman[@]}" image inspect --format '{{range $p, $v := .Config.ExposedPorts}}{{$p}} {{end}}' "$image")
if [[ $got == "$want" && $ports == "8081/tcp 8081/udp 9081/tcp " ]]; then
  ok image_config
else
  fail image_config "got '$got' and ports '$ports'"
fi

# check-config.sh runs in the image, against the image's own chorusd.
if "${podman[@]}" run --rm "${limits[@]}" --network none -v "$root/docker:/docker:ro" --entrypoint bash "$image" \
  /docker/check-config.sh /usr/local/bin/chorusd >"$work/config.log" 2>&1; then
  ok config_variables
else
  sed 's/^/  /' "$work/config.log"; fail config_variables "docker/check-config.sh failed"
fi

if python3 "$root/tests/container/check_manifests.py" "$root/docker" >"$work/manifests.log" 2>&1; then
  ok manifests
else
  sed 's/^/  /' "$work/manifests.log"; fail manifests "tests/container/check_manifests.py failed"
fi

# The compose file against the Compose schema (docker-compose needs no engine for this).
if docker-compose -f "$root/docker/docker-compose.yml" config -q >"$work/compose.log" 2>&1; then
  ok compose_config
else
  sed 's/^/  /' "$work/compose.log"; fail compose_config "docker-compose config refused docker/docker-compose.yml"
fi

# 4. A cluster. An internal network: the nodes need nothing outside it, and
# the host reaches them at their addresses on its bridge.
"${podman[@]}" network create --internal "$net" >"$work/net.log" 2>&1 || {
  cat "$work/net.log"; fail containers_start "podman network create failed"; finish
}

# start I [podman run args...]: node-I, seeded by node-1's name, on its own volume.
start_node() {
  local i=$1 seed=()
  shift
  ((i == 1)) || seed=(-e CHORUS_SEED_NODE=node-1:8081)
  "${podman[@]}" run -d "${limits[@]}" --name "$tag-node-$i" --network "$net" --network-alias "node-$i" \
    --read-only --cap-drop all --security-opt no-new-privileges \
    -e "CHORUS_NODE_ID=node-$i" "${seed[@]}" -v "$tag-data-$i:/var/lib/chorus" "$@" "$image" \
    >>"$work/run.log" 2>&1
}
addr() { "${podman[@]}" inspect --format "{{(index .NetworkSettings.Networks \"$net\").IPAddress}}" "$tag-node-$1"; }
http() { curl -sS --max-time 5 "$@"; }
# formed: every node sees 3 alive members, each owning its ranges (phase normal: a joiner is streaming first).
formed() {
  local i n
  for i in 1 2 3; do
    n=$(http "http://${ip[$i]}:8081/gossip/members" 2>/dev/null |
      jq -r '.alive_members, ([.cluster_members[] | select(.status == "alive" and .phase == "normal")] | length)' |
      tr '\n' ' ') || return 1
    [[ $n == "3 3 " ]] || return 1
  done
}
dump_logs() {
  local i
  for i in 1 2 3; do echo "  -- node-$i"; "${podman[@]}" logs --tail 15 "$tag-node-$i" 2>&1 | sed 's/^/  /'; done
}

declare -A ip
if start_node 1 && start_node 2 && start_node 3; then
  for i in 1 2 3; do ip[$i]=$(addr "$i"); done
  ok containers_start
else
  tail -n 20 "$work/run.log"; fail containers_start "podman run failed"; finish
fi

start=$SECONDS
if until_ok 60 formed; then
  echo "# 3 alive members, each owning its ranges, on every node after $((SECONDS - start)) s"
  ok three_members_alive
else
  dump_logs; fail three_members_alive "not 3 alive members in phase normal on every node within 60 s"; finish
fi

# holds I KEY VALUE: node-I's own copy of KEY is VALUE.
holds() { [[ $(http "http://${ip[$1]}:8081/api/v1/data/$2?local=true" 2>/dev/null | jq -r .value) == "$3" ]]; }
# on_replicas KEY VALUE: every node of KEY's preference list holds VALUE (within 10 s: the last may lag).
on_replicas() {
  local key=$1 value=$2 n i
  replicas=$(http "http://${ip[1]}:8081/api/v1/ring/lookup/$key" | jq -r '.preference_list[]')
  [[ $(wc -w <<<"$replicas") == 3 ]] || { echo "  preference list of $key: $replicas"; return 1; }
  for n in $replicas; do
    i=${n#node-}
    until_ok 10 holds "$i" "$key" "$value" || { echo "  $n does not hold $key=$value"; return 1; }
  done
}

reply=$(http -X PUT "http://${ip[1]}:8081/api/v1/data/container:greeting" -d '{"value":"hello from node-1"}' || true)
if [[ $(jq -r .replication_result.quorum_achieved <<<"$reply" 2>/dev/null) == true ]] &&
  on_replicas container:greeting "hello from node-1"; then
  ok write_replicated
else
  echo "  PUT reply: $reply"; fail write_replicated "the write is not on every replica"
fi

# the client in the image, run inside node-2's container against its own node
got=$("${podman[@]}" exec "$tag-node-2" chorus --node 127.0.0.1:8081 get --value-only container:greeting 2>&1 || true)
alive=$("${podman[@]}" exec "$tag-node-2" chorus members --node 127.0.0.1:8081 --json 2>/dev/null | jq -r .alive_members)
if [[ $got == "hello from node-1" && $alive == 3 ]]; then
  ok client_in_the_image
else
  fail client_in_the_image "chorus get: $got; chorus members: $alive alive"
fi

healthy=0
for i in 1 2 3; do
  "${podman[@]}" healthcheck run "$tag-node-$i" >"$work/health.log" 2>&1 && healthy=$((healthy + 1))
done
if ((healthy == 3)); then ok healthcheck_healthy; else fail healthcheck_healthy "$healthy of 3 healthy"; fi

# node-3 again, on its volume, at another address (as a rescheduled pod): it
# keeps what it held, gets what it missed (a hint), and replicates to its new address.
"${podman[@]}" stop -t 30 "$tag-node-3" >/dev/null 2>&1
"${podman[@]}" rm "$tag-node-3" >/dev/null 2>&1
old=${ip[3]}
reply=$(http -X PUT "http://${ip[1]}:8081/api/v1/data/container:missed" -d '{"value":"while node-3 was away"}' || true)
subnet=$("${podman[@]}" network inspect --format '{{range .Subnets}}{{.Subnet}}{{end}}' "$net")
new=${subnet%.*/*}.200
if start_node 3 --ip "$new" && ip[3]=$(addr 3) && [[ ${ip[3]} == "$new" && $new != "$old" ]] &&
  until_ok 60 formed && holds 3 container:greeting "hello from node-1" &&
  until_ok 30 holds 3 container:missed "while node-3 was away" &&
  http -X PUT "http://${ip[1]}:8081/api/v1/data/container:after" -d '{"value":"after"}' >/dev/null &&
  on_replicas container:after after; then
  ok restart_new_address
else
  dump_logs; fail restart_new_address "node-3 at $old, then ${ip[3]}: data or membership missing"
fi

# SIGTERM (the image's STOPSIGNAL) is a graceful shutdown: exit 0 well before podman would SIGKILL.
stopped=0
for i in 3 2 1; do
  "${podman[@]}" stop -t 30 "$tag-node-$i" >/dev/null 2>&1 || true
  code=$("${podman[@]}" inspect --format '{{.State.ExitCode}}' "$tag-node-$i")
  if [[ $code == 0 ]] && "${podman[@]}" logs "$tag-node-$i" 2>&1 | grep -q 'received SIGTERM'; then
    stopped=$((stopped + 1))
  else
    echo "  node-$i exited $code"
  fi
done
if ((stopped == 3)); then ok sigterm_exit_0; else fail sigterm_exit_0 "$stopped of 3 stopped cleanly"; fi

finish
