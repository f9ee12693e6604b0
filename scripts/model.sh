#!/usr/bin/env bash
# make model: trains the candidate recipes of the shipped default model (model/train/shipped.ts) from make
# data's files with a fixed seed, ships the one with the best validation score as models/sentiment,
# benchmarks it and the lexicon baselines through the serving engine, writes metrics.json, MODEL_CARD.md
# and calibration.svg. A candidate already trained with the same options (data/cache/candidates/) is reused.
#   scripts/model.sh                 the candidates and the shipped model (~10 min per candidate on one core;
#                                    MODEL_JOBS candidates at once, default 2), then the shipped model's card
#   scripts/model.sh cv [K] [EPOCHS] K-fold cross-validation of the shipped recipe (default 10; one training per fold,
#                                    at nice 19 in its own scheduling group, log in data/cache/cv/fold-I.log)
#       CV_JOBS=N   folds trained at once (default 1)
#       CV_LOCK=0   without the heavy-run lock (the folds yield the CPU anyway; default 1: the lock per fold)
#       CV_COLLECT_ONLY=1  only summarise the fold files (e.g. with EPOCHS below the limit they were trained to)
#       CV_CANDIDATE=NAME  the recipe of candidate NAME instead (after scripts/model.sh candidate NAME), same folds, into
#                          data/cache/cv/NAME/ and its summary.json, not the card
#   scripts/model.sh candidate NAME  one candidate only (into data/cache/candidates/NAME, which the full run reuses)
#   scripts/model.sh seed NAME N     candidate NAME under seed N (into data/cache/seeds/NAME-seedN), a seed study
#                                    outside the choice
#   scripts/model.sh distil NAME [SEED]  candidate NAME (under SEED) distilled from its runs under seeds 42, 1 and 2
#                                    (after candidate NAME and seed NAME 1, 2; into data/cache/distil/): a study outside the choice
#   scripts/model.sh curve PERCENT   the shipped recipe on PERCENT% of the P&L training sentences (into
#                                    data/cache/curve/PERCENT): a learning curve outside the choice
#   scripts/model.sh curve           collects the trained points into models/sentiment's metrics.json and card
#   scripts/model.sh torch-export    the shipped recipe's data as the trainer sees it, for the PyTorch replica of
#                                    the trainer (data/cache/study; model/study/README.md): a study outside the choice
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
  cv) # One fold per process, by default each under the heavy-run lock, so other heavy runs can go between folds.
    K="${2:-10}" EPOCHS="${3:-}" JOBS="${CV_JOBS:-1}" LOGS="data/cache/cv${CV_CANDIDATE:+/$CV_CANDIDATE}"
    mkdir -p "$LOGS"
    [ -z "${CV_CANDIDATE:-}" ] || SHIPPED+=(--cv-candidate "$CV_CANDIDATE")
    fold() { # At nice 19 in a session of its own: the kernel's autogroups make nice count only within a session,
      # so the fold's session is set to nice 19 too (where the kernel allows it).
      local lock=()
      [ "${CV_LOCK:-1}" = 0 ] || lock=(flock /tmp/rnnstream-heavy.lock)
      setsid -w bash -c 'echo 19 >/proc/self/autogroup 2>/dev/null; exec "$@"' fold "${lock[@]}" \
        nice -n 19 "${SHIPPED[@]}" --cv "$K" --cv-fold "$1" ${EPOCHS:+--cv-epochs "$EPOCHS"} \
        >"$LOGS/fold-$1.log" 2>&1 || { echo "model: cv fold $1 failed, see $LOGS/fold-$1.log" >&2; return 1; }
      tail -n 1 "$LOGS/fold-$1.log"
    }
    if [ "${CV_COLLECT_ONLY:-0}" != 1 ]; then
      for ((i = 0; i < K; i++)); do
        while (($(jobs -rp | wc -l) >= JOBS)); do wait -n; done
        fold "$i" &
      done
      wait
    fi
    exec "${SHIPPED[@]}" --cv "$K" ${EPOCHS:+--cv-epochs "$EPOCHS"} ;;
  candidate) exec "${SHIPPED[@]}" --candidate "${2:?usage: scripts/model.sh candidate NAME}" ;;
  distil) exec "${SHIPPED[@]}" --candidate "${2:?usage: scripts/model.sh distil NAME [SEED]}" --distil ${3:+--seed "$3"} ;;
  seed) exec "${SHIPPED[@]}" --candidate "${2:?usage: scripts/model.sh seed NAME N}" --seed "${3:?usage: scripts/model.sh seed NAME N}" ;;
  curve) exec node --import tsx model/train/learningCurve.ts ${2:+"$2"} ;;
  cost) exec "${SHIPPED[@]}" --cost "${2:?usage: scripts/model.sh cost OLD_DIR}" ;;
  card) exec "${SHIPPED[@]}" --card-only ;;
  torch-export) exec node --import tsx model/study/torchExport.ts ;;
  "") # Each candidate trains on one core (TF.js wasm runs single-threaded), so MODEL_JOBS run side by side.
    mkdir -p data/cache/candidates
    "${SHIPPED[@]}" --list-candidates | xargs -P "${MODEL_JOBS:-2}" -I{} \
      sh -c '"$@" --candidate "$0" >"data/cache/candidates/$0.log" 2>&1 || { echo "model: candidate $0 failed, see data/cache/candidates/$0.log" >&2; exit 1; }' {} "${SHIPPED[@]}" ||
      exit 1
    exec "${SHIPPED[@]}" ${PREVIOUS:+--previous "$PREVIOUS"} ;;
  *) echo "usage: scripts/model.sh [candidate NAME | seed NAME N | distil NAME [SEED] | curve [PERCENT] | cv [K] [EPOCHS] | cost OLD_DIR | card | torch-export]" >&2; exit 2 ;;
esac
