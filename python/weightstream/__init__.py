"""weightstream: stream safetensors and GGUF checkpoints (local files, directories, sharded indexes, http(s)
URLs) into PyTorch tensors and meta-device modules, with memory bounded by the weights plus one staging buffer.

    model = ...built under weightstream.init_empty_weights()...
    missing, unexpected = weightstream.load_into(model, "path/or/url", dtype=torch.bfloat16)
"""

from .checkpoint import Checkpoint, TensorInfo, has_cuda, open
from .errors import *  # noqa: F401,F403 (the exception classes)
from .errors import __all__ as _errors
from .load import LoadResult, init_empty_weights, load_file, load_into

__version__ = "0.1.0"
__all__ = ["open", "load_file", "load_into", "init_empty_weights", "Checkpoint", "TensorInfo", "LoadResult",
           "has_cuda"] + _errors
