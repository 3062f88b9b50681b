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
import { CancelledError, UsageError, WeightstreamError, asWeightstreamError } from './errors.js';
import { chatMessages, chatPrompt, invalid, generateOptions, loadArguments, promptArgument, tokenIds } from './options.js';
import { LoadSignal } from './transfer.js';

export * from './errors.js';
export { canUseThreads, loadCore };
export { loadModelInWorker, WorkerModel } from './worker_client.js';

function yieldToEventLoop() {
  return new Promise((resolve) => (isNode ? setImmediate(resolve) : setTimeout(resolve, 0)));
}

const encoder = new TextEncoder();

// One request of the core's opener, fetched: {bytes, fileBytes}, or {absent}
// (the reason) for a file the source does not have.
async function fetchRequest(source, request) {
  try {
    if (request.whole) {  // a side file (small: the source caps it)
      const text = await source.text(request.file, { optional: true });
      if (text === null) return { absent: `${source.url(request.file)}: not found` };
      const bytes = encoder.encode(text);
      return { bytes, fileBytes: bytes.length };
    }
    return await source.prefix(request.file, request.begin, request.end);
  } catch (error) {
    if (error.kind === 'NotFound') return { absent: error.message };
    throw error;
  }
}

// Opens the model in the core: the shared opener (src/open) decides which
// bytes of which files it needs (side files, safetensors headers, a GGUF
// header prefix that grows); this only fetches them, each round's requests in
// parallel.
async function openInCore(core, session, source, location, weightsFile) {
  core.withCString(location, (l) => core.withCString(weightsFile ?? '', (w) => core.check(core.m._ws_open(session, l, w))));
  while (core.check(core.m._ws_open_wanted(session)) > 0) {
    const wanted = JSON.parse(core.text());
    const answers = await Promise.all(wanted.map((request) => fetchRequest(source, request)));
    wanted.forEach((request, i) => core.withCString(request.file, (file) => {
      const answer = answers[i];
      if (answer.absent !== undefined) {
        core.withCString(answer.absent, (why) => core.check(core.m._ws_open_absent(session, file, why)));
      } else {
        core.withCString(source.url(request.file), (where) => core.withBytes(answer.bytes, (ptr, len) =>
          core.check(core.m._ws_open_answer(session, file, where, ptr, len, answer.fileBytes))));
      }
    }));
  }
}

// The core's model description (ws_info, snake_case JSON) in the JS API's
// one naming style (camelCase).
function modelInfo(raw) {
  return {
    modelType: raw.model_type, layers: raw.layers, hiddenSize: raw.hidden_size, vocabSize: raw.vocab_size,
    maxPositions: raw.max_positions, bytesToRead: raw.bytes_to_read, bytesToBind: raw.bytes_to_bind,
    stagingBytes: raw.staging_bytes, backend: raw.backend, hasTokenizer: raw.has_tokenizer, tensors: raw.tensors,
    shards: raw.shards.map((s) => ({ file: s.file, fileBytes: s.file_bytes, begin: s.begin, end: s.end })),
  };
}

export class Model {
  constructor(core, session, info, location) {
    this.core = core;
    this.session = session;
    this.info = info;          // model type, sizes, bytes bound, backend (ModelInfo)
    this.location = location;
    this.busy = false;
  }

  // Bytes held by the weights, and the whole wasm heap (weights + code +
  // activations + KV cache + allocator slack).
  memory() {
    return { boundBytes: this.info.bytesToBind, heapBytes: this.core.heap().length };
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
    const checked = tokenIds(ids, this.info.vocabSize);
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

  // An async generator of text pieces whose return value (the iterator's
  // final {done: true, value}) is the statistics: {ids, promptIds,
  // stoppedAtEos, prefill/decode tokens and seconds and tokens per second}.
  // `prompt`: text (tokenized with the model's tokenizer, special tokens
  // added), an array of token ids, or a conversation ({messages: [...]} or
  // the [{role, content}, ...] array itself) in the chat template; with
  // options.chat (or options.system) a text prompt is the user's turn, after
  // the system turn. A conversation also stops at the template's end of turn.
  // Temperature 0 (the default) is greedy. A failure (a cancellation
  // included) carries the figures so far as error.generation.
  // Every failure, misuse included, ends the iterator with a
  // WeightstreamError; dispose() during generation ends it with a UsageError.
  async *generate(prompt, options) {
    this.live();
    let checkedPrompt = promptArgument(prompt, this.info.vocabSize);
    const { maxNewTokens, temperature, topK, topP, repetitionPenalty, seed, signal, onToken, chat, system } =
      generateOptions(options);
    if (chat && typeof checkedPrompt === 'string') checkedPrompt = chatPrompt(checkedPrompt, system);
    if (this.busy) throw new UsageError('InvalidArgument', 'this model is already generating');
    let promptIds = checkedPrompt;
    const stopIds = [];
    if (typeof checkedPrompt === 'string') {
      promptIds = this.encode(checkedPrompt);
    } else if (checkedPrompt.messages) {
      // Rendered and encoded by the core (encode_model_chat), as natively.
      const json = JSON.stringify(checkedPrompt.messages);
      this.core.withBytes(json, (ptr, len) => this.core.check(this.core.m._ws_chat_prompt(this.session, ptr, len)));
      const chat = JSON.parse(this.core.text());
      promptIds = chat.ids;
      stopIds.push(...chat.stop_ids);
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
      return this.generationStats(promptIds);
    } catch (error) {
      const typed = asWeightstreamError(error, this.location);
      // What was generated before the failure (a cancelled generation's ids).
      if (this.session === session && !core.discarded) typed.generation = this.generationStats(promptIds);
      throw typed;
    } finally {
      if (this.session === session) this.busy = false;
    }
  }

  // The current generation's figures (ws_generate_stats).
  generationStats(promptIds) {
    this.core.m._ws_generate_stats(this.session);
    const s = JSON.parse(this.core.text());
    return {
      promptIds, ids: s.ids, stoppedAtEos: s.stopped_at_eos,
      prefillTokens: s.prefill_tokens, prefillSeconds: s.prefill_seconds,
      decodeTokens: s.decode_tokens, decodeSeconds: s.decode_seconds,
      prefillTokensPerSecond: s.prefill_seconds > 0 ? s.prefill_tokens / s.prefill_seconds : 0,
      decodeTokensPerSecond: s.decode_seconds > 0 ? s.decode_tokens / s.decode_seconds : 0,
    };
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
// cross-origin isolated, else 1; or a number), maxContext (positions the KV
// cache holds, 0: the model's maximum; the CLI's --max-context).
// Always settles asynchronously, and only ever rejects with a
// WeightstreamError (UsageError for bad arguments).
export async function loadModel(location, options) {
  const args = loadArguments(location, options);
  const { dtype, onProgress, signal, retries, stallTimeoutMs, fetchOptions, wasm, threads, maxContext } = args;
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
    await openInCore(core, session, source, args.location, weightsFile);
    const threadCount = threads === 'auto' ? core.threads : Math.max(1, Math.min(threads, core.threads));
    core.withCString(dtype, (d) => core.check(core.m._ws_prepare(session, d, threadCount, maxContext)));
    core.m._ws_info(session);
    const info = modelInfo(JSON.parse(core.text()));

    const total = info.bytesToRead;
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
    for (let i = 0; i < info.shards.length; ++i) {
      await source.stream(core, session, i, info.shards[i].file, info.shards[i].end, (n) => {
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
