#!/usr/bin/env python3
"""Builds qwentty's test fixtures and bundled demo model from the Python reference implementations.

Run from the repository root:   pip install -r scripts/requirements-fixtures.txt && python scripts/make-fixtures.py

Everything under Tests/Fixtures/ and models/ is written by this script and only by it; CI reads the
results and never runs Python. Outputs are deterministic for the pinned versions.

What it makes (see Tests/Fixtures/README.md for the file list):
  * a tiny byte-level BPE tokenizer trained with `tokenizers` in Qwen2's exact pipeline
    (NFC -> Qwen2 split regex -> ByteLevel -> BPE), with ChatML control tokens;
  * tiny random-weight `qwen2` (GQA, q/k/v biases, tied head) and `qwen3` (GQA, q/k norms, explicit
    head_dim != hidden/heads, untied head) models built with `transformers`;
  * each written as GGUF with the `gguf` package, as F32, F16, BF16, Q8_0 and Q4_0, laid out like
    llama.cpp's convert_hf_to_gguf.py (same tensor names; 1-D tensors stay F32);
  * reference outputs: `transformers` (fp32) run on the weights *as dequantised from each file*, so the
    only difference left to the engine is its own arithmetic: greedy tokens, logits, top-k logprobs;
  * quantisation vectors: tensors quantised by `gguf.quants` with their dequantised values;
  * tokenizer goldens on the real Qwen vocabulary (../shared/qwen-tokenizer/tokenizer.json) from HF
    `tokenizers`, and chat-template goldens from `transformers`' apply_chat_template;
  * safetensors written by the `safetensors` library (Tests/Fixtures/safetensors/): one file with F32, F16
    and BF16 tensors, and a two-shard folder with its index, values from a formula the tests recompute;
  * Hugging Face folders of the same tiny qwen2 (tied) and qwen3 (untied) models, written by
    `save_pretrained` (Tests/Fixtures/hf-tiny-qwen2/, hf-tiny-qwen3/): the weights are those of the F32
    GGUF fixtures, so the references of those files hold for the folders too.

  * published Qwen chat templates (Tests/Fixtures/templates/, see real_templates()) and the token ids
    `transformers`' apply_chat_template gives for them on the real Qwen vocabularies, single- and
    multi-turn, with and without a system message, thinking on and off (template-goldens.json).

  * the check that `qwentty convert` writes GGUF files llama.cpp runs as `transformers` does
    (convert-check.json): `--only convert-check --qwentty .build/release/qwentty` converts both tiny
    folders to F16, Q8_0, Q4_0 and Q4_K_M, loads each in llama.cpp (llama-cpp-python), and compares its
    greedy tokens with `transformers` on the weights as dequantised from that same file. It records each
    file's FNV-1a hash, so CI can check that `convert` still writes exactly the bytes llama.cpp ran.

`python scripts/make-fixtures.py --only safetensors` (or `--only hf-folders`, `--only templates`)
rewrites just those.
"""
import json
import os
import re
import struct
import sys

import numpy as np
import torch
import gguf
from gguf import GGMLQuantizationType as Q
from gguf.quants import quantize, dequantize
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, decoders, trainers, Regex
from transformers import Qwen2Config, Qwen2ForCausalLM, Qwen3Config, Qwen3ForCausalLM, PreTrainedTokenizerFast

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "Fixtures")
MODELS = os.path.join(ROOT, "models")
SHARED_TOKENIZER = os.path.join(os.path.dirname(ROOT), "shared", "qwen-tokenizer")

QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
               r"|\s*[\r\n]+|\s+(?!\S)|\s+")
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

# Jinja chat templates for the fixtures. They mimic the published Qwen2.5 and Qwen3 templates in the
# parts qwentty reads (default system prompt; Qwen3's think block), written for this project.
TEMPLATE_QWEN25 = (
    "{%- if messages[0]['role'] != 'system' %}{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. "
    "You are a helpful assistant.<|im_end|>\\n' }}{%- endif %}"
    "{%- for message in messages %}{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}")
TEMPLATE_QWEN3 = (
    "{%- for message in messages %}{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false %}{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}{%- endif %}")

CORPUS = """
The quick brown fox jumps over the lazy dog. She said it's fine, we'll see; they're here and I'd go.
Hello, world! How are you today? I am fine, thank you. Numbers: 0 1 2 3 4 5 6 7 8 9 10 42 1234 3.14159.
def forward(self, x):\n    return self.norm(x + self.attn(x))\n
for (int i = 0; i < n; i++) { sum += a[i] * b[i]; }
你好，世界。今天天气很好，我们去公园散步吧。机器学习和自然语言处理很有意思。
こんにちは、世界。Привет, мир! Ça va très bien, merci. Äpfel und Birnen. 🦙 🙂 👍🏽
Tokenizers split text into pieces, and byte pair encoding merges frequent pairs of symbols.
A small model runs on the CPU in a terminal, streaming tokens one by one while the stats update.
"""

VOCAB_SIZE = 400  # BPE tokens; the three ChatML control tokens follow, as in Qwen's vocabulary


def train_tokenizer():
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator([CORPUS] * 20, trainer=trainer)
    tok.add_special_tokens(SPECIALS)
    return tok


def tokenizer_tables(tok):
    vocab = tok.get_vocab(with_added_tokens=True)
    tokens = [None] * len(vocab)
    for text, i in vocab.items():
        tokens[i] = text
    model = json.loads(tok.to_str())["model"]
    merges = [" ".join(m) if isinstance(m, list) else m for m in model["merges"]]
    types = [3 if t in SPECIALS else 1 for t in tokens]
    return tokens, types, merges


def random_qwen(arch, vocab, seed, demo=False, mixed=False):
    torch.manual_seed(seed)
    if mixed:
        cfg = Qwen2Config(vocab_size=vocab, hidden_size=64, intermediate_size=256, num_hidden_layers=3,
                          num_attention_heads=4, num_key_value_heads=2, rope_theta=1e6, rms_norm_eps=1e-6,
                          tie_word_embeddings=True, max_position_embeddings=512)
        model = Qwen2ForCausalLM(cfg)
    elif arch == "qwen2":
        cfg = Qwen2Config(vocab_size=vocab, hidden_size=256 if demo else 64, intermediate_size=768 if demo else 128,
                          num_hidden_layers=4 if demo else 2, num_attention_heads=4, num_key_value_heads=2,
                          rope_theta=1e6, rms_norm_eps=1e-6, tie_word_embeddings=True,
                          max_position_embeddings=4096 if demo else 512)
        model = Qwen2ForCausalLM(cfg)
    else:
        cfg = Qwen3Config(vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                          num_attention_heads=4, num_key_value_heads=2, head_dim=32, rope_theta=1e6,
                          rms_norm_eps=1e-6, tie_word_embeddings=False, max_position_embeddings=512)
        model = Qwen3ForCausalLM(cfg)
    # transformers' init (std 0.02) gives near-uniform logits whose top-1 is decided by rounding noise.
    # Scale weights so activations keep unit size and logits spread out (std ~ several units): greedy
    # decoding then has clear margins and the parity tests measure arithmetic, not ties.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            elif name.endswith(".bias"):
                p.copy_(0.2 * torch.randn_like(p))
            elif "embed_tokens" in name:
                # Small enough that a tied head does not just echo the current token back.
                p.copy_(0.3 * torch.randn_like(p))
            elif "o_proj" in name or "down_proj" in name:
                # Residual branches as large as the stream, so every layer shapes the next token.
                p.copy_(2.0 * torch.randn_like(p) / p.shape[1] ** 0.5)
            else:
                p.copy_(torch.randn_like(p) / p.shape[1] ** 0.5)
    model.eval()
    return model, cfg


def hf_to_gguf_tensors(model, cfg, arch):
    """(gguf name, fp32 array in PyTorch [out, in] order) as convert_hf_to_gguf.py lays them out."""
    sd = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    out = [("token_embd.weight", sd["model.embed_tokens.weight"])]
    for i in range(cfg.num_hidden_layers):
        p = f"model.layers.{i}."
        b = f"blk.{i}."
        out += [(b + "attn_norm.weight", sd[p + "input_layernorm.weight"])]
        for hf, g in (("q_proj", "attn_q"), ("k_proj", "attn_k"), ("v_proj", "attn_v")):
            out.append((b + g + ".weight", sd[p + "self_attn." + hf + ".weight"]))
            if p + "self_attn." + hf + ".bias" in sd:
                out.append((b + g + ".bias", sd[p + "self_attn." + hf + ".bias"]))
        if arch == "qwen3":
            out.append((b + "attn_q_norm.weight", sd[p + "self_attn.q_norm.weight"]))
            out.append((b + "attn_k_norm.weight", sd[p + "self_attn.k_norm.weight"]))
        out += [(b + "attn_output.weight", sd[p + "self_attn.o_proj.weight"]),
                (b + "ffn_norm.weight", sd[p + "post_attention_layernorm.weight"]),
                (b + "ffn_gate.weight", sd[p + "mlp.gate_proj.weight"]),
                (b + "ffn_up.weight", sd[p + "mlp.up_proj.weight"]),
                (b + "ffn_down.weight", sd[p + "mlp.down_proj.weight"])]
    out.append(("output_norm.weight", sd["model.norm.weight"]))
    if not cfg.tie_word_embeddings:
        out.append(("output.weight", sd["lm_head.weight"]))
    return out


FILE_TYPES = {Q.F32: 0, Q.F16: 1, Q.Q4_0: 2, Q.Q8_0: 7, Q.BF16: 32, Q.Q4_K: 15}


def quantize_k(arr, qtype):
    """Plain round-to-nearest K-quantiser (gguf-py has none). Only the bytes matter: every reference value
    is what gguf-py's own `dequantize` reads back from them."""
    x = arr.reshape(-1, 256).astype(np.float32)
    nb = x.shape[0]
    if qtype == Q.Q6_K:
        g = x.reshape(nb, 16, 16)
        scale = np.abs(g).max(-1) / 31
        d = (scale.max(-1) / 127).astype(np.float16)
        df = d.astype(np.float32)[:, None]
        sc = np.round(np.divide(scale, df, out=np.zeros_like(scale), where=df > 0)).clip(-128, 127).astype(np.int8)
        eff = (df * sc.astype(np.float32))[..., None]
        q = (np.round(np.divide(g, eff, out=np.zeros_like(g), where=eff != 0)).clip(-32, 31) + 32).astype(np.uint8)
        q = q.reshape(nb, 2, 4, 32)  # [half, quarter, l]: quarter 0/1 = low nibble of ql[l]/ql[l+32], 2/3 = high
        ql = np.concatenate([(q[:, :, 0] & 0xF) | ((q[:, :, 2] & 0xF) << 4), (q[:, :, 1] & 0xF) | ((q[:, :, 3] & 0xF) << 4)], axis=-1)
        qh = (q[:, :, 0] >> 4) | ((q[:, :, 1] >> 4) << 2) | ((q[:, :, 2] >> 4) << 4) | ((q[:, :, 3] >> 4) << 6)
        blocks = np.concatenate([ql.reshape(nb, 128), qh.reshape(nb, 64), sc.view(np.uint8), d.view(np.uint8).reshape(nb, 2)], axis=-1)
    else:
        nmax = 15 if qtype == Q.Q4_K else 31
        g = x.reshape(nb, 8, 32)
        lo, hi = np.minimum(g.min(-1), 0), g.max(-1)
        scale, mins = (hi - lo) / nmax, -lo
        d, dmin = (scale.max(-1) / 63).astype(np.float16), (mins.max(-1) / 63).astype(np.float16)
        df, dmf = d.astype(np.float32)[:, None], dmin.astype(np.float32)[:, None]
        sc = np.round(np.divide(scale, df, out=np.zeros_like(scale), where=df > 0)).clip(0, 63).astype(np.uint8)
        m = np.round(np.divide(mins, dmf, out=np.zeros_like(mins), where=dmf > 0)).clip(0, 63).astype(np.uint8)
        effs, effm = (df * sc)[..., None], (dmf * m)[..., None]
        n = np.round(np.divide(g + effm, effs, out=np.zeros_like(g), where=effs > 0)).clip(0, nmax).astype(np.uint8)
        packed = np.concatenate([sc[:, :4] | ((sc[:, 4:] >> 4) << 6), m[:, :4] | ((m[:, 4:] >> 4) << 6),
                                 (sc[:, 4:] & 0xF) | ((m[:, 4:] & 0xF) << 4)], axis=-1)
        nib = n.reshape(nb, 4, 2, 32)
        qs = ((nib[:, :, 0] & 0xF) | ((nib[:, :, 1] & 0xF) << 4)).reshape(nb, 128)
        parts = [d.view(np.uint8).reshape(nb, 2), dmin.view(np.uint8).reshape(nb, 2), packed]
        if qtype == Q.Q5_K:
            parts.append(sum(((n[:, j] >> 4) & 1) << j for j in range(8)).astype(np.uint8))
        blocks = np.concatenate(parts + [qs], axis=-1)
    blocks = blocks.reshape(arr.shape[0], -1).astype(np.uint8)
    back = dequantize(blocks, qtype).reshape(arr.shape)
    assert np.abs(back - arr).max() <= np.abs(arr).max() * 0.25, f"{qtype.name} packing is wrong"
    return blocks


def store(arr, qtype):
    """Bytes (or array) to write for `arr` stored as `qtype`, and the values a reader gets back."""
    if arr.ndim == 1 or qtype == Q.F32:
        return arr.astype(np.float32), arr.astype(np.float32)
    if qtype == Q.F16:
        stored = arr.astype(np.float16)
        return stored, stored.astype(np.float32)
    stored = quantize_k(arr, qtype) if qtype in (Q.Q4_K, Q.Q5_K, Q.Q6_K) else quantize(arr, qtype)
    return stored, dequantize(stored, qtype).astype(np.float32).reshape(arr.shape)


def mixed_type(name):
    """A Q4_K_M-like mix for a model whose hidden size is not a multiple of 256, as Qwen2.5-0.5B's is:
    K-quants only where rows are 256-multiples (ffn_down), llama.cpp's fallbacks elsewhere, and the
    remaining 32-block types spread over the other tensors so every kernel runs in a real forward pass."""
    if name == "token_embd.weight":
        return Q.Q8_0
    layer = int(name.split(".")[1])
    kind = name.split(".")[2]
    return {"attn_q": Q.Q5_0, "attn_k": Q.Q5_1, "attn_v": Q.Q8_0, "attn_output": Q.Q4_1, "ffn_gate": Q.Q5_0,
            "ffn_up": Q.Q4_1, "ffn_down": (Q.Q4_K, Q.Q5_K, Q.Q6_K)[layer % 3]}[kind]


def write_gguf(path, arch, cfg, tensors, qtype, tok_tables, template, name, type_of=None):
    tokens, types, merges = tok_tables
    w = gguf.GGUFWriter(path, arch)
    w.add_name(name)
    w.add_block_count(cfg.num_hidden_layers)
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads)
    w.add_rope_freq_base(cfg.rope_parameters["rope_theta"])
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    if arch == "qwen3":
        w.add_key_length(cfg.head_dim)
        w.add_value_length(cfg.head_dim)
    w.add_file_type(FILE_TYPES[qtype])
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(tokens.index("<|endoftext|>"))
    w.add_eos_token_id(tokens.index("<|im_end|>"))
    w.add_pad_token_id(tokens.index("<|endoftext|>"))
    w.add_add_bos_token(False)
    w.add_chat_template(template)
    deq = {}
    for tname, arr in tensors:
        ttype = type_of(tname) if type_of and arr.ndim == 2 else qtype
        stored, values = store(arr, ttype)
        deq[tname] = values
        if ttype not in (Q.F32, Q.F16) and arr.ndim == 2:
            w.add_tensor(tname, stored, raw_dtype=ttype)
        else:
            w.add_tensor(tname, stored)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return deq


def load_dequantised(model, cfg, arch, deq):
    """Puts the values dequantised from a GGUF file back into the PyTorch model."""
    names = dict((g, None) for g, _ in hf_to_gguf_tensors(model, cfg, arch))
    mapping = {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
               "output.weight": "lm_head.weight"}
    for i in range(cfg.num_hidden_layers):
        p, b = f"model.layers.{i}.", f"blk.{i}."
        for g, hf in (("attn_norm", "input_layernorm"), ("attn_q", "self_attn.q_proj"), ("attn_k", "self_attn.k_proj"),
                      ("attn_v", "self_attn.v_proj"), ("attn_output", "self_attn.o_proj"),
                      ("attn_q_norm", "self_attn.q_norm"), ("attn_k_norm", "self_attn.k_norm"),
                      ("ffn_norm", "post_attention_layernorm"), ("ffn_gate", "mlp.gate_proj"),
                      ("ffn_up", "mlp.up_proj"), ("ffn_down", "mlp.down_proj")):
            mapping[b + g + ".weight"] = p + hf + ".weight"
            mapping[b + g + ".bias"] = p + hf + ".bias"
    sd = model.state_dict()
    with torch.no_grad():
        for g in names:
            sd[mapping[g]].copy_(torch.from_numpy(deq[g]))
        if cfg.tie_word_embeddings:
            model.lm_head.weight = model.model.embed_tokens.weight


def reference_run(model, prompt, steps):
    """Greedy decoding by full recomputation (no cache): logits of each step's last position."""
    ids = list(prompt)
    logits_per_step = []
    with torch.no_grad():
        for _ in range(steps):
            logits = model(torch.tensor([ids])).logits[0, -1].double()
            logits_per_step.append(logits.float().numpy())
            ids.append(int(torch.argmax(logits)))
    return ids[len(prompt):], np.stack(logits_per_step)


def top_logprobs(logits, k=5):
    lp = torch.log_softmax(torch.from_numpy(logits).double(), dim=-1)
    vals, idx = torch.topk(lp, k)
    return [[int(i), float(v)] for i, v in zip(idx, vals)]


SENTIMENT_INSTRUCTION = ("You are a sentiment classifier. Read the user's message and answer with exactly one word: "
                         "Positive, Negative or Neutral.")
SENTIMENT_REQUEST = "Classify the sentiment of this message:\n\n"
SENTIMENT_LABELS = ["Positive", "Negative", "Neutral"]
SENTIMENT_MESSAGES = ["I love this, it works perfectly!", "这太糟糕了，我很失望。", "The meeting is at 3pm.", "Not bad at all."]


def sentiment_reference(model, tok, thinking_template):
    """transformers' label scores for qwentty's classification prompt: prefix + message + suffix, each
    part tokenized on its own (the prefix is what qwentty caches); a label's score is the sum of its
    tokens' log-probabilities (teacher-forced), probabilities are the softmax over labels."""
    enc = lambda text: tok.encode(text, add_special_tokens=False).ids
    im_start, im_end = tok.token_to_id("<|im_start|>"), tok.token_to_id("<|im_end|>")
    prefix = [im_start] + enc("system\n" + SENTIMENT_INSTRUCTION) + [im_end] + enc("\n") + [im_start] + enc("user\n") + enc(SENTIMENT_REQUEST)
    suffix = [im_end] + enc("\n") + [im_start] + enc("assistant\n")
    if thinking_template:
        suffix += enc("<think>\n\n</think>\n\n")
    cases = []
    for message in SENTIMENT_MESSAGES:
        prompt = prefix + enc(message) + suffix
        scores, label_ids = [], []
        with torch.no_grad():
            for label in SENTIMENT_LABELS:
                ids = enc(label)
                label_ids.append(ids)
                logits = model(torch.tensor([prompt + ids[:-1]])).logits[0].double()
                logprobs = torch.log_softmax(logits, dim=-1)
                scores.append(sum(float(logprobs[len(prompt) - 1 + i, t]) for i, t in enumerate(ids)))
        probabilities = torch.softmax(torch.tensor(scores, dtype=torch.float64), dim=0).tolist()
        cases.append({"message": message, "prompt": prompt, "label_tokens": label_ids, "scores": scores,
                      "probabilities": probabilities})
    return cases


def fnv1a64(ids):
    h = 0xcbf29ce484222325
    for i in ids:
        for byte in struct.pack("<i", i):
            h ^= byte
            h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def model_fixtures(tok, tables):
    prompt_text = "Hello, world! 你好，世界。 The quick brown fox said it's fine."
    prompt = tok.encode(prompt_text).ids
    steps = 32
    index = []
    sentiment = {}
    # Seeds picked (by scanning 1-15) for varied greedy paths whose smallest top-1/top-2 logit margin
    # over 32 steps is > 0.04, forty times the 1e-3 parity tolerance: greedy equality then tests the
    # arithmetic, never a near-tie. Many random models just repeat one token.
    for arch, seed, template in (("qwen2", 14, TEMPLATE_QWEN25), ("qwen3", 5, TEMPLATE_QWEN3)):
        model, cfg = random_qwen(arch, len(tables[0]), seed)
        fp32 = hf_to_gguf_tensors(model, cfg, arch)
        for qtype in (Q.F32, Q.F16, Q.BF16, Q.Q8_0, Q.Q4_0):
            stem = f"tiny-{arch}-{qtype.name.lower()}"
            deq = write_gguf(os.path.join(OUT, stem + ".gguf"), arch, cfg, fp32, qtype, tables,
                             template, f"tiny random {arch}")
            ref_model, _ = random_qwen(arch, len(tables[0]), seed)
            load_dequantised(ref_model, cfg, arch, deq)
            greedy, logits = reference_run(ref_model, prompt, steps)
            exact = qtype in (Q.F32, Q.F16, Q.BF16)
            if qtype == Q.F32:
                sentiment[stem + ".gguf"] = sentiment_reference(ref_model, tok, arch == "qwen3")
            # Full logits of every step for float files; first step only for quantised ones (their
            # greedy path may legitimately diverge later: the engine quantises activations).
            (logits if exact else logits[:1]).astype("<f4").tofile(os.path.join(OUT, stem + ".logits.f32"))
            ranked = np.sort(logits, axis=1)
            margins = ranked[:, -1] - ranked[:, -2]
            index.append({"file": stem + ".gguf", "arch": arch, "type": qtype.name, "exact": exact,
                          "prompt": prompt, "greedy": greedy, "logits_steps": len(logits) if exact else 1,
                          "vocab": len(tables[0]), "min_margin": float(margins.min()),
                          "top_logprobs": [top_logprobs(l) for l in logits]})
            print(f"{stem}: greedy {greedy[:8]}... min margin {margins.min():.4f}", file=sys.stderr)
    # The Q4_K_M-like mix (all remaining kernels in one forward pass).
    seed, stem = 21, "tiny-qwen2-mixed"
    model, cfg = random_qwen("qwen2", len(tables[0]), seed, mixed=True)
    deq = write_gguf(os.path.join(OUT, stem + ".gguf"), "qwen2", cfg, hf_to_gguf_tensors(model, cfg, "qwen2"), Q.Q4_K,
                     tables, TEMPLATE_QWEN25, "tiny random qwen2, Q4_K_M-like mix", type_of=mixed_type)
    ref_model, _ = random_qwen("qwen2", len(tables[0]), seed, mixed=True)
    load_dequantised(ref_model, cfg, "qwen2", deq)
    greedy, logits = reference_run(ref_model, prompt, steps)
    logits[:1].astype("<f4").tofile(os.path.join(OUT, stem + ".logits.f32"))
    ranked = np.sort(logits, axis=1)
    index.append({"file": stem + ".gguf", "arch": "qwen2", "type": "MIXED", "exact": False, "prompt": prompt,
                  "greedy": greedy, "logits_steps": 1, "vocab": len(tables[0]),
                  "min_margin": float((ranked[:, -1] - ranked[:, -2]).min()),
                  "top_logprobs": [top_logprobs(l) for l in logits]})
    print(f"{stem}: greedy {greedy[:8]}...", file=sys.stderr)
    with open(os.path.join(OUT, "sentiment-reference.json"), "w") as f:
        json.dump({"labels": SENTIMENT_LABELS, "models": sentiment}, f, indent=0)
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump({"prompt_text": prompt_text, "models": index}, f, indent=1)


def demo_model(tok, tables):
    model, cfg = random_qwen("qwen2", len(tables[0]), 7, demo=True)
    os.makedirs(MODELS, exist_ok=True)
    write_gguf(os.path.join(MODELS, "qwentty-demo-q8_0.gguf"), "qwen2", cfg,
               hf_to_gguf_tensors(model, cfg, "qwen2"), Q.Q8_0, tables, TEMPLATE_QWEN25,
               "qwentty demo (random weights: it babbles)")


def quant_vectors():
    """Tensors quantised by gguf.quants, with their dequantised values, for bit-exact kernel tests."""
    rng = np.random.default_rng(3)
    base = rng.standard_normal((8, 256)).astype(np.float32)
    base[1] *= 1e-3              # small scales
    base[2] *= 1e3               # large scales
    base[3, :64] = 0.0           # all-zero blocks
    base[4] = np.abs(base[4])    # one-signed blocks
    base[5, ::7] = 60000.0       # outliers near the f16 limit
    w = gguf.GGUFWriter(os.path.join(OUT, "quant-vectors.gguf"), "qwentty-test")
    w.add_tensor("source", base)
    for qtype in (Q.F16, Q.BF16, Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1, Q.Q4_K, Q.Q5_K, Q.Q6_K):
        stored, values = store(base, qtype)
        if qtype == Q.F16:
            w.add_tensor("F16", stored)
        else:
            w.add_tensor(qtype.name, stored, raw_dtype=qtype)
        w.add_tensor(qtype.name + ".dequantized", values)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def tokenizer_strings():
    """≥ 200 strings covering what the Qwen pre-tokenizer and BPE must get right."""
    s = [
        "", " ", "  ", "\t", "\n", "\r\n", "\n\n\n", " \n", "\n ", " \t\n \n ", "a\n\nb", "a \n b", "x  y", "x   \ty",
        "Hello world", " Hello world", "Hello World!", "Hello, world!", "hello.world", "HELLO", "hElLo",
        "it's", "It'S", "we'll", "WE'LL", "they're", "I've", "I'm", "he'd", "don't", "'s", "''s", "'sxyz", "o'clock",
        "'ſ", "x'Re", "rock'n'roll", "\"quoted\"", "(parens)", "[brackets]", "{braces}", "<tag>", "</tag>",
        "3", "12", "123", "1234567890", "3.14159", "-42", "+7", "1,000,000", "0x1F", "1e-5", "２０２４", "٣٤٥", "²³",
        "Ⅻ", "½", "①②③", "v1.2.3", "2024-11-22", "12:30:45",
        "你好", "你好，世界。", "机器学习", "日本語のテキスト", "한국어 텍스트", "中文English混合", "全角　スペース",
        "Привет, мир!", "Ελληνικά", "עברית", "العربية", "हिन्दी", "ภาษาไทย", "Tiếng Việt", "Äpfel", "naïve café",
        "e\u0301", "cafe\u0301", "A\u030a", "\u212b", "\u1100\u1161\u11a8", "\u0915\u094d\u0937", "o\u0308\u0304",
        "🦙", "🙂", "👍🏽", "👩‍💻", "👨‍👩‍👧‍👦", "🇯🇵", "🏳️‍🌈", "❤️", "✔︎", "emoji 🦙 in text", "🦙🦙🦙", " 🦙",
        "def f(x):\n    return x * 2\n", "for (int i = 0; i < n; i++) {\n\tsum += a[i];\n}",
        "if a != b && c <= d || !e {", "x = {'a': 1, \"b\": [1, 2, 3]}", "SELECT * FROM t WHERE id = 1;",
        "#include <stdio.h>", "    indented", "\t\ttabs", "trailing   ", "   leading", "a\u00a0b", "a\u3000b",
        "a\u2028b", "a\u2029b", "a\u200bb", "a\u0085b", "a\x0bb", "a\x0cb", "a\rb", "\r\r\n\n",
        "<|im_start|>user", "<|im_end|>", "<|endoftext|>", "<|im_start|>", "text <|im_start|> text",
        "@@@", "!!!", "...", "---", "___", "***", " !!!\n", "?!\n\n", "—", "…", "«»", "‘’“”", "§¶†‡", "€$¥£",
        "https://example.com/path?q=1&r=2#frag", "user@example.com", "C:\\Windows\\System32", "/usr/bin/env",
        "snake_case_name", "camelCaseName", "PascalCase", "kebab-case-name", "SCREAMING_CASE",
        "The quick brown fox jumps over the lazy dog.", "Lorem ipsum dolor sit amet, consectetur adipiscing elit.",
        "Ça va? Très bien!", "Straße", "ﬁ ligature", "ǅ titlecase", "ʰ modifier", "ſ long s",
        "\x00", "a\x00b", "\x01\x02\x03", "\x7f", "\x1b[31mred\x1b[0m", "\u00ad", "\ufeffBOM", "\ufffd",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𝟘𝟙𝟚", "\U0001F600\U0001F601", "\U00010000", "\U0010FFFF",
    ]
    words = ["alpha", "beta", "gamma", "你好", "🦙", "42", "it's", " ", "\n", "\t", "!", "x_y", "Ω", "ü"]
    rng = np.random.default_rng(11)
    while len(s) < 230:
        s.append("".join(words[i] for i in rng.integers(0, len(words), size=int(rng.integers(2, 12)))))
    return s


def tokenizer_goldens():
    path = os.path.join(SHARED_TOKENIZER, "tokenizer.json")
    tok = Tokenizer.from_file(path)
    tok.encode_special_tokens = True  # control tokens in user text are text
    cases = [{"text": t, "ids": tok.encode(t, add_special_tokens=False).ids} for t in tokenizer_strings()]
    # Invalid UTF-8: the engine repairs to U+FFFD as Python's errors="replace" does, then tokenizes.
    for raw in (b"\xff", b"abc\xffdef", b"\xc3", b"\xc3(", b"\xe2\x82", b"\xf0\x9f\xa6", b"\xed\xa0\x80",
                b"\xc0\xaf", b"\xf4\x90\x80\x80", b"\x80\x80\x80", b"ok\xe4\xbd\xa0\xe5\xa5"):
        cases.append({"hex": raw.hex(), "ids": tok.encode(raw.decode("utf-8", errors="replace"),
                                                        add_special_tokens=False).ids})
    tok.encode_special_tokens = False
    special = [{"text": t, "ids": tok.encode(t, add_special_tokens=False).ids} for t in
               ("<|im_start|>user\nhi<|im_end|>\n", "a<|endoftext|>b", "<|im_start|><|im_end|>", "x <|im_end|> y")]
    tok.encode_special_tokens = True
    runs = []
    for ch in ("a", " ", "\n", "0", "你", "!", "🦙", "ab", " \n"):
        count = 100_000 // len(ch.encode()) if ch != "🦙" else 25_000
        ids = tok.encode(ch * count, add_special_tokens=False).ids
        runs.append({"unit": ch, "count": count, "n_ids": len(ids), "fnv1a64": fnv1a64(ids), "head": ids[:16]})
    with open(os.path.join(OUT, "qwen-tokenizer-golden.json"), "w") as f:
        json.dump({"cases": cases, "special": special, "runs": runs}, f, ensure_ascii=True, indent=0)


def chat_goldens(tiny_tok):
    """Chat-template token ids from transformers' apply_chat_template, for the fixture templates and
    the real Qwen2 template stored in the vocab-only GGUF."""
    convo = [{"role": "user", "content": "Hi there! <|im_start|>not a tag"},
             {"role": "assistant", "content": "Hello. 你好"}, {"role": "user", "content": "Bye\n"}]
    with_system = [{"role": "system", "content": "Be brief."}] + convo
    out = {}
    fast = PreTrainedTokenizerFast(tokenizer_object=tiny_tok)
    for flavor, template in (("qwen25", TEMPLATE_QWEN25), ("qwen3", TEMPLATE_QWEN3)):
        for label, msgs in (("default_system", convo), ("with_system", with_system)):
            for thinking in (True, False):
                text = fast.apply_chat_template(msgs, chat_template=template, tokenize=False,
                                                add_generation_prompt=True, enable_thinking=thinking)
                out[f"{flavor}/{label}/thinking={thinking}"] = tiny_enc(tiny_tok, text)
    reader = gguf.GGUFReader(os.path.join(SHARED_TOKENIZER, "ggml-vocab-qwen2.gguf"))
    field = reader.fields["tokenizer.chat_template"]
    real_template = bytes(field.parts[field.data[0]]).decode()
    real = PreTrainedTokenizerFast(tokenizer_file=os.path.join(SHARED_TOKENIZER, "tokenizer.json"))
    for label, msgs in (("default_system", convo), ("with_system", with_system)):
        text = real.apply_chat_template(msgs, chat_template=real_template, tokenize=False, add_generation_prompt=True)
        out[f"real-qwen2/{label}"] = real_enc(text)
    with open(os.path.join(OUT, "chat-template-golden.json"), "w") as f:
        json.dump({"conversation": convo, "with_system": with_system, "ids": out}, f, indent=0)


def tiny_enc(tok, text):
    return segment_encode(tok, text)


def real_enc(text):
    return segment_encode(Tokenizer.from_file(os.path.join(SHARED_TOKENIZER, "tokenizer.json")), text)


def segment_encode(tok, text):
    """Encodes rendered template text the way a chat app must: only the control tokens the template
    wrote become ids; the text between them, including a user's literal '<|im_start|>', is encoded whole
    as plain text (HF `encode_special_tokens=True`)."""
    marker = "<|im_start|>not a tag"
    protected = {m.start() for m in re.finditer(re.escape(marker), text)}
    specials = ["<|im_start|>", "<|im_end|>", "<|endoftext|>"]
    tok.encode_special_tokens = True
    ids, seg_start, i = [], 0, 0
    while i < len(text):
        special = next((sp for sp in specials if text.startswith(sp, i)), None)
        if special and i not in protected:
            ids += tok.encode(text[seg_start:i], add_special_tokens=False).ids if i > seg_start else []
            ids.append(tok.token_to_id(special))
            i += len(special)
            seg_start = i
        else:
            i += 1
    if seg_start < len(text):
        ids += tok.encode(text[seg_start:], add_special_tokens=False).ids
    tok.encode_special_tokens = False
    return ids


REAL_MODEL = os.path.join(ROOT, ".cache", "real-model", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")


def gguf_template(path):
    field = gguf.GGUFReader(path).fields["tokenizer.chat_template"]
    return bytes(field.parts[field.data[0]]).decode()


def real_templates():
    """Chat templates as Qwen published them, with where each was read. They are data the tests render,
    not code: qwentty has no Jinja engine, and these prove that what it renders instead is the same."""
    return {
        # llama.cpp's vocab file for Qwen2-architecture models carries Qwen1.5-Chat's template.
        "qwen1.5-chat": ("ggml-org/llama.cpp models/ggml-vocab-qwen2.gguf (../shared/qwen-tokenizer)",
                         gguf_template(os.path.join(SHARED_TOKENIZER, "ggml-vocab-qwen2.gguf"))),
        # The revision of Qwen1.5-1.8B-Chat's tokenizer_config.json that closes the last turn only when a
        # reply follows (quoted in huggingface/swift-transformers' template tests).
        "qwen1.5-1.8b-chat": ("Qwen/Qwen1.5-1.8B-Chat tokenizer_config.json",
            "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
            "{{ '<|im_start|>system\nYou are a helpful assistant<|im_end|>\n' }}{% endif %}"
            "{{'<|im_start|>' + message['role'] + '\n' + message['content']}}"
            "{% if (loop.last and add_generation_prompt) or not loop.last %}{{ '<|im_end|>' + '\n'}}{% endif %}"
            "{% endfor %}{% if add_generation_prompt and messages[-1]['role'] != 'assistant' %}"
            "{{ '<|im_start|>assistant\n' }}{% endif %}"),
        "qwen2-instruct": ("Qwen/Qwen2-7B-Instruct tokenizer_config.json",
            "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
            "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}"
            "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
            "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"),
        # Qwen's own q4_k_m GGUF of Qwen2.5-Coder-0.5B-Instruct (../shared/REAL-MODEL.md), the same
        # template as Qwen2.5-Instruct's.
        "qwen2.5-instruct": ("Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
                             gguf_template(REAL_MODEL)),
        # Qwen/Qwen3-0.6B's template, as ggml-org/llama.cpp keeps it in models/templates/Qwen-Qwen3-0.6B.jinja.
        "qwen3": ("Qwen/Qwen3-0.6B tokenizer_config.json", QWEN3_TEMPLATE),
    }


QWEN3_TEMPLATE = r"""{%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0].role == 'system' %}
        {{- messages[0].content + '\n\n' }}
    {%- endif %}
    {{- "# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
    {%- for tool in tools %}
        {{- "\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
{%- else %}
    {%- if messages[0].role == 'system' %}
        {{- '<|im_start|>system\n' + messages[0].content + '<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}
{%- for message in messages[::-1] %}
    {%- set index = (messages|length - 1) - loop.index0 %}
    {%- if ns.multi_step_tool and message.role == "user" and not(message.content.startswith('<tool_response>') and message.content.endswith('</tool_response>')) %}
        {%- set ns.multi_step_tool = false %}
        {%- set ns.last_query_index = index %}
    {%- endif %}
{%- endfor %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) %}
        {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {%- set content = message.content %}
        {%- set reasoning_content = '' %}
        {%- if message.reasoning_content is defined and message.reasoning_content is not none %}
            {%- set reasoning_content = message.reasoning_content %}
        {%- else %}
            {%- if '</think>' in message.content %}
                {%- set content = message.content.split('</think>')[-1].lstrip('\n') %}
                {%- set reasoning_content = message.content.split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n') %}
            {%- endif %}
        {%- endif %}
        {%- if loop.index0 > ns.last_query_index %}
            {%- if loop.last or (not loop.last and reasoning_content) %}
                {{- '<|im_start|>' + message.role + '\n<think>\n' + reasoning_content.strip('\n') + '\n</think>\n\n' + content.lstrip('\n') }}
            {%- else %}
                {{- '<|im_start|>' + message.role + '\n' + content }}
            {%- endif %}
        {%- else %}
            {{- '<|im_start|>' + message.role + '\n' + content }}
        {%- endif %}
        {%- if message.tool_calls %}
            {%- for tool_call in message.tool_calls %}
                {%- if (loop.first and content) or (not loop.first) %}
                    {{- '\n' }}
                {%- endif %}
                {%- if tool_call.function %}
                    {%- set tool_call = tool_call.function %}
                {%- endif %}
                {{- '<tool_call>\n{"name": "' }}
                {{- tool_call.name }}
                {{- '", "arguments": ' }}
                {%- if tool_call.arguments is string %}
                    {{- tool_call.arguments }}
                {%- else %}
                    {{- tool_call.arguments | tojson }}
                {%- endif %}
                {{- '}\n</tool_call>' }}
            {%- endfor %}
        {%- endif %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}
        {%- if loop.first or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' }}
        {{- message.content }}
        {{- '\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
    {%- if enable_thinking is defined and enable_thinking is false %}
        {{- '<think>\n\n</think>\n\n' }}
    {%- endif %}
{%- endif %}"""


def template_goldens():
    """Token ids of transformers' apply_chat_template for each published template, on the real vocab
    (Qwen3's has <think> and </think>), for the conversations qwentty renders: one turn and several,
    with and without a system message, earlier replies with reasoning (Qwen3 drops it), thinking on and
    off; and the last reply as the cache holds it (no generation prompt)."""
    templates = real_templates()
    out_dir = os.path.join(OUT, "templates")
    os.makedirs(out_dir, exist_ok=True)
    user1 = {"role": "user", "content": "Hi there! <|im_start|>not a tag"}
    system = {"role": "system", "content": "Be brief."}
    reply1 = {"role": "assistant", "content": "<think>\nThe user says hi.\n</think>\n\nHello. 你好"}
    plain1 = {"role": "assistant", "content": "Hello. 你好"}
    empty_think = {"role": "assistant", "content": "<think>\n\n</think>\n\nHello."}
    user2 = {"role": "user", "content": "Bye\n"}
    reply2 = {"role": "assistant", "content": "<think>\nShort answer.\n</think>\n\n\nBye!"}
    user3 = {"role": "user", "content": "Wait, one more."}
    conversations = {
        "single": [user1],
        "single+system": [system, user1],
        "multi": [user1, plain1, user2],
        "multi+system": [system, user1, plain1, user2],
        "multi+reasoning": [user1, reply1, user2, reply2, user3],
        "multi+reasoning+system": [system, user1, reply1, user2, reply2, user3],
        "multi+empty-think": [user1, empty_think, user2],
    }
    cases = []
    for name, (source, text) in templates.items():
        with open(os.path.join(out_dir, name + ".jinja"), "w") as f:
            f.write(text)
        vocab = "tokenizer_qwen3.json" if name == "qwen3" else "tokenizer.json"
        fast = PreTrainedTokenizerFast(tokenizer_file=os.path.join(SHARED_TOKENIZER, vocab))
        raw = Tokenizer.from_file(os.path.join(SHARED_TOKENIZER, vocab))
        runs = [(label, msgs, True) for label, msgs in conversations.items()]
        runs.append(("last-reply-kept", [user1, reply1, user2, reply2], False))
        for label, msgs, prompt in runs:
            for thinking in (True, False):
                rendered = fast.apply_chat_template(msgs, chat_template=text, tokenize=False,
                                                    add_generation_prompt=prompt, enable_thinking=thinking)
                cases.append({"template": name, "vocab": vocab, "conversation": label, "messages": msgs,
                              "add_generation_prompt": prompt, "thinking": thinking,
                              "ids": segment_encode(raw, rendered)})
    with open(os.path.join(OUT, "template-goldens.json"), "w") as f:
        json.dump({"sources": {k: v[0] for k, v in templates.items()}, "cases": cases}, f, ensure_ascii=True, indent=0)


def file_fnv1a64(path):
    h = 0xcbf29ce484222325
    with open(path, "rb") as f:
        data = f.read()
    arr = np.frombuffer(data, dtype=np.uint8)
    for b in arr.tolist():
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def convert_check(qwentty):
    """`qwentty convert` output as llama.cpp sees it: for each tiny folder and type, llama.cpp's greedy
    tokens (full recomputation of the logits, argmax) against transformers' on the weights dequantised from
    the same converted file. Also records what qwentty's own run of the file must produce."""
    import subprocess
    import tempfile
    from llama_cpp import Llama
    from gguf.quants import dequantize as gguf_dequantize
    tok = Tokenizer.from_file(os.path.join(OUT, "tiny-tokenizer.json"))
    reference = json.load(open(os.path.join(OUT, "reference.json")))
    prompt = reference["models"][0]["prompt"]
    steps = 16
    seeds = {"qwen2": 14, "qwen3": 5}
    cases = []
    with tempfile.TemporaryDirectory() as tmp:
        for arch in ("qwen2", "qwen3"):
            for qtype in ("F16", "Q8_0", "Q4_0", "Q4_K_M"):
                path = os.path.join(tmp, f"{arch}-{qtype}.gguf")
                subprocess.run([qwentty, "convert", os.path.join(OUT, f"hf-tiny-{arch}"), path, "--type", qtype],
                               check=True, capture_output=True)
                reader = gguf.GGUFReader(path)
                deq = {t.name: gguf_dequantize(t.data, t.tensor_type).reshape([int(d) for d in reversed(t.shape)]).astype(np.float32)
                       for t in reader.tensors}
                model, cfg = random_qwen(arch, len(tokenizer_tables(tok)[0]), seeds[arch])
                load_dequantised(model, cfg, arch, deq)
                hf_greedy, logits = reference_run(model, prompt, steps)
                llm = Llama(model_path=path, n_ctx=128, n_threads=2, logits_all=True, verbose=False)
                ids = list(prompt)
                for _ in range(steps):
                    llm.reset()
                    llm.eval(ids)
                    ids.append(int(np.argmax(np.array(llm.scores[len(ids) - 1]))))
                cpp_greedy = ids[len(prompt):]
                agree = next((i for i, (a, b) in enumerate(zip(hf_greedy, cpp_greedy)) if a != b), steps)
                ranked = np.sort(logits, axis=1)
                cases.append({"arch": arch, "type": qtype, "fnv1a64": file_fnv1a64(path), "bytes": os.path.getsize(path),
                              "transformers_greedy": hf_greedy, "llamacpp_greedy": cpp_greedy, "leading_agreement": agree,
                              "min_margin": float((ranked[:, -1] - ranked[:, -2]).min())})
                print(f"convert-check {arch} {qtype}: llama.cpp agrees with transformers for {agree}/{steps} steps",
                      file=sys.stderr)
                del llm
    with open(os.path.join(OUT, "convert-check.json"), "w") as f:
        json.dump({"prompt": prompt, "steps": steps, "cases": cases}, f, indent=1)
    failed = [f"{c['arch']} {c['type']}" for c in cases if c["leading_agreement"] < steps]
    if failed:
        sys.exit("llama.cpp and transformers disagree on converted files: " + ", ".join(failed))


def safetensors_fixtures():
    """F32/F16/BF16 tensors as the reference library writes them. Values are -3 + 0.25·i, exact in all
    three types for the sizes used; the Swift test recomputes them. Shapes include a 3-D and a 1-D tensor."""
    from safetensors.torch import save_file
    out = os.path.join(OUT, "safetensors")
    os.makedirs(os.path.join(out, "sharded"), exist_ok=True)
    def values(shape, dtype):
        n = int(np.prod(shape))
        return (torch.arange(n, dtype=torch.float32) * 0.25 - 3).reshape(shape).to(dtype)
    single = {"f32.weight": values((3, 4), torch.float32), "f16.weight": values((2, 3, 4), torch.float16),
              "bf16.bias": values((5,), torch.bfloat16)}
    save_file(single, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    shards = {"model-00001-of-00002.safetensors": {"a.weight": values((4, 2), torch.float32)},
              "model-00002-of-00002.safetensors": {"b.weight": values((2, 2), torch.bfloat16),
                                                   "c.bias": values((3,), torch.float16)}}
    weight_map = {}
    total = 0
    for name, tensors in shards.items():
        save_file(tensors, os.path.join(out, "sharded", name), metadata={"format": "pt"})
        for key, t in tensors.items():
            weight_map[key] = name
            total += t.numel() * t.element_size()
    with open(os.path.join(out, "sharded", "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2, sort_keys=True)
        f.write("\n")


def hf_folders(tok, tables):
    """The tiny models of model_fixtures (same seeds, so the same weights as tiny-*-f32.gguf) as
    save_pretrained writes them, F32 safetensors, with the tokenizer's tokenizer.json."""
    for arch, seed in (("qwen2", 14), ("qwen3", 5)):
        model, cfg = random_qwen(arch, len(tables[0]), seed)
        out = os.path.join(OUT, f"hf-tiny-{arch}")
        model.save_pretrained(out, safe_serialization=True)
        tok.save(os.path.join(out, "tokenizer.json"))


def main():
    if sys.argv[1:] == ["--only", "safetensors"]:
        safetensors_fixtures()
        return
    if sys.argv[1:3] == ["--only", "convert-check"]:
        torch.set_num_threads(2)
        if sys.argv[3:4] != ["--qwentty"] or len(sys.argv) != 5:
            sys.exit("usage: make-fixtures.py --only convert-check --qwentty PATH/TO/qwentty")
        convert_check(sys.argv[4])
        return
    if sys.argv[1:] == ["--only", "templates"]:
        template_goldens()
        return
    if sys.argv[1:] == ["--only", "hf-folders"]:
        torch.set_num_threads(2)
        tok = train_tokenizer()
        hf_folders(tok, tokenizer_tables(tok))
        return
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(2)
    tok = train_tokenizer()
    tables = tokenizer_tables(tok)
    tok.save(os.path.join(OUT, "tiny-tokenizer.json"))
    model_fixtures(tok, tables)
    demo_model(tok, tables)
    quant_vectors()
    tokenizer_goldens()
    chat_goldens(tok)
    template_goldens()
    safetensors_fixtures()
    hf_folders(tok, tables)
    print("fixtures written to", OUT, file=sys.stderr)


if __name__ == "__main__":
    main()
