#!/usr/bin/env python3
"""Run a command and report its wall time and the peak resident memory of its whole process
tree (the command and every descendant, summed, sampled every 20 ms from /proc), then its last
stdout line. Used by bench/processes.sh: with `--runner processes` the work happens in child
processes, which /usr/bin/time's "maximum resident set size" of the parent does not include.

    bench/tree_rss.py CMD [ARGS...]  ->  "<wall s>\t<peak tree RSS KiB>\t<last stdout line>"
"""
import os
import subprocess
import sys
import threading
import time


def children_of():
    """Map pid -> parent pid for every process."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        rest = stat.rsplit(")", 1)[-1].split()
        parents[int(entry)] = int(rest[1])
    return parents


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss(root):
    parents = children_of()
    tree, frontier = {root}, [root]
    while frontier:
        p = frontier.pop()
        for child, parent in parents.items():
            if parent == p and child not in tree:
                tree.add(child)
                frontier.append(child)
    return sum(rss_kib(p) for p in tree)


def main():
    started = time.monotonic()
    proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    peak = 0
    done = threading.Event()

    def sample():
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss(proc.pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    done.set()
    sampler.join()
    wall = time.monotonic() - started
    lines = out.decode(errors="replace").strip().splitlines()
    last = lines[-1] if lines else ""
    print(f"{wall:.3f}\t{peak}\t{last}")
    sys.exit(proc.returncode)


if __name__ == "__main__":
    main()
