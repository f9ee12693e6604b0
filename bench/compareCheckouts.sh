#!/usr/bin/env bash
# Runs one `rnnstream bench …` command in two built checkouts, alternating A, B, A, B … ROUNDS times in one
# run (this machine is noisy: only a side-by-side ratio means something), prints a table of tokens/s per
# round with the median ratio B/A, and writes every round as JSON.
#   bench/compareCheckouts.sh DIR_A DIR_B OUT.json [ROUNDS] -- bench pipeline --keys 1000 --messages 20000
# Each DIR must hold a built checkout (dist/ from `npm run build`); the bench command must print --json.
set -euo pipefail
[ $# -ge 5 ] || { echo "usage: $0 DIR_A DIR_B OUT.json [ROUNDS] -- bench <name> [flags…]" >&2; exit 2; }
A="$1" B="$2" OUT="$3"
shift 3
ROUNDS=5
if [ "$1" != "--" ]; then ROUNDS="$1"; shift; fi
[ "$1" = "--" ] || { echo "$0: expected -- before the bench command" >&2; exit 2; }
shift
for dir in "$A" "$B"; do
  [ -f "$dir/bin/rnnstream.js" ] && [ -d "$dir/dist" ] || { echo "$0: $dir is not a built checkout (run npm run build there)" >&2; exit 2; }
done
lines=()
for ((round = 1; round <= ROUNDS; round++)); do
  for side in A B; do
    dir=$A; [ "$side" = B ] && dir=$B
    json=$(cd "$dir" && node bin/rnnstream.js "$@" --json 2>/dev/null | tail -1)
    lines+=("{\"round\":$round,\"side\":\"$side\",\"dir\":\"$dir\",\"result\":$json}")
  done
done
printf '%s\n' "${lines[@]}" | node -e '
  const rows = require("fs").readFileSync(0, "utf8").trim().split("\n").map((l) => JSON.parse(l));
  const [out, a, b, command] = process.argv.slice(1);
  const rate = (side, round) => rows.find((r) => r.side === side && r.round === round).result.tokens_per_s;
  const rounds = [...new Set(rows.map((r) => r.round))];
  const median = (xs) => { const s = [...xs].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
  const ratios = rounds.map((r) => rate("B", r) / rate("A", r));
  console.log(`| round | A tokens/s | B tokens/s | B/A |\n| --- | --- | --- | --- |`);
  for (const r of rounds) console.log(`| ${r} | ${Math.round(rate("A", r))} | ${Math.round(rate("B", r))} | ${(rate("B", r) / rate("A", r)).toFixed(3)} |`);
  const summary = { command, a, b, rounds: rounds.length, medianA: median(rounds.map((r) => rate("A", r))), medianB: median(rounds.map((r) => rate("B", r))), medianRatio: median(ratios), minRatio: Math.min(...ratios), maxRatio: Math.max(...ratios), date: new Date().toISOString() };
  console.log(`median B/A ${summary.medianRatio.toFixed(3)} (range ${summary.minRatio.toFixed(3)}–${summary.maxRatio.toFixed(3)}) over ${rounds.length} rounds`);
  require("fs").writeFileSync(out, JSON.stringify({ summary, rows }, null, 2) + "\n");
' "$OUT" "$A" "$B" "$*"
