#!/usr/bin/env python3
"""Records the references the real-model tests compare qwentty with (Tests/Fixtures/real-model-reference.json).

Run from the repository root, with the fixture requirements and llama-cpp-python installed:

    scripts/fetch-real-model.sh
    pip install -r scripts/requirements-fixtures.txt llama-cpp-python==0.3.36
    python scripts/make-real-model-references.py [PATH.gguf]

The model is the real Qwen2.5-Coder-0.5B-Instruct Q4_K_M file of ../shared/REAL-MODEL.md. For each chat
(English, Chinese, code, multi-turn, long, with and without a system prompt) it records:
  * the prompt ids of `apply_chat_template` on the file's own Jinja template (transformers' GGUF tokenizer);
  * `transformers`' fp32 greedy continuation on the weights *as dequantised from the file* (the only
    difference left to an engine is its own arithmetic);
  * llama.cpp's greedy continuation (llama-cpp-python 0.3.36) of the same prompt ids: the bar qwentty must
    reach, since llama.cpp also quantises activations.
CI never runs this; it reads the JSON.
"""
import json
import os
import sys

import numpy as np
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "real-model-reference.json")
DEFAULT = os.path.join(ROOT, ".cache", "real-model", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")
STEPS = 40

LONG = ("Our team maintains a command-line tool that imports CSV exports from three banks, normalises the dates, "
        "amounts and payee names, removes duplicate transactions that appear in more than one export, and writes a "
        "monthly summary per category. Last month a user reported that some transfers between their own accounts "
        "were counted twice as spending, and that refunds were sometimes shown as income. We also want to add a "
        "budget feature where each category has a monthly limit and the summary warns when a limit is exceeded. ")

CHATS = {
    "english": [{"role": "user", "content": "What is the capital of France? Answer in one sentence."}],
    "chinese": [{"role": "user", "content": "用一句话介绍一下长城。"}],
    "code": [{"role": "user", "content": "Write a Python function that returns the n-th Fibonacci number iteratively."}],
    "system": [{"role": "system", "content": "You are a terse assistant. Answer in at most ten words."},
               {"role": "user", "content": "Why is the sky blue?"}],
    "multi-turn": [{"role": "user", "content": "My name is Ada and I like sorting algorithms."},
                   {"role": "assistant", "content": "Nice to meet you, Ada! Sorting algorithms are a great topic."},
                   {"role": "user", "content": "Which one would you recommend for nearly sorted data, and why?"}],
    "multi-turn-chinese": [{"role": "user", "content": "我想学习 Swift 编程。"},
                           {"role": "assistant", "content": "好的！Swift 是苹果推出的编程语言，适合开发 iOS 和 macOS 应用。"},
                           {"role": "user", "content": "第一步应该做什么？"}],
    "long": [{"role": "user", "content": LONG * 3 + "Propose a plan for fixing the two bugs and adding the budget feature."}],
    "code-review": [{"role": "user", "content": "What does this Swift code print, and why?\n\n```swift\nvar a = [1, 2, 3]\nvar b = a\nb.append(4)\nprint(a.count, b.count)\n```"}],
    "math": [{"role": "user", "content": "A train travels 120 km in 1.5 hours. What is its average speed? Show the calculation."}],
}

# The chat-template cases the template test checks (prompt ids only).
TEMPLATE_CASES = {
    "no-system": [{"role": "user", "content": "Hello!"}],
    "system": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello!"}],
    "multi-turn": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello! How can I help?"},
                   {"role": "user", "content": "Tell me a joke.\nA short one."}],
    "system-multi-turn": [{"role": "system", "content": "You speak like a pirate."}, {"role": "user", "content": "Hi"},
                          {"role": "assistant", "content": "Ahoy!"}, {"role": "user", "content": "你好"}],
}


def greedy_hf(model, ids, stop):
    """Greedy tokens and, per step, the top-5 [id, logprob]: where another engine leaves this path, the
    test can tell a near-tie (its token a close second here) from an arithmetic error."""
    out, tops = [], []
    with torch.no_grad():
        past = None
        inputs = torch.tensor([ids])
        for _ in range(STEPS):
            result = model(inputs, past_key_values=past, use_cache=True)
            past = result.past_key_values
            logprobs = torch.log_softmax(result.logits[0, -1].double(), dim=-1)
            values, indices = torch.topk(logprobs, 5)
            tops.append([[int(i), float(v)] for i, v in zip(indices, values)])
            token = int(indices[0])
            out.append(token)
            if token in stop:
                break
            inputs = torch.tensor([[token]])
    return out, tops


def greedy_llamacpp(llm, ids, stop):
    llm.reset()
    llm.eval(ids)
    out = []
    for _ in range(STEPS):
        token = int(np.argmax(np.asarray(llm.scores[llm.n_tokens - 1])))
        out.append(token)
        if token in stop:
            break
        llm.eval([token])
    return out


def main():
    path = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else DEFAULT)
    torch.set_num_threads(2)
    folder, name = os.path.split(path)
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    stop = {tok.convert_tokens_to_ids(t) for t in ("<|im_end|>", "<|endoftext|>")}
    template_ids = {k: tok.apply_chat_template(v, tokenize=True, add_generation_prompt=True, return_dict=False)
                    for k, v in TEMPLATE_CASES.items()}
    prompts = {k: tok.apply_chat_template(v, tokenize=True, add_generation_prompt=True, return_dict=False)
               for k, v in CHATS.items()}
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    model.eval()
    hf, hf_top = {}, {}
    for k, ids in prompts.items():
        hf[k], hf_top[k] = greedy_hf(model, ids, stop)
        print(f"{k}: {len(ids)} prompt tokens; HF: {tok.decode(hf[k])!r}", file=sys.stderr)
    del model
    from llama_cpp import Llama
    llm = Llama(model_path=path, n_ctx=2048, n_threads=2, n_threads_batch=2, logits_all=True, verbose=False)
    cases = []
    for k, ids in prompts.items():
        ll = greedy_llamacpp(llm, ids, stop)
        agree = next((i for i, (a, b) in enumerate(zip(hf[k], ll)) if a != b), min(len(hf[k]), len(ll)))
        print(f"{k}: llama.cpp agrees with HF on {agree} leading tokens: {tok.decode(ll)!r}", file=sys.stderr)
        cases.append({"name": k, "messages": CHATS[k], "prompt": ids, "hf_greedy": hf[k], "hf_top_logprobs": hf_top[k], "llamacpp_greedy": ll,
                      "llamacpp_leading_agreement": agree})
    with open(OUT, "w") as f:
        json.dump({"model_sha256": "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
                   "steps": STEPS, "stop": sorted(stop), "chats": cases,
                   "templates": [{"name": k, "messages": TEMPLATE_CASES[k], "prompt": v} for k, v in template_ids.items()]},
                  f, ensure_ascii=False, indent=1)
    print("wrote", OUT, file=sys.stderr)


if __name__ == "__main__":
    main()
