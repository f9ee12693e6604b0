#!/usr/bin/env bash
# `make bench`: every benchmark of the performance issue side by side in one run, then BENCHMARKS.md.
#   (a) kernel: rnnstream's batched step (onnxruntime, the default, and TF.js wasm) vs PyTorch CPU
#       (nn.Embedding + nn.RNN/LSTM/GRU) on the same shapes, rnn/lstm/gru at several batch sizes, with numpy's
#       sgemm peak as the roofline;
#   (b) pipeline: micro-batched vs one message at a time, 1 000 active keys (embedded, memory state);
#   memory: RSS with 100 000 active keys in the memory store.
#   (c) end to end through Kafka and Redis (bench/e2e.sh; needs the services, which `make bench` starts);
# (d) the GPU run is bench/gpu/run.sh.
#
# Run it on a quiet machine: the load average is recorded at start and end, and figures taken while
# other work runs are not comparable. Knobs (environment):
#   BENCH_CELLS=rnn,lstm,gru  BENCH_BATCHES=1,16,256,1024,4096  BENCH_SECONDS=2 (per point)
#   BENCH_STEPS=32 BENCH_VOCAB=20000 BENCH_EMBED=128 BENCH_HIDDEN=256
#   BENCH_THREADS=<cores> (PyTorch/OpenBLAS threads, engine workers)  BENCH_BACKEND=auto (backend of (b) and memory; (a) measures onnxruntime and wasm)
#   BENCH_PIPELINE_KEYS=1000 BENCH_PIPELINE_MESSAGES=60000 BENCH_SINGLE_MESSAGES=3000 (long enough for steady state)
#   BENCH_MEMORY_KEYS=100000  BENCH_SKIP=torch,kernel,pipeline,memory,replay,e2e (comma list of parts to skip)
#   BENCH_E2E_* (see bench/e2e.sh)
#   BENCH_QUICK=1: a smoke run at reduced sizes (a few minutes in all)
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${BENCH_QUICK:-0}" == 1 ]]; then
  : "${BENCH_BATCHES:=1,16,256}" "${BENCH_SECONDS:=1}" "${BENCH_PIPELINE_MESSAGES:=3000}" "${BENCH_SINGLE_MESSAGES:=1000}"
  : "${BENCH_E2E_MESSAGES:=10000}" "${BENCH_E2E_SECONDS:=5}" "${BENCH_E2E_NAIVE_MESSAGES:=300}" "${BENCH_E2E_MODES:=at-least-once}"
  : "${BENCH_E2E_MEMORY_KEYS:=10000}"
  export BENCH_E2E_MESSAGES BENCH_E2E_SECONDS BENCH_E2E_NAIVE_MESSAGES BENCH_E2E_MODES BENCH_E2E_MEMORY_KEYS
fi
CELLS=${BENCH_CELLS:-rnn,lstm,gru}
BATCHES=${BENCH_BATCHES:-1,16,256,1024,4096}
SECS=${BENCH_SECONDS:-2}
STEPS=${BENCH_STEPS:-32}
VOCAB=${BENCH_VOCAB:-20000}
EMBED=${BENCH_EMBED:-128}
HIDDEN=${BENCH_HIDDEN:-256}
THREADS=${BENCH_THREADS:-$(nproc)}
BACKEND=${BENCH_BACKEND:-auto}
PIPE_KEYS=${BENCH_PIPELINE_KEYS:-1000}
PIPE_MESSAGES=${BENCH_PIPELINE_MESSAGES:-60000}
SINGLE_MESSAGES=${BENCH_SINGLE_MESSAGES:-3000}
MEMORY_KEYS=${BENCH_MEMORY_KEYS:-100000}
SKIP=",${BENCH_SKIP:-},"
# Debian's interpreter (python3-torch, python3-numpy), not whatever python3 is first on PATH.
PY=/usr/bin/python3
BENCH=(node --import tsx bench/cli.ts)
RESULTS=bench/results

skipped() { [[ "$SKIP" == *",$1,"* ]]; }
note() { echo "$*" >>"$RESULTS/notes.txt"; echo "note: $*" >&2; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
# The JSON line a bench command prints last; the table before it goes to the terminal.
last_json() { tee -a /dev/stderr | grep '^{' | tail -n 1; }
# PyTorch/numpy with OpenBLAS: these variables (set on some machines) pin OpenBLAS to a wrong core type
# or cache size, so they are unset for the Python commands only.
python_blas() { env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS="$THREADS" OMP_NUM_THREADS="$THREADS" "$PY" "$@"; }

install_python() {
  if [[ -x "$PY" ]] && "$PY" -c 'import torch, numpy' 2>/dev/null && dpkg -s libopenblas0-pthread >/dev/null 2>&1; then
    return 0
  fi
  local packages=(python3-torch python3-numpy libopenblas0-pthread)
  local sudo=()
  [[ $(id -u) -ne 0 ]] && sudo=(sudo)
  echo "installing ${packages[*]} (Debian packages) for the PyTorch baseline…" >&2
  "${sudo[@]}" apt-get install -y "${packages[@]}" >/dev/null ||
    { "${sudo[@]}" apt-get update >/dev/null && "${sudo[@]}" apt-get install -y "${packages[@]}" >/dev/null; }
}

mkdir -p "$RESULTS"
rm -f "$RESULTS"/{machine,sgemm,summary}.json "$RESULTS"/{kernel,pipeline,memory,replay,e2e}.jsonl "$RESULTS"/notes.txt "$RESULTS"/kernel-*.svg
LOAD_START=$(loadavg)
[[ "${BENCH_QUICK:-0}" == 1 ]] && note "quick run (BENCH_QUICK=1): reduced sizes, 1 s per point; not for the record"

have_torch=0
if ! skipped torch; then
  if install_python; then have_torch=1; else note "PyTorch baseline skipped: could not install python3-torch/python3-numpy/libopenblas0-pthread"; fi
fi

# Roofline first, while the machine is as quiet as it will be.
if [[ $have_torch == 1 ]]; then
  python_blas bench/sgemm_peak.py --threads "$THREADS" | last_json >"$RESULTS/sgemm.json" || note "sgemm peak failed"
fi

# (a) kernel vs PyTorch CPU, same shapes; per cell one after the other, so both see the same machine.
torch_kernel() { # threads cells
  python_blas bench/pytorch_kernel.py --cells "$2" --batches "$BATCHES" --vocab "$VOCAB" --embed "$EMBED" \
    --hidden "$HIDDEN" --steps "$STEPS" --seconds "$SECS" --threads "$1" | tee -a /dev/stderr | grep '^{' >>"$RESULTS/kernel.jsonl"
}
kernel_point() { # label cell batch extra-args…
  local label=$1 cell=$2 batch=$3
  shift 3
  echo "== kernel rnnstream $cell batch $batch, $label" >&2
  "${BENCH[@]}" kernel --cell "$cell" --vocab "$VOCAB" --embed "$EMBED" --hidden "$HIDDEN" --batch "$batch" \
    --steps "$STEPS" --seconds "$SECS" "$@" --json | last_json >>"$RESULTS/kernel.jsonl" ||
    note "kernel $cell batch $batch ($label) failed"
}
if ! skipped kernel; then
  for cell in ${CELLS//,/ }; do
    for batch in ${BATCHES//,/ }; do
      # The default backend (ONNX Runtime, one session of one thread) beside TF.js wasm (one engine).
      kernel_point onnxruntime "$cell" "$batch" --backend onnxruntime
      kernel_point wasm "$cell" "$batch" --backend wasm
      # Using every core: N engine workers of one thread each (run's default), or one session of N threads.
      if ((THREADS > 1 && batch >= 256)); then
        kernel_point "onnxruntime, $THREADS engine workers" "$cell" "$batch" --backend onnxruntime --engine-workers "$THREADS"
        if [[ $cell == gru ]]; then
          kernel_point "onnxruntime, one session of $THREADS threads" "$cell" "$batch" --backend onnxruntime --threads "$THREADS"
          kernel_point "wasm, $THREADS engine workers" "$cell" "$batch" --backend wasm --engine-workers "$THREADS"
        fi
      fi
    done
    if [[ $have_torch == 1 ]]; then
      echo "== kernel PyTorch CPU $cell ($THREADS threads)" >&2
      torch_kernel "$THREADS" "$cell" || note "PyTorch $cell baseline failed"
      # One torch thread is PyTorch's best setting on small machines (OpenBLAS still uses the cores): both
      # are measured and the goals compare with the better one.
      if ((THREADS > 1)); then torch_kernel 1 "$cell" || note "PyTorch 1-thread $cell baseline failed"; fi
    fi
  done
fi

# (b) micro-batched vs one message at a time, same keys.
if ! skipped pipeline; then
  for mode in batched single; do
    messages=$PIPE_MESSAGES
    [[ $mode == single ]] && messages=$SINGLE_MESSAGES
    echo "== pipeline $mode ($PIPE_KEYS keys, $messages messages)" >&2
    "${BENCH[@]}" pipeline --keys "$PIPE_KEYS" --messages "$messages" --mode "$mode" --backend "$BACKEND" \
      --engine-workers "$THREADS" --json |
      last_json >>"$RESULTS/pipeline.jsonl" || note "pipeline $mode failed"
  done
  # The kernel alone at the batch the micro-batched pipeline formed (same model shape, same engine workers).
  shape=$(grep '"mode":"batched"' "$RESULTS/pipeline.jsonl" | tail -n 1 | node -e '
    const p = JSON.parse(require("fs").readFileSync(0, "utf8")); const s = p.shape;
    const rows = Math.max(1, Math.round(p.rows_per_batch)), steps = Math.max(1, Math.round(p.tokens_per_batch / p.rows_per_batch));
    console.log(`--cell ${s.cell} --vocab ${s.vocab} --embed ${s.embed} --hidden ${s.hidden} --layers ${s.layers} --batch ${rows} --steps ${steps}`);' 2>/dev/null) || shape=
  if [[ -n $shape ]]; then
    echo "== kernel at the pipeline's batch ($shape)" >&2
    # shellcheck disable=SC2086 # $shape is a list of flags
    "${BENCH[@]}" kernel $shape --seconds "$SECS" --backend "$BACKEND" --engine-workers "$THREADS" --context pipeline --json |
      last_json >>"$RESULTS/kernel.jsonl" || note "kernel at the pipeline's batch failed"
  fi
fi

# Memory with 100 000 active keys in the memory store (GC exposed so RSS shows live memory).
if ! skipped memory; then
  echo "== memory ($MEMORY_KEYS keys)" >&2
  node --expose-gc --import tsx bench/cli.ts memory --keys "$MEMORY_KEYS" --via store --backend "$BACKEND" --json |
    last_json >>"$RESULTS/memory.jsonl" || note "memory bench failed"
fi

# Replay vs run on the same input (batch reprocessing speed).
if ! skipped replay; then
  echo "== replay vs run (${PIPE_MESSAGES} messages)" >&2
  bash bench/replayVsRun.sh "$RESULTS/replay.jsonl" "$PIPE_MESSAGES" 2000 || note "replay vs run failed"
fi

# (c) End to end through Kafka and Redis, when the services answer.
if ! skipped e2e; then
  broker=${KAFKA_BROKERS:-127.0.0.1:9092}
  broker=${broker%%,*}
  if (exec 3<>"/dev/tcp/${broker%:*}/${broker##*:}") 2>/dev/null; then
    echo "== end to end through Kafka and Redis" >&2
    BENCH_E2E_REPORT=0 bash bench/e2e.sh || note "end to end (bench/e2e.sh) failed"
  else
    note "end to end skipped: no Kafka broker at $broker (make bench starts one; or run make bench-e2e)"
  fi
fi

LOAD_END=$(loadavg)
torch_version=$([[ $have_torch == 1 ]] && "$PY" -c 'import torch; print(torch.__version__)' 2>/dev/null || echo none)
cat >"$RESULTS/machine.json" <<JSON
{"date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "cpu": "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//;s/"//g')",
 "cores": $(nproc), "memory_gb": $(awk '/MemTotal/ {printf "%.1f", $2 / 1048576}' /proc/meminfo), "node": "$(node --version)",
 "torch": "$torch_version", "commit": "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)",
 "load_start": "$LOAD_START", "load_end": "$LOAD_END", "threads": $THREADS, "seconds_per_point": $SECS}
JSON

node --import tsx bench/report.ts "$RESULTS" BENCHMARKS.md
