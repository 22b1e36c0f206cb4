#!/usr/bin/env python3
"""Builds a Hugging Face model folder with the real Qwen2.5-Coder-0.5B-Instruct weights, for measuring
what a user with a downloaded folder meets (load time, memory, speed, `convert`): Hugging Face downloads
are impossible in this workplace, so the weights are dequantised from the real Q4_K_M GGUF
(scripts/fetch-real-model.sh) with gguf-py and saved as BF16 safetensors with the shape, names and tied
head of Qwen's own folder (988 MB), plus tokenizer.json / tokenizer_config.json from the GGUF's
tokenizer. Not a fixture: it is written to .cache/real-folder/ and never committed.

    python scripts/make-real-folder.py
"""
import json
import os
import sys

import gguf
import numpy as np
import torch
from gguf.quants import dequantize
from safetensors.torch import save_file
from transformers import AutoTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE_DIR = os.path.join(ROOT, ".cache", "real-model")
SOURCE = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
OUT = os.path.join(ROOT, ".cache", "real-folder", "Qwen2.5-Coder-0.5B-Instruct")

LAYER_NAMES = {"attn_norm.weight": "input_layernorm.weight", "ffn_norm.weight": "post_attention_layernorm.weight",
               "attn_q.weight": "self_attn.q_proj.weight", "attn_q.bias": "self_attn.q_proj.bias",
               "attn_k.weight": "self_attn.k_proj.weight", "attn_k.bias": "self_attn.k_proj.bias",
               "attn_v.weight": "self_attn.v_proj.weight", "attn_v.bias": "self_attn.v_proj.bias",
               "attn_output.weight": "self_attn.o_proj.weight", "ffn_gate.weight": "mlp.gate_proj.weight",
               "ffn_up.weight": "mlp.up_proj.weight", "ffn_down.weight": "mlp.down_proj.weight"}


def hf_name(name):
    top = {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight"}
    if name in top:
        return top[name]
    _, layer, rest = name.split(".", 2)
    return f"model.layers.{layer}.{LAYER_NAMES[rest]}"


def field(reader, key):
    f = reader.fields[key]
    value = f.parts[f.data[0]]
    return bytes(value).decode() if f.types[0] == gguf.GGUFValueType.STRING else value.tolist()[0]


def main():
    path = os.path.join(SOURCE_DIR, SOURCE)
    if not os.path.exists(path):
        sys.exit(f"{path} is missing: run scripts/fetch-real-model.sh first")
    reader = gguf.GGUFReader(path)
    os.makedirs(OUT, exist_ok=True)
    tensors = {}
    for t in reader.tensors:
        if t.name == "output.weight":
            continue  # Qwen2.5-0.5B ties its head to the embedding, as its folder does
        values = dequantize(t.data, t.tensor_type).reshape([int(d) for d in reversed(t.shape)]).astype(np.float32)
        tensors[hf_name(t.name)] = torch.from_numpy(values).to(torch.bfloat16).contiguous()
    save_file(tensors, os.path.join(OUT, "model.safetensors"), metadata={"format": "pt"})
    config = {
        "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "torch_dtype": "bfloat16",
        "hidden_size": field(reader, "qwen2.embedding_length"), "intermediate_size": field(reader, "qwen2.feed_forward_length"),
        "num_hidden_layers": field(reader, "qwen2.block_count"), "num_attention_heads": field(reader, "qwen2.attention.head_count"),
        "num_key_value_heads": field(reader, "qwen2.attention.head_count_kv"),
        "max_position_embeddings": field(reader, "qwen2.context_length"), "rope_theta": field(reader, "qwen2.rope.freq_base"),
        "rms_norm_eps": field(reader, "qwen2.attention.layer_norm_rms_epsilon"), "tie_word_embeddings": True,
        "vocab_size": int(tensors["model.embed_tokens.weight"].shape[0]), "hidden_act": "silu",
        "bos_token_id": 151643, "eos_token_id": 151645,
    }
    with open(os.path.join(OUT, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    # Qwen2.5-Instruct's generation_config.json.
    with open(os.path.join(OUT, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": 151643, "do_sample": True, "eos_token_id": [151645, 151643], "pad_token_id": 151643,
                   "repetition_penalty": 1.1, "temperature": 0.7, "top_k": 20, "top_p": 0.8}, f, indent=2)
    tokenizer = AutoTokenizer.from_pretrained(SOURCE_DIR, gguf_file=SOURCE)
    tokenizer.chat_template = field(reader, "tokenizer.chat_template")
    tokenizer.save_pretrained(OUT)
    print("wrote", OUT, file=sys.stderr)


if __name__ == "__main__":
    main()
