"""Tensor-parallel generation on CPU with Gloo, through `generate --tp 2` and torchrun.

- 2 ranks give the greedy ids of the single-process run (the fixtures, whose
  single-process forward the parity tests hold to transformers, and SmolLM2);
- each rank reads and binds exactly its part: the split matrices' slices
  (whole KV groups and MLP units per rank, as evenly as they go) plus the
  replicated tensors, computed here from the checkpoint's own header (the
  safetensors package, gguf-py) and config.json, not from our plan;
- a rank that dies mid-generate, or never comes, ends every rank with an
  error within the group timeout; ranks given different models refuse to run;
  layouts that cannot be split are typed errors.

usage: check_tp_generate.py CLI FIXTURES_DIR SMOLLM2_GGUF TORCHRUN
"""
import json
import os
import signal
import subprocess
import sys
import time

TIMEOUT_S = 10  # WS_DIST_TIMEOUT_S for every run here
ENV = dict(os.environ, WS_DIST_TIMEOUT_S=str(TIMEOUT_S))
OUTPUTS = ("q_proj", "k_proj", "v_proj", "gate_proj", "up_proj", "attn_q", "attn_k", "attn_v", "ffn_gate", "ffn_up")
INPUTS = ("o_proj", "down_proj", "attn_output", "ffn_down")


def split_evenly(extent, rank, world):
    base, extra = divmod(extent, world)
    begin = rank * base + min(rank, extra)
    return begin, begin + base + (1 if rank < extra else 0)


def kept_range(name, config, rank, world):
    """The [begin, end) of the split dimension rank `rank` keeps, or None when the tensor is replicated."""
    layer = name.split(".")[-2]
    if layer not in OUTPUTS + INPUTS or (name.endswith(".bias") and layer in INPUTS):
        return None
    heads, kv_heads = config["num_attention_heads"], config.get("num_key_value_heads", config["num_attention_heads"])
    head_dim = config.get("head_dim") or config["hidden_size"] // heads
    kv_begin, kv_end = split_evenly(kv_heads, rank, world)
    if layer in ("k_proj", "v_proj", "attn_k", "attn_v"):
        return kv_begin * head_dim, kv_end * head_dim
    if layer in ("q_proj", "o_proj", "attn_q", "attn_output"):
        group = heads // kv_heads
        return kv_begin * group * head_dim, kv_end * group * head_dim
    return split_evenly(config["intermediate_size"], rank, world)


def run(args, env=ENV, timeout=600):
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=timeout)


def generate_json(cli, model, extra, launcher=()):
    out = run(list(launcher) + [cli, "generate", model, "--backend", "torch", "--json"] + extra)
    assert out.returncode == 0, (launcher, model, out.returncode, out.stderr[-2000:])
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1, ("rank 0 alone prints", out.stdout[-2000:])
    return json.loads(lines[0])


def safetensors_expectation(model_dir, world):
    """Per rank: (bytes read, bytes bound) for `generate --dtype keep` (vectors widen to f32)."""
    config = json.load(open(os.path.join(model_dir, "config.json")))
    itemsize = {"F32": 4, "F16": 2, "BF16": 2}
    tensors = {}  # name -> (shape, bytes per element), from each file's header (the format's 8-byte length + JSON)
    for f in sorted(os.listdir(model_dir)):
        if f.endswith(".safetensors"):
            with open(os.path.join(model_dir, f), "rb") as st:
                header = json.loads(st.read(int.from_bytes(st.read(8), "little")))
            for name, info in header.items():
                if name != "__metadata__":
                    tensors[name] = (info["shape"], itemsize[info["dtype"]])
    if config.get("tie_word_embeddings") and "lm_head.weight" in tensors:
        del tensors["lm_head.weight"]  # a stored copy of the tied head is not read
    per_rank = []
    for rank in range(world):
        read = bound = 0
        for name, (shape, size) in tensors.items():
            numel = 1
            for n in shape:
                numel *= n
            kept = kept_range(name, config, rank, world)
            if kept:
                dim = 0 if name.split(".")[-2] in OUTPUTS or name.endswith(".bias") else len(shape) - 1
                numel = numel // shape[dim] * (kept[1] - kept[0])
            read += numel * size
            bound += numel * (4 if len(shape) == 1 else size)
        per_rank.append((read, bound))
    return per_rank


def gguf_expectation(path, world):
    """Per rank: (bytes read, bytes bound) for `generate --dtype f32` of a GGUF (blocks read, f32 bound)."""
    import gguf
    reader = gguf.GGUFReader(path)
    field = lambda key: int(reader.fields[key].parts[reader.fields[key].data[0]][0])
    config = {"num_attention_heads": field("llama.attention.head_count"),
              "num_key_value_heads": field("llama.attention.head_count_kv"),
              "hidden_size": field("llama.embedding_length"),
              "intermediate_size": field("llama.feed_forward_length")}
    per_rank = []
    for rank in range(world):
        read = bound = 0
        for t in reader.tensors:
            ne = [int(x) for x in t.shape]  # ne[0] = the row (innermost)
            numel = 1
            for n in ne:
                numel *= n
            block_elements, block_bytes = gguf.GGML_QUANT_SIZES[t.tensor_type]
            row_bytes = ne[0] // block_elements * block_bytes
            rows = numel // ne[0]
            kept = kept_range(t.name, config, rank, world)
            layer = t.name.split(".")[-2]
            if kept and layer in OUTPUTS:  # rows
                rows = kept[1] - kept[0]
                numel = rows * ne[0]
            elif kept:  # columns: each row's run of blocks
                row_bytes = (kept[1] - kept[0]) // block_elements * block_bytes
                numel = rows * (kept[1] - kept[0])
            read += rows * row_bytes
            bound += numel * 4
        per_rank.append((read, bound))
    return per_rank


def check_ranks(report, expected, what):
    ranks = report["ranks"]
    assert [r["rank"] for r in ranks] == list(range(len(expected))), ranks
    for r, (read, bound) in zip(ranks, expected):
        assert r["bytes_read"] == read and r["bound_bytes"] == bound, (what, r, read, bound)
        # Measured too: what the rank's read calls returned while it loaded
        # (/proc/self/io rchar), which adds only a few KiB of /proc reads.
        assert read <= r["measured_read_bytes"] <= read + (64 << 10), (what, r, read)
        assert r["peak_rss_bytes"] > 0, r
    print(f"  {what}: per rank read {[r['bytes_read'] for r in ranks]} (measured "
          f"{[r['measured_read_bytes'] for r in ranks]}), bound {[r['bound_bytes'] for r in ranks]} "
          f"(exactly the slices + replicated), peak RSS {[r['peak_rss_bytes'] >> 20 for r in ranks]} MiB")


def child_pids(parent):
    pids = []
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/stat") as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == parent:
                    pids.append(int(pid))
        except (OSError, ValueError, IndexError):
            pass
    return pids


def rank_of(pid):
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            env = dict(v.split(b"=", 1) for v in f.read().split(b"\0") if b"=" in v)
        return int(env.get(b"RANK", b"-1"))
    except OSError:
        return -1


def kill_rank_mid_generate(command, find_rank_1, what):
    """Starts `command`, waits for rank 0's first generated text, SIGKILLs rank 1; returns (rc, stderr, seconds)."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    first = proc.stdout.read(1)  # rank 0 is generating
    assert first, (what, "no output", proc.stderr.read().decode()[-2000:])
    victim = find_rank_1(proc.pid)
    assert victim, (what, "rank 1 not found")
    os.kill(victim, signal.SIGKILL)
    killed = time.monotonic()
    try:
        _, err = proc.communicate(timeout=TIMEOUT_S + 60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"{what}: still running {TIMEOUT_S + 60} s after rank 1 was killed")
    return proc.returncode, err.decode(), time.monotonic() - killed


def find_in_tree(root, rank):
    """A descendant of `root` (the --tp parent, or torchrun and its agent) launched as `rank`."""
    frontier = [root]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        seen, frontier = frontier, []
        for pid in seen:
            for child in child_pids(pid):
                if rank_of(child) == rank and os.readlink(f"/proc/{child}/exe").endswith("weightstream"):
                    return child
                frontier.append(child)
        if not frontier:
            frontier = [root]
            time.sleep(0.1)
    return None


def main():
    cli, fixtures, smollm2, torchrun = sys.argv[1:5]
    if not os.path.exists(smollm2):
        print(f"no {smollm2} (.ci/setup.d/30-smollm2.sh fetches it)")
        sys.exit(1 if os.environ.get("WS_REQUIRE_ALL") == "1" else 77)
    # torch 1.13's torchrun under Python 3.11 cannot parse its own default
    # --redirects/--tee ("0": Python 3.11's Flag iteration skips the zero
    # member, so Std.from_str returns None); "2" (stderr) parses and leaves
    # the workers' stdout on ours.
    trun = [torchrun, "--redirects", "2", "--tee", "2", "--no_python", "--nproc_per_node", "2"]

    print("greedy ids: 1 process vs --tp 2 vs torchrun; bytes per rank")
    ids = ["--prompt-ids", "1,2,3,4,5,6,7", "--max-new-tokens", "16"]
    for name in ("llama_gqa", "llama_sharded", "llama_bf16", "mistral", "llama3_rope"):
        model = os.path.join(fixtures, name)
        single = generate_json(cli, model, ids)
        tp = generate_json(cli, model, ids + ["--tp", "2"])
        assert tp["ids"] == single["ids"], (name, single["ids"], tp["ids"])
        check_ranks(tp, safetensors_expectation(model, 2), f"{name} --tp 2")
        if name in ("llama_gqa", "llama_sharded"):
            via_torchrun = generate_json(cli, model, ids, launcher=trun + ["--master_port", str(29400 + len(name))])
            assert via_torchrun["ids"] == single["ids"], (name, single["ids"], via_torchrun["ids"])
            check_ranks(via_torchrun, safetensors_expectation(model, 2), f"{name} torchrun")
        # The portable backend takes the same group (the forward is the same code).
        portable = run([cli, "generate", model, "--json", "--tp", "2"] + ids)
        assert portable.returncode == 0 and json.loads(portable.stdout)["ids"] == single["ids"], portable.stderr
        print(f"  {name}: {len(single['ids'])} ids identical (torch, --tp 2 on torch and portable)")

    # SmolLM2: 9 query heads in 3 KV groups (2 + 1 per rank), 1536 MLP units.
    prompt = ["--prompt", "The capital of France is", "--max-new-tokens", "12", "--dtype", "f32"]
    single = generate_json(cli, smollm2, prompt)
    tp = generate_json(cli, smollm2, prompt + ["--tp", "2"])
    via_torchrun = generate_json(cli, smollm2, prompt, launcher=trun + ["--master_port", "29471"])
    assert tp["ids"] == single["ids"] == via_torchrun["ids"], (single["ids"], tp["ids"], via_torchrun["ids"])
    expected = gguf_expectation(smollm2, 2)
    check_ranks(tp, expected, "SmolLM2 --tp 2")
    check_ranks(via_torchrun, expected, "SmolLM2 torchrun")
    print(f"  SmolLM2 (f32): {single['ids']} identical through --tp 2 and torchrun")

    print("failures end every rank within the timeout")
    long_run = [cli, "generate", smollm2, "--backend", "torch", "--dtype", "f32", "--prompt", "Tell me a long story",
                "--max-new-tokens", "400"]
    rc, err, seconds = kill_rank_mid_generate(long_run + ["--tp", "2"], lambda p: find_in_tree(p, 1), "--tp 2")
    assert rc == 1 and "rank 1 of 2 was killed by signal 9" in err and "rank 0" in err, (rc, err[-3000:])
    assert seconds < TIMEOUT_S + 30, seconds
    print(f"  --tp 2, rank 1 killed mid-generate: exit {rc} after {seconds:.1f} s: "
          f"{[l for l in err.splitlines() if 'rank 0' in l][:1]}")
    rc, err, seconds = kill_rank_mid_generate(trun + ["--master_port", "29472"] + long_run,
                                              lambda p: find_in_tree(p, 1), "torchrun")
    assert rc != 0 and "failed" in err, (rc, err[-3000:])
    assert seconds < TIMEOUT_S + 30, seconds
    print(f"  torchrun, rank 1 killed mid-generate: exit {rc} after {seconds:.1f} s")

    # Launched by hand as torchrun does: rank 1 never comes.
    alone = dict(ENV, RANK="0", WORLD_SIZE="2", MASTER_ADDR="127.0.0.1", MASTER_PORT="29473")
    start = time.monotonic()
    out = run([cli, "generate", os.path.join(fixtures, "llama_gqa"), "--backend", "torch", "--prompt-ids", "1,2"],
              env=alone, timeout=TIMEOUT_S + 60)
    seconds = time.monotonic() - start
    assert out.returncode == 1 and "Timeout" in out.stderr and "could not join" in out.stderr, out.stderr[-2000:]
    assert seconds < TIMEOUT_S + 30, seconds
    print(f"  rank 0 alone: exit 1 after {seconds:.1f} s: {out.stderr.strip().splitlines()[-1][:160]}")

    # Rank 1 killed while it loads its slices (it has joined: the group forms
    # before the load): rank 0's first collective fails.
    procs = []
    for rank in (0, 1):
        env = dict(ENV, RANK=str(rank), WORLD_SIZE="2", MASTER_ADDR="127.0.0.1", MASTER_PORT="29474")
        procs.append(subprocess.Popen([cli, "generate", smollm2, "--backend", "torch", "--dtype", "f32",
                                       "--prompt-ids", "1,2,3", "--max-new-tokens", "50"],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env))
    phase = "before it read 20 MB"
    deadline = time.monotonic() + 120
    while procs[1].poll() is None and time.monotonic() < deadline:
        with open(f"/proc/{procs[1].pid}/io") as f:
            io = dict(line.split(": ") for line in f.read().splitlines())
        if int(io["rchar"]) > 20_000_000:  # the header and vocabulary are read by now; weights are streaming
            phase = f"after reading {int(io['rchar']) >> 20} MiB"
            break
        time.sleep(0.002)
    assert procs[1].poll() is None, "rank 1 ended before it could be killed"
    procs[1].kill()
    start = time.monotonic()
    _, err = procs[0].communicate(timeout=TIMEOUT_S + 60)
    procs[1].communicate()
    seconds = time.monotonic() - start
    err = err.decode()
    assert procs[0].returncode == 1 and ("Timeout" in err or "Io" in err) and "rank 0" in err, err[-2000:]
    assert seconds < TIMEOUT_S + 30, seconds
    print(f"  rank 1 killed mid-load ({phase}): rank 0 exit 1 after {seconds:.1f} s: "
          f"{err.strip().splitlines()[-1][:160]}")

    # A rank that hangs (SIGSTOP) mid-generate: the others time out, and --tp
    # kills the hung one after the grace period.
    proc = subprocess.Popen(long_run + ["--tp", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    assert proc.stdout.read(1)
    victim = find_in_tree(proc.pid, 1)
    os.kill(victim, signal.SIGSTOP)
    start = time.monotonic()
    _, err = proc.communicate(timeout=3 * TIMEOUT_S + 60)
    seconds = time.monotonic() - start
    err = err.decode()
    assert proc.returncode == 1 and "Timeout: " in err and "rank 1 did not end" in err, err[-3000:]
    assert seconds < 2 * TIMEOUT_S + 30, seconds
    print(f"  --tp 2, rank 1 stopped mid-generate: exit 1 after {seconds:.1f} s: "
          f"{[l for l in err.splitlines() if 'Timeout' in l][0][:160]}")

    # Ranks given different checkpoints (same config) refuse to compute.
    procs = []
    for rank, name in ((0, "llama_gqa"), (1, "llama_sharded")):
        env = dict(ENV, RANK=str(rank), WORLD_SIZE="2", MASTER_ADDR="127.0.0.1", MASTER_PORT="29475")
        procs.append(subprocess.Popen([cli, "generate", os.path.join(fixtures, name), "--backend", "torch",
                                       "--prompt-ids", "1,2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      env=env))
    errs = [p.communicate(timeout=TIMEOUT_S + 60)[1].decode() for p in procs]
    for p, err in zip(procs, errs):
        assert p.returncode != 0 and "has another model than rank 0" in err, (p.returncode, err[-2000:])
    print(f"  different models: every rank refuses: {errs[0].strip().splitlines()[-1][:160]}")

    print("layouts that cannot be split are typed errors")
    out = run([cli, "generate", os.path.join(fixtures, "qwen2"), "--backend", "torch", "--prompt-ids", "1", "--tp", "2"])
    assert out.returncode != 0 and "InvalidArgument" in out.stderr and "1 key/value heads" in out.stderr, out.stderr
    out = run([cli, "generate", os.path.join(fixtures, "gpt2"), "--backend", "torch", "--prompt-ids", "1", "--tp", "2"])
    assert out.returncode != 0 and "Unsupported" in out.stderr, out.stderr
    out = run([cli, "generate", os.path.join(fixtures, "llama_gqa"), "--tp", "x"])
    assert out.returncode == 2 and "--tp takes" in out.stderr, out.stderr
    print("  1 KV head over 2 ranks: InvalidArgument; GPT-2's fused c_attn: Unsupported; --tp x: usage")


if __name__ == "__main__":
    main()
