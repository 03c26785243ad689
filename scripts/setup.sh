#!/usr/bin/env bash
# Installs what kafka-access needs on a fresh machine: Java 17 and Maven (for
# the test broker) from Debian when missing, and the pinned Python packages.
# The Kafka jars are resolved by scripts/testbroker.py on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
if [ "${#need[@]}" -gt 0 ]; then
  echo "installing ${need[*]} ..."
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi

PYTHON="${PYTHON:-python3}"
stamp=.cache/requirements.sha256
sum=$( (cat requirements.txt requirements-dev.txt; "$PYTHON" -c 'import sys; print(sys.executable)') | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sum" ]; then
  "$PYTHON" -m pip install -q --disable-pip-version-check --root-user-action=ignore -r requirements-dev.txt
  mkdir -p .cache && echo "$sum" > "$stamp"
fi
