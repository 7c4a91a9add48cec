#!/usr/bin/env bash
# Put `crowdcompute` on the PATH after `make setup`, without activating the venv: a link to this checkout's
# .venv/bin/crowdcompute in /usr/local/bin when running as root (a fresh Debian box, a container), else in
# ~/.local/bin (which Debian's ~/.profile puts on the PATH at login once it exists). CROWDCOMPUTE_BIN_DIR
# chooses another folder; CROWDCOMPUTE_BIN_DIR=none links nothing. A file there that is not a link is left
# alone. Prints what it did, and what to do when the folder is not on this shell's PATH.
set -euo pipefail

target="$(pwd)/.venv/bin/crowdcompute"
if [ ! -x "$target" ]; then
  echo "no $target: the venv is not installed (run make setup)" >&2
  exit 1
fi
if [ "$(id -u)" = "0" ]; then default_dir=/usr/local/bin; else default_dir="$HOME/.local/bin"; fi
dir="${CROWDCOMPUTE_BIN_DIR:-$default_dir}"
activate="run it as .venv/bin/crowdcompute, or 'source .venv/bin/activate' in each new shell"

if [ "$dir" = "none" ]; then
  echo "crowdcompute: not linked (CROWDCOMPUTE_BIN_DIR=none); $activate"
  exit 0
fi
link="$dir/crowdcompute"
if [ -e "$link" ] && [ ! -L "$link" ]; then
  echo "crowdcompute: $link exists and is not a link, so it was left alone; $activate"
  exit 0
fi
mkdir -p "$dir"
ln -sfn "$target" "$link"
case ":$PATH:" in
  *":$dir:"*) echo "crowdcompute is on your PATH: $link -> $target" ;;
  *) echo "crowdcompute linked as $link -> $target, but $dir is not on this shell's PATH: log in again" \
       "(Debian adds ~/.local/bin at login) or export PATH=\"$dir:\$PATH\"; else $activate" ;;
esac
