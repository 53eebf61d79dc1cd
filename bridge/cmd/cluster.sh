#!/usr/bin/env bash
# make cluster: a local mqlive cluster — redis-server (as Valkey), mosquitto,
# three bridge nodes on :8081-8083, nginx on :8080 in front of them without
# sticky sessions, and the simulator. Prints one dashboard URL; Ctrl-C stops
# everything this script started, by PID. All state lives in a temp dir.
#
# Environment: BUILD (default .build), NO_INSTALL=1 (do not apt-get install
# missing servers), DEVICES, INTERVAL, SEED (simulator).
set -euo pipefail
cd "$(dirname "$0")/../.."

BUILD=${BUILD:-.build}
DEVICES=${DEVICES:-4}
INTERVAL=${INTERVAL:-2s}
SEED=${SEED:-1}
REDIS=/usr/bin/redis-server
MOSQUITTO=/usr/sbin/mosquitto
NGINX=/usr/sbin/nginx

missing=()
[ -x $REDIS ] || missing+=(redis-server)
[ -x $MOSQUITTO ] || missing+=(mosquitto)
[ -x $NGINX ] || missing+=(nginx)
if [ ${#missing[@]} -gt 0 ]; then
  if [ -n "${NO_INSTALL:-}" ]; then echo "missing: ${missing[*]} (NO_INSTALL set; install them yourself)"; exit 1; fi
  sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
  echo "installing ${missing[*]}"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  # Debian starts the packaged services; this script runs its own.
  for s in redis-server mosquitto nginx; do $sudo systemctl stop "$s" 2>/dev/null || true; done
fi
for port in 6379 1883 8080 8081 8082 8083; do
  if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
    echo "port $port is in use; stop what listens there first"; exit 1
  fi
done

dir=$(mktemp -d -t mqlive-cluster.XXXXXX)
pids=()
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  echo; echo "stopping ${#pids[@]} processes"
  # Reverse order: simulator, nginx, nodes, then mosquitto and Redis.
  for ((i=${#pids[@]}-1; i>=0; i--)); do kill "${pids[i]}" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "${keep:-}" ]; then echo "logs kept in $dir"; else rm -rf "$dir"; fi
  exit "$status"
}
trap cleanup EXIT INT TERM

wait_port() { # name port pid
  for _ in $(seq 150); do
    kill -0 "$3" 2>/dev/null || { echo "$1 exited:"; tail -20 "$dir/$1.log"; keep=1; exit 1; }
    (exec 3<>/dev/tcp/127.0.0.1/"$2") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "$1 did not listen on :$2 within 15s"; exit 1
}

root_user=; [ "$(id -u)" = 0 ] && root_user=yes

$REDIS --port 6379 --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" >"$dir/redis.log" 2>&1 &
pids+=($!); wait_port redis 6379 $!

{
  echo "listener 1883 127.0.0.1"
  echo "allow_anonymous true"
  echo "persistence true"
  echo "persistence_location $dir/"
  echo "max_queued_messages 100000"
  [ -n "$root_user" ] && echo "user root"
} >"$dir/mosquitto.conf"
$MOSQUITTO -c "$dir/mosquitto.conf" >"$dir/mosquitto.log" 2>&1 &
pids+=($!); wait_port mosquitto 1883 $!

# One secret for every node, so a token is valid on all of them.
export MQLIVE_JWT_SECRET
MQLIVE_JWT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
names=(node-a node-b node-c)
for i in 1 2 3; do
  name=${names[i-1]}
  MQLIVE_NODE=$name MQLIVE_HTTP_ADDR=127.0.0.1:808$i MQLIVE_MQTT_URL=tcp://127.0.0.1:1883 \
    MQLIVE_CLUSTER_BACKPLANE=valkey MQLIVE_VALKEY_ADDRS=127.0.0.1:6379 MQLIVE_LOG_LEVEL=${MQLIVE_LOG_LEVEL:-info} \
    "$BUILD/mqlive" >"$dir/$name.log" 2>&1 &
  pids+=($!); wait_port "$name" 808$i $!
done

{
  [ -n "$root_user" ] && echo "user root;"
  echo "pid $dir/nginx.pid;"
  echo "error_log $dir/nginx.log warn;"
  echo "events { worker_connections 1024; }"
  echo "http {"
  echo "  access_log off;"
  for d in client_body proxy fastcgi uwsgi scgi; do echo "  ${d}_temp_path $dir/$d;"; done
  echo "  include $PWD/bridge/cmd/nginx-cluster.conf;"
  echo "}"
} >"$dir/nginx.conf"
$NGINX -p "$dir" -c "$dir/nginx.conf" -e "$dir/nginx.log" -g 'daemon off;' &
pids+=($!); wait_port nginx 8080 $!

for _ in $(seq 150); do
  ready=0
  for i in 1 2 3; do
    [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:808$i/readyz)" = 200 ] && ready=$((ready + 1))
  done
  [ $ready = 3 ] && break
  sleep 0.2
done
[ $ready = 3 ] || { echo "only $ready of 3 nodes ready"; tail -5 "$dir"/node-*.log; keep=1; exit 1; }

"$BUILD/mqlive-sim" --url tcp://127.0.0.1:1883 --devices "$DEVICES" --interval "$INTERVAL" --seed "$SEED" >"$dir/sim.log" 2>&1 &
pids+=($!)

token=$("$BUILD/mqlive-token" --user dev --tenant default)
echo "mqlive cluster: redis :6379, mosquitto :1883, node-a/b/c :8081-8083, nginx :8080 (logs in $dir)"
echo "Dashboard: http://localhost:8080/?token=$token"
echo "Ctrl-C stops everything."
wait -n "${pids[@]}" || true
keep=1
echo "a process exited unexpectedly"
exit 1
