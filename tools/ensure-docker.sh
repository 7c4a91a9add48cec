#!/usr/bin/env bash
# Make sure a Docker engine answers on this machine: install Debian's docker.io and start dockerd
# when running as root on a machine without one (CI, fresh machines); otherwise say what to do.
set -euo pipefail

log_dir="${CROWDCOMPUTE_DOCKER_LOG_DIR:-build}"

if docker info >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" != "0" ]; then
  echo "No Docker engine is reachable and this is not root." >&2
  echo "Install and start one (e.g. 'sudo apt-get install docker.io && sudo systemctl start docker')," >&2
  echo "and add yourself to the docker group, then run this again." >&2
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "Installing Docker engine (Debian docker.io)..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker.io >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  mkdir -p "$log_dir"
  echo "Starting dockerd (log: $log_dir/dockerd.log)..." >&2
  nohup dockerd >"$log_dir/dockerd.log" 2>&1 &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
fi

if ! docker info >/dev/null 2>&1; then
  echo "dockerd did not come up; see $log_dir/dockerd.log" >&2
  exit 1
fi
