// Browser benchmark, side by side in one run, in headless Chromium (Debian's,
// via npm playwright-core) against demos/web/serve.mjs on 127.0.0.1:
//   fetch to nowhere   : the shard streamed with a BYOB reader and discarded (the transport limit)
//   weightstream load  : loadModel() on the same checkpoint (main thread; the pthreads build when staged)
//   decode tok/s       : greedy generation in the page vs the native CLI (--threads 1 and 2)
//   memory             : the wasm heap and the browser's summed RSS over its baseline (the page up,
//                        no model), against the bytes the weights are held in
// usage: node bench/web_bench.mjs [model dir under build/models] [--repeat N] [--tokens N] [--dtype D]
//                                 [--raw OUT.json]
//   --dtype: keep (default), f32, f16, bf16, or a block type to quantize to while streaming (q4_0, q8_0, ...);
//            the native CLI runs with the same --dtype
// Every figure is the median of --repeat runs (default 5) with min-max beside it; every run,
// the commit, the machine and the load average go to the raw JSON (default
// bench/results/web-<commit>.json).
// Needs: the native and web builds, web/'s npm deps, chromium (.ci/setup.d/40-web.sh).
import path from 'node:path';
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, readdirSync, writeFileSync } from 'node:fs';
import { browserRss, demoServer, launchChromium, nativeGenerate, root } from '../tests/web/helpers.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const modelName = args.find((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--'))) ||
  'SmolLM2-135M-Instruct-bf16';
const repeat = option('--repeat', 5);
const rawIndex = args.indexOf('--raw');
const tokens = option('--tokens', 64);
const dtypeIndex = args.indexOf('--dtype');
const dtype = dtypeIndex >= 0 ? args[dtypeIndex + 1] : 'keep';
const dir = path.join(root, 'build/models', modelName);
const shards = readdirSync(dir).filter((f) => f.endsWith('.safetensors'));
const shardBytes = shards.reduce((sum, f) => sum + statSync(path.join(dir, f)).size, 0);
const prompt = 'The capital of France is';

const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
const loadAverageStart = loadAverage();
const server = await demoServer();
const browser = await launchChromium();
const results = { fetch: [], load: [], decode: [], prefill: [], heap: [], rssOverBaseline: [] };
try {
  const page = await browser.newPage();
  await page.goto(`${server.url}/`);
  for (let r = 0; r < repeat; ++r) {
    const fetched = await page.evaluate(async ({ base, files }) => {
      const start = performance.now();
      let bytes = 0;
      let buffer = new ArrayBuffer(1 << 20);
      for (const file of files) {
        const response = await fetch(`${base}/${file}`, { cache: 'no-store' });
        const reader = response.body.getReader({ mode: 'byob' });
        for (;;) {
          const { done, value } = await reader.read(new Uint8Array(buffer));
          if (done) break;
          bytes += value.byteLength;
          buffer = value.buffer;  // the same 1 MiB buffer, handed back
        }
      }
      return { bytes, seconds: (performance.now() - start) / 1000 };
    }, { base: `/models/${modelName}`, files: shards });
    results.fetch.push(fetched.bytes / 1e6 / fetched.seconds);

    // A fresh page per run: the baseline is the page up with no model in it.
    const fresh = await browser.newPage();
    await fresh.goto(`${server.url}/`);
    await fresh.evaluate(() => import('/pkg/index.js'));
    const rssBaseline = browserRss();
    let rssPeak = rssBaseline;
    const sampler = setInterval(() => { rssPeak = Math.max(rssPeak, browserRss()); }, 50);
    const run = await fresh.evaluate(async ({ url, prompt, tokens, dtype }) => {
      const ws = await import('/pkg/index.js');
      const start = performance.now();
      const model = await ws.loadModel(url, { dtype });
      const loadSeconds = (performance.now() - start) / 1000;
      const generation = model.generate(prompt, { maxNewTokens: tokens, temperature: 0 });
      let step = await generation.next();
      while (!step.done) step = await generation.next();
      const stats = step.value;  // the generator's return value
      const out = { loadSeconds, bound: model.memory().boundBytes, heap: model.memory().heapBytes,
        backend: model.info.backend, decode: stats.decodeTokensPerSecond, prefill: stats.prefillTokensPerSecond };
      model.dispose();
      return out;
    }, { url: `/models/${modelName}/`, prompt, tokens, dtype });
    clearInterval(sampler);
    rssPeak = Math.max(rssPeak, browserRss());
    await fresh.close();
    results.heap.push(run.heap);
    results.rssOverBaseline.push(rssPeak - rssBaseline);
    results.bound = run.bound;
    results.load.push(shardBytes / 1e6 / run.loadSeconds);
    results.decode.push(run.decode);
    results.prefill.push(run.prefill);
    results.backend = run.backend;
  }
} finally {
  await browser.close();
  server.close();
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const cell = (xs, digits) => `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}-` +
  `${Math.max(...xs).toFixed(digits)}, n=${xs.length})`;
const git = (...a) => {
  try {
    return execFileSync('git', ['-C', root, ...a], { encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
};
// The page is cross-origin isolated (serve.mjs sends COOP/COEP), so the pthreads
// build runs when it is staged: compare with the native CLI on as many threads.
const wasmThreads = Number((/(\d+) threads?/.exec(results.backend) || [0, 1])[1]);
// The native CLI as many times, each a fresh process; its medians are the ratios' denominators.
const nativeRuns = (threads) =>
  Array.from({ length: repeat }, () => nativeGenerate(dir, prompt, tokens, ['--threads', threads, '--dtype', dtype]));
const nativeSummary = (runs) => ({ backend: runs[0].backend, runs,
  decode: runs.map((r) => r.decode_tokens_per_second), prefill: runs.map((r) => r.prefill_tokens_per_second) });
const native1 = nativeSummary(nativeRuns('1'));
const native2 = nativeSummary(nativeRuns('2'));
const nativeSame = wasmThreads >= 2 ? native2 : native1;
console.log(`\n${modelName} (--dtype ${dtype}): ${(shardBytes / 1e6).toFixed(1)} MB in ${shards.length} shard(s), ` +
  `held in ${(results.bound / 1e6).toFixed(1)} MB; median (min-max, n) of ${repeat} runs; ${tokens} greedy tokens ` +
  `after "${prompt}"\n`);
console.log('| measure | MB/s or tok/s | ratio of medians |');
console.log('|---|---:|---:|');
console.log(`| Chromium: fetch to nowhere (BYOB, 1 MiB buffer) | ${cell(results.fetch, 0)} MB/s | 1.00 |`);
console.log(`| Chromium: weightstream loadModel (whole load, headers included) | ${cell(results.load, 0)} MB/s | ` +
  `${(median(results.load) / median(results.fetch)).toFixed(2)} of fetch |`);
console.log(`| Chromium: decode (${results.backend}) | ${cell(results.decode, 1)} tok/s | ` +
  `${(median(results.decode) / median(nativeSame.decode)).toFixed(2)} of native, same threads |`);
console.log(`| Chromium: prefill (${results.backend}) | ${cell(results.prefill, 1)} tok/s | ` +
  `${(median(results.prefill) / median(nativeSame.prefill)).toFixed(2)} of native, same threads |`);
const mb = (xs) => xs.map((x) => x / 1e6);
console.log(`| Chromium: wasm heap after load + generate | ${cell(mb(results.heap), 1)} MB | ` +
  `${(median(results.heap) / results.bound).toFixed(2)} of the weights held |`);
console.log(`| Chromium: summed browser RSS, peak over the page's baseline | ${cell(mb(results.rssOverBaseline), 1)} MB | ` +
  `${(median(results.rssOverBaseline) / results.bound).toFixed(2)} of the weights held |`);
for (const [label, n] of [['1 thread', native1], ['2 threads', native2]]) {
  console.log(`| native CLI (${n.backend}): decode / prefill, ${label} | ${cell(n.decode, 1)} / ` +
    `${cell(n.prefill, 1)} tok/s | |`);
}

const commit = git('rev-parse', 'HEAD') || 'unknown';
const raw = rawIndex >= 0 ? args[rawIndex + 1]
  : path.join(root, 'bench/results', `web-${commit.slice(0, 10)}-${dtype}.json`);
mkdirSync(path.dirname(raw), { recursive: true });
writeFileSync(raw, JSON.stringify({
  command: `node bench/web_bench.mjs ${args.join(' ')}`, model: modelName, dtype, shard_bytes: shardBytes, tokens, repeat,
  runs: results, native: { threads1: native1, threads2: native2 },
  meta: {
    commit, tree_differs_from_commit: (git('status', '--porcelain', '--untracked-files=no') || '') !== '',
    date: new Date().toISOString(), machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length,
      memory_gib: +(os.totalmem() / 2 ** 30).toFixed(1), kernel: os.release(), node: process.version },
    load_average_start: loadAverageStart,
  },
  load_average_end: loadAverage(),
}, null, 1));
console.log(`raw results: ${raw}`);
