// loadModelInWorker: the loadModel API, run in a dedicated module Web Worker.
// Weights, forward passes and the wasm heap all live in the worker; the page
// gets progress events, text pieces and figures through postMessage.
import { CancelledError, UnsupportedError, UsageError, WeightstreamError, asWeightstreamError, reviveError } from './errors.js';
import { chatMessages, chatPrompt, generateOptions, loadArguments, promptArgument } from './options.js';

export class WorkerModel {
  constructor(worker, info, memory) {
    this.worker = worker;
    this.info = info;
    this.lastMemory = memory;
    this.nextId = 1;
    // Generations waiting for messages: each ends with the error it is handed
    // when the model is disposed or the worker dies.
    this.pending = new Set();
    this.onWorkerError = (event) => {
      event.preventDefault?.();
      this.end(new WeightstreamError('Io', `the model's worker failed: ${event.message || 'unknown error'}`));
      this.worker?.terminate();
      this.worker = null;
    };
    worker.addEventListener('error', this.onWorkerError);
  }

  // The last figures the worker reported (after load and after each generation).
  memory() {
    return this.lastMemory;
  }

  // Model.encode, decode and applyChatTemplate, run in the worker: each
  // returns a Promise of what the Model method returns (or rejects with the
  // same WeightstreamError).
  encode(text, options) {
    return this.call('encode', [text, options]);
  }

  decode(ids) {
    return this.call('decode', [Array.from(ids ?? [])]);
  }

  applyChatTemplate(messages, options) {
    try {
      chatMessages(messages);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.call('applyChatTemplate', [messages, options]);
  }

  call(method, args) {
    if (!this.worker) return Promise.reject(new UsageError('InvalidArgument', 'the model was disposed'));
    const id = this.nextId++;
    const worker = this.worker;
    return new Promise((resolve, reject) => {
      const ender = (error) => {
        finish();
        reject(error);
      };
      const onMessage = (event) => {
        const msg = event.data;
        if (msg.id !== id) return;
        finish();
        if (msg.type === 'result') resolve(msg.value);
        else reject(reviveError(msg.error));
      };
      const finish = () => {
        this.pending.delete(ender);
        worker.removeEventListener('message', onMessage);
      };
      this.pending.add(ender);
      worker.addEventListener('message', onMessage);
      try {
        worker.postMessage({ type: 'call', id, method, args });
      } catch (error) {
        finish();
        reject(new UsageError('InvalidArgument', `${method}: an argument cannot be sent to the worker (${error.message})`));
      }
    });
  }

  // Same as Model.generate: an async generator of text pieces returning the
  // statistics, arguments checked the same way before anything is sent to
  // the worker.
  async *generate(prompt, options) {
    if (!this.worker) throw new UsageError('InvalidArgument', 'the model was disposed');
    let checkedPrompt = promptArgument(prompt, this.info.vocabSize);
    const { signal, onToken, chat, system, ...rest } = generateOptions(options);
    void onToken;  // ids are not sent back from the worker
    if (chat && typeof checkedPrompt === 'string') checkedPrompt = chatPrompt(checkedPrompt, system);
    const id = this.nextId++;
    const queue = [];
    let wake = null;
    const onMessage = (event) => {
      const msg = event.data;
      if (msg.id !== id) return;
      queue.push(msg);
      if (wake) wake();
    };
    const ender = (error) => {
      queue.push({ type: 'ended', error });
      if (wake) wake();
    };
    const worker = this.worker;
    const onAbort = () => worker.postMessage({ type: 'abort-generate', id });
    worker.addEventListener('message', onMessage);
    signal?.addEventListener('abort', onAbort, { once: true });
    this.pending.add(ender);
    try {
      worker.postMessage({ type: 'generate', id, prompt: checkedPrompt, options: rest });
      for (;;) {
        if (!queue.length) await new Promise((resolve) => { wake = resolve; });
        wake = null;
        const msg = queue.shift();
        if (msg.type === 'piece') {
          yield msg.piece;
        } else if (msg.type === 'done') {
          this.lastMemory = msg.memory;
          return msg.generation;
        } else if (msg.type === 'generate-error') {
          if (msg.memory) this.lastMemory = msg.memory;
          const error = reviveError(msg.error);
          if (msg.generation) error.generation = msg.generation;
          throw error;
        } else if (msg.type === 'ended') {
          throw msg.error;
        }
      }
    } finally {
      this.pending.delete(ender);
      worker.removeEventListener('message', onMessage);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  end(error) {
    for (const ender of this.pending) ender(error);
    this.pending.clear();
  }

  // Frees the model and ends the worker (its whole heap goes with it). A
  // generation in progress ends with a UsageError.
  dispose() {
    this.end(new UsageError('InvalidArgument', 'the model was disposed during generation'));
    this.worker?.removeEventListener('error', this.onWorkerError);
    this.worker?.terminate();
    this.worker = null;
  }
}

function workerBase() {
  if (typeof document !== 'undefined') return document.baseURI;
  return typeof self !== 'undefined' && self.location ? self.location.href : undefined;
}

function resolveUrl(text, base, what) {
  try {
    return (base === undefined ? new URL(text) : new URL(text, base)).href;
  } catch (error) {
    throw new UsageError('InvalidArgument', `${what} ${text}: not a valid URL (${error.message})`);
  }
}

// Options as loadModel's (onProgress and signal stay on this side). Always
// settles asynchronously, and only ever rejects with a WeightstreamError.
export async function loadModelInWorker(location, options) {
  const args = loadArguments(location, options);
  if (typeof Worker === 'undefined') {
    throw new UnsupportedError('loadModelInWorker needs Web Workers; in Node use loadModel');
  }
  const { onProgress, signal, location: text, ...rest } = args;
  if (signal?.aborted) throw new CancelledError('load cancelled', signal.reason);
  const base = workerBase();
  const href = resolveUrl(text, base, 'model location');
  if (typeof rest.wasm === 'string' || rest.wasm instanceof URL) {
    rest.wasm = resolveUrl(String(rest.wasm), base, 'wasm');  // the worker's base differs
  }
  let worker;
  try {
    worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  } catch (error) {
    throw asWeightstreamError(error, 'loadModelInWorker: cannot start a worker');
  }
  return new Promise((resolve, reject) => {
    const finish = () => {
      signal?.removeEventListener('abort', onAbort);
      worker.removeEventListener('message', onMessage);
      worker.removeEventListener('error', onError);
    };
    const onAbort = () => {
      finish();
      worker.terminate();
      reject(new CancelledError('load cancelled', signal.reason));
    };
    const onMessage = (event) => {
      const msg = event.data;
      if (msg.type === 'progress') {
        try {
          onProgress?.(msg.progress);
        } catch (error) {
          finish();
          worker.terminate();
          reject(asWeightstreamError(error, 'onProgress'));
        }
      } else if (msg.type === 'loaded' || msg.type === 'load-error') {
        finish();
        if (msg.type === 'loaded') {
          resolve(new WorkerModel(worker, msg.info, msg.memory));
        } else {
          worker.terminate();
          reject(reviveError(msg.error));
        }
      }
    };
    const onError = (event) => {
      finish();
      worker.terminate();
      reject(new WeightstreamError('Io', `worker failed: ${event.message || 'could not start'}`));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.addEventListener('message', onMessage);
    worker.addEventListener('error', onError, { once: true });
    try {
      worker.postMessage({ type: 'load', location: href, options: rest });
    } catch (error) {  // an option the structured clone cannot copy (a function in fetchOptions, ...)
      finish();
      worker.terminate();
      reject(new UsageError('InvalidArgument', `loadModelInWorker: an option cannot be sent to the worker (${error.message})`));
    }
  });
}
