// Browser benchmark, side by side in one run, in headless Chromium (Debian's,
// via npm playwright-core) against demos/web/serve.mjs on 127.0.0.1:
//   fetch to nowhere   : the shard streamed with a BYOB reader and discarded (the transport limit)
//   weightstream load  : loadModel() on the same checkpoint (main thread; the pthreads build when staged)
//   decode tok/s       : greedy generation in the page vs the native CLI (--threads 1 and 2)
// usage: node bench/web_bench.mjs [model dir under build/models] [--repeat N] [--tokens N]
// Needs: the native and web builds, web/'s npm deps, chromium (.ci/setup.d/40-web.sh).
import path from 'node:path';
import { statSync, readdirSync } from 'node:fs';
import { demoServer, launchChromium, nativeGenerate, root } from '../tests/web/helpers.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const modelName = args.find((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--'))) ||
  'SmolLM2-135M-Instruct-bf16';
const repeat = option('--repeat', 3);
const tokens = option('--tokens', 64);
const dir = path.join(root, 'build/models', modelName);
const shards = readdirSync(dir).filter((f) => f.endsWith('.safetensors'));
const shardBytes = shards.reduce((sum, f) => sum + statSync(path.join(dir, f)).size, 0);
const prompt = 'The capital of France is';

const server = await demoServer();
const browser = await launchChromium();
const results = { fetch: [], load: [], decode: [], prefill: [] };
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

    const run = await page.evaluate(async ({ url, prompt, tokens }) => {
      const ws = await import('/pkg/index.js');
      const start = performance.now();
      const model = await ws.loadModel(url, { dtype: 'keep' });
      const loadSeconds = (performance.now() - start) / 1000;
      for await (const piece of model.generate(prompt, { maxNewTokens: tokens, temperature: 0 })) void piece;
      const out = { loadSeconds, bound: model.memory().boundBytes, backend: model.info.backend,
        decode: model.lastGeneration.decodeTokensPerSecond, prefill: model.lastGeneration.prefillTokensPerSecond };
      model.dispose();
      return out;
    }, { url: `/models/${modelName}/`, prompt, tokens });
    results.load.push(shardBytes / 1e6 / run.loadSeconds);
    results.decode.push(run.decode);
    results.prefill.push(run.prefill);
    results.backend = run.backend;
  }
} finally {
  await browser.close();
  server.close();
}
const best = (xs) => Math.max(...xs);
// The page is cross-origin isolated (serve.mjs sends COOP/COEP), so the pthreads
// build runs when it is staged: compare with the native CLI on as many threads.
const wasmThreads = Number((/(\d+) threads?/.exec(results.backend) || [0, 1])[1]);
const native1 = nativeGenerate(dir, prompt, tokens, ['--threads', '1']);
const native2 = nativeGenerate(dir, prompt, tokens, ['--threads', '2']);
const nativeSame = wasmThreads >= 2 ? native2 : native1;
console.log(`\n${modelName}: ${(shardBytes / 1e6).toFixed(1)} MB in ${shards.length} shard(s); best of ${repeat}; ` +
  `${tokens} greedy tokens after "${prompt}"\n`);
console.log('| measure | MB/s or tok/s | ratio |');
console.log('|---|---:|---:|');
console.log(`| Chromium: fetch to nowhere (BYOB, 1 MiB buffer) | ${best(results.fetch).toFixed(0)} MB/s | 1.00 |`);
console.log(`| Chromium: weightstream loadModel (whole load, headers included) | ${best(results.load).toFixed(0)} MB/s | ` +
  `${(best(results.load) / best(results.fetch)).toFixed(2)} of fetch |`);
console.log(`| Chromium: decode (${results.backend}) | ${best(results.decode).toFixed(1)} tok/s | ` +
  `${(best(results.decode) / nativeSame.decode_tokens_per_second).toFixed(2)} of native, same threads |`);
console.log(`| Chromium: prefill (${results.backend}) | ${best(results.prefill).toFixed(1)} tok/s | ` +
  `${(best(results.prefill) / nativeSame.prefill_tokens_per_second).toFixed(2)} of native, same threads |`);
for (const [label, n] of [['1 thread', native1], ['2 threads', native2]]) {
  console.log(`| native CLI (${n.backend}): decode / prefill, ${label} | ${n.decode_tokens_per_second.toFixed(1)} / ` +
    `${n.prefill_tokens_per_second.toFixed(1)} tok/s | |`);
}
