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
import { CancelledError, FormatError, UsageError, WeightstreamError, asWeightstreamError } from './errors.js';
import { chatMessages, invalid, generateOptions, loadArguments, promptArgument, tokenIds } from './options.js';
import { LoadSignal } from './transfer.js';

export * from './errors.js';
export { canUseThreads, loadCore };
export { loadModelInWorker, WorkerModel } from './worker_client.js';

const INDEX_FILE = 'model.safetensors.index.json';
const SINGLE_FILE = 'model.safetensors';
const SIDE_FILES = ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'chat_template.jinja',
  'chat_template.json'];
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
    // Never ask again for nothing: a header that claims more bytes than the
    // file has would otherwise loop here forever.
    if (chunk.length === 0) {
      throw new FormatError('Truncated', `${source.url(file)}: the header parser asks for bytes up to ${need}, the file ends at ${have}`);
    }
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

  encode(text, options) {
    this.live();
    if (typeof text !== 'string') throw invalid(`encode takes text, not ${text === null ? 'null' : typeof text}`);
    const { addSpecialTokens = true } = options ?? {};
    const n = this.core.withBytes(text, (ptr, len) =>
      this.core.check(this.core.m._ws_encode(this.session, ptr, len, addSpecialTokens ? 1 : 0)));
    const p = this.core.m._ws_ids() >> 2;
    return Array.from(new Int32Array(this.core.heap().buffer).subarray(p, p + n));
  }

  decode(ids) {
    this.live();
    const checked = tokenIds(ids, this.info.vocab_size);
    this.core.withInt32s(checked, (ptr, n) => this.core.check(this.core.m._ws_decode(this.session, ptr, n)));
    return this.core.text();
  }

  // The conversation `messages` ([{role, content}, ...]) as the model's chat
  // template renders it (the same Jinja engine as the native build, with
  // transformers' variables), ending with the assistant's turn opener unless
  // addGenerationPrompt is false. Throws a WeightstreamError: kind
  // 'Unsupported' without a template, 'Template' (naming the template line)
  // when it fails or raises.
  applyChatTemplate(messages, options) {
    return this.renderChat(messages, options).text;
  }

  renderChat(messages, options) {
    this.live();
    const { addGenerationPrompt = true } = options ?? {};
    const json = JSON.stringify(chatMessages(messages));
    this.core.withBytes(json, (ptr, len) =>
      this.core.check(this.core.m._ws_render_chat(this.session, ptr, len, addGenerationPrompt ? 1 : 0)));
    return JSON.parse(this.core.text());
  }

  // An async iterator of text pieces. `prompt`: text (tokenized with the
  // model's tokenizer, special tokens added), an array of token ids, or
  // {messages: [{role, content}, ...]}: the conversation in the chat template
  // (generation stops at its end of turn too).
  // Temperature 0 (the default) is greedy. After it ends, lastGeneration
  // holds {ids, promptIds, stoppedAtEos, prefill/decode tokens per second}.
  // Every failure, misuse included, ends the iterator with a
  // WeightstreamError; dispose() during generation ends it with a UsageError.
  async *generate(prompt, options) {
    this.live();
    const checkedPrompt = promptArgument(prompt, this.info.vocab_size);
    const { maxNewTokens, temperature, topK, topP, repetitionPenalty, seed, signal, onToken } = generateOptions(options);
    if (this.busy) throw new UsageError('InvalidArgument', 'this model is already generating');
    let promptIds = checkedPrompt;
    const stopIds = [];
    if (typeof checkedPrompt === 'string') {
      promptIds = this.encode(checkedPrompt);
    } else if (checkedPrompt.messages) {
      const chat = this.renderChat(checkedPrompt.messages);
      // The template writes its own special tokens, as apply_chat_template does.
      promptIds = this.encode(chat.text, { addSpecialTokens: false });
      if (chat.end_of_turn_id >= 0) stopIds.push(chat.end_of_turn_id);
    }
    const { core, session } = this;
    // The session may be freed (dispose) while this generator waits at a
    // yield: it is checked after every wait, before the next call into wasm.
    const stillLive = () => {
      if (this.session !== session) throw new UsageError('InvalidArgument', 'the model was disposed during generation');
      if (core.discarded) throw core.discardedError();
    };
    this.busy = true;
    try {
      core.withInt32s(stopIds, (ptr, n) => core.check(core.m._ws_set_stop_ids(session, ptr, n)));
      core.withInt32s(promptIds, (ptr, n) => core.check(core.m._ws_generate_start(session, ptr, n, maxNewTokens,
        temperature, topK, topP, repetitionPenalty, seed)));
      for (;;) {
        if (signal?.aborted) throw new CancelledError('generation cancelled', signal.reason);
        const id = core.m._ws_generate_step(session);
        if (id === -2) core.fail();
        const piece = core.text();
        if (id >= 0 && onToken) onToken(id);
        stillLive();  // onToken may have disposed the model
        if (piece) {
          yield piece;
          stillLive();
        }
        if (id === -1) break;
        await yieldToEventLoop();  // let the page paint and abort signals fire
        stillLive();
      }
    } catch (error) {
      throw asWeightstreamError(error, this.location);
    } finally {
      if (this.session === session) this.busy = false;
      if (this.session === session && !core.discarded) {
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

  // Frees the weights and everything else the model holds in the heap (the
  // heap itself never shrinks: WebAssembly memory only grows). A generation
  // in progress ends with a UsageError at its next step; every later call is
  // a UsageError. Calling it again does nothing.
  dispose() {
    const session = this.session;
    this.session = 0;
    this.busy = false;
    if (session && !this.core.discarded) this.core.m._ws_session_destroy(session);
  }

  live() {
    if (!this.session) throw new UsageError('InvalidArgument', 'the model was disposed');
    if (this.core.discarded) throw this.core.discardedError();
  }
}

// Loads a model. `location`: an http(s) URL (or, in a page, a relative URL)
// of a checkpoint directory (config.json, tokenizer.json, model.safetensors or
// model.safetensors.index.json + shards), with or without a trailing slash; a
// URL of one .safetensors or .gguf file; in Node, also a local path or file: URL.
// options (checked by options.js): dtype ('keep' | 'f32' | 'f16' | 'bf16'),
// onProgress({loaded, total, mbPerSecond}), signal (AbortSignal), retries
// (default 5), stallTimeoutMs (default 30 000; 0: off), wasm (where
// weightstream.wasm is, when not beside this file), fetchOptions, threads
// ('auto': the pthreads build with up to 4 threads where the page is
// cross-origin isolated, else 1; or a number).
// Always settles asynchronously, and only ever rejects with a
// WeightstreamError (UsageError for bad arguments).
export async function loadModel(location, options) {
  const args = loadArguments(location, options);
  const { dtype, onProgress, signal, retries, stallTimeoutMs, fetchOptions, wasm, threads } = args;
  if (signal?.aborted) throw new CancelledError('load cancelled', signal.reason);
  const load = new LoadSignal(signal, stallTimeoutMs);
  let core = null;
  let session = 0;
  try {
    core = await loadCore({ wasm, threads });
    const { source, weightsFile } = await openLocation(args.location, { load, retries, fetchOptions });
    session = core.m._ws_session_create();
    if (!session) core.fail();
    const started = performance.now();
    const setFile = (name, text) => core.withCString(name, (n) => core.withBytes(text, (p, len) =>
      core.check(core.m._ws_set_file(session, n, p, len))));
    let shardFiles;
    if (weightsFile && /\.gguf$/i.test(weightsFile)) {
      shardFiles = [weightsFile];  // config and tokenizer come from its metadata
      for (const name of ['config.json', ...SIDE_FILES]) {
        const text = await source.text(name, { optional: true }).catch((error) => {
          if (load.abortError()) throw load.abortError();
          return null;
        });
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
    const threadCount = threads === 'auto' ? core.threads : Math.max(1, Math.min(threads, core.threads));
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
    const model = new Model(core, session, info, args.location);
    session = 0;
    return model;
  } catch (error) {
    if (session && !core.discarded) core.m._ws_session_destroy(session);
    const aborted = load.abortError();
    if (aborted && !(error instanceof WeightstreamError && error.kind === 'Internal')) throw aborted;
    throw asWeightstreamError(error, args.location);
  } finally {
    load.stop();
  }
}
