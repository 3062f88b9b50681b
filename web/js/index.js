// weightstream for the browser and Node: stream a Hugging Face checkpoint
// (safetensors, sharded or not, or a GGUF file) straight into a WebAssembly
// heap and generate text with it.
//
//   import { loadModel } from 'weightstream';
//   const model = await loadModel('https://host/models/smollm2/', { onProgress, signal });
//   for await (const piece of model.generate('Hello', { maxNewTokens: 32 })) out.textContent += piece;
//   model.dispose();
import { canUseThreads, loadCore, isNode } from './core.js';
import { openLocation } from './sources.js';
import { CancelledError, UsageError, WeightstreamError } from './errors.js';

export * from './errors.js';
export { canUseThreads, loadCore };
export { loadModelInWorker, WorkerModel } from './worker_client.js';

const INDEX_FILE = 'model.safetensors.index.json';
const SINGLE_FILE = 'model.safetensors';
const SIDE_FILES = ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json'];
// Most safetensors headers fit (a 7B shard's is tens of kB); GGUF vocabularies grow it.
const FIRST_PREFIX_BYTES = 256 << 10;

function yieldToEventLoop() {
  return new Promise((resolve) => (isNode ? setImmediate(resolve) : setTimeout(resolve, 0)));
}

// Reads one shard's header into the core: a prefix, grown until it parses.
async function feedHeader(core, session, source, file) {
  const first = await source.prefix(file, 0, FIRST_PREFIX_BYTES);
  core.withCString(file, (name) => core.withCString(source.url(file), (where) =>
    core.check(core.m._ws_begin_shard(session, name, where, first.fileBytes))));
  let have = 0;
  let chunk = first.bytes;
  for (;;) {
    const ptr = core.m._ws_prefix_buffer(session, have + chunk.length);
    if (!ptr) core.fail();
    core.heap().set(chunk, ptr + have);
    have += chunk.length;
    const need = core.m._ws_parse_prefix(session);
    if (need < 0) core.fail();
    if (need === 0) return;
    chunk = (await source.prefix(file, have, need)).bytes;
  }
}

export class Model {
  constructor(core, session, info, location) {
    this.core = core;
    this.session = session;
    this.info = info;          // model type, sizes, bytes bound, backend
    this.location = location;
    this.lastGeneration = null;
    this.busy = false;
  }

  // Bytes held by the weights, and the whole wasm heap (weights + code +
  // activations + KV cache + allocator slack).
  memory() {
    return { boundBytes: this.info.bytes_to_bind, heapBytes: this.core.heap().length };
  }

  encode(text, { addSpecialTokens = true } = {}) {
    this.live();
    const n = this.core.withBytes(text, (ptr, len) =>
      this.core.check(this.core.m._ws_encode(this.session, ptr, len, addSpecialTokens ? 1 : 0)));
    const p = this.core.m._ws_ids() >> 2;
    return Array.from(new Int32Array(this.core.heap().buffer).subarray(p, p + n));
  }

  decode(ids) {
    this.live();
    this.core.withInt32s(ids, (ptr, n) => this.core.check(this.core.m._ws_decode(this.session, ptr, n)));
    return this.core.text();
  }

  // An async iterator of text pieces. `prompt`: text (tokenized with the
  // model's tokenizer, special tokens added) or an array of token ids.
  // Temperature 0 (the default) is greedy. After it ends, lastGeneration
  // holds {ids, promptIds, stoppedAtEos, prefill/decode tokens per second}.
  async *generate(prompt, { maxNewTokens = 32, temperature = 0, topK = 0, topP = 1, repetitionPenalty = 1, seed = 0,
    signal, onToken } = {}) {
    this.live();
    if (this.busy) throw new UsageError('InvalidArgument', 'this model is already generating');
    const promptIds = typeof prompt === 'string' ? this.encode(prompt) : Array.from(prompt);
    const { core, session } = this;
    this.busy = true;
    try {
      core.withInt32s(promptIds, (ptr, n) => core.check(core.m._ws_generate_start(session, ptr, n, maxNewTokens,
        temperature, topK, topP, repetitionPenalty, seed)));
      for (;;) {
        if (signal?.aborted) throw new CancelledError('generation cancelled', signal.reason);
        const id = core.m._ws_generate_step(session);
        if (id === -2) core.fail();
        const piece = core.text();
        if (id >= 0 && onToken) onToken(id);
        if (piece) yield piece;
        if (id === -1) break;
        await yieldToEventLoop();  // let the page paint and abort signals fire
      }
    } finally {
      this.busy = false;
      if (this.session) {
        core.m._ws_generate_stats(session);
        const s = JSON.parse(core.text());
        this.lastGeneration = {
          promptIds, ids: s.ids, stoppedAtEos: s.stopped_at_eos,
          prefillTokens: s.prefill_tokens, prefillSeconds: s.prefill_seconds,
          decodeTokens: s.decode_tokens, decodeSeconds: s.decode_seconds,
          prefillTokensPerSecond: s.prefill_seconds > 0 ? s.prefill_tokens / s.prefill_seconds : 0,
          decodeTokensPerSecond: s.decode_seconds > 0 ? s.decode_tokens / s.decode_seconds : 0,
        };
      }
    }
  }

  // Frees the weights and everything else the model holds in the heap. (The
  // heap itself never shrinks: WebAssembly memory only grows.)
  dispose() {
    if (this.session) this.core.m._ws_session_destroy(this.session);
    this.session = 0;
  }

  live() {
    if (!this.session) throw new UsageError('InvalidArgument', 'the model was disposed');
  }
}

// Loads a model. `location`: an http(s) URL (or, in a page, a relative URL)
// of a checkpoint directory (config.json, tokenizer.json, model.safetensors or
// model.safetensors.index.json + shards), with or without a trailing slash; a
// URL of one .safetensors or .gguf file; in Node, also a local path or file: URL.
// options: dtype ('keep' | 'f32' | 'f16' | 'bf16'), onProgress({loaded, total,
// mbPerSecond}), signal (AbortSignal), retries, wasm (where
// weightstream.wasm is, when not beside this file), fetchOptions, threads
// ('auto': the pthreads build with up to 4 threads where the page is
// cross-origin isolated, else 1; or a number).
export async function loadModel(location, options = {}) {
  const { dtype = 'keep', onProgress, signal, retries, fetchOptions, wasm, threads = 'auto' } = options;
  if (signal?.aborted) throw new CancelledError('load cancelled', signal.reason);
  const core = await loadCore({ wasm, threads });
  const { source, weightsFile } = await openLocation(location, { signal, retries, fetchOptions });
  const session = core.m._ws_session_create();
  const started = performance.now();
  try {
    const setFile = (name, text) => core.withCString(name, (n) => core.withBytes(text, (p, len) =>
      core.m._ws_set_file(session, n, p, len)));
    let shardFiles;
    if (weightsFile && /\.gguf$/i.test(weightsFile)) {
      shardFiles = [weightsFile];  // config and tokenizer come from its metadata
      for (const name of ['config.json', ...SIDE_FILES]) {
        const text = await source.text(name, { optional: true }).catch(() => null);
        if (text !== null && name === 'generation_config.json') setFile(name, text);
      }
    } else {
      const texts = await Promise.all(['config.json', ...SIDE_FILES].map((name) =>
        source.text(name, { optional: name !== 'config.json' })));
      texts.forEach((text, i) => { if (text !== null) setFile(i ? SIDE_FILES[i - 1] : 'config.json', text); });
      if (weightsFile) {
        shardFiles = [weightsFile];
      } else {
        const index = await source.text(INDEX_FILE, { optional: true });
        if (index !== null) {
          setFile(INDEX_FILE, index);
          core.check(core.m._ws_index_shards(session));
          shardFiles = JSON.parse(core.text());
        } else {
          shardFiles = [SINGLE_FILE];
        }
      }
    }
    for (const file of shardFiles) await feedHeader(core, session, source, file);
    const threadCount = threads === 'auto' ? core.threads : Math.max(1, Math.min(Number(threads) || 1, core.threads));
    core.withCString(dtype, (d) => core.check(core.m._ws_prepare(session, d, threadCount)));
    core.m._ws_info(session);
    const info = JSON.parse(core.text());

    const total = info.bytes_to_read;
    let loaded = 0;
    let lastReport = 0;
    const loadStart = performance.now();
    const report = (force) => {
      const now = performance.now();
      if (!onProgress || (!force && now - lastReport < 100)) return;
      lastReport = now;
      const seconds = (now - loadStart) / 1000;
      onProgress({ loaded, total, mbPerSecond: seconds > 0 ? loaded / 1e6 / seconds : 0 });
    };
    report(true);
    for (let i = 0; i < shardFiles.length; ++i) {
      await source.stream(core, session, i, shardFiles[i], info.shards[i].end, (n) => {
        loaded += n;
        report(false);
      });
    }
    core.check(core.m._ws_finish_load(session));
    report(true);
    const seconds = (performance.now() - started) / 1000;
    info.load = { seconds, mbPerSecond: total / 1e6 / ((performance.now() - loadStart) / 1000), heapBytes: core.heap().length };
    return new Model(core, session, info, String(location));
  } catch (error) {
    core.m._ws_session_destroy(session);
    if (signal?.aborted && !(error instanceof CancelledError)) throw new CancelledError('load cancelled', signal.reason);
    if (error instanceof WeightstreamError) throw error;
    throw new WeightstreamError('Io', `${location}: ${error.message}`, { cause: error });
  }
}
