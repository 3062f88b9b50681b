// Type declarations for the weightstream npm package (hand-written; keep in
// step with index.js, errors.js and worker_client.js).

/** Names of the C++ ws::ErrorKind values; JS-side failures use the same names. */
export type ErrorKind =
  | 'InvalidArgument' | 'Io' | 'Http' | 'InvalidHeader' | 'InvalidIndex' | 'InvalidConfig' | 'Truncated'
  | 'ShapeMismatch' | 'MissingTensor' | 'UnexpectedTensor' | 'Unsupported' | 'OutOfBudget' | 'Cancelled'
  | 'NotFound';

export class WeightstreamError extends Error {
  readonly kind: ErrorKind;
  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown });
}
/** HTTP status, refused connection or CORS (kind "Http"); missing file or URL (kind "NotFound"). */
export class HttpError extends WeightstreamError {
  readonly status: number;
  readonly url: string;
}
/** Malformed or inconsistent files: InvalidHeader, InvalidIndex, InvalidConfig, Truncated, ShapeMismatch, MissingTensor, UnexpectedTensor. */
export class FormatError extends WeightstreamError {}
/** The model does not fit (wasm32: at most 4 GiB of memory), or a size cap was hit. */
export class OutOfBudgetError extends WeightstreamError {}
export class UnsupportedError extends WeightstreamError {}
/** An AbortSignal fired. */
export class CancelledError extends WeightstreamError {}
/** A bad option or call (InvalidArgument), or a local file problem (Io). */
export class UsageError extends WeightstreamError {}

export function errorFromKind(kind: ErrorKind, message: string): WeightstreamError;

export interface LoadProgress {
  /** Bytes of the checkpoint read so far. */
  loaded: number;
  /** Bytes the load reads in all. */
  total: number;
  /** Average since the first weight byte, in 10^6 bytes per second. */
  mbPerSecond: number;
}

export interface LoadOptions {
  /** Dtype the matrices are held in: as stored ('keep', the default), or converted while loading. */
  dtype?: 'keep' | 'f32' | 'f16' | 'bf16';
  onProgress?: (progress: LoadProgress) => void;
  signal?: AbortSignal;
  /** Attempts to resume a failed transfer with a Range request (default 5). */
  retries?: number;
  /** Extra fetch() options (credentials, headers, mode). */
  fetchOptions?: RequestInit;
  /** Where weightstream.wasm is, when not beside index.js: URL, bytes or a compiled module. */
  wasm?: string | URL | ArrayBuffer | Uint8Array | WebAssembly.Module;
  /**
   * 'auto' (default): the pthreads build (weightstream-mt.*, up to 4 threads) when the page is
   * cross-origin isolated (COOP + COEP) and the package ships it, else one thread. A number caps it.
   */
  threads?: 'auto' | number;
}

export interface GenerateOptions {
  maxNewTokens?: number;
  /** 0 (the default) is greedy decoding. */
  temperature?: number;
  topK?: number;
  topP?: number;
  repetitionPenalty?: number;
  seed?: number;
  signal?: AbortSignal;
  /** Each token id as it is chosen (main-thread Model only). */
  onToken?: (id: number) => void;
}

export interface GenerationStats {
  promptIds: number[];
  ids: number[];
  stoppedAtEos: boolean;
  prefillTokens: number;
  prefillSeconds: number;
  decodeTokens: number;
  decodeSeconds: number;
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
}

export interface ModelInfo {
  model_type: string;
  layers: number;
  hidden_size: number;
  vocab_size: number;
  max_positions: number;
  bytes_to_read: number;
  bytes_to_bind: number;
  staging_bytes: number;
  backend: string;
  has_tokenizer: boolean;
  tensors: number;
  shards: { file: string; file_bytes: number; begin: number; end: number }[];
  load: { seconds: number; mbPerSecond: number; heapBytes: number };
}

export interface MemoryFigures {
  /** Bytes of the model's weights. */
  boundBytes: number;
  /** The whole wasm heap (it only grows). */
  heapBytes: number;
}

export class Model {
  readonly info: ModelInfo;
  readonly location: string;
  lastGeneration: GenerationStats | null;
  memory(): MemoryFigures;
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[];
  decode(ids: number[]): string;
  /** Text pieces as they are generated. `prompt`: text, or token ids. */
  generate(prompt: string | ArrayLike<number>, options?: GenerateOptions): AsyncGenerator<string, void, undefined>;
  dispose(): void;
}

export class WorkerModel {
  readonly info: ModelInfo;
  lastGeneration: GenerationStats | null;
  /** The figures the worker last reported. */
  memory(): MemoryFigures;
  generate(prompt: string | ArrayLike<number>, options?: Omit<GenerateOptions, 'onToken'>): AsyncGenerator<string, void, undefined>;
  /** Frees the model by ending its worker. */
  dispose(): void;
}

/**
 * Loads a checkpoint: a directory URL (config.json, tokenizer.json, model.safetensors
 * or model.safetensors.index.json + shards), a .safetensors or .gguf URL, or in Node a
 * local path / file: URL.
 */
export function loadModel(location: string | URL, options?: LoadOptions): Promise<Model>;
/** loadModel in a dedicated module Web Worker (browsers). */
export function loadModelInWorker(location: string | URL, options?: Omit<LoadOptions, 'wasm'> & { wasm?: string }): Promise<WorkerModel>;
/** Instantiates the wasm module ahead of the first load. */
export function loadCore(options?: { wasm?: LoadOptions['wasm']; threads?: LoadOptions['threads'] }): Promise<unknown>;
/** True where the pthreads build can run (SharedArrayBuffer: a cross-origin isolated page or worker). */
export function canUseThreads(): boolean;
