#!/usr/bin/env bash
# (d) GPU: rnnstream's kernel on TF.js `webgpu` (Dawn over Vulkan, through the optional `webgpu` package)
# beside PyTorch nn.GRUCell (stepped) and nn.GRU (cuDNN) on the same NVIDIA GPU, GRU, vocab 20000,
# E 128, H 256, 32 steps, batch 1…16384, in one run. Self-contained: needs only this checkout with its
# node_modules (npm ci, which installs the optional `webgpu` package), a Vulkan driver, and a python3
# with a CUDA build of torch (PYTHON=… to choose it).
#
# UNTESTED: written on a machine without a GPU. Writes bench/gpu/results/<date>.jsonl and prints a table;
# commit that file with the date and the card.
set -euo pipefail
cd "$(dirname "$0")/../.."
BATCHES=${BENCH_BATCHES:-1,256,1024,4096,16384}
SECS=${BENCH_SECONDS:-3}
PYTHON=${PYTHON:-python3}
OUT=bench/gpu/results
mkdir -p "$OUT"
FILE="$OUT/$(date -u +%Y-%m-%dT%H%M%SZ).jsonl"

card=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -n 1 || echo unknown)
echo "{\"bench\": \"machine\", \"date\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\", \"card\": \"$card\", \"node\": \"$(node --version)\", \"commit\": \"$(git rev-parse --short HEAD 2>/dev/null || echo unknown)\"}" >"$FILE"

for batch in ${BATCHES//,/ }; do
  echo "== rnnstream webgpu batch $batch" >&2
  node --import tsx bench/cli.ts kernel --cell gru --vocab 20000 --embed 128 --hidden 256 --batch "$batch" \
    --steps 32 --seconds "$SECS" --backend webgpu --json | grep '^{' | tail -n 1 >>"$FILE" ||
    echo "rnnstream webgpu batch $batch failed" >&2
done
echo "== PyTorch CUDA" >&2
"$PYTHON" bench/gpu/torch_gpu.py --batches "$BATCHES" --seconds "$SECS" | grep '^{' >>"$FILE" ||
  echo "PyTorch CUDA baseline failed (is a CUDA build of torch installed for $PYTHON?)" >&2

node -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
const [machine, ...points] = rows;
console.log(`# GPU kernel, ${machine.date}, ${machine.card}`);
const impls = [...new Set(points.map((p) => p.impl))];
console.log(["batch", ...impls].join("\t"));
for (const b of [...new Set(points.map((p) => p.batch))].sort((x, y) => x - y)) {
  console.log([b, ...impls.map((i) => { const p = points.find((q) => q.impl === i && q.batch === b); return p ? Math.round(p.tokens_per_s) : "-"; })].join("\t"));
}
' "$FILE"
echo "wrote $FILE" >&2
