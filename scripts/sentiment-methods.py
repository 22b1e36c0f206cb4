#!/usr/bin/env python3
"""Compares sentiment methods on the real model: prompts, label words, content-free calibration and a
Neutral bias fitted on the tune half, each reported on both halves of data/sentiment-eval.tsv.

    scripts/fetch-real-model.sh
    swift build -c release
    python3 scripts/sentiment-methods.py [--model PATH] [--qwentty .build/release/qwentty]

Each prompt in data/sentiment-prompts/ scores nine label words (Positive, positive, Good, None, …) so the
word choices can be compared from one run; `qwentty sentiment --eval … --eval-out` writes every message's
raw scores (cached under .cache/sentiment-methods/), and this script combines them. Standard library only.
The halves are those of `qwentty sentiment --half`: alternate messages within each (label, language) group.
"""
import argparse
import glob
import json
import math
import os
import subprocess
from collections import Counter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LABELS = ["Positive", "Negative", "Neutral"]
CONTENT_FREE = ["N/A", "...", "[MESSAGE]", " "]


def lse(xs):
    m = max(xs)
    return m + math.log(sum(math.exp(x - m) for x in xs))


def run(qwentty, model, prompt, tsv, out):
    if not os.path.exists(out):
        subprocess.run([qwentty, "sentiment", "-m", model, "--eval", tsv, "--prompt", prompt, "--eval-out", out],
                       check=True, stdout=subprocess.DEVNULL)
    return [json.loads(line) for line in open(out, encoding="utf-8")]


def halves(rows):
    seen, out = Counter(), []
    for r in rows:
        key = (r["label"], r["language"])
        out.append("tune" if seen[key] % 2 == 0 else "test")
        seen[key] += 1
    return out


def evaluate(rows, which, score, half):
    confusion, by_language, right_language, n = Counter(), Counter(), Counter(), 0
    for r, h in zip(rows, which):
        if h != half:
            continue
        s = score(r)
        predicted = LABELS[max(range(3), key=lambda j: s[j])]
        confusion[(r["label"], predicted)] += 1
        by_language[r["language"]] += 1
        right_language[r["language"]] += predicted == r["label"]
        n += 1
    accuracy = sum(confusion[(l, l)] for l in LABELS) / n
    recall = [confusion[(l, l)] / max(1, sum(confusion[(l, p)] for p in LABELS)) for l in LABELS]
    language = [right_language[k] / max(1, by_language[k]) for k in ("English", "Chinese")]
    return accuracy, recall, language


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=os.path.join(ROOT, ".cache/real-model/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"))
    parser.add_argument("--qwentty", default=os.path.join(ROOT, ".build/release/qwentty"))
    args = parser.parse_args()
    cache = os.path.join(ROOT, ".cache", "sentiment-methods")
    os.makedirs(cache, exist_ok=True)
    content_free = os.path.join(cache, "content-free.tsv")
    with open(content_free, "w", encoding="utf-8") as f:
        f.writelines(f"{t}\tNeutral\n" for t in CONTENT_FREE)
    print("| prompt | method | tune acc | test acc | test recall Pos / Neg / Neu | test English / Chinese |")
    print("|---|---|---|---|---|---|")
    for prompt in sorted(glob.glob(os.path.join(ROOT, "data", "sentiment-prompts", "*.json"))):
        name = os.path.splitext(os.path.basename(prompt))[0]
        words = [label["name"] for label in json.load(open(prompt, encoding="utf-8"))["labels"]]
        rows = run(args.qwentty, args.model, prompt, os.path.join(ROOT, "data", "sentiment-eval.tsv"),
                   os.path.join(cache, name + ".jsonl"))
        which = halves(rows)
        index = {w: i for i, w in enumerate(words)}
        plain = lambda r: [r["scores"][index[l]] for l in LABELS]
        methods = [("label words", plain)]
        if all(l.lower() in index for l in LABELS):
            methods.append(("+ lower-case words", lambda r: [lse([r["scores"][index[l]], r["scores"][index[l.lower()]]]) for l in LABELS]))
        cf_rows = run(args.qwentty, args.model, prompt, content_free, os.path.join(cache, name + ".content-free.jsonl"))
        mean = [0.0, 0.0, 0.0]
        for r in cf_rows:
            s = plain(r)
            z = lse(s)
            for j in range(3):
                mean[j] += math.exp(s[j] - z) / len(cf_rows)
        offsets = [math.log(m) for m in mean]
        methods.append(("content-free calibration", lambda r: [x - o for x, o in zip(plain(r), offsets)]))
        # One number fitted on the tune half: the Neutral bias (0 to 2 nats by 0.25) with the best tune accuracy.
        best = max((evaluate(rows, which, lambda r, b=b: [plain(r)[0], plain(r)[1], plain(r)[2] + b], "tune")[0], -b)
                   for b in [i / 4 for i in range(9)])
        bias = -best[1]
        methods.append((f"Neutral +{bias:g} (fitted on tune)", lambda r: [plain(r)[0], plain(r)[1], plain(r)[2] + bias]))
        for method, score in methods:
            tune = evaluate(rows, which, score, "tune")
            test = evaluate(rows, which, score, "test")
            print(f"| {name} | {method} | {100 * tune[0]:.1f}% | {100 * test[0]:.1f}% | "
                  + " / ".join(f"{x:.2f}" for x in test[1]) + " | " + " / ".join(f"{100 * x:.0f}%" for x in test[2]) + " |")


if __name__ == "__main__":
    main()
