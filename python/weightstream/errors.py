"""One exception class per core ErrorKind (src/core/result.h), all subclasses
of weightstream.Error. `err.kind` is the core's name for it ("InvalidHeader")."""
import builtins

from . import _native


class Error(Exception):
    """Any error weightstream's core reported."""

    kind = None


class FormatError(Error, ValueError):
    """The checkpoint breaks its format (header, index, config, truncation)."""


class InvalidArgumentError(Error, ValueError):
    kind = "InvalidArgument"


class IoError(Error, OSError):
    kind = "Io"


class HttpError(IoError):
    kind = "Http"


class NotFoundError(IoError, FileNotFoundError):
    kind = "NotFound"


class InvalidHeaderError(FormatError):
    kind = "InvalidHeader"


class InvalidIndexError(FormatError):
    kind = "InvalidIndex"


class InvalidConfigError(FormatError):
    kind = "InvalidConfig"


class TruncatedError(FormatError):
    kind = "Truncated"


class ShapeMismatchError(Error, ValueError):
    kind = "ShapeMismatch"


class MissingTensorError(Error, KeyError):
    kind = "MissingTensor"

    def __str__(self):  # KeyError would quote the message
        return Exception.__str__(self)


class UnexpectedTensorError(Error, KeyError):
    kind = "UnexpectedTensor"

    def __str__(self):
        return Exception.__str__(self)


class UnsupportedError(Error):
    kind = "Unsupported"


class OutOfBudgetError(Error, MemoryError):
    kind = "OutOfBudget"


class CancelledError(Error):
    kind = "Cancelled"


class DeviceError(Error):
    kind = "Device"


class TemplateError(Error, ValueError):
    kind = "Template"


class TimeoutError(Error, builtins.TimeoutError):  # noqa: A001 - the core's kind name; catchable as the builtin
    kind = "Timeout"


_BY_KIND = {
    cls.kind: cls
    for cls in (InvalidArgumentError, IoError, HttpError, NotFoundError, InvalidHeaderError, InvalidIndexError,
                InvalidConfigError, TruncatedError, ShapeMismatchError, MissingTensorError, UnexpectedTensorError,
                UnsupportedError, OutOfBudgetError, CancelledError, DeviceError, TimeoutError, TemplateError)
}
# Every kind the core can report has its class (a new kind must get one here).
assert set(_native._error_kinds()) == set(_BY_KIND), set(_native._error_kinds()) ^ set(_BY_KIND)
_native._set_error_classes(_BY_KIND)

__all__ = ["Error", "FormatError"] + [cls.__name__ for cls in _BY_KIND.values()]
