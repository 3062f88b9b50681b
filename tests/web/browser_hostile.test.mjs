// The hostile-input classes of hostile.test.mjs in headless Chromium (the
// demo server's cross-origin isolated page; the misbehaving server is another
// origin with CORS): each case must end with the expected error class and
// kind within its time limit, and afterwards a valid model must still load
// and generate transformers' greedy ids in the same page. The browser's
// summed RSS must stay bounded while an endless side file streams in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { browserRss, chromiumSkipReason, demoServer, launchChromium } from './helpers.mjs';
import { hostileServer } from './hostile_server.mjs';

const skip = chromiumSkipReason();
const MiB = 2 ** 20;


// Runs in the page: case `name` against the hostile server at `server`, then a
// valid load + greedy generation of /fixtures/gpt2.
async function pageCase([name, server]) {
  const ws = await import('/pkg/index.js');
  const ref = await (await fetch('/fixtures/gpt2/reference.json')).json();
  // The generator's return value: its statistics.
  const collect = async (it) => {
    let step;
    while (!(step = await it.next()).done) void step.value;
    return step.value;
  };
  const auth = { Authorization: 'Bearer secret', 'X-Extra': '1' };
  const cases = {
    'url-unclosed-bracket': () => ws.loadModel('http://[::1/'),
    'worker-url-unclosed-bracket': () => ws.loadModelInWorker('http://[::1/'),
    'worker-retries-nan': () => ws.loadModelInWorker('/fixtures/gpt2/', { retries: NaN }),
    'generate-null': async () => {
      const model = await ws.loadModel('/fixtures/gpt2/');
      try {
        return await collect(model.generate(null));
      } finally {
        model.dispose();
      }
    },
    'decode-bad-ids': async () => {
      const model = await ws.loadModel('/fixtures/gpt2/');
      try {
        return model.decode([-1, 1e9, 3.7]);
      } finally {
        model.dispose();
      }
    },
    'dispose-during-generate': async () => {
      const model = await ws.loadModel('/fixtures/gpt2/');
      const it = model.generate(ref.prompt, { maxNewTokens: 16 });
      await it.next();
      model.dispose();
      return it.next();
    },
    'worker-dispose-during-generate': async () => {
      const model = await ws.loadModelInWorker('/fixtures/gpt2/');
      const it = model.generate(ref.prompt, { maxNewTokens: 16 });
      await it.next();
      model.dispose();
      return it.next();
    },
    'worker-headers-object': async () => {
      const model = await ws.loadModelInWorker(`${server}/auth/gpt2/`, { fetchOptions: { headers: new Headers(auth) } });
      const { ids } = await collect(model.generate(ref.prompt, { maxNewTokens: ref.greedy.length }));
      model.dispose();
      return ids;
    },
    'headers-pairs': async () => {
      const model = await ws.loadModel(`${server}/auth/gpt2/`, { fetchOptions: { headers: Object.entries(auth) } });
      const { ids } = await collect(model.generate(ref.prompt, { maxNewTokens: ref.greedy.length }));
      model.dispose();
      return ids;
    },
    'range-always-from-zero': () => ws.loadModel(`${server}/range-from-zero/gpt2/`, { retries: 1 }),
    'side-file-endless-no-length': () => ws.loadModel(`${server}/endless-config/gpt2/`, { retries: 0 }),
    'no-response-headers': () => ws.loadModel(`${server}/no-headers/gpt2/`, { stallTimeoutMs: 1000 }),
    'trap-stack-overflow': async () => (await ws.loadCore()).m._ws_test_trap(2),
    'deep-tokenizer': async () => {
      // The core's depth limit refuses the tokenizer: the model loads, and encoding text is the typed error.
      const model = await ws.loadModel(`${server}/deep-tokenizer/gpt2/`);
      try {
        return model.encode('Hello world');
      } finally {
        model.dispose();
      }
    },
  };
  const started = performance.now();
  const out = { name };
  try {
    const result = cases[name]();
    out.returnedPromise = result instanceof Promise;
    out.value = await result;
    out.resolved = true;
  } catch (error) {
    out.resolved = false;
    out.class = error?.name;
    out.kind = error?.kind;
    out.message = String(error?.message ?? error);
    out.weightstreamError = error instanceof ws.WeightstreamError;
  }
  out.ms = performance.now() - started;
  if (out.value && typeof out.value === 'object' && !Array.isArray(out.value)) out.value = null;
  try {
    const model = await ws.loadModel('/fixtures/gpt2/');
    out.afterIds = (await collect(model.generate(ref.prompt, { maxNewTokens: ref.greedy.length }))).ids;
    out.backend = model.info.backend;  // the pthreads build where it is staged
    model.dispose();
  } catch (error) {
    out.after = `${error?.name} ${error?.kind}: ${error?.message}`;
  }
  out.expectedIds = ref.greedy;
  return out;
}

const usage = { class: 'UsageError', kind: 'InvalidArgument', ms: 5000 };
const cases = {
  'url-unclosed-bracket': { ...usage, message: /not a valid URL/ },
  'worker-url-unclosed-bracket': { ...usage, message: /not a valid URL/ },
  'worker-retries-nan': { ...usage, message: /retries/ },
  'generate-null': { ...usage, message: /prompt/ },
  'decode-bad-ids': { ...usage, message: /token id/ },
  'dispose-during-generate': { ...usage, message: /disposed during generation/ },
  'worker-dispose-during-generate': { ...usage, message: /disposed during generation/ },
  'worker-headers-object': { resolved: true, ms: 20000 },
  'headers-pairs': { resolved: true, ms: 20000 },
  'range-always-from-zero': { class: 'HttpError', kind: 'Http', ms: 5000, message: /asked for bytes/ },
  'side-file-endless-no-length': { class: 'OutOfBudgetError', kind: 'OutOfBudget', ms: 60000, rssGrowth: 1024 * MiB },
  'no-response-headers': { class: 'HttpError', kind: 'Http', ms: 5000, message: /no data arrived/ },
  'trap-stack-overflow': { class: 'WasmTrapError', kind: 'Internal', ms: 5000 },
  'deep-tokenizer': { class: 'FormatError', ms: 30000 },
};

test('hostile input and misuse in headless Chromium: typed errors, and the page still loads a model',
  { skip, timeout: 400000 }, async (t) => {
    const server = await demoServer();
    const hostile = await hostileServer();
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${server.url}/`);
      await page.evaluate(() => import('/pkg/index.js'));
      for (const [name, expect] of Object.entries(cases)) {
        await t.test(name, async () => {
          const rssBefore = browserRss();
          let peak = rssBefore;
          const sampler = setInterval(() => { peak = Math.max(peak, browserRss()); }, 100);
          let r;
          try {
            r = await page.evaluate(pageCase, [name, hostile.url]);
          } finally {
            clearInterval(sampler);
          }
          console.log(`chromium ${name}: ${r.resolved ? 'resolved' : `${r.class} (${r.kind})`} in ${r.ms.toFixed(0)} ms, ` +
            `browser RSS ${(rssBefore / MiB).toFixed(0)} -> peak ${(peak / MiB).toFixed(0)} MiB; afterwards ${r.backend}`);
          assert.equal(r.returnedPromise, true, 'threw synchronously instead of returning a promise');
          if (expect.resolved) {
            assert.equal(r.resolved, true, `${r.class} ${r.kind}: ${r.message}`);
            assert.deepEqual(r.value, r.expectedIds);
          } else {
            assert.equal(r.resolved, false, 'the call succeeded');
            assert.equal(r.weightstreamError, true, `${r.class}: ${r.message}`);
            if (expect.class) assert.equal(r.class, expect.class, `${r.kind}: ${r.message}`);
            if (expect.classes) assert.ok(expect.classes.includes(r.class), `${r.class} ${r.kind}: ${r.message}`);
            if (expect.kind) assert.equal(r.kind, expect.kind, r.message);
            if (expect.message) assert.match(r.message, expect.message);
          }
          assert.ok(r.ms <= expect.ms, `took ${r.ms.toFixed(0)} ms, limit ${expect.ms}`);
          if (expect.rssGrowth) {
            assert.ok(peak - rssBefore <= expect.rssGrowth,
              `browser RSS grew by ${((peak - rssBefore) / MiB).toFixed(0)} MiB, limit ${expect.rssGrowth / MiB}`);
          }
          assert.deepEqual(r.afterIds, r.expectedIds, `afterwards: ${r.after}`);
        });
      }
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      server.close();
      hostile.close();
    }
  });
