#!/usr/bin/env python3
"""qwentty vs llama.cpp on the same GGUF files (not part of CI: needs pip and ~10 minutes).

    pip install -r scripts/requirements-fixtures.txt
    CMAKE_ARGS="-DGGML_NATIVE=ON" pip install llama-cpp-python==0.3.36
    swift build -c release
    python scripts/bench-vs-llamacpp.py [--types real,Q8_0,Q4_0,F16] [--pp 16,64,512] [--tg 128] [--depth 0]
                                        [--reps 5] [--threads 2] [--avx2]

`real` is the real Qwen2.5-Coder-0.5B Q4_K_M file (scripts/fetch-real-model.sh): what users run. The other
types are random-weight models of the exact Qwen2.5-0.5B-Instruct shape (hidden 896, 24 layers, 14/2 heads,
ffn 4864, vocab 151936, tied embeddings) with the real Qwen vocabulary from ../shared/qwen-tokenizer
(speed does not depend on weight values), written under .bench/. Each prompt length of --pp is a prefill
test (chat turns and sentiment badges are 16-64 tokens; 512 is llama-bench's default), --tg single-token
decodes, all after --depth tokens of history (llama-bench -d). llama.cpp (through llama-cpp-python's
Llama.eval) and `qwentty bench` run alternately, and the ratio table is printed with date and machine.

--avx2 compares builds for CPUs without AVX-512 on this machine: llama.cpp built with AVX2 only (installed
once into .bench/llama-cpp-avx2, ~10 minutes) against qwentty built with `-march=x86-64-v3` (a copy of the
sources with that flag in Package.swift, built into .bench/avx2-build).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import shutil

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q
from gguf.quants import quantize

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, ".bench")
VOCAB_GGUF = os.path.join(os.path.dirname(ROOT), "shared", "qwen-tokenizer", "ggml-vocab-qwen2.gguf")
SHAPE = dict(hidden=896, layers=24, heads=14, kv_heads=2, ffn=4864, vocab=151936, context=32768)
FILE_TYPES = {Q.F16: 1, Q.Q4_0: 2, Q.Q8_0: 7}
REAL_MODEL = os.path.join(ROOT, ".cache", "real-model", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")
AVX2_LLAMA = os.path.join(BENCH, "llama-cpp-avx2")
AVX2_CMAKE = "-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF"


def prepare_avx2():
    """llama-cpp-python built for AVX2 only (imported from its own folder) and a qwentty built with
    -march=x86-64-v3; returns the qwentty binary."""
    if not os.path.isdir(os.path.join(AVX2_LLAMA, "llama_cpp")):
        print("building llama-cpp-python for AVX2 only (~10 minutes)…", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-cache-dir", "--target", AVX2_LLAMA,
                        "llama-cpp-python==0.3.36"], env=dict(os.environ, CMAKE_ARGS=AVX2_CMAKE), check=True)
    sys.path.insert(0, AVX2_LLAMA)
    source = os.path.join(BENCH, "avx2-src")
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        os.makedirs(os.path.dirname(os.path.join(source, name)), exist_ok=True)
        shutil.copy2(os.path.join(ROOT, name), os.path.join(source, name))
    package = open(os.path.join(source, "Package.swift")).read()
    if "-march=native" not in package:
        sys.exit("Package.swift no longer sets -march=native: update --avx2")
    package = package.replace("-march=native", "-march=x86-64-v3")
    open(os.path.join(source, "Package.swift"), "w").write(package)
    # QWENTTY_ISA=avx2: Package.swift would otherwise pick this machine's AVX-512 VNNI kernels.
    subprocess.run(["swift", "build", "-c", "release", "--product", "qwentty", "--scratch-path", os.path.join(BENCH, "avx2-build")],
                   cwd=source, check=True, env=dict(os.environ, QWENTTY_ISA="avx2"))
    return os.path.join(BENCH, "avx2-build", "release", "qwentty")


def vocab_fields():
    r = gguf.GGUFReader(VOCAB_GGUF)
    def strings(key):
        f = r.fields[key]
        return [bytes(f.parts[i]).decode("utf-8") for i in f.data]
    tt = r.fields["tokenizer.ggml.token_type"]
    return strings("tokenizer.ggml.tokens"), [int(tt.parts[i][0]) for i in tt.data], strings("tokenizer.ggml.merges")


def make_model(qtype, path):
    s = SHAPE
    rng = np.random.default_rng(0)
    tokens, types, merges = vocab_fields()
    w = gguf.GGUFWriter(path, "qwen2")
    w.add_name("random Qwen2.5-0.5B-shaped bench model")
    w.add_block_count(s["layers"]); w.add_context_length(s["context"]); w.add_embedding_length(s["hidden"])
    w.add_feed_forward_length(s["ffn"]); w.add_head_count(s["heads"]); w.add_head_count_kv(s["kv_heads"])
    w.add_rope_freq_base(1e6); w.add_layer_norm_rms_eps(1e-6); w.add_file_type(FILE_TYPES[qtype])
    w.add_tokenizer_model("gpt2"); w.add_tokenizer_pre("qwen2"); w.add_token_list(tokens); w.add_token_types(types)
    w.add_token_merges(merges); w.add_bos_token_id(151643); w.add_eos_token_id(151645); w.add_pad_token_id(151643)
    w.add_add_bos_token(False)
    w.add_chat_template("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}")
    d, f, hd = s["hidden"], s["ffn"], s["hidden"] // s["heads"]

    def mat(name, rows, cols):
        a = (rng.standard_normal((rows, cols), dtype=np.float32) / np.sqrt(cols)).astype(np.float32)
        # As in the peer figures of ../shared/PERFORMANCE.md, a Q4_0 file keeps token_embd in Q8_0.
        ttype = Q.Q8_0 if qtype == Q.Q4_0 and name == "token_embd.weight" else qtype
        if ttype == Q.F16:
            w.add_tensor(name, a.astype(np.float16))
        else:
            w.add_tensor(name, quantize(a, ttype), raw_dtype=ttype)

    def vec(name, n, scale=0.0, base=1.0):
        w.add_tensor(name, (base + scale * rng.standard_normal(n)).astype(np.float32))

    mat("token_embd.weight", s["vocab"], d)
    for i in range(s["layers"]):
        b = f"blk.{i}."
        vec(b + "attn_norm.weight", d)
        mat(b + "attn_q.weight", d, d); vec(b + "attn_q.bias", d, 0.1, 0)
        mat(b + "attn_k.weight", s["kv_heads"] * hd, d); vec(b + "attn_k.bias", s["kv_heads"] * hd, 0.1, 0)
        mat(b + "attn_v.weight", s["kv_heads"] * hd, d); vec(b + "attn_v.bias", s["kv_heads"] * hd, 0.1, 0)
        mat(b + "attn_output.weight", d, d)
        vec(b + "ffn_norm.weight", d)
        mat(b + "ffn_gate.weight", f, d); mat(b + "ffn_up.weight", f, d); mat(b + "ffn_down.weight", d, f)
    vec("output_norm.weight", d)
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()


def quantize_with_llamacpp(src, dst, ftype):
    """A Q4_K_M file exactly as llama.cpp's llama-quantize makes it (with its fallbacks for hidden 896)."""
    import ctypes
    import llama_cpp
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.nthread = 2
    if llama_cpp.llama_model_quantize(src.encode(), dst.encode(), ctypes.byref(params)) != 0:
        sys.exit(f"llama.cpp could not quantize {src}")


def compare(path, qwentty):
    """Same text through both engines: tokenisation and first-step top-5 log-probabilities."""
    from llama_cpp import Llama
    text = "The quick brown fox jumps over the lazy dog. 你好，世界！ Numbers 12345 and emoji 🦙."
    llm = Llama(model_path=path, n_ctx=256, n_threads=2, logits_all=True, verbose=False)
    ids = llm.tokenize(text.encode(), add_bos=False, special=False)
    ours = [int(x) for x in subprocess.run([qwentty, "tokenize", "-m", path, text], capture_output=True, text=True, check=True).stdout.split()]
    llm.eval(ids)
    logits = np.array(llm.scores[len(ids) - 1], dtype=np.float64)
    logprobs = logits - (np.log(np.exp(logits - logits.max()).sum()) + logits.max())
    out = subprocess.run([qwentty, "run", "-m", path, "--raw", "-p", text, "-n", "1", "--temp", "0", "--json", "--logprobs", "5"],
                         capture_output=True, text=True, check=True)
    first = json.loads(out.stdout.splitlines()[0])
    print(f"{os.path.basename(path)}: tokenisation {'identical' if ours == ids else 'DIFFERS'} ({len(ids)} tokens)")
    print("  llama.cpp top-5:", [(int(i), round(float(logprobs[i]), 3)) for i in np.argsort(-logprobs)[:5]])
    print("  qwentty   top-5:", [(t["id"], round(t["logprob"], 3)) for t in first["top"]])


def llamacpp_round(path, pps, tg, threads, depth=0):
    """One repetition of llama.cpp through llama-cpp-python: {test: tok/s} for each prompt length in `pps`
    and for `tg` decodes, after a warm-up, each test starting with `depth` tokens already in the context
    (llama-bench's -d)."""
    from llama_cpp import Llama
    longest = max(pps + [1])
    llm = Llama(model_path=path, n_ctx=depth + max(longest, tg) + 16, n_batch=longest, n_ubatch=longest, n_threads=threads,
                n_threads_batch=threads, verbose=False)
    rng = np.random.default_rng(1)
    prompt = [int(t) for t in rng.integers(0, 151_000, max(longest, tg, depth))]
    history = [int(t) for t in rng.integers(0, 151_000, depth)]
    llm.eval(prompt[:8]); llm.reset()
    rates = {}
    for pp in pps:
        if depth:
            llm.eval(history)
        t = time.perf_counter(); llm.eval(prompt[:pp]); rates[f"pp{pp}"] = pp / (time.perf_counter() - t)
        llm.reset()
    if tg:
        if depth:
            llm.eval(history)
        t = time.perf_counter()
        for i in range(tg):
            llm.eval([prompt[i]])
        rates[f"tg{tg}"] = tg / (time.perf_counter() - t)
    del llm
    return rates


def qwentty_round(qwentty, path, pps, tg, threads, depth=0):
    """One repetition of `qwentty bench`: ({test: tok/s}, peak RSS bytes)."""
    out = subprocess.run([qwentty, "bench", "-m", path, "-p", ",".join(map(str, pps)) or "0", "-n", str(tg), "-d", str(depth),
                          "-t", str(threads), "-r", "1", "--json"],
                         capture_output=True, text=True, check=True)
    report = json.loads(out.stdout)
    return {r["test"].split(" ")[0]: r["median"] for r in report["results"]}, report["peak_rss_bytes"]


def model_path(qtype):
    return os.path.join(BENCH, f"qwen2.5-0.5b-shape-{qtype.name.lower()}.gguf")


def platform_name():
    model = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--types", default="real,Q8_0,Q4_0,Q4_K_M,F16",
                    help="real (the fetched Qwen2.5-Coder Q4_K_M file) and/or random-weight Q8_0, Q4_0, Q4_K_M, F16")
    ap.add_argument("--make-only", action="store_true")
    ap.add_argument("--compare", action="store_true", help="check both engines agree on each file, then stop")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--pp", default="16,64,512", help="prompt lengths, comma-separated (0: no prefill test)")
    ap.add_argument("--tg", type=int, default=128)
    ap.add_argument("--depth", type=int, default=0, help="tokens already in the context before each test (llama-bench -d)")
    ap.add_argument("--avx2", action="store_true", help="both engines built for AVX2 without AVX-512")
    ap.add_argument("--qwentty", default=os.path.join(ROOT, ".build", "release", "qwentty"))
    args = ap.parse_args()
    pps = [int(x) for x in args.pp.split(",") if int(x) > 0]
    os.makedirs(BENCH, exist_ok=True)
    qwentty = prepare_avx2() if args.avx2 else args.qwentty
    paths = []
    for name in args.types.split(","):
        t = time.time()
        if name == "real":
            path = REAL_MODEL
            if not os.path.exists(path):
                sys.exit(f"{path} is missing: run scripts/fetch-real-model.sh")
        elif name == "Q4_K_M":
            path = os.path.join(BENCH, "qwen2.5-0.5b-shape-q4_k_m.gguf")
            if not os.path.exists(path):
                source = model_path(Q.F16)
                if not os.path.exists(source):
                    make_model(Q.F16, source)
                import llama_cpp
                quantize_with_llamacpp(source, path, llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M)
        else:
            path = model_path(Q[name])
            if not os.path.exists(path):
                make_model(Q[name], path)
        print(f"{path} ({os.path.getsize(path) / 1e6:.0f} MB, {time.time() - t:.0f} s)", file=sys.stderr)
        paths.append(path)
    if args.make_only:
        return
    if args.compare:
        for path in paths:
            compare(path, qwentty)
        return
    tests = [f"pp{pp}" for pp in pps] + ([f"tg{args.tg}"] if args.tg else [])
    rows = []
    for path in paths:
        ours, theirs, rss = {t: [] for t in tests}, {t: [] for t in tests}, []
        for rep in range(args.reps):  # alternate the two engines so drift hits both alike
            rates = llamacpp_round(path, pps, args.tg, args.threads, args.depth)
            for t in tests: theirs[t].append(rates[t])
            rates, peak = qwentty_round(qwentty, path, pps, args.tg, args.threads, args.depth)
            for t in tests: ours[t].append(rates[t])
            rss.append(peak)
            print(f"{os.path.basename(path)} rep {rep + 1}: " + " · ".join(
                f"{t} {theirs[t][-1]:.1f} vs {ours[t][-1]:.1f}" for t in tests) + " (llama.cpp vs qwentty)", file=sys.stderr)
        med = statistics.median
        rows.append((os.path.basename(path), os.path.getsize(path), {t: (med(theirs[t]), med(ours[t])) for t in tests}, max(rss)))
    depth = f", {args.depth} tokens already in the context" if args.depth else ""
    build = "both built for AVX2 only (no AVX-512)" if args.avx2 else "both built for this CPU"
    print(f"\nqwentty vs llama.cpp (llama-cpp-python 0.3.36 Llama.eval), {build}, {args.threads} threads, medians of {args.reps}{depth}, "
          f"{time.strftime('%Y-%m-%d')}, {platform_name()}; cells: llama.cpp vs qwentty tok/s (ratio)\n")
    print("| file | size | " + " | ".join(tests) + " | qwentty peak RSS |")
    print("|---|---|" + "---|" * len(tests) + "---|")
    for name, size, cells, peak in rows:
        print(f"| {name} | {size / 1e6:.0f} MB | " + " | ".join(
            f"{cells[t][0]:.1f} vs {cells[t][1]:.1f} ({cells[t][1] / cells[t][0]:.2f}×)" for t in tests) + f" | {peak / 2**20:.0f} MiB |")


if __name__ == "__main__":
    main()
