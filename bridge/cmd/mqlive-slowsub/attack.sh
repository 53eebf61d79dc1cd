#!/usr/bin/env bash
# The slow-subscriber attack, measured: a bridge on loopback with ~880
# simulated devices, one client with default claims sending 40 `subscribe
# devices` a second and never reading, the bridge's RSS sampled each second
# for 60 s. Stops everything it started.
#
#   make build && go build -o .build/mqlive-slowsub ./bridge/cmd/mqlive-slowsub
#   bridge/cmd/mqlive-slowsub/attack.sh [BUILD_DIR]
set -euo pipefail
B=${1:-.build}
SECRET=slowsub-secret-0123456789abcdef0123456789
"$B/mqlive" --http-addr 127.0.0.1:18080 --mqtt-listen 127.0.0.1:18883 --jwt-secret "$SECRET" --log-level error & bridge=$!
sim=
trap 'kill $sim $bridge 2>/dev/null; wait 2>/dev/null' EXIT
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/18080) 2>/dev/null && break; sleep 0.1; done
"$B/mqlive-sim" --url tcp://127.0.0.1:18883 --devices 80 --interval 5s --seed 1 >/dev/null 2>&1 & sim=$!
sleep 15 # the fleet announces itself
token=$(MQLIVE_JWT_SECRET=$SECRET "$B/mqlive-token" -user attacker -admin=false)
"$B/mqlive-slowsub" -url ws://127.0.0.1:18080/ws -token "$token" -pid $bridge -rate 40 -duration 60s
