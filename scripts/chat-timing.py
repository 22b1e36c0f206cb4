#!/usr/bin/env python3
"""Times a long chat from outside the app: qwentty runs in a tmux server of its own, this script types
each message and watches the screen, as a person would, then quits, resumes and sends one more.

    scripts/chat-timing.py MODEL [--binary .build/release/qwentty] [-c 1024] [-n 64] [--turns 16] [--gap 4]

A turn is Enter → the busy marker (●) leaving the status line: the reply's end, badges excluded (they
come after it). The first message is sent as soon as the screen is ready; between a reply's end and the
next message the script waits --gap seconds. The resume is timed from the new process's start to its
"Context rebuilt" note (the model's load included), and the RSS of the app is read from /proc before
quitting and after resuming. Chats, caches and config live in a temporary folder, removed at the end.
`qwentty bench --chat` measures the same chat from inside (with each turn's prefill and trims).
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

MESSAGES = [
    "Explain in detail how a hash map works, with an example in Swift.",
    "Write a Python function that parses a CSV file of orders and sums the totals per customer, and explain each step.",
    "Now rename the variable totals to revenue everywhere and give me the whole function back.",
    "What are the trade-offs between a linked list and an array? Give several concrete cases.",
    "Describe step by step what happens when I type a URL into a browser and press Enter.",
    "Write a shell script that backs up a folder to a dated tarball and keeps the last seven, with comments.",
    "Explain the difference between processes and threads, and when to use each, in detail.",
    "Refactor this into smaller functions and explain why: def main(): data = open('x').read().split(); print(sum(map(int, data)))",
]


class Terminal:
    def __init__(self, name):
        self.name = name

    def tmux(self, *args):
        return subprocess.run(["tmux", "-L", self.name, *args], capture_output=True, text=True).stdout

    def start(self, command, width=160, height=50):
        self.tmux("new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height), command)
        self.tmux("set-option", "-t", self.name, "remain-on-exit", "on")

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", self.name)

    def pid(self):
        return int(self.tmux("list-panes", "-t", self.name, "-F", "#{pane_pid}").split()[0])

    def wait(self, what, condition, seconds=600, interval=0.02):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            screen = self.screen()
            if condition(screen):
                return screen
            time.sleep(interval)
        sys.exit(f"gave up waiting for {what}; last screen:\n{self.screen()}")

    def kill(self):
        self.tmux("kill-server")


def busy(screen):
    """The status line (above the input) starts with ● while a reply runs or the context is rebuilt."""
    return any(line.startswith("● ") for line in screen.splitlines())


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def turn(terminal, text):
    terminal.tmux("send-keys", "-t", terminal.name, "-l", text)
    terminal.wait("the message typed", lambda s: text[-20:] in s.replace("\n", ""), seconds=30)
    start = time.monotonic()
    terminal.tmux("send-keys", "-t", terminal.name, "Enter")
    terminal.wait("the reply to start", busy, seconds=60, interval=0.005)
    screen = terminal.wait("the reply to end", lambda s: not busy(s), interval=0.05)
    seconds = time.monotonic() - start
    first = re.search(r"first token\s+([0-9]+) ms", screen)
    return seconds, int(first.group(1)) if first else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("--binary", default=".build/release/qwentty")
    parser.add_argument("-c", type=int, default=1024)
    parser.add_argument("-n", type=int, default=64)
    parser.add_argument("--turns", type=int, default=16)
    parser.add_argument("--gap", type=float, default=4.0)
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        sys.exit("needs tmux (apt-get install tmux)")
    home = tempfile.mkdtemp(prefix="qwentty-chat-timing-")
    terminal = Terminal(f"qwentty-timing-{os.getpid()}")
    env = f"env XDG_STATE_HOME={home}/state XDG_CACHE_HOME={home}/cache XDG_CONFIG_HOME={home}/config"
    command = f"{env} {os.path.abspath(args.binary)} -m {os.path.abspath(args.model)} -c {args.c} -n {args.n} --seed 7"
    rows = []
    try:
        terminal.start(command)
        terminal.wait("the chat to be ready", lambda s: "Enter sends" in s and "eval rate" in s, seconds=300)
        for i in range(1, args.turns + 1):
            rows.append((str(i),) + turn(terminal, f"({i}) " + MESSAGES[(i - 1) % len(MESSAGES)]))
            time.sleep(args.gap)
        rss_before = rss_mib(terminal.pid())
        terminal.tmux("send-keys", "-t", terminal.name, "C-d")
        terminal.wait("the app to quit", lambda s: "Pane is dead" in s or "Enter sends" not in s, seconds=120)
        terminal.kill()

        terminal = Terminal(terminal.name + "-resumed")
        start = time.monotonic()
        terminal.start(command + " --resume")
        screen = terminal.wait("the context rebuilt", lambda s: "Context rebuilt" in s.replace("\n", " "), seconds=300, interval=0.01)
        resume_seconds = time.monotonic() - start
        note = re.search(r"Context rebuilt[^.]*\.[^.]*\.", " ".join(screen.split()))
        rss_after = rss_mib(terminal.pid())
        time.sleep(args.gap)
        i = args.turns + 1
        rows.append((f"{i} (resumed)",) + turn(terminal, f"({i}) " + MESSAGES[(i - 1) % len(MESSAGES)]))
        terminal.tmux("send-keys", "-t", terminal.name, "C-d")
        time.sleep(1)
    finally:
        terminal.kill()
        shutil.rmtree(home, ignore_errors=True)

    median = statistics.median(seconds for name, seconds, _ in rows if "resumed" not in name)
    print(f"{os.path.basename(args.model)}: -c {args.c} -n {args.n}, {args.gap:g} s between a reply and the next message\n")
    print("| turn | Enter → reply's end | vs median | first token (stats pane) |")
    print("|---:|---:|---:|---:|")
    for name, seconds, first in rows:
        print(f"| {name} | {seconds:.2f} s | {seconds - median:+.2f} s | {first if first is not None else '–'} ms |")
    print(f"\nmedian turn {median:.2f} s; resume (start → context rebuilt, load included) {resume_seconds:.2f} s"
          + (f": {note.group(0)}" if note else ""))
    print(f"RSS before quitting {rss_before:.0f} MiB, after resuming {rss_after:.0f} MiB ({(rss_after / rss_before - 1) * 100:+.1f} %)")


if __name__ == "__main__":
    main()
