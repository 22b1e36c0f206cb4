#!/usr/bin/env python3
"""qwentty vs llama.cpp on the same GGUF files (not part of CI: needs pip and ~10 minutes).

    pip install -r scripts/requirements-fixtures.txt
    CMAKE_ARGS="-DGGML_NATIVE=ON" pip install llama-cpp-python==0.3.36
    swift build -c release
    python scripts/bench-vs-llamacpp.py [--types Q8_0,Q4_0,F16] [--reps 5] [--threads 2]

Builds random-weight models of the exact Qwen2.5-0.5B-Instruct shape (hidden 896, 24 layers, 14/2 heads,
ffn 4864, vocab 151936, tied embeddings) with the real Qwen vocabulary from ../shared/qwen-tokenizer
(speed does not depend on weight values), writes them under .bench/, then times prefill of 512 tokens
(pp512) and 128 single-token decodes (tg128) with llama.cpp (through llama-cpp-python's Llama.eval)
and with `qwentty bench`, alternating the two, and prints the ratio table.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q
from gguf.quants import quantize

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, ".bench")
VOCAB_GGUF = os.path.join(os.path.dirname(ROOT), "shared", "qwen-tokenizer", "ggml-vocab-qwen2.gguf")
SHAPE = dict(hidden=896, layers=24, heads=14, kv_heads=2, ffn=4864, vocab=151936, context=32768)
FILE_TYPES = {Q.F16: 1, Q.Q4_0: 2, Q.Q8_0: 7}


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
        if qtype == Q.F16:
            w.add_tensor(name, a.astype(np.float16))
        else:
            w.add_tensor(name, quantize(a, qtype), raw_dtype=qtype)

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


def model_path(qtype):
    return os.path.join(BENCH, f"qwen2.5-0.5b-shape-{qtype.name.lower()}.gguf")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--types", default="Q8_0,Q4_0,F16")
    ap.add_argument("--make-only", action="store_true")
    args = ap.parse_args()
    os.makedirs(BENCH, exist_ok=True)
    for name in args.types.split(","):
        qtype = Q[name]
        path = model_path(qtype)
        if not os.path.exists(path):
            t = time.time()
            make_model(qtype, path)
            print(f"made {path} ({os.path.getsize(path) / 1e6:.0f} MB, {time.time() - t:.0f} s)", file=sys.stderr)
    if args.make_only:
        return


if __name__ == "__main__":
    main()
