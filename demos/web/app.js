// The demo page: load a checkpoint (progress, cancel), generate (streamed,
// stop), and show what it costs (bytes bound, wasm heap, tokens/s).
import { loadModel, loadModelInWorker } from '/pkg/index.js';

const $ = (id) => document.getElementById(id);
const ui = {
  url: $('model-url'), dtype: $('dtype'), load: $('load'), cancelLoad: $('cancel-load'), worker: $('use-worker'),
  progress: $('load-progress'), status: $('load-status'), prompt: $('prompt'), generate: $('generate'), stop: $('stop'),
  output: $('output'), error: $('error'), chat: $('chat'),
};
let model = null;
let loadController = null;
let generateController = null;
let lastGeneration = null;  // the last generate() return value (window.weightstreamDemo, for tests)

const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;
function showError(error) {
  ui.error.textContent = error ? `${error.kind ? error.kind + ': ' : ''}${error.message}` : '';
  ui.error.hidden = !error;
  if (error) console.error(error);
}
function showMemory() {
  const memory = model?.memory();
  if (!memory) return;
  $('stat-bound').textContent = mb(memory.boundBytes);
  $('stat-heap').textContent = `${mb(memory.heapBytes)} (${(memory.heapBytes / memory.boundBytes).toFixed(2)}× the weights)`;
}

async function load(event) {
  event.preventDefault();
  showError(null);
  loadController?.abort();
  model?.dispose();
  model = null;
  ui.generate.disabled = true;
  ui.load.disabled = true;
  ui.cancelLoad.hidden = false;
  ui.progress.value = 0;
  ui.status.textContent = 'Reading headers…';
  loadController = new AbortController();
  const started = performance.now();
  const options = {
    dtype: ui.dtype.value,
    signal: loadController.signal,
    onProgress: ({ loaded, total, mbPerSecond }) => {
      ui.progress.value = total ? loaded / total : 0;
      ui.status.textContent = `${mb(loaded)} / ${mb(total)} · ${mbPerSecond.toFixed(0)} MB/s`;
    },
  };
  try {
    const url = ui.url.value.trim();
    model = ui.worker.checked ? await loadModelInWorker(url, options) : await loadModel(url, options);
    const seconds = (performance.now() - started) / 1000;
    const info = model.info;
    ui.progress.value = 1;
    ui.status.textContent = `Loaded ${info.modelType}, ${info.layers} layers, in ${seconds.toFixed(2)} s.`;
    $('stat-load').textContent = `${mb(info.bytesToRead)} in ${seconds.toFixed(2)} s (${info.load.mbPerSecond.toFixed(0)} MB/s streaming)`;
    $('stat-backend').textContent = `${info.backend}${ui.worker.checked ? ', in a Web Worker' : ', on the main thread'}`;
    ui.chat.checked = /instruct|chat/i.test(url);
    showMemory();
    ui.generate.disabled = false;
    document.body.dataset.state = 'loaded';
  } catch (error) {
    ui.status.textContent = error.kind === 'Cancelled' ? 'Cancelled.' : 'Failed.';
    ui.progress.value = 0;
    if (error.kind !== 'Cancelled') showError(error);
    document.body.dataset.state = 'load-failed';
  } finally {
    ui.load.disabled = false;
    ui.cancelLoad.hidden = true;
    loadController = null;
  }
}

async function generate(event) {
  event.preventDefault();
  if (!model) return;
  showError(null);
  const prompt = ui.prompt.value;
  const number = (id, fallback) => (Number.isFinite($(id).valueAsNumber) ? $(id).valueAsNumber : fallback);
  generateController = new AbortController();
  ui.generate.disabled = true;
  ui.stop.hidden = false;
  ui.output.textContent = '';
  ui.output.classList.add('running');
  document.body.dataset.state = 'generating';
  let g = null;  // the generator's return value: its statistics
  try {
    // chat: the model's own chat template (from its tokenizer_config.json or GGUF metadata).
    const pieces = model.generate(prompt, {
      maxNewTokens: number('max-new-tokens', 64), temperature: number('temperature', 0), topK: number('top-k', 0),
      topP: number('top-p', 1), seed: number('seed', 0), signal: generateController.signal, chat: ui.chat.checked,
    });
    let step;
    while (!(step = await pieces.next()).done) ui.output.textContent += step.value;
    g = step.value;
  } catch (error) {
    g = error.generation ?? null;  // the figures so far (a stopped generation's)
    if (error.kind !== 'Cancelled') showError(error);
  } finally {
    lastGeneration = g;
    ui.output.classList.remove('running');
    ui.generate.disabled = false;
    ui.stop.hidden = true;
    generateController = null;
    if (g) {
      $('stat-prefill').textContent = `${g.prefillTokens} tokens, ${g.prefillTokensPerSecond.toFixed(1)} tokens/s`;
      $('stat-decode').textContent = `${g.decodeTokens} tokens, ${g.decodeTokensPerSecond.toFixed(1)} tokens/s` +
        (g.stoppedAtEos ? ' (stopped at end of turn)' : '');
    }
    showMemory();
    document.body.dataset.state = 'generated';
  }
}

ui.cancelLoad.addEventListener('click', () => loadController?.abort());
ui.stop.addEventListener('click', () => generateController?.abort());
$('load-form').addEventListener('submit', load);
$('generate-form').addEventListener('submit', generate);

// Testing hooks (tests/web/browser_e2e.mjs reads these).
window.weightstreamDemo = { get model() { return model; }, get lastGeneration() { return lastGeneration; } };

const params = new URLSearchParams(location.search);
fetch('/demo-config.json').then((r) => (r.ok ? r.json() : {})).catch(() => ({})).then((config) => {
  ui.url.value = params.get('model') || config.defaultModel || '/fixtures/gpt2/';
  if (params.has('worker')) ui.worker.checked = params.get('worker') !== '0';
  if (params.has('autoload')) $('load-form').requestSubmit();
});
