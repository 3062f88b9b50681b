// loadModelInWorker: the loadModel API, run in a dedicated module Web Worker.
// Weights, forward passes and the wasm heap all live in the worker; the page
// gets progress events, text pieces and figures through postMessage.
import { CancelledError, UnsupportedError, reviveError } from './errors.js';

export class WorkerModel {
  constructor(worker, info, memory) {
    this.worker = worker;
    this.info = info;
    this.lastMemory = memory;
    this.lastGeneration = null;
    this.nextId = 1;
  }

  // The last figures the worker reported (after load and after each generation).
  memory() {
    return this.lastMemory;
  }

  // Same as Model.generate: an async iterator of text pieces.
  async *generate(prompt, options = {}) {
    if (!this.worker) throw reviveError({ kind: 'InvalidArgument', message: 'the model was disposed' });
    const { signal, onToken, ...rest } = options;
    const id = this.nextId++;
    const queue = [];
    let wake = null;
    const onMessage = (event) => {
      const msg = event.data;
      if (msg.id !== id) return;
      queue.push(msg);
      if (wake) wake();
    };
    const onAbort = () => this.worker?.postMessage({ type: 'abort-generate', id });
    this.worker.addEventListener('message', onMessage);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      this.worker.postMessage({ type: 'generate', id, prompt: typeof prompt === 'string' ? prompt : Array.from(prompt),
        options: rest });
      for (;;) {
        if (!queue.length) await new Promise((resolve) => { wake = resolve; });
        wake = null;
        const msg = queue.shift();
        if (msg.type === 'piece') {
          yield msg.piece;
        } else if (msg.type === 'done') {
          this.lastGeneration = msg.generation;
          this.lastMemory = msg.memory;
          return;
        } else if (msg.type === 'generate-error') {
          if (msg.generation) this.lastGeneration = msg.generation;
          if (msg.memory) this.lastMemory = msg.memory;
          throw reviveError(msg.error);
        }
      }
    } finally {
      this.worker?.removeEventListener('message', onMessage);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  // Frees the model and ends the worker (its whole heap goes with it).
  dispose() {
    this.worker?.terminate();
    this.worker = null;
  }
}

// Options as loadModel's (onProgress and signal stay on this side).
export function loadModelInWorker(location, options = {}) {
  if (typeof Worker === 'undefined') {
    return Promise.reject(new UnsupportedError('loadModelInWorker needs Web Workers; in Node use loadModel'));
  }
  const { onProgress, signal, ...rest } = options;
  if (signal?.aborted) return Promise.reject(new CancelledError('load cancelled', signal.reason));
  const base = typeof document !== 'undefined' ? document.baseURI : self.location.href;
  const href = new URL(location instanceof URL ? location.href : String(location), base).href;
  if (typeof rest.wasm === 'string') rest.wasm = new URL(rest.wasm, base).href;  // the worker's base differs
  const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      worker.terminate();
      reject(new CancelledError('load cancelled', signal.reason));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.addEventListener('message', function onMessage(event) {
      const msg = event.data;
      if (msg.type === 'progress') {
        onProgress?.(msg.progress);
      } else if (msg.type === 'loaded' || msg.type === 'load-error') {
        worker.removeEventListener('message', onMessage);
        signal?.removeEventListener('abort', onAbort);
        if (msg.type === 'loaded') {
          resolve(new WorkerModel(worker, msg.info, msg.memory));
        } else {
          worker.terminate();
          reject(reviveError(msg.error));
        }
      }
    });
    worker.addEventListener('error', (event) => {
      signal?.removeEventListener('abort', onAbort);
      worker.terminate();
      reject(reviveError({ kind: 'Io', message: `worker failed: ${event.message || 'could not start'}` }));
    }, { once: true });
    worker.postMessage({ type: 'load', location: href, options: rest });
  });
}
