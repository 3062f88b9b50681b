// Type declarations for the weightstream npm package (hand-written; keep in
// step with index.js, errors.js and worker_client.js).

/**
 * Names of the C++ ws::ErrorKind values; JS-side failures use the same names, plus
 * 'Internal' (JS only): the wasm module trapped (see WasmTrapError).
 */
/** Every kind the C++ core returns (ws::ErrorKind, up to kLastErrorKind), in its order. */
export declare const CORE_ERROR_KINDS: readonly Exclude<ErrorKind, 'Internal'>[];
/** CORE_ERROR_KINDS and the JS-only 'Internal'. */
export declare const ERROR_KINDS: readonly ErrorKind[];
export type ErrorKind =
  | 'InvalidArgument' | 'Io' | 'Http' | 'InvalidHeader' | 'InvalidIndex' | 'InvalidConfig' | 'Truncated'
  | 'ShapeMismatch' | 'MissingTensor' | 'UnexpectedTensor' | 'Unsupported' | 'OutOfBudget' | 'Cancelled'
  | 'NotFound' | 'Device' | 'Timeout' | 'Template' | 'Internal';

export class WeightstreamError extends Error {
  readonly kind: ErrorKind;
  /** Set on errors that end Model.generate / WorkerModel.generate: what was generated before. */
  generation?: GenerationStats;
  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown });
}
/**
 * HTTP status, refused connection, CORS, a reply that is not the range asked for, or no data for
 * stallTimeoutMs (kind "Http", status 0 when there was no status); missing file or URL (kind "NotFound").
 */
export class HttpError extends WeightstreamError {
  readonly status: number;
  readonly url: string;
}
/** Malformed or inconsistent files: InvalidHeader, InvalidIndex, InvalidConfig, Truncated, ShapeMismatch, MissingTensor, UnexpectedTensor. */
export class FormatError extends WeightstreamError {}
/** The model does not fit (wasm32: at most 4 GiB of memory), or a size cap was hit (a load's side files over 256 MiB together). */
export class OutOfBudgetError extends WeightstreamError {}
export class UnsupportedError extends WeightstreamError {}
/** An AbortSignal fired. */
export class CancelledError extends WeightstreamError {}
/**
 * A bad argument, option or call (InvalidArgument) — including any call on a disposed model and
 * a generation whose model was disposed under it — or a local file problem (Io).
 */
export class UsageError extends WeightstreamError {}
/**
 * The wasm module trapped (out-of-bounds access, stack overflow, unreachable): kind "Internal". The
 * instance is discarded; the next load gets a fresh one. Models loaded in the discarded instance answer
 * every call with this error (dispose() still works).
 */
export class WasmTrapError extends WeightstreamError {}

export function errorFromKind(kind: ErrorKind, message: string): WeightstreamError;
/** `error` itself when it is a WeightstreamError, else one of kind "Io" with `error` as its cause. */
export function asWeightstreamError(error: unknown, context?: string): WeightstreamError;

export interface LoadProgress {
  /** Bytes of the checkpoint read so far. */
  loaded: number;
  /** Bytes the load reads in all. */
  total: number;
  /** Average since the first weight byte, in 10^6 bytes per second. */
  mbPerSecond: number;
}

export type WeightDType =
  | 'keep' | 'f32' | 'f16' | 'bf16'
  | 'q8_0' | 'q4_0' | 'q4_1' | 'q5_0' | 'q5_1' | 'q4_k' | 'q5_k' | 'q6_k';

/**
 * Every option is checked before anything is fetched: a wrong type or value rejects with a
 * UsageError (kind "InvalidArgument").
 */
export interface LoadOptions {
  /**
   * Dtype the matrices are held in: as stored ('keep', the default: a GGUF's blocks stay blocks),
   * converted while loading ('f32', 'f16', 'bf16'), or quantized while the fetch streams to a ggml
   * block type (the output head at 'q6_k' unless 'q8_0' is asked, as llama.cpp does).
   */
  dtype?: WeightDType;
  onProgress?: (progress: LoadProgress) => void;
  signal?: AbortSignal;
  /** Attempts after a failed request or a dropped transfer (resumed with a Range request): an integer 0-1000, default 5. */
  retries?: number;
  /**
   * The load fails with an HttpError (kind "Http") when no byte (response headers or body) has
   * arrived for this many milliseconds, e.g. a server that accepts the connection and never answers.
   * Default 30 000; 0 turns it off. A slow transfer that keeps moving never trips it.
   */
  stallTimeoutMs?: number;
  /**
   * Extra fetch() options (credentials, headers, mode). `headers` may be a Headers object, an array
   * of [name, value] pairs or a plain object; the Range header and `cache`/`signal` are the loader's.
   */
  fetchOptions?: RequestInit;
  /** Where weightstream.wasm is, when not beside index.js: URL, bytes or a compiled module. */
  wasm?: string | URL | ArrayBuffer | Uint8Array | WebAssembly.Module;
  /**
   * 'auto' (default): the pthreads build (weightstream-mt.*, up to 4 threads) when the page is
   * cross-origin isolated (COOP + COEP) and the package ships it, else one thread. A number caps it.
   */
  threads?: 'auto' | number;
  /**
   * Positions the KV cache holds, prompt included: an integer 0 to 2^24, 0 (the default) for the
   * model's maximum. As the CLI's --max-context: it sizes the load's memory admission, and a prompt
   * longer than it fails generate with a UsageError (kind "InvalidArgument").
   */
  maxContext?: number;
}

/** Checked like LoadOptions: a wrong type or value ends the generator with a UsageError. */
export interface GenerateOptions {
  /** An integer >= 0 (default 32). */
  maxNewTokens?: number;
  /** A finite number >= 0; 0 (the default) is greedy decoding. */
  temperature?: number;
  /** An integer >= 0; 0 (the default) keeps every token. */
  topK?: number;
  /** In [0, 1] (default 1). */
  topP?: number;
  /** A finite number > 0 (default 1). */
  repetitionPenalty?: number;
  /** An integer from 0 to 2^53 - 1 (default 0). */
  seed?: number;
  signal?: AbortSignal;
  /** Each token id as it is chosen (main-thread Model only). */
  onToken?: (id: number) => void;
  /** A text prompt is the user's turn of a conversation in the chat template (as the CLI's --chat). */
  chat?: boolean;
  /** The system turn before it (implies chat). */
  system?: string;
}

/** What generate() accepts as its prompt. */
export type Prompt = string | ArrayLike<number> | ChatMessage[] | { messages: ChatMessage[] };

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

/** The loaded model, in one naming style (camelCase). */
export interface ModelInfo {
  modelType: string;
  layers: number;
  hiddenSize: number;
  vocabSize: number;
  maxPositions: number;
  bytesToRead: number;
  bytesToBind: number;
  stagingBytes: number;
  backend: string;
  hasTokenizer: boolean;
  tensors: number;
  shards: { file: string; fileBytes: number; begin: number; end: number }[];
  load: { seconds: number; mbPerSecond: number; heapBytes: number };
}

export interface MemoryFigures {
  /** Bytes of the model's weights. */
  boundBytes: number;
  /** The whole wasm heap (it only grows). */
  heapBytes: number;
}

/** One turn of a conversation; other fields (tool_calls, ...) reach the template as they are. */
export interface ChatMessage {
  role: string;
  content?: string | unknown[] | null;
  [field: string]: unknown;
}

/**
 * A loaded model. After dispose(), every method but memory() and dispose() throws (or, for generate,
 * rejects with) a UsageError.
 */
export class Model {
  readonly info: ModelInfo;
  readonly location: string;
  memory(): MemoryFigures;
  /** Throws UsageError when `text` is not a string. */
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[];
  /** Throws UsageError unless every id is an integer in [0, info.vocabSize). */
  decode(ids: ArrayLike<number>): string;
  /**
   * The conversation as the model's chat template renders it (Jinja, the same engine as the native build,
   * with transformers' variables), ending with the assistant's turn opener unless addGenerationPrompt is
   * false. Throws UnsupportedError without a template; a UsageError of kind 'Template' (naming the
   * template line) when the template fails or raises.
   */
  applyChatTemplate(messages: ChatMessage[], options?: { addGenerationPrompt?: boolean }): string;
  /**
   * Text pieces as they are generated; the generator's return value (the final `{done: true, value}`)
   * is the statistics. `prompt`: text, token ids (integers in [0, info.vocabSize)), or a conversation
   * (`{messages}` or the messages array) rendered by the chat template (generation also stops at its end
   * of turn); `options.chat` / `options.system` make a text prompt the user's turn.
   * Every failure ends the iterator with a WeightstreamError (its `generation`: the figures so far, where
   * the model is still usable): UsageError for a bad prompt or option, a second concurrent generate, or
   * dispose() while it runs; CancelledError when options.signal aborts.
   */
  generate(prompt: Prompt, options?: GenerateOptions): AsyncGenerator<string, GenerationStats, undefined>;
  /** Frees the model; a generation in progress ends with a UsageError. Calling it again does nothing. */
  dispose(): void;
}

/** A Model in a Web Worker: the same calls, each answered by the worker (so encode, decode and
 * applyChatTemplate return Promises). */
export class WorkerModel {
  readonly info: ModelInfo;
  /** The figures the worker last reported. */
  memory(): MemoryFigures;
  encode(text: string, options?: { addSpecialTokens?: boolean }): Promise<number[]>;
  decode(ids: ArrayLike<number>): Promise<string>;
  applyChatTemplate(messages: ChatMessage[], options?: { addGenerationPrompt?: boolean }): Promise<string>;
  generate(prompt: Prompt, options?: Omit<GenerateOptions, 'onToken'>): AsyncGenerator<string, GenerationStats, undefined>;
  /** Frees the model by ending its worker; a generation in progress ends with a UsageError. */
  dispose(): void;
}

/**
 * Loads a checkpoint: a directory URL (config.json, tokenizer.json, model.safetensors
 * or model.safetensors.index.json + shards), a .safetensors or .gguf URL, or in Node a
 * local path / file: URL. Never throws synchronously; rejects only with a WeightstreamError
 * (UsageError for a location that is not a URL or path, or a bad option).
 */
export function loadModel(location: string | URL, options?: LoadOptions): Promise<Model>;
/**
 * loadModel in a dedicated module Web Worker (browsers; in Node it rejects with UnsupportedError).
 * Never throws synchronously; rejects only with a WeightstreamError.
 */
export function loadModelInWorker(location: string | URL, options?: Omit<LoadOptions, 'wasm'> & { wasm?: string | URL }): Promise<WorkerModel>;
/** Instantiates the wasm module ahead of the first load. */
export function loadCore(options?: { wasm?: LoadOptions['wasm']; threads?: LoadOptions['threads'] }): Promise<unknown>;
/** True where the pthreads build can run (SharedArrayBuffer: a cross-origin isolated page or worker). */
export function canUseThreads(): boolean;
