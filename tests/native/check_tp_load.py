"""`weightstream load --rank R --world-size W` against an independent slicing:
every tensor each rank binds equals the safetensors package's tensor sliced
as Megatron's tensor parallelism prescribes (restated here from the layout, not
from our code), and each rank reads only its own bytes: summed over the ranks,
the bytes read are the split tensors once plus the replicated ones W times.

usage: check_tp_load.py CLI MODEL_DIR (a safetensors checkpoint in HF names)
"""
import hashlib
import json
import os
import subprocess
import sys

from safetensors.numpy import load_file

OUTPUTS = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "mlp.gate_proj", "mlp.up_proj")
INPUTS = ("self_attn.o_proj", "mlp.down_proj")


def expected_part(name, array, rank, world):
    """Column-parallel layers keep output rows (and bias elements); row-parallel weights keep input columns."""
    if any(name.endswith(layer + ".weight") or name.endswith(layer + ".bias") for layer in OUTPUTS):
        rows = array.shape[0] // world
        return array[rank * rows:(rank + 1) * rows], True
    if any(name.endswith(layer + ".weight") for layer in INPUTS):
        cols = array.shape[-1] // world
        return array[..., rank * cols:(rank + 1) * cols], True
    return array, False


def main():
    cli, model_dir = sys.argv[1], sys.argv[2]
    tensors = {}
    for f in sorted(os.listdir(model_dir)):
        if f.endswith(".safetensors"):
            tensors.update(load_file(os.path.join(model_dir, f)))
    for world in (1, 2, 4):
        needed_total = 0
        for rank in range(world):
            out = subprocess.run([cli, "load", model_dir, "--rank", str(rank), "--world-size", str(world), "--hash",
                                  "--json"], check=True, capture_output=True, text=True).stdout
            report = json.loads(out)
            assert report["rank"] == rank and report["world_size"] == world, report
            got = {t["name"]: t for t in report["tensors"]}
            assert set(got) == set(tensors), set(got) ^ set(tensors)
            split_bytes = replicated_bytes = 0
            for name, array in tensors.items():
                part, split = expected_part(name, array, rank, world)
                t = got[name]
                assert t["shape"] == list(part.shape), (name, t["shape"], part.shape)
                assert t["sha256"] == hashlib.sha256(part.tobytes()).hexdigest(), (name, rank, world)
                assert ("slice" in t) == (split and world > 1), (name, t)
                if split:
                    split_bytes += part.nbytes
                else:
                    replicated_bytes += part.nbytes
            assert report["needed_bytes"] == split_bytes + replicated_bytes, (report["needed_bytes"], split_bytes,
                                                                            replicated_bytes)
            needed_total += report["needed_bytes"]
        whole = sum(a.nbytes for a in tensors.values())
        replicated = sum(a.nbytes for n, a in tensors.items() if not expected_part(n, a, 0, 2)[1])
        assert needed_total == whole + (world - 1) * replicated, (world, needed_total, whole, replicated)
        print(f"world {world}: every rank's tensors equal the safetensors slices; bytes read over all ranks "
              f"{needed_total} = {whole} + {world - 1} x {replicated} replicated")
    bad = subprocess.run([cli, "load", model_dir, "--rank", "2", "--world-size", "2"], capture_output=True, text=True)
    assert bad.returncode == 2 and "outside a world" in bad.stderr, (bad.returncode, bad.stderr)
    uneven = subprocess.run([cli, "load", model_dir, "--rank", "0", "--world-size", "3"], capture_output=True,
                            text=True)
    assert uneven.returncode != 0 and "do not divide among 3 ranks" in uneven.stderr, (uneven.returncode, uneven.stderr)
    print("bad ranks and worlds that do not divide the layers are typed errors")


if __name__ == "__main__":
    main()
