#!/usr/bin/env bash
# make model: trains the candidate recipes of the shipped default model (model/train/shipped.ts) from make
# data's files with a fixed seed, ships the one with the best validation score as models/sentiment,
# benchmarks it and the lexicon baselines through the serving engine, writes metrics.json, MODEL_CARD.md
# and calibration.svg. A candidate already trained with the same options (data/cache/candidates/) is reused.
#   scripts/model.sh                 the candidates and the shipped model (~15 min per candidate, 2 CPU cores)
#   scripts/model.sh cv [K] [EPOCHS] K-fold cross-validation of the shipped recipe (default 10; one training per fold)
#   scripts/model.sh cost OLD_DIR    serving cost per token (wasm) of models/sentiment beside the package OLD_DIR
#   scripts/model.sh card            re-renders MODEL_CARD.md from models/sentiment/metrics.json
# Set PREVIOUS=DIR to benchmark an older package beside the new one in the card.
set -euo pipefail
cd "$(dirname "$0")/.."
for f in uci.jsonl pl-sentences.csv pl-reviews.csv glove-100d.f32; do
  [ -f "data/cache/$f" ] || { echo "model: data/cache/$f is missing: run make data first" >&2; exit 1; }
done
SHIPPED=(node --import tsx model/train/shipped.ts)
case "${1:-}" in
  cv) # One fold per process, each under the heavy-run lock, so other heavy runs can go between folds.
    K="${2:-10}"
    for ((i = 0; i < K; i++)); do
      flock /tmp/rnnstream-heavy.lock "${SHIPPED[@]}" --cv "$K" --cv-fold "$i" ${3:+--cv-epochs "$3"}
    done
    exec "${SHIPPED[@]}" --cv "$K" ;;
  cost) exec "${SHIPPED[@]}" --cost "${2:?usage: scripts/model.sh cost OLD_DIR}" ;;
  card) exec "${SHIPPED[@]}" --card-only ;;
  "") exec "${SHIPPED[@]}" ${PREVIOUS:+--previous "$PREVIOUS"} ;;
  *) echo "usage: scripts/model.sh [cv [K] [EPOCHS] | cost OLD_DIR | card]" >&2; exit 2 ;;
esac
