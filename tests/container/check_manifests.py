#!/usr/bin/env python3
"""check_manifests.py - checks that the container files fit together, where no
compose engine or Kubernetes cluster is at hand: docker/docker-compose.yml
and every document of docker/k8s/*.yaml parse as YAML, and the names and
ports they share agree (services and volumes, selectors and labels, the
headless Service of the StatefulSet, the seeds, the ports the Dockerfile
exposes). Prints one line per problem; exits 1 if there is any.
Usage: tests/container/check_manifests.py [DOCKER_DIR]   (default docker/)"""
import glob
import os
import re
import sys

import yaml

problems = []


def check(cond, what):
    if not cond:
        problems.append(what)


def exposed_ports(dockerfile):
    ports = set()
    for line in open(dockerfile):
        if line.startswith("EXPOSE "):
            ports.update(tuple(p.split("/")) for p in line.split()[1:])
    return ports


def check_compose(path, ports):
    doc = yaml.safe_load(open(path))
    services, volumes = doc.get("services", {}), doc.get("volumes", {}) or {}
    check(sorted(services) == ["node-1", "node-2", "node-3"], "compose: services are %s" % sorted(services))
    ids, published = set(), set()
    for name, svc in services.items():
        env = svc.get("environment", {})
        ids.add(env.get("CHORUS_NODE_ID"))
        check("image" in svc or "build" in svc, "compose: %s has neither image nor build" % name)
        check("chorus-healthcheck" in svc.get("healthcheck", {}).get("test", []), "compose: %s: no healthcheck" % name)
        check("stop_grace_period" in svc, "compose: %s: no stop_grace_period" % name)
        if name != "node-1":
            check(env.get("CHORUS_SEED_NODE") == "node-1:8081", "compose: %s does not seed node-1:8081" % name)
        for p in svc.get("ports", []):
            host, container = str(p).split(":")
            published.add(host)
            port, _, proto = container.partition("/")
            check((port, proto or "tcp") in ports, "compose: %s publishes %s, not exposed" % (name, container))
        for v in svc.get("volumes", []):
            vol, _, mount = v.partition(":")
            check(vol in volumes, "compose: %s mounts undeclared volume %s" % (name, vol))
            check(mount == "/var/lib/chorus", "compose: %s mounts %s, not the data dir" % (name, mount))
    check(ids == {"node-1", "node-2", "node-3"}, "compose: node ids are %s" % ids)
    check(published == {"8081", "8082", "8083"}, "compose: published ports are %s" % published)


def matches(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def check_k8s(files, ports):
    docs = [d for f in files for d in yaml.safe_load_all(open(f)) if d]
    for d in docs:
        check(d.get("apiVersion") and d.get("kind") and d.get("metadata", {}).get("name"),
              "k8s: a document without apiVersion, kind or name")
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
    (sts,) = by_kind.get("StatefulSet", {}).values()
    pod = sts["spec"]["template"]
    labels = pod["metadata"]["labels"]
    check(matches(sts["spec"]["selector"]["matchLabels"], labels), "k8s: StatefulSet selector misses its pods")
    headless = by_kind.get("Service", {}).get(sts["spec"]["serviceName"])
    check(headless and headless["spec"].get("clusterIP") == "None", "k8s: serviceName is not a headless Service")
    for name, svc in by_kind.get("Service", {}).items():
        check(matches(svc["spec"]["selector"], labels), "k8s: Service %s selects no pod" % name)
    for name, pdb in by_kind.get("PodDisruptionBudget", {}).items():
        check(matches(pdb["spec"]["selector"]["matchLabels"], labels), "k8s: PDB %s selects no pod" % name)
    (c,) = pod["spec"]["containers"]
    for ref in c.get("envFrom", []):
        check(ref["configMapRef"]["name"] in by_kind.get("ConfigMap", {}), "k8s: envFrom names a missing ConfigMap")
    port_names = {p["name"] for p in c["ports"]}
    for p in c["ports"]:
        check((str(p["containerPort"]), p.get("protocol", "TCP").lower()) in ports,
              "k8s: containerPort %s/%s is not exposed by the image" % (p["containerPort"], p.get("protocol")))
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        get = c.get(probe, {}).get("httpGet", {})
        check(get.get("path") == "/health" and get.get("port") in port_names, "k8s: %s is not GET /health" % probe)
    claims = {t["metadata"]["name"] for t in sts["spec"].get("volumeClaimTemplates", [])}
    for m in c.get("volumeMounts", []):
        check(m["name"] in claims, "k8s: volumeMount %s has no claim template" % m["name"])
    env = {e["name"]: e for e in c.get("env", [])}
    seeds = env.get("CHORUS_SEED_NODE", {}).get("value", "")
    want = r"%s-0\.%s\.\$\(POD_NAMESPACE\)\.svc\.cluster\.local:8081" % (sts["metadata"]["name"], headless["metadata"]["name"])
    check(re.match(want, seeds), "k8s: the first seed is not the first pod's DNS name: %s" % seeds)
    check(env.get("CHORUS_ADVERTISE", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "status.podIP",
          "k8s: CHORUS_ADVERTISE is not the pod IP")
    check(env.get("CHORUS_NODE_ID", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "metadata.name",
          "k8s: CHORUS_NODE_ID is not the pod name")
    check(pod["spec"].get("securityContext", {}).get("runAsNonRoot") is True, "k8s: pods may run as root")


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "docker")
    ports = exposed_ports(os.path.join(root, "Dockerfile"))
    check(ports == {("8081", "tcp"), ("8081", "udp"), ("9081", "tcp")}, "Dockerfile: EXPOSE is %s" % sorted(ports))
    for step in (lambda: check_compose(os.path.join(root, "docker-compose.yml"), ports),
                 lambda: check_k8s(sorted(glob.glob(os.path.join(root, "k8s", "*.yaml"))), ports)):
        try:
            step()
        except (KeyError, TypeError, ValueError, yaml.YAMLError) as e:
            problems.append("%s: %s" % (type(e).__name__, e))
    for p in problems:
        print("FAIL " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
