#!/usr/bin/env bash
# Local Kafka and Redis for development and CI on machines without a Docker engine.
#
#   deploy/services.sh up       make sure Redis answers on 127.0.0.1:6379 and start a single-node KRaft
#                               Kafka (broker + controller) on 127.0.0.1:9092 (controller on :9093)
#   deploy/services.sh down     stop what `up` started, and only that
#   deploy/services.sh status   print what runs; exit 0 when both Kafka and Redis answer, 3 otherwise
#   deploy/services.sh fetch    only fetch (and cache) the Kafka jars
#   deploy/services.sh logs     print the tail of the Kafka log
#
# `up` prints the matching `export KAFKA_BROKERS=… REDIS_URL=…` line on stdout (progress goes to stderr),
# so `eval "$(deploy/services.sh up)"` starts the services and points the tests at them.
#
# Kafka comes as jars from Maven Central (deploy/kafka/pom.xml), fetched once with Maven into a cache folder
# outside git, so a fresh clone on a machine that ran this before starts in seconds. Every start formats a
# fresh data folder (the broker is for tests and keeps nothing between runs), unless
# RNNSTREAM_KAFKA_KEEP_DATA=1 finds one already formatted.
#
# Environment (all optional):
#   RNNSTREAM_CACHE_DIR            jar cache        (default ${XDG_CACHE_HOME:-~/.cache}/rnnstream)
#   RNNSTREAM_RUN_DIR              pid files, logs, Kafka data (default /tmp/rnnstream-services)
#   RNNSTREAM_KAFKA_PORT           broker port      (default 9092)
#   RNNSTREAM_KAFKA_CONTROLLER_PORT controller port (default 9093)
#   RNNSTREAM_REDIS_PORT           Redis port       (default 6379)
#   RNNSTREAM_KAFKA_START_TIMEOUT  seconds to wait for the broker (default 120)
#   RNNSTREAM_SKIP_TOOLS=1         do not run deploy/ensure-tools.sh (kcat) from `up`
#   RNNSTREAM_KAFKA_KEEP_DATA=1    `up` reuses an already formatted data folder (a broker restart that
#                                  keeps topics and offsets; the fault tests use it on their own ports)
#   KAFKA_HEAP_OPTS                JVM heap         (default -Xms256m -Xmx512m)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
POM="$HERE/kafka/pom.xml"
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM")"
CACHE_ROOT="${RNNSTREAM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rnnstream}"
# The pom's hash is in the folder name, so editing the pom fetches a new set instead of reusing a stale one.
JARS_DIR="$CACHE_ROOT/kafka-$KAFKA_VERSION-$(sha256sum "$POM" | cut -c1-12)"
RUN_DIR="${RNNSTREAM_RUN_DIR:-/tmp/rnnstream-services}"
KAFKA_DIR="$RUN_DIR/kafka"
KAFKA_PID_FILE="$RUN_DIR/kafka.pid"
KAFKA_LOG="$KAFKA_DIR/server.log"
REDIS_PID_FILE="$RUN_DIR/redis.pid"
HOST=127.0.0.1
KAFKA_PORT="${RNNSTREAM_KAFKA_PORT:-9092}"
CONTROLLER_PORT="${RNNSTREAM_KAFKA_CONTROLLER_PORT:-9093}"
REDIS_PORT="${RNNSTREAM_REDIS_PORT:-6379}"
START_TIMEOUT="${RNNSTREAM_KAFKA_START_TIMEOUT:-120}"
HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"

log() { echo "services: $*" >&2; }
die() {
  echo "services: error: $*" >&2
  exit 1
}

# True when something accepts TCP connections on host:port.
port_open() { timeout 1 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

# True when `pid` is alive and its command line contains `pattern` (guards against a reused pid).
pid_matches() {
  local pid="$1" pattern="$2"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$pattern"
}

read_pid() { if [ -f "$1" ]; then cat "$1" 2>/dev/null || true; fi; }

# ---------------------------------------------------------------------------------------------- Redis

redis_answers() {
  if command -v redis-cli >/dev/null 2>&1; then
    [ "$(timeout 2 redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]
  else
    # No client: speak the inline protocol ourselves.
    timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$REDIS_PORT; printf 'PING\r\n' >&3; head -c 5 <&3" 2>/dev/null | grep -q PONG
  fi
}

redis_up() {
  if redis_answers; then
    log "redis: answering on $HOST:$REDIS_PORT"
    return
  fi
  command -v redis-server >/dev/null 2>&1 || die "redis does not answer on $HOST:$REDIS_PORT and redis-server is not installed (apt-get install -y redis-server)"
  # The machine's own flags (keeps nothing on disk), with its files under RUN_DIR and a pid file so that
  # `down` stops only this one.
  local dir="$RUN_DIR/redis" logfile="$RUN_DIR/redis.log"
  mkdir -p "$dir"
  log "redis: starting redis-server on $HOST:$REDIS_PORT"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir "$dir" --logfile "$logfile" --pidfile "$REDIS_PID_FILE" >/dev/null
  local _
  for _ in $(seq 1 50); do
    redis_answers && {
      log "redis: started (pid $(read_pid "$REDIS_PID_FILE"))"
      return
    }
    sleep 0.2
  done
  tail -n 20 "$logfile" >&2 2>/dev/null || true
  die "redis-server did not answer on $HOST:$REDIS_PORT within 10 s (log: $logfile)"
}

redis_down() {
  local pid
  pid="$(read_pid "$REDIS_PID_FILE")"
  if pid_matches "$pid" redis-server; then
    log "redis: stopping pid $pid"
    kill -TERM "$pid"
    local _
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
  fi
  rm -f "$REDIS_PID_FILE"
}

# ---------------------------------------------------------------------------------------------- Kafka

require_java() {
  command -v java >/dev/null 2>&1 || die "java is not installed (Kafka $KAFKA_VERSION needs Java 11+; apt-get install -y openjdk-17-jre-headless)"
}

fetch_jars() {
  if [ -f "$JARS_DIR/.complete" ]; then
    return
  fi
  command -v mvn >/dev/null 2>&1 || die "maven is not installed and the Kafka jars are not cached in $JARS_DIR (apt-get install -y maven)"
  log "kafka: fetching Kafka $KAFKA_VERSION jars from Maven Central into $JARS_DIR"
  local tmp="$JARS_DIR.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  # Fetch into a temporary folder and rename it at the end, so an interrupted fetch is never taken as a cache hit.
  if ! mvn -B -q -f "$POM" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" >"$tmp.mvn.log" 2>&1; then
    tail -n 30 "$tmp.mvn.log" >&2
    rm -rf "$tmp"
    die "maven could not fetch the Kafka jars (full log: $tmp.mvn.log)"
  fi
  rm -f "$tmp.mvn.log"
  touch "$tmp/.complete"
  rm -rf "$JARS_DIR"
  mv "$tmp" "$JARS_DIR"
  log "kafka: cached $(find "$JARS_DIR" -name '*.jar' | wc -l) jars ($(du -sh "$JARS_DIR" | cut -f1))"
}

# The JVM command line shared by the broker and its tools, as the array JAVA_CMD.
set_java_cmd() {
  # shellcheck disable=SC2206 # HEAP_OPTS is a list of JVM flags.
  JAVA_CMD=(java $HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true
    -Dlog4j.configuration="file:$KAFKA_DIR/log4j.properties" -cp "$JARS_DIR/*")
}

write_config() {
  mkdir -p "$KAFKA_DIR/data"
  cat >"$KAFKA_DIR/server.properties" <<EOF
# Written by deploy/services.sh: a single-node KRaft broker + controller for tests.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DIR/data

# One node: every internal topic has one replica.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
min.insync.replicas=1
default.replication.factor=1
# Fewer internal partitions than the defaults (50): created faster on first use, plenty for tests.
offsets.topic.num.partitions=10
transaction.state.log.num.partitions=10

# Fast tests: no wait before the first consumer-group rebalance; topics made on first use.
group.initial.rebalance.delay.ms=0
num.partitions=4
auto.create.topics.enable=true
delete.topic.enable=true

# Small machine (2 cores): fewer threads than the defaults.
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
background.threads=4
EOF
  # Kafka 3.9 logs through log4j 1.x (reload4j): everything to stdout, which `up` sends to server.log.
  cat >"$KAFKA_DIR/log4j.properties" <<'EOF'
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.org.apache.kafka.clients=WARN
EOF
}

# A random cluster id in Kafka's format: 16 random bytes, URL-safe base64 without padding. Like Kafka's own
# Uuid.randomUuid, never one that starts with '-' (the storage tool would read it as an option: 1 in 64).
random_cluster_id() {
  local id
  id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
  while [ "${id:0:1}" = - ]; do id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"; done
  echo "$id"
}

# True when the broker on $HOST:$KAFKA_PORT answers a metadata request (not just a TCP connect).
kafka_answers() {
  if command -v kcat >/dev/null 2>&1; then
    timeout 15 kcat -b "$HOST:$KAFKA_PORT" -L -m 10 >/dev/null 2>&1
  else
    [ -f "$JARS_DIR/.complete" ] || return 1
    mkdir -p "$KAFKA_DIR"
    [ -f "$KAFKA_DIR/log4j.properties" ] || write_config
    timeout 40 env KAFKA_HEAP_OPTS= java -Xmx128m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
      -Dlog4j.configuration="file:$KAFKA_DIR/log4j.properties" -cp "$JARS_DIR/*" \
      org.apache.kafka.tools.TopicCommand --bootstrap-server "$HOST:$KAFKA_PORT" --list >/dev/null 2>&1
  fi
}

kafka_ours_pid() {
  local pid
  pid="$(read_pid "$KAFKA_PID_FILE")"
  if pid_matches "$pid" kafka.Kafka; then echo "$pid"; fi
}

kafka_stop_pid() {
  local pid="$1" _
  kill -TERM "$pid" 2>/dev/null || return 0
  # A single-node controlled shutdown takes a few seconds; do not wait forever.
  for _ in $(seq 1 150); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.2
  done
  log "kafka: pid $pid did not stop in 30 s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
}

kafka_up() {
  local pid
  pid="$(kafka_ours_pid)"
  if [ -n "$pid" ] && port_open "$HOST" "$KAFKA_PORT"; then
    log "kafka: already running (pid $pid) on $HOST:$KAFKA_PORT"
    return
  fi
  if [ -n "$pid" ]; then
    # Ours, but not answering: a start that failed half-way. Start over.
    log "kafka: pid $pid does not answer; restarting it"
    kafka_stop_pid "$pid"
  elif port_open "$HOST" "$KAFKA_PORT"; then
    fetch_jars
    if kafka_answers; then
      log "kafka: a broker not started by this script already answers on $HOST:$KAFKA_PORT; using it"
      return
    fi
    die "port $HOST:$KAFKA_PORT is taken by something that does not answer as Kafka"
  fi
  rm -f "$KAFKA_PID_FILE"
  port_open "$HOST" "$CONTROLLER_PORT" && die "the controller port $HOST:$CONTROLLER_PORT is taken (set RNNSTREAM_KAFKA_CONTROLLER_PORT)"

  require_java
  fetch_jars
  local cluster_id
  set_java_cmd
  if [ "${RNNSTREAM_KAFKA_KEEP_DATA:-0}" = 1 ] && [ -f "$KAFKA_DIR/data/meta.properties" ]; then
    # A restart on the same data (fault tests): topics, offsets and committed group offsets survive.
    write_config
    cluster_id="$(sed -n 's/^cluster\.id=//p' "$KAFKA_DIR/data/meta.properties")"
    log "kafka: keeping the data in $KAFKA_DIR/data (RNNSTREAM_KAFKA_KEEP_DATA=1)"
  else
    rm -rf "$KAFKA_DIR"
    write_config
    cluster_id="$(random_cluster_id)"
    if ! "${JAVA_CMD[@]}" kafka.tools.StorageTool format --ignore-formatted -t "$cluster_id" \
      -c "$KAFKA_DIR/server.properties" >"$KAFKA_DIR/format.log" 2>&1; then
      cat "$KAFKA_DIR/format.log" >&2
      die "formatting the KRaft storage in $KAFKA_DIR/data failed"
    fi
  fi

  log "kafka: starting Kafka $KAFKA_VERSION (KRaft, cluster $cluster_id) on $HOST:$KAFKA_PORT"
  # nohup execs java (so $! is the broker's pid); as a background job of a non-interactive shell it also
  # ignores SIGINT, so the broker outlives this script and a Ctrl-C in the terminal that ran it.
  nohup "${JAVA_CMD[@]}" kafka.Kafka "$KAFKA_DIR/server.properties" </dev/null >"$KAFKA_LOG" 2>&1 &
  pid=$!
  echo "$pid" >"$KAFKA_PID_FILE"

  local deadline=$((SECONDS + START_TIMEOUT))
  until port_open "$HOST" "$KAFKA_PORT" && grep -q "Kafka Server started" "$KAFKA_LOG"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "----- last lines of $KAFKA_LOG -----" >&2
      tail -n 40 "$KAFKA_LOG" >&2 || true
      rm -f "$KAFKA_PID_FILE"
      die "kafka exited while starting (log: $KAFKA_LOG)"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "----- last lines of $KAFKA_LOG -----" >&2
      tail -n 40 "$KAFKA_LOG" >&2 || true
      kafka_stop_pid "$pid"
      rm -f "$KAFKA_PID_FILE"
      die "kafka did not start within ${START_TIMEOUT} s (log: $KAFKA_LOG)"
    fi
    sleep 0.3
  done
  if ! kafka_answers; then
    tail -n 40 "$KAFKA_LOG" >&2 || true
    die "kafka listens on $HOST:$KAFKA_PORT but does not answer a metadata request (log: $KAFKA_LOG)"
  fi
  log "kafka: started (pid $pid); log: $KAFKA_LOG"
}

kafka_down() {
  local pid
  pid="$(kafka_ours_pid)"
  if [ -n "$pid" ]; then
    log "kafka: stopping pid $pid"
    kafka_stop_pid "$pid"
  fi
  rm -f "$KAFKA_PID_FILE"
}

# ---------------------------------------------------------------------------------------------- commands

cmd_up() {
  mkdir -p "$RUN_DIR"
  if [ "${RNNSTREAM_SKIP_TOOLS:-0}" != 1 ]; then
    "$HERE/ensure-tools.sh" || true
  fi
  redis_up
  kafka_up
  echo "export KAFKA_BROKERS=$HOST:$KAFKA_PORT REDIS_URL=redis://$HOST:$REDIS_PORT"
}

cmd_down() {
  kafka_down
  redis_down
}

cmd_status() {
  local ok=0 pid
  if redis_answers; then
    pid="$(read_pid "$REDIS_PID_FILE")"
    if pid_matches "$pid" redis-server; then
      echo "redis: answering on $HOST:$REDIS_PORT (started by services.sh, pid $pid)"
    else
      echo "redis: answering on $HOST:$REDIS_PORT (not started by services.sh)"
    fi
  else
    echo "redis: not answering on $HOST:$REDIS_PORT"
    ok=3
  fi
  pid="$(kafka_ours_pid)"
  if [ -n "$pid" ] && port_open "$HOST" "$KAFKA_PORT"; then
    echo "kafka: answering on $HOST:$KAFKA_PORT (started by services.sh, pid $pid, log $KAFKA_LOG)"
  elif [ -n "$pid" ]; then
    echo "kafka: pid $pid running but not listening on $HOST:$KAFKA_PORT (log $KAFKA_LOG)"
    ok=3
  elif port_open "$HOST" "$KAFKA_PORT"; then
    echo "kafka: something not started by services.sh listens on $HOST:$KAFKA_PORT"
  else
    echo "kafka: not running"
    ok=3
  fi
  if [ -f "$JARS_DIR/.complete" ]; then
    echo "kafka jars: cached in $JARS_DIR"
  else
    echo "kafka jars: not fetched yet ($JARS_DIR)"
  fi
  if command -v kcat >/dev/null 2>&1; then echo "kcat: $(command -v kcat)"; else echo "kcat: missing"; fi
  return "$ok"
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
fetch)
  require_java
  fetch_jars
  log "kafka: jars in $JARS_DIR"
  ;;
logs) tail -n "${2:-100}" "$KAFKA_LOG" ;;
*)
  echo "usage: $0 up|down|status|fetch|logs [lines]" >&2
  exit 2
  ;;
esac
