#!/usr/bin/env bash
# make model: trains the shipped default model models/sentiment from make data's files with a fixed seed,
# benchmarks it and the lexicon baselines through the serving engine, writes metrics.json and MODEL_CARD.md.
#   scripts/model.sh            the shipped model (~10 min on 2 CPU cores)
#   scripts/model.sh compare    also the three cells (rnn, lstm, gru) at the same size for the card's table
#   scripts/model.sh card       re-renders MODEL_CARD.md from models/sentiment/metrics.json
set -euo pipefail
cd "$(dirname "$0")/.."
for f in uci.jsonl pl-sentences.csv pl-reviews.csv; do
  [ -f "data/cache/$f" ] || { echo "model: data/cache/$f is missing: run make data first" >&2; exit 1; }
done
case "${1:-}" in
  compare) exec node --import tsx model/train/shipped.ts --compare ;;
  card) exec node --import tsx model/train/shipped.ts --card-only ;;
  "") exec node --import tsx model/train/shipped.ts ;;
  *) echo "usage: scripts/model.sh [compare|card]" >&2; exit 2 ;;
esac
