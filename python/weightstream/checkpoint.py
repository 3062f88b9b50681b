"""weightstream.open: a checkpoint's names, shapes, dtypes and metadata from
its headers alone; tensors are read on request, straight into torch tensors."""

import os
from typing import NamedTuple, Tuple

import torch

from . import _native
from ._dtypes import BLOCKS, FLOATS, QUANTIZED, TO_TORCH, ws_name
from ._staging import Stager
from .errors import DeviceError, InvalidArgumentError


class TensorInfo(NamedTuple):
    name: str
    dtype: str          # the core's name: "BF16", "F32", ... or a ggml block type ("Q4_1")
    shape: Tuple[int, ...]
    bytes: int          # bytes stored in the checkpoint
    shard: int
    begin: int          # first byte in the shard file
    row_order: bool     # False for GGUF q/k weights stored with interleaved heads


def has_cuda():
    """Whether device="cuda" can be loaded to now: torch's own CUDA is available (asked at call time; the
    extension reaches CUDA only through torch, see weightstream._staging)."""
    return torch.cuda.is_available()


def check_device(device):
    """torch.device for `device`, or the error saying why it cannot be filled."""
    device = torch.device(device)
    if device.type == "cpu":
        return device
    if device.type == "cuda":
        if not has_cuda():
            raise DeviceError(f"device {device}: torch {torch.__version__} has no CUDA support or sees no CUDA device")
        return device
    raise InvalidArgumentError(f"device {device}: weightstream loads to 'cpu' or 'cuda[:N]'")


class Checkpoint:
    """An opened checkpoint: a local .safetensors file, a directory (model.safetensors or a sharded index), an
    http(s) URL of either, or a .gguf file. Only headers (and the index) are read by open()."""

    def __init__(self, location):
        location = os.fspath(location)
        self._source = _native.Source.open(location)
        self._infos = {}
        for name, dtype, shape, nbytes, shard, begin, row_order in self._source.tensors():
            self._infos[name] = TensorInfo(name, dtype, tuple(shape), nbytes, shard, begin, row_order)
        # Local safetensors shards can be bound as views of a mapping (mmap=True).
        self._directory = None
        if "://" not in location and not location.endswith(".gguf"):
            self._directory = location if os.path.isdir(location) else os.path.dirname(location) or "."
        self._mappings = {}

    # ---- what is in it --------------------------------------------------------
    @property
    def location(self):
        """Where it was opened from (credentials in a URL shown as ***)."""
        return self._source.location

    @property
    def metadata(self):
        """The safetensors __metadata__ of a single file, or the index's "metadata" of a sharded checkpoint."""
        shards = self._source.shard_metadata()
        if len(shards) == 1:
            return dict(shards[0])
        return dict(self._source.index_metadata())

    @property
    def shard_files(self):
        return list(self._source.shard_files())

    def keys(self):
        """Tensor names in file order (shard by shard)."""
        return list(self._infos)

    def info(self, name) -> TensorInfo:
        try:
            return self._infos[name]
        except KeyError:
            raise KeyError(f"{name!r} is not in {self.location}") from None

    def shape(self, name):
        return self.info(name).shape

    def dtype(self, name):
        """The stored dtype's name ("BF16", "Q4_1", ...)."""
        return self.info(name).dtype

    def torch_dtype(self, name):
        """The torch dtype get_tensor returns by default (float32 for quantized blocks)."""
        return TO_TORCH[target_dtype(self.dtype(name), None, True)]

    def read_text(self, file_name):
        """A side file beside the weights (config.json, tokenizer.json, ...); for GGUF, made from its metadata."""
        return self._source.read_text(file_name)

    def __contains__(self, name):
        return name in self._infos

    def __len__(self):
        return len(self._infos)

    def __iter__(self):
        return iter(self._infos)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __repr__(self):
        return f"weightstream.Checkpoint({self.location!r}, {len(self)} tensors, {len(self.shard_files)} shards)"

    # ---- reading ----------------------------------------------------------------
    def get_tensor(self, name, *, device="cpu", dtype=None, dequantize=True):
        """One tensor, read from its byte range only."""
        return self.tensors([name], device=device, dtype=dtype, dequantize=dequantize)[name]

    def mapped_view(self, name, ws_dtype, device):
        """Tensor `name` as a view of its shard file mapped copy-on-write (torch's from_file, as
        safetensors.torch does), or None where that cannot be: a URL or GGUF file, another dtype or device, a
        layout that is not row order, an offset not aligned for the dtype. The pages are the page cache's:
        nothing is read until the tensor is, and writes stay private to this process."""
        info = self.info(name)
        if (self._directory is None or torch.device(device).type != "cpu" or ws_dtype != info.dtype
                or not info.row_order or ws_dtype not in TO_TORCH):
            return None
        element_size = torch.empty(0, dtype=TO_TORCH[ws_dtype]).element_size()
        if info.begin % element_size:
            return None
        if info.shard not in self._mappings:
            path = os.path.join(self._directory, self.shard_files[info.shard])
            self._mappings[info.shard] = map_file(path, os.path.getsize(path))
        return self._mappings[info.shard][info.begin:info.begin + info.bytes].view(TO_TORCH[ws_dtype]).reshape(info.shape)

    def tensors(self, names=None, *, device="cpu", dtype=None, dequantize=True, mmap=False, staging_mib=16,
                on_progress=None, _staged=False):
        """{name: tensor} for `names` (all by default), each allocated by torch and filled in place.
        dtype: floating tensors are converted to it while streaming (float32/float16/bfloat16); others keep theirs.
        dequantize: ggml block tensors become float32 (or dtype); with False, uint8 tensors of the raw blocks
        (their type is dtype(name)).
        mmap: tensors of a local safetensors file that keep their dtype on the CPU are views of the file mapped
        copy-on-write (see mapped_view) instead of copies; the rest stream as usual.
        device="cuda": tensors are allocated there and filled through staging_mib of pinned host slots
        (weightstream._staging); _staged=True sends a CPU load the same way (tests)."""
        device = check_device(device)
        names = self.keys() if names is None else list(names)
        out, targets, after = {}, [], []
        for name in names:
            info = self.info(name)
            ws_dtype = target_dtype(info.dtype, dtype, dequantize)
            view = self.mapped_view(name, ws_dtype, device) if mmap and not _staged else None
            if view is not None:
                out[name] = view
                continue
            if ws_dtype != info.dtype and not self._source.can_convert(info.dtype, ws_dtype):
                # A conversion the core does not stream (F64 -> F32, say): that
                # tensor alone is read as stored and converted by torch after.
                after.append(name)
                ws_dtype = info.dtype
            tensor = empty_for(info, ws_dtype, device)
            targets.append((name, ws_dtype, list(info.shape), tensor.data_ptr(), tensor.numel() * tensor.element_size()))
            out[name] = tensor
        load_targets(self, targets, staging_mib, on_progress, device, [out[t[0]] for t in targets] if
                     staged(device, _staged) else None)
        for name in after:
            out[name] = out[name].to(dtype)
        return out


def target_dtype(stored, dtype, dequantize):
    """The core's name of the dtype a stored tensor is loaded as."""
    if stored in QUANTIZED:
        if not dequantize:
            return stored
        return ws_name(dtype) if dtype is not None else "F32"
    if dtype is not None and stored in FLOATS:
        return ws_name(dtype)
    return stored


def empty_for(info, ws_dtype, device):
    """An uninitialised tensor to load `info` into as `ws_dtype` (raw uint8 bytes for dtypes torch lacks)."""
    if ws_dtype in TO_TORCH:
        return torch.empty(info.shape, dtype=TO_TORCH[ws_dtype], device=device)
    if ws_dtype == info.dtype:
        return torch.empty(info.bytes, dtype=torch.uint8, device=device)
    numel = 1
    for d in info.shape:
        numel *= d
    block_bytes, block_elements = BLOCKS[ws_dtype]
    return torch.empty(numel // block_elements * block_bytes, dtype=torch.uint8, device=device)


def map_file(path, nbytes):
    """A uint8 tensor over the whole file, mapped privately (copy-on-write) by torch."""
    if int(torch.__version__.split(".")[0]) >= 2:
        return torch.empty(0, dtype=torch.uint8).set_(torch.UntypedStorage.from_file(path, shared=False, nbytes=nbytes))
    return torch.ByteTensor(torch.ByteStorage.from_file(path, shared=False, size=nbytes))


def staged(device, _staged):
    """Whether a load to `device` goes through the staged path (pinned slots + copy_)."""
    return device.type != "cpu" or bool(_staged)


def load_targets(checkpoint, targets, staging_mib, on_progress, device=None, staged_tensors=None):
    """Fills `targets` in place, or, given staged_tensors (the targets' tensors, in order), through a Stager."""
    if staging_mib is None or staging_mib <= 0:
        raise InvalidArgumentError(f"staging_mib must be positive, got {staging_mib}")
    if staged_tensors is None:
        checkpoint._source.load(targets, int(staging_mib * (1 << 20)), on_progress)
        return
    stager = Stager(staged_tensors, device)
    try:
        checkpoint._source.load(targets, int(staging_mib * (1 << 20)), on_progress, stager)
    finally:
        stager.finish()  # no copy may still read a slot once they are freed


def open(location) -> Checkpoint:  # noqa: A001 (the package's verb, like safetensors.safe_open)
    """Opens a checkpoint lazily: see Checkpoint."""
    return Checkpoint(location)
