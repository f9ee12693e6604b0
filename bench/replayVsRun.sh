#!/usr/bin/env bash
# Replay vs run on the same input (issue 7): one JSON-lines file of N messages over K keys, scored by
# `rnnstream run` (streaming defaults) and by `rnnstream replay` (batch defaults) with memory state and
# outputs to /dev/null; prints one JSON line per command with messages/s and tokens/s from its own log.
#   bench/replayVsRun.sh OUT.jsonl [MESSAGES] [KEYS]
set -euo pipefail
cd "$(dirname "$0")/.."
out=$1 messages=${2:-20000} keys=${3:-2000}
input=$(mktemp --suffix .jsonl)
trap 'rm -f "$input"' EXIT
# Texts from `make data` when present (real review sentences), else the demo feed's.
texts=data/cache/uci.jsonl
[[ -f $texts ]] || texts=examples/demo-feed.jsonl
node -e '
  const fs = require("fs");
  const [texts, n, k, out] = process.argv.slice(1);
  const t = fs.readFileSync(texts, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l).text);
  const lines = [];
  for (let i = 0; i < Number(n); i++) lines.push(JSON.stringify({ key: `k${i % Number(k)}`, text: t[i % t.length] }));
  fs.writeFileSync(out, lines.join("\n") + "\n");
' "$texts" "$messages" "$keys" "$input"
measure() { # mode, then the command; its last log line with "seconds" holds the counts
  local mode=$1
  shift
  node --import tsx pipeline/cli.ts "$@" --out file:/dev/null --log-level info 2>&1 >/dev/null |
    grep '"tokens":' | tail -1 |
    node -e '
      const s = JSON.parse(require("fs").readFileSync(0, "utf8"));
      console.log(JSON.stringify({ bench: "replay", mode: process.argv[1], messages: s.messagesIn, tokens: s.tokens,
        batches: s.batches, seconds: s.seconds, messages_per_s: s.messagesIn / s.seconds, tokens_per_s: s.tokens / s.seconds }));
    ' "$mode" | tee -a "$out"
}
measure run run --in "file:$input"
measure replay replay --files "$input"
