#!/usr/bin/env bash
# Makes sure the command-line tools that integration tests and the docs use are installed.
# Today that is only `kcat` (Kafka's netcat), from Debian's packages. Missing tools are a warning, not a
# failure: the tests that need one check for it and say so.
# Usage: deploy/ensure-tools.sh
set -uo pipefail

warn() { echo "ensure-tools: warning: $*" >&2; }

if command -v kcat >/dev/null 2>&1; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  warn "kcat is missing and apt-get is not available: install kcat by hand"
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo_cmd=(sudo -n)
  else
    warn "kcat is missing and installing it needs root: run 'apt-get install -y kcat' as root"
    exit 0
  fi
fi

echo "ensure-tools: installing kcat with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
# Try without `apt-get update` first: on a machine whose lists are current it saves ~10 s.
if ! "${sudo_cmd[@]}" apt-get install -y -q kcat >/dev/null 2>&1; then
  "${sudo_cmd[@]}" apt-get update -q >/dev/null 2>&1 || warn "apt-get update failed"
  if ! "${sudo_cmd[@]}" apt-get install -y -q kcat >/dev/null 2>&1; then
    warn "could not install kcat with apt-get; tests that need it will be skipped or fail with a message"
    exit 0
  fi
fi
command -v kcat >/dev/null 2>&1 || warn "kcat was installed but is not on PATH"
exit 0
