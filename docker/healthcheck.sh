#!/bin/bash
# healthcheck.sh - the image's HEALTHCHECK (/usr/local/bin/chorus-healthcheck):
# healthy when GET /health on this node's HTTP port answers 200 (503 while
# the node shuts down). Only bash builtins (/dev/tcp, read): the image needs
# no HTTP client, and no child process is left for chorusd, PID 1, to reap.
# It reads the port and address from CHORUS_PORT and CHORUS_BIND, so give
# those as variables rather than flags in a container.
set -eu

port=${CHORUS_PORT:-8081}
host=${CHORUS_BIND:-0.0.0.0}
case $host in
0.0.0.0) host=127.0.0.1 ;;
::) host=::1 ;;
esac
exec 3<>"/dev/tcp/$host/$port"
printf 'GET /health HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
read -r -t 4 _ status _ <&3
[[ $status == 200 ]]
