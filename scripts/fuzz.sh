#!/usr/bin/env bash
# Builds the libFuzzer harnesses in Fuzz/ with AddressSanitizer and runs them.
#
#   scripts/fuzz.sh [gguf|safetensors|tokenizer|all] [SECONDS]    (default: all, 60 s each)
#
# The engine modules are compiled straight from Sources/ with `swiftc -sanitize=fuzzer,address` into
# .build-fuzz/ (git-ignored), one object per module, in dependency order. Seed corpora are made from the
# committed fixtures at each run; findings (crash-*, leak-*, timeout-*, oom-*) land in .build-fuzz/findings/
# and make the script fail. Each run prints libFuzzer's execution count.
set -euo pipefail
cd "$(dirname "$0")/.."

which=${1:-all}
seconds=${2:-60}
out=.build-fuzz
mkdir -p "$out/modules" "$out/findings"
flags=(-O -parse-as-library -sanitize=fuzzer,address -Xcc -march=native -swift-version 5)

build_module() {  # name [extra swiftc flags...], dependencies already built into $out/modules
  local name=$1; shift
  if [ "$out/modules/$name.o" -nt "Sources/$name" ] && [ -z "$(find "Sources/$name" -newer "$out/modules/$name.o")" ]; then
    return
  fi
  swiftc "${flags[@]}" "$@" -wmo -module-name "$name" -I "$out/modules" -emit-module -emit-module-path "$out/modules/$name.swiftmodule" \
    -c Sources/"$name"/*.swift -o "$out/modules/$name.o"
}

# VectorInstructions names LLVM intrinsics through `Builtin` (Package.swift); built here without an
# instruction-set define, so the harnesses run the portable kernels (they test parsing, not arithmetic).
build_module VectorInstructions -parse-stdlib
for module in Essentials ModelFiles Kernels Tokenizer Transformer Inference; do build_module "$module"; done

run() {  # harness name, seed files...
  local name=$1; shift
  local binary="$out/$name"
  # gold warns once per ASan helper symbol ("Cannot export local symbol"): noise, kept out of the log.
  swiftc "${flags[@]}" -I "$out/modules" "Fuzz/$name.swift" "$out"/modules/*.o -o "$binary" 2>&1 | grep -v "Cannot export local symbol" || true
  [ -x "$binary" ] || { echo "== $name: build failed" >&2; return 1; }
  local corpus; corpus=$(mktemp -d)
  cp "$@" "$corpus/"
  echo "== $name: ${seconds}s, seeds: $#"
  # -rss_limit_mb: a load that would need gigabytes is a finding, not a slow run.
  "$binary" "$corpus" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$out/findings/$name-" 2>&1 | grep -E "^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==ERROR|SUMMARY|.*Test unit written)" || true
  rm -rf "$corpus"
  if ls "$out/findings/$name-"* >/dev/null 2>&1; then
    echo "== $name: FINDINGS in $out/findings/" >&2
    return 1
  fi
}

status=0
if [ "$which" = gguf ] || [ "$which" = all ]; then
  run GGUFLoadFuzzer Tests/Fixtures/*.gguf || status=1
fi
if [ "$which" = safetensors ] || [ "$which" = all ]; then
  run SafetensorsFuzzer Tests/Fixtures/safetensors/model.safetensors Tests/Fixtures/safetensors/sharded/*.safetensors || status=1
fi
if [ "$which" = tokenizer ] || [ "$which" = all ]; then
  seeds=$(mktemp -d)
  printf 'Hello, world!' > "$seeds/ascii"
  printf '你好，世界 🌍 こんにちは' > "$seeds/cjk"
  printf '<|im_start|>user\nhi<|im_end|>\n' > "$seeds/special"
  printf "   multiple   spaces\t\ttabs\n\nnewlines 123456789 don't I'll" > "$seeds/pretokenizer"
  printf '\xff\xfe invalid \xc3\x28 utf8' > "$seeds/invalid"
  if [ -z "${QWENTTY_FUZZ_VOCAB:-}" ] && [ -f ../shared/qwen-tokenizer/ggml-vocab-qwen2.gguf ]; then
    export QWENTTY_FUZZ_VOCAB=../shared/qwen-tokenizer/ggml-vocab-qwen2.gguf
  fi
  echo "   vocabulary: ${QWENTTY_FUZZ_VOCAB:-Tests/Fixtures/tiny-qwen2-f32.gguf}"
  run TokenizerFuzzer "$seeds"/* || status=1
  rm -rf "$seeds"
fi
exit "$status"
