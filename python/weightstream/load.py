"""load_file and load_into: whole checkpoints into torch tensors, and into a
torch.nn.Module built on the meta device."""

import contextlib
import warnings
from typing import List, NamedTuple

import torch

from ._dtypes import ws_name
from .checkpoint import Checkpoint, check_device, load_targets, staged
from .errors import MissingTensorError, UnexpectedTensorError


class LoadResult(NamedTuple):
    """What load_into did not fill, like torch's load_state_dict result."""

    missing_keys: List[str]
    unexpected_keys: List[str]


def load_file(location, *, device="cpu", dtype=None, dequantize=True, mmap=False, staging_mib=16,
              on_progress=None, _staged=False):
    """Every tensor of a checkpoint as {name: tensor}, as safetensors.torch.load_file returns it (same names,
    dtypes, shapes and bytes), from a file, directory, sharded index, URL or GGUF file. See Checkpoint.tensors."""
    checkpoint = location if isinstance(location, Checkpoint) else Checkpoint(location)
    return checkpoint.tensors(device=device, dtype=dtype, dequantize=dequantize, mmap=mmap, staging_mib=staging_mib,
                              on_progress=on_progress, _staged=_staged)


class _Slot(NamedTuple):
    name: str            # qualified name, as in module.state_dict()
    owner: torch.nn.Module
    leaf: str
    tensor: torch.Tensor
    is_parameter: bool


def _slots(module):
    """Every parameter and persistent buffer under every name it has (a tied weight appears under each), in
    state_dict order."""
    out = []

    def walk(mod, prefix):
        for leaf, p in mod._parameters.items():
            if p is not None:
                out.append(_Slot(prefix + leaf, mod, leaf, p, True))
        for leaf, b in mod._buffers.items():
            if b is not None and leaf not in mod._non_persistent_buffers_set:
                out.append(_Slot(prefix + leaf, mod, leaf, b, False))
        for child_name, child in mod._modules.items():
            if child is not None:
                walk(child, prefix + child_name + ".")

    walk(module, "")
    return out


def load_into(module, location, *, device="cpu", dtype=None, strict=True, mmap=False, staging_mib=16,
              on_progress=None, _staged=False):
    """Materialises every parameter and persistent buffer of `module` that the checkpoint provides on `device`
    and fills it straight from the stream (no intermediate copy); tied weights stay tied (one tensor, filled
    once). `module` is normally built on the meta device (weightstream.init_empty_weights(), accelerate's, or
    torch.device("meta")). dtype: floating tensors are created in it (default: the module's own dtype);
    conversion happens while streaming. Returns LoadResult(missing_keys, unexpected_keys); with strict=True
    either being non-empty raises MissingTensorError / UnexpectedTensorError before any byte is read, leaving
    the module as it was. Shape mismatches raise ShapeMismatchError (all of them, in one message), also before
    any byte is read. on_progress(bytes_done, bytes_total) is called from the loading thread with the GIL held.
    mmap=True: tensors of a local safetensors checkpoint that keep their dtype on the CPU become views of the
    file mapped copy-on-write (no copy, no read until used; the page cache holds them), the rest stream.
    device="cuda": parameters are allocated there and filled through staging_mib of pinned host memory (a few
    slots copied with non_blocking copy_, see weightstream._staging); _staged=True sends a CPU load that way.
    """
    device = check_device(device)
    checkpoint = location if isinstance(location, Checkpoint) else Checkpoint(location)
    slots = _slots(module)
    groups = {}
    for slot in slots:
        groups.setdefault(id(slot.tensor), []).append(slot)
    names = {slot.name for slot in slots}
    unexpected = [k for k in checkpoint.keys() if k not in names]
    missing, targets, target_tensors, fills = [], [], [], []
    for group in groups.values():
        present = [s for s in group if s.name in checkpoint]
        if not present:
            missing.extend(s.name for s in group)
            continue
        old = group[0].tensor
        wanted = dtype if dtype is not None and old.is_floating_point() else old.dtype
        view = checkpoint.mapped_view(present[0].name, ws_name(wanted), device) if mmap and not _staged else None
        if view is not None and tuple(view.shape) == tuple(old.shape):
            fills.append((group, view))
            continue
        new = torch.empty(tuple(old.shape), dtype=wanted, device=device)
        targets.append((present[0].name, ws_name(wanted), list(old.shape), new.data_ptr(),
                        new.numel() * new.element_size()))
        target_tensors.append(new)
        fills.append((group, new))
    if strict and missing:
        error = MissingTensorError(f"{checkpoint.location}: {len(missing)} tensor(s) the module needs are missing: "
                                   + ", ".join(missing[:20]) + (" ..." if len(missing) > 20 else "")
                                   + (f"; and {len(unexpected)} unexpected: " + ", ".join(unexpected[:20])
                                      if unexpected else ""))
        error.missing_keys, error.unexpected_keys = missing, unexpected
        raise error
    if strict and unexpected:
        error = UnexpectedTensorError(f"{checkpoint.location}: {len(unexpected)} tensor(s) the module does not "
                                      "have: " + ", ".join(unexpected[:20]) + (" ..." if len(unexpected) > 20 else ""))
        error.missing_keys, error.unexpected_keys = missing, unexpected
        raise error

    load_targets(checkpoint, targets, staging_mib, on_progress, device,
                 target_tensors if staged(device, _staged) else None)

    # Only now, with every byte in place, does the module change.
    for group, new in fills:
        old = group[0].tensor
        if group[0].is_parameter:
            value = torch.nn.Parameter(new, requires_grad=old.requires_grad and new.is_floating_point())
        else:
            value = new
        for slot in group:
            (slot.owner._parameters if slot.is_parameter else slot.owner._buffers)[slot.leaf] = value
    left_on_meta = [name for name, b in module.named_buffers() if b.is_meta and name not in missing]
    if left_on_meta:
        warnings.warn(f"{len(left_on_meta)} non-persistent buffer(s) are still on the meta device (checkpoints do "
                      f"not store them): {', '.join(left_on_meta[:5])}; build the module with "
                      "weightstream.init_empty_weights(), which keeps buffers real", stacklevel=2)
    return LoadResult(missing, unexpected)


@contextlib.contextmanager
def init_empty_weights():
    """Within it, new modules get their parameters on the meta device (no memory) while buffers stay real (rotary
    tables, masks: checkpoints do not store them). As accelerate.init_empty_weights() does; torch 1.13 has no
    `with torch.device("meta")`."""
    register = torch.nn.Module.register_parameter

    def register_on_meta(module, name, param):
        register(module, name, param)
        # A parameter already on meta is kept as is: re-wrapping it would
        # untie weights that transformers ties by assigning one to another.
        if param is not None and not param.is_meta:
            p = module._parameters[name]
            kwargs = dict(p.__dict__)
            kwargs["requires_grad"] = p.requires_grad
            module._parameters[name] = type(p)(p.to(torch.device("meta")), **kwargs)

    torch.nn.Module.register_parameter = register_on_meta
    try:
        yield
    finally:
        torch.nn.Module.register_parameter = register
