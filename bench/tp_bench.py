"""Tensor-parallel generation on CPU: 1 process vs `generate --tp 2` (c10d/Gloo),
LibTorch (default) or portable backend, greedy, the same prompt ids; each configuration RUNS fresh
processes. Reports load seconds, decode tok/s, and per rank the bytes read,
bytes bound and peak RSS (generate --json's "ranks").

  tp_bench.py CLI MODEL_DIR OUT_JSON [--runs 5] [--new 16] [--dtype keep] [--backend torch|portable]

The raw JSON (with bench_meta's commit, machine and load average) goes to OUT_JSON;
a markdown table is printed.
"""
import argparse
import json
import subprocess
import time

import bench_meta


def one_run(cli, model, ranks, new, dtype, backend):
    args = [cli, "generate", model, "--backend", backend, "--dtype", dtype, "--prompt-ids", "1,450,7483,310,3444,338",
            "--max-new-tokens", str(new), "--json"]
    if ranks > 1:
        args += ["--tp", str(ranks)]
    start = time.monotonic()
    out = subprocess.run(args, capture_output=True, text=True, check=True)
    report = json.loads(out.stdout)
    report["wall_seconds"] = time.monotonic() - start
    if "ranks" not in report:  # one process: its own figures
        report["ranks"] = [{"rank": 0, "bytes_read": report["load"]["read_bytes"], "bound_bytes": report["load"]["bound_bytes"],
                            "peak_rss_bytes": report["load"]["peak_rss_bytes"]}]
    return report


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cli")
    p.add_argument("model")
    p.add_argument("out")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--new", type=int, default=16)
    p.add_argument("--dtype", default="keep")
    p.add_argument("--backend", default="torch", help="torch or portable (both take the process group)")
    a = p.parse_args()
    raw = {"meta": bench_meta.run_meta(), "command": " ".join(__import__("sys").argv), "configs": {}}
    rows = []
    ids = None
    for ranks in (1, 2):
        runs = [one_run(a.cli, a.model, ranks, a.new, a.dtype, a.backend) for _ in range(a.runs)]
        for r in runs:
            ids = ids or r["ids"]
            assert r["ids"] == ids, ("ids differ between runs/configurations", ids, r["ids"])
        raw["configs"][str(ranks)] = runs
        load = bench_meta.summary([r["load"]["seconds"] for r in runs])
        decode = bench_meta.summary([r["decode_tokens_per_second"] for r in runs])
        last = runs[-1]["ranks"]
        rows.append((ranks, load, decode, last, runs[-1]["backend"]))
    raw["load_average_end"] = bench_meta.load_average()
    with open(a.out, "w") as f:
        json.dump(raw, f, indent=1)
    print(f"greedy ids identical in every run: {ids}")
    print("| ranks | load s | decode tok/s | per rank: bytes read / bound / peak RSS (MiB) | backend |")
    print("|---|---|---|---|---|")
    for ranks, load, decode, per_rank, backend in rows:
        cells = "; ".join(f"r{r['rank']}: {r['bytes_read'] >> 20} / "
                          f"{r['bound_bytes'] >> 20} / {r['peak_rss_bytes'] >> 20}" for r in per_rank)
        print(f"| {ranks} | {bench_meta.spread(load, '{:.2f}')} | {bench_meta.spread(decode, '{:.2f}')} | {cells} "
              f"| {backend} |")


if __name__ == "__main__":
    main()
