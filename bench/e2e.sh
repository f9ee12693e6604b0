#!/usr/bin/env bash
# (c) End to end through real Kafka and Redis (bench/e2e.ts): `rnnstream run` fed by `rnnstream feed` with
# ~20-token texts over 10 000 keys — maximum rate, p50/p99 latency at 50% and 90% of it, in both delivery
# modes — beside Kafka's raw produce/consume rate on the same broker, the kernel alone at the batch the
# pipeline formed, the naive baseline (bench/naive.ts), and the resident memory of a run over 100 000 keys. Writes bench/results/e2e.jsonl and regenerates
# BENCHMARKS.md with the other parts' results as they are.
#
# Needs the services: `make bench-e2e` starts them (deploy/services.sh), or set KAFKA_BROKERS and REDIS_URL.
# Knobs (environment): BENCH_E2E_KEYS=10000 BENCH_E2E_MESSAGES=60000 BENCH_E2E_SECONDS=20
#   BENCH_E2E_NAIVE_MESSAGES=3000 BENCH_E2E_MODES=at-least-once,exactly-once BENCH_E2E_MEMORY_KEYS=100000
#   (RSS of a run holding that many keys with Redis state) BENCH_E2E_TARGET_LATENCY_MS (the run's
#   --target-latency-ms; unset = its default, 0 = no goal) BENCH_E2E_COMPARE_BACKENDS=wasm (backends whose
#   maximum rate is measured beside the default's, per mode; empty = none); extra flags pass through to bench/e2e.ts
#   (e.g. --skip naive).
# BENCH_E2E_QUICK=1: a reduced run for a shared machine — 40 000 pre-filled messages, 10 s per load level,
#   only the pipeline parts (no Kafka ceiling, kernel, naive baseline or memory part).
set -euo pipefail
cd "$(dirname "$0")/.."
RESULTS=bench/results
mkdir -p "$RESULTS"
rm -f "$RESULTS/e2e.jsonl"
EXTRA=()
if [[ "${BENCH_E2E_QUICK:-0}" == 1 ]]; then
  BENCH_E2E_MESSAGES="${BENCH_E2E_MESSAGES:-40000}" BENCH_E2E_SECONDS="${BENCH_E2E_SECONDS:-10}"
  EXTRA+=(--skip ceiling,kernel,naive,memory)
fi
EXTRA+=(--compare-backends "${BENCH_E2E_COMPARE_BACKENDS-wasm}")
if [[ -n "${BENCH_E2E_TARGET_LATENCY_MS:-}" ]]; then EXTRA+=(--target-latency-ms "$BENCH_E2E_TARGET_LATENCY_MS"); fi
node --import tsx bench/e2e.ts --out "$RESULTS/e2e.jsonl" \
  --brokers "${KAFKA_BROKERS:-127.0.0.1:9092}" --redis "${REDIS_URL:-redis://127.0.0.1:6379}" \
  --keys "${BENCH_E2E_KEYS:-10000}" --messages "${BENCH_E2E_MESSAGES:-60000}" --seconds "${BENCH_E2E_SECONDS:-20}" \
  --naive-messages "${BENCH_E2E_NAIVE_MESSAGES:-3000}" --memory-keys "${BENCH_E2E_MEMORY_KEYS:-100000}" --modes "${BENCH_E2E_MODES:-at-least-once,exactly-once}" "${EXTRA[@]}" "$@"
if [[ "${BENCH_E2E_REPORT:-1}" == 1 ]]; then
  node --import tsx bench/report.ts "$RESULTS" BENCHMARKS.md
fi
