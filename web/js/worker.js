// The Web Worker side of loadModelInWorker (worker_client.js): one model per
// worker, loaded and run with the same code as on the main thread, so the page
// never blocks on a forward pass.
import { loadModel } from './index.js';

let model = null;
let loadController = null;
const generations = new Map();

function serialize(error) {
  return { kind: error?.kind || 'Io', message: error?.message || String(error), status: error?.status };
}

self.onmessage = async (event) => {
  const msg = event.data;
  switch (msg.type) {
    case 'load': {
      if (model) {  // one model per worker
        self.postMessage({ type: 'load-error', error: { kind: 'InvalidArgument', message: 'this worker already has a model' } });
        break;
      }
      loadController = new AbortController();
      try {
        model = await loadModel(msg.location, { ...msg.options, signal: loadController.signal,
          onProgress: (p) => self.postMessage({ type: 'progress', progress: p }) });
        self.postMessage({ type: 'loaded', info: model.info, memory: model.memory() });
      } catch (error) {
        self.postMessage({ type: 'load-error', error: serialize(error) });
      }
      break;
    }
    case 'abort-load':
      loadController?.abort();
      break;
    case 'generate': {
      const controller = new AbortController();
      generations.set(msg.id, controller);
      try {
        if (!model) throw Object.assign(new Error('no model is loaded'), { kind: 'InvalidArgument' });
        const iterator = model.generate(msg.prompt, { ...msg.options, signal: controller.signal });
        let step;
        while (!(step = await iterator.next()).done) self.postMessage({ type: 'piece', id: msg.id, piece: step.value });
        self.postMessage({ type: 'done', id: msg.id, generation: step.value, memory: model.memory() });
      } catch (error) {
        self.postMessage({ type: 'generate-error', id: msg.id, error: serialize(error),
          generation: error?.generation, memory: model?.memory() });
      } finally {
        generations.delete(msg.id);
      }
      break;
    }
    case 'call': {  // encode, decode, applyChatTemplate: answered synchronously by the model
      try {
        if (!model) throw Object.assign(new Error('no model is loaded'), { kind: 'InvalidArgument' });
        if (!['encode', 'decode', 'applyChatTemplate'].includes(msg.method)) {
          throw Object.assign(new Error(`no method ${msg.method}`), { kind: 'InvalidArgument' });
        }
        self.postMessage({ type: 'result', id: msg.id, value: model[msg.method](...msg.args) });
      } catch (error) {
        self.postMessage({ type: 'call-error', id: msg.id, error: serialize(error) });
      }
      break;
    }
    case 'abort-generate':
      generations.get(msg.id)?.abort();
      break;
    case 'dispose':
      model?.dispose();
      model = null;
      self.postMessage({ type: 'disposed' });
      break;
    default:
      break;
  }
};
