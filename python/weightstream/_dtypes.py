"""The core's dtype names (format.h's dtype_name) and torch's dtypes."""

import torch

# Dtypes both sides have. The ggml block types (Q4_0, ...), and F8_* / U16+
# where this torch lacks them, are held as uint8 tensors of their raw bytes.
_PAIRS = [
    ("F64", "float64"), ("F32", "float32"), ("F16", "float16"), ("BF16", "bfloat16"),
    ("I64", "int64"), ("I32", "int32"), ("I16", "int16"), ("I8", "int8"), ("U8", "uint8"), ("BOOL", "bool"),
    ("F8_E4M3", "float8_e4m3fn"), ("F8_E5M2", "float8_e5m2"),
    ("U16", "uint16"), ("U32", "uint32"), ("U64", "uint64"),
]
TO_TORCH = {ws: getattr(torch, name) for ws, name in _PAIRS if hasattr(torch, name)}
FROM_TORCH = {dtype: ws for ws, dtype in TO_TORCH.items()}
FLOATS = ("F64", "F32", "F16", "BF16")
QUANTIZED = ("Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q6_K", "Q5_K")

# Bytes per block and elements per block of the ggml types (ggml.h), for the
# raw uint8 view of quantized tensors.
BLOCKS = {"Q4_0": (18, 32), "Q4_1": (20, 32), "Q5_0": (22, 32), "Q5_1": (24, 32), "Q8_0": (34, 32),
          "Q4_K": (144, 256), "Q5_K": (176, 256), "Q6_K": (210, 256)}


def ws_name(dtype):
    """torch dtype -> core name; ValueError for one the core has no name for."""
    try:
        return FROM_TORCH[dtype]
    except KeyError:
        raise ValueError(f"weightstream has no dtype for {dtype}") from None
