"""Parallel readers (issue 14, item 3), side by side in one run:

  local, cold (page cache dropped before every run) and warm:
    cat shards > /dev/null                       the buffered read limit
    dd iflag=direct bs=16M (each shard)          the storage's own O_DIRECT read
    weightstream load --readers 1 | N            ours, kept dtype (bytes straight into the buffers)
  HTTP (tests/tools/range_server.py on 127.0.0.1, files warm in the page cache):
    curl -o /dev/null (each shard, one connection)
    weightstream load http://... --readers 1 | N

usage: nice -n -10 python bench/readers_bench.py --dir /tmp/ws-readers-ckpt [--repeat 5] [--readers 4]
       [--raw OUT.json]
The checkpoint is bench/make_checkpoint.py's (e.g. `make_checkpoint.py DIR --gib 1 --shards 3
--dtype BF16`). Cold runs write 3 to /proc/sys/vm/drop_caches (root). Seconds are the wall time
of each process (spawn included, ~1-5 ms), median (min-max, n). Writes the raw runs, the commit
and the load average at start and end to bench/results/readers-<commit>.json.
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import time

from bench_meta import MIN_RUNS, run_meta, save_raw, spread, summary

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build/native")
WS = os.path.join(BUILD, "weightstream")


def shards(d):
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".safetensors"))


def drop_caches():
    subprocess.run(["sync"], check=True)
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def timed(cmd, cold):
    if cold:
        drop_caches()
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def serve(root):
    """The test suite's Range server (ThreadingHTTPServer: one thread per connection)."""
    p = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests/tools/range_server.py"), root],
                         stdout=subprocess.PIPE, text=True)
    port = int(p.stdout.readline().split()[1])
    return p, port


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--repeat", type=int, default=MIN_RUNS)
    p.add_argument("--readers", type=int, default=4)
    p.add_argument("--raw", default=None)
    a = p.parse_args()
    meta = run_meta()
    files = shards(a.dir)
    data_bytes = sum(os.path.getsize(f) for f in files)
    n = a.readers
    local = {
        "cat shards > /dev/null": ["cat", *files],
        "dd iflag=direct bs=16M (O_DIRECT)": ["sh", "-c", " && ".join(
            f"dd if='{f}' of=/dev/null bs=16M iflag=direct status=none" for f in files)],
        "weightstream load --readers 1": [WS, "load", a.dir, "--readers", "1"],
        f"weightstream load --readers {n}": [WS, "load", a.dir, "--readers", str(n)],
    }
    results = {}
    # Interleaved: one run of every loader per round, so drift in the machine's load hits all alike.
    for mode in ("cold", "warm"):
        rows = {name: [] for name in local}
        if mode == "warm":
            timed(["cat", *files], False)
        for _ in range(a.repeat):
            for name, cmd in local.items():
                rows[name].append(timed(cmd, mode == "cold"))
        results[mode] = rows

    server, port = serve(os.path.dirname(os.path.abspath(a.dir)))
    try:
        base = f"http://127.0.0.1:{port}/{os.path.basename(os.path.abspath(a.dir))}"
        http = {
            "curl -o /dev/null (one connection per shard)": ["sh", "-c", " && ".join(
                f"curl -s -o /dev/null {base}/{os.path.basename(f)}" for f in files)],
            "weightstream load http --readers 1": [WS, "load", base + "/", "--readers", "1"],
            f"weightstream load http --readers {n}": [WS, "load", base + "/", "--readers", str(n)],
        }
        timed(["cat", *files], False)
        rows = {name: [] for name in http}
        for _ in range(a.repeat):
            for name, cmd in http.items():
                rows[name].append(timed(cmd, False))
        results["http (warm files)"] = rows
    finally:
        server.terminate()
        server.wait()

    print(f"\n{len(files)} shards, {data_bytes / 2**30:.3f} GiB; {a.repeat} runs each, interleaved; "
          f"load average at start {meta.get('load_average_start')}\n")
    tables = {}
    for mode, rows in results.items():
        ref_name = next(iter(rows))
        ref = summary(rows[ref_name])["median"]
        print(f"### {mode}\n\n| command | seconds | GB/s | x {ref_name.split(' ')[0]} (time) |\n|---|---:|---:|---:|")
        tables[mode] = {}
        for name, secs in rows.items():
            s = summary(secs)
            tables[mode][name] = {"seconds": s, "runs": secs}
            print(f"| {name} | {spread(s)} | {data_bytes / s['median'] / 1e9:.2f} | {s['median'] / ref:.2f} |")
        print()
    save_raw(a.raw or os.path.join(ROOT, "bench/results", f"readers-{meta['commit'][:10]}.json"),
             {"command": " ".join([os.path.relpath(sys.executable, ROOT)] + sys.argv), "repeat": a.repeat,
              "data_bytes": data_bytes, "shards": len(files), "results": tables}, meta)


if __name__ == "__main__":
    main()
