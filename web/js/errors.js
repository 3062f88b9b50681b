// Typed errors. `kind` is the name of the C++ ws::ErrorKind the failure maps
// to, so code can switch on it whichever side (JS or wasm) found the problem.

export class WeightstreamError extends Error {
  constructor(kind, message, options) {
    super(message, options);
    this.name = 'WeightstreamError';
    this.kind = kind;
  }
}

// A transfer failed: HTTP status, refused connection, CORS (kind "Http"), or
// a file or URL that does not exist (kind "NotFound").
export class HttpError extends WeightstreamError {
  constructor(message, { status = 0, url = '', kind = 'Http', cause } = {}) {
    super(kind, message, cause ? { cause } : undefined);
    this.name = 'HttpError';
    this.status = status;
    this.url = url;
  }
}

// The files are not what they claim: InvalidHeader, InvalidIndex,
// InvalidConfig, Truncated, ShapeMismatch, MissingTensor, UnexpectedTensor.
export class FormatError extends WeightstreamError {
  constructor(kind, message) {
    super(kind, message);
    this.name = 'FormatError';
  }
}

// The model cannot fit (wasm32 addresses at most 4 GiB), or a size cap was hit.
export class OutOfBudgetError extends WeightstreamError {
  constructor(message) {
    super('OutOfBudget', message);
    this.name = 'OutOfBudgetError';
  }
}

// Valid input weightstream does not handle (a model type, a dtype conversion).
export class UnsupportedError extends WeightstreamError {
  constructor(message) {
    super('Unsupported', message);
    this.name = 'UnsupportedError';
  }
}

// The caller's AbortSignal fired.
export class CancelledError extends WeightstreamError {
  constructor(message = 'cancelled', cause) {
    super('Cancelled', message, cause !== undefined ? { cause } : undefined);
    this.name = 'CancelledError';
  }
}

// A bad option or call (kind "InvalidArgument"), or a local file problem ("Io").
export class UsageError extends WeightstreamError {
  constructor(kind, message) {
    super(kind, message);
    this.name = 'UsageError';
  }
}

// The wasm module trapped (out-of-bounds access, stack overflow, unreachable)
// inside a call: kind "Internal", a JS-side kind with no C++ counterpart. The
// module's state after a trap is unknown, so its instance is discarded: the
// next load gets a fresh one, and models that lived in the old one answer
// every call with this error (dispose() still works).
export class WasmTrapError extends WeightstreamError {
  constructor(message, options) {
    super('Internal', message, options);
    this.name = 'WasmTrapError';
  }
}

// Every kind the C++ core can return (ws::ErrorKind in src/core/result.h, in
// its order, up to kLastErrorKind; tests/web/errors.test.mjs checks the two
// lists agree), then the JS-only 'Internal'.
export const CORE_ERROR_KINDS = Object.freeze(['InvalidArgument', 'Io', 'Http', 'InvalidHeader', 'InvalidIndex',
  'InvalidConfig', 'Truncated', 'ShapeMismatch', 'MissingTensor', 'UnexpectedTensor', 'Unsupported', 'OutOfBudget',
  'Cancelled', 'NotFound', 'Device', 'Timeout', 'Template']);
export const ERROR_KINDS = Object.freeze([...CORE_ERROR_KINDS, 'Internal']);

const FORMAT_KINDS = new Set(['InvalidHeader', 'InvalidIndex', 'InvalidConfig', 'Truncated', 'ShapeMismatch',
  'MissingTensor', 'UnexpectedTensor']);

// The error class for a kind name (from the wasm core or from JS).
export function errorFromKind(kind, message) {
  if (FORMAT_KINDS.has(kind)) return new FormatError(kind, message);
  switch (kind) {
    case 'Http':
    case 'NotFound':
    case 'Timeout':
      return new HttpError(message, { kind });
    case 'OutOfBudget':
      return new OutOfBudgetError(message);
    case 'Unsupported':
      return new UnsupportedError(message);
    case 'Cancelled':
      return new CancelledError(message);
    case 'Internal':
      return new WasmTrapError(message);
    default:
      return new UsageError(kind, message);
  }
}

// `error` as a WeightstreamError: itself when it is one, else wrapped (kind
// "Io", the original as `cause`) with `context` (a URL or path) in front.
export function asWeightstreamError(error, context) {
  if (error instanceof WeightstreamError) return error;
  const message = error && error.message !== undefined ? error.message : String(error);
  return new WeightstreamError('Io', context ? `${context}: ${message}` : message, { cause: error });
}

// Rebuilds an error sent across postMessage (worker -> page).
export function reviveError(data) {
  const error = errorFromKind(data.kind, data.message);
  if (data.status !== undefined && error instanceof HttpError) error.status = data.status;
  return error;
}
