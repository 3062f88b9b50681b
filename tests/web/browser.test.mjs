// End to end in headless Chromium (Debian's /usr/bin/chromium, driven by npm
// playwright-core; never a downloaded browser): the demo page served by
// demos/web/serve.mjs loads the default checkpoint in a Web Worker, generates
// greedily, and must print exactly the native CLI's text; the wasm heap must
// stay within 1.1x the bound weights + 32 MiB. Saves a screenshot and prints
// the browser's summed RSS (what the user pays) next to the bound bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import {
  browserRss, chromiumSkipReason, demoServer, fixtures, launchChromium, nativeGenerate, requireAll, requirePresent, root,
  skipUnlessRequired, webBuild,
} from './helpers.mjs';

const missing = chromiumSkipReason();
const skip = skipUnlessRequired(missing);

function modelDir(urlPath) {
  if (urlPath.startsWith('/models/')) return path.join(root, 'build/models', urlPath.slice(8));
  return path.join(fixtures, urlPath.slice('/fixtures/'.length));
}

test('demo page in headless Chromium: greedy text equals the native CLI, heap within bound', { skip, timeout: 240000 }, async () => {
  requirePresent(missing);
  const server = await demoServer();
  const base = server.url;
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 1000 } });
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const config = await (await fetch(`${base}/demo-config.json`)).json();
    await page.goto(`${base}/?worker=1`);
    await page.waitForFunction(() => document.getElementById('model-url').value !== '');
    await page.waitForTimeout(500);
    const rssBefore = browserRss();  // the page is up, no model yet
    const loadStart = Date.now();
    await page.click('#load');
    await page.waitForFunction(() => ['loaded', 'load-failed'].includes(document.body.dataset.state), null, { timeout: 90000 });
    const loadSeconds = (Date.now() - loadStart) / 1000;
    assert.equal(await page.evaluate(() => document.body.dataset.state), 'loaded', await page.textContent('#error'));
    assert.equal(await page.evaluate(() => crossOriginIsolated), true, 'COOP/COEP headers');

    const prompt = 'The capital of France is';
    const maxNewTokens = 24;
    await page.fill('#prompt', prompt);
    await page.setChecked('#chat', false);
    await page.fill('#max-new-tokens', String(maxNewTokens));
    await page.fill('#temperature', '0');
    await page.click('#generate');
    await page.waitForFunction(() => document.body.dataset.state === 'generated', null, { timeout: 90000 });
    const text = await page.textContent('#output');
    const stats = await page.evaluate(() => ({ generation: window.weightstreamDemo.lastGeneration,
      memory: window.weightstreamDemo.model.memory(), info: window.weightstreamDemo.model.info }));
    const rssAfter = browserRss();

    const outDir = path.join(webBuild, 'e2e');
    mkdirSync(outDir, { recursive: true });
    await page.screenshot({ path: path.join(outDir, 'demo.png'), fullPage: true });

    const native = nativeGenerate(modelDir(config.defaultModel), prompt, maxNewTokens);
    assert.deepEqual(stats.generation.ids, native.ids);
    assert.equal(text, native.text);
    const { boundBytes, heapBytes } = stats.memory;
    console.log(`# chromium: ${config.defaultModel} load ${loadSeconds.toFixed(2)} s page total, ` +
      `${stats.info.load.mbPerSecond.toFixed(0)} MB/s streaming; decode ${stats.generation.decodeTokensPerSecond.toFixed(1)} tok/s, ` +
      `prefill ${stats.generation.prefillTokensPerSecond.toFixed(1)} tok/s (${stats.info.backend}); bound ${(boundBytes / 1e6).toFixed(1)} MB, ` +
      `wasm heap ${(heapBytes / 1e6).toFixed(1)} MB (${(heapBytes / boundBytes).toFixed(3)}x); browser RSS ` +
      `${(rssBefore / 1e6).toFixed(0)} -> ${(rssAfter / 1e6).toFixed(0)} MB (+${((rssAfter - rssBefore) / boundBytes).toFixed(2)}x the weights); ` +
      `native decode ${native.decode_tokens_per_second.toFixed(1)} tok/s (${native.backend})`);
    assert.ok(heapBytes <= boundBytes * 1.1 + 32 * 2 ** 20, `heap ${heapBytes} vs bound ${boundBytes}`);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    server.close();
  }
});

test('in Chromium, cross-origin isolated: the pthreads build (when staged) gives transformers\' ids, models loaded one after another',
  { skip, timeout: 120000 }, async () => {
    requirePresent(missing);
    const server = await demoServer();
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${server.url}/`);
      const results = await page.evaluate(async () => {
        const ws = await import('/pkg/index.js');
        const out = [];
        for (const name of ['llama_gqa', 'gpt2', 'qwen2', 'llama_sharded']) {
          const ref = await (await fetch(`/fixtures/${name}/reference.json`)).json();
          const model = await ws.loadModel(`/fixtures/${name}`);
          const iterator = model.generate(ref.prompt, { maxNewTokens: ref.greedy.length });
          let step;
          while (!(step = await iterator.next()).done) void step.value;
          out.push({ name, backend: model.info.backend, ids: step.value.ids, greedy: ref.greedy,
            isolated: crossOriginIsolated, threadsAvailable: ws.canUseThreads(), cores: navigator.hardwareConcurrency });
          model.dispose();
        }
        return out;
      });
      const threaded = existsSync(path.join(webBuild, 'package/weightstream-mt.worker.js'));
      assert.ok(threaded || !requireAll, 'WS_REQUIRE_ALL=1 and the pthreads build is not staged (preset web-threads)');
      for (const r of results) {
        assert.deepEqual(r.ids, r.greedy, r.name);
        assert.equal(r.isolated, true);
        if (threaded && r.cores > 1) assert.doesNotMatch(r.backend, /, 1 threads/, `${r.name}: ${r.backend}`);
      }
      console.log(`# chromium main thread: ${results[0].backend}`);
    } finally {
      await browser.close();
      server.close();
    }
  });

test('JS heap stays flat while a shard streams into wasm (CDP Performance.getMetrics, main thread)',
  { skip, timeout: 120000 }, async () => {
    requirePresent(missing);
    const server = await demoServer();
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const config = await (await fetch(`${server.url}/demo-config.json`)).json();
      const dir = modelDir(config.defaultModel);
      const shardBytes = Math.max(...readdirSync(dir).filter((f) => /\.(safetensors|gguf)$/.test(f))
        .map((f) => statSync(path.join(dir, f)).size));
      await page.goto(`${server.url}/`);
      await page.evaluate(() => import('/pkg/index.js'));  // module compiled before the baseline
      const cdp = await page.context().newCDPSession(page);
      await cdp.send('Performance.enable');
      const jsHeap = async () => (await cdp.send('Performance.getMetrics')).metrics
        .find((m) => m.name === 'JSHeapUsedSize').value;
      const baseline = await jsHeap();
      await page.evaluate((url) => {
        window.__loaded = import('/pkg/index.js').then((ws) => ws.loadModel(url)).then((model) => {
          window.__model = model;
          return model.memory().boundBytes;
        });
      }, config.defaultModel);
      let peak = baseline;
      let samples = 0;
      while (!(await page.evaluate(() => window.__model !== undefined))) {
        peak = Math.max(peak, await jsHeap());
        ++samples;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const bound = await page.evaluate(() => window.__loaded);
      peak = Math.max(peak, await jsHeap());
      console.log(`# JS heap during the load: ${(baseline / 1e6).toFixed(1)} -> peak ${(peak / 1e6).toFixed(1)} MB ` +
        `(${samples} samples) while ${(bound / 1e6).toFixed(1)} MB were bound from a ${(shardBytes / 1e6).toFixed(1)} MB shard`);
      assert.ok(samples > 0, 'the load finished before the heap could be sampled');
      assert.ok(peak - baseline < shardBytes / 4, `JS heap grew by ${peak - baseline} bytes for a ${shardBytes}-byte shard`);
    } finally {
      await browser.close();
      server.close();
    }
  });
