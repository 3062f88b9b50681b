"""What every benchmark's raw JSON records beside its figures, and how runs are
summarised, so that every table in bench/ is read the same way.

  run_meta()          commit (and whether the tree differs from it), date, machine
                      (CPU model, cores, memory, kernel), load average at the start
  summary(values)     median, min, max and n of >= 5 runs (runs vary; one best run hides it)
  save_raw(path, d)   the JSON beside the table (d gets "meta" and "load_average_end")
  MEMORY_ACCOUNTING   the one memory figure every row reports, in words

Memory: peak RSS (VmHWM: anonymous + file-backed + shared pages resident at
the peak) minus the same process's RSS once its imports / start-up are done
(Python: after `import torch, transformers` and the model class, then the
high-water mark is reset with /proc/self/clear_refs; our binaries: VmRSS
when the load starts, `rss_before_bytes`). Each row is one fresh process.
"""
import datetime
import json
import os
import platform
import statistics
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIN_RUNS = 5
MEMORY_ACCOUNTING = ("peak RSS (VmHWM, anonymous + file-backed) over the process's own RSS after its "
                     "imports / start-up, each run a fresh process")


def _git(*args):
    try:
        p = subprocess.run(["git", "-C", ROOT, *args], capture_output=True, text=True, timeout=10)
        return p.stdout.strip() if p.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired):
        return None


def _cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average():
    try:
        return [float(x) for x in open("/proc/loadavg").read().split()[:3]]
    except OSError:
        return None


def run_meta():
    status = _git("status", "--porcelain", "--untracked-files=no")
    mem = None
    try:
        mem = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        pass
    return {"commit": _git("rev-parse", "HEAD") or "unknown",
            "tree_differs_from_commit": None if status is None else bool(status),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
            "machine": {"cpu": _cpu_model(), "cores": os.cpu_count(), "memory_gib": mem,
                        "kernel": platform.release(), "python": platform.python_version()},
            "load_average_start": load_average(),
            "memory_accounting": MEMORY_ACCOUNTING}


def summary(values):
    """Median, min, max and n of a list of numbers (None where empty)."""
    values = [v for v in values if v is not None]
    if not values:
        return {"median": None, "min": None, "max": None, "n": 0, "runs": []}
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values),
            "runs": values}


def spread(s, fmt="{:.3f}"):
    """"median (min-max, n)" for a table cell."""
    if not s["n"]:
        return ""
    return f"{fmt.format(s['median'])} ({fmt.format(s['min'])}-{fmt.format(s['max'])}, n={s['n']})"


def save_raw(path, payload, meta):
    payload = dict(payload, meta=meta, load_average_end=load_average())
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(payload, f, indent=1)
    print(f"raw results: {path}")
