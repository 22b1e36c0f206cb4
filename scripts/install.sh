#!/usr/bin/env bash
# Installs qwentty for the current user (or under PREFIX) so it runs from any directory:
#
#   scripts/install.sh [--binary PATH] [PREFIX]        (default PREFIX: ~/.local)
#
#   PREFIX/bin/qwentty                                   the binary (built here with `swift build -c release`,
#                                                        or the one given with --binary)
#   PREFIX/share/qwentty/themes/*.theme                  the shipped themes
#   PREFIX/share/qwentty/models/qwentty-demo-q8_0.gguf   the demo model (random weights: it babbles)
#   PREFIX/share/bash-completion/completions/qwentty     shell completions (bash, zsh, fish)
#   PREFIX/share/zsh/site-functions/_qwentty
#   PREFIX/share/fish/vendor_completions.d/qwentty.fish
#
# The binary is built for this machine's CPU (-march=native): install it on the machine that built it.
set -euo pipefail
cd "$(dirname "$0")/.."

binary=""
if [ "${1:-}" = "--binary" ]; then
  binary=$2
  shift 2
fi
prefix=${1:-$HOME/.local}

if [ -z "$binary" ]; then
  swift build -c release
  binary="$(swift build -c release --show-bin-path)/qwentty"
fi
[ -x "$binary" ] || { echo "install: no qwentty binary at $binary" >&2; exit 1; }

install -d "$prefix/bin" "$prefix/share/qwentty/themes" "$prefix/share/qwentty/models" \
  "$prefix/share/bash-completion/completions" "$prefix/share/zsh/site-functions" "$prefix/share/fish/vendor_completions.d"
install -m 0755 "$binary" "$prefix/bin/qwentty"
install -m 0644 themes/*.theme "$prefix/share/qwentty/themes/"
install -m 0644 models/qwentty-demo-*.gguf "$prefix/share/qwentty/models/"
"$prefix/bin/qwentty" --generate-completion-script bash > "$prefix/share/bash-completion/completions/qwentty"
"$prefix/bin/qwentty" --generate-completion-script zsh > "$prefix/share/zsh/site-functions/_qwentty"
"$prefix/bin/qwentty" --generate-completion-script fish > "$prefix/share/fish/vendor_completions.d/qwentty.fish"

echo "installed qwentty $("$prefix/bin/qwentty" --version) in $prefix"
case ":$PATH:" in
  *":$prefix/bin:"*) ;;
  *) echo "note: $prefix/bin is not on your PATH; add it, e.g.: export PATH=\"$prefix/bin:\$PATH\"" ;;
esac
