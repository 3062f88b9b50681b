// llama.cpp (npm node-llama-cpp, its prebuilt CPU binaries) on a GGUF:
// prefill of the given token ids, then greedy decode of N tokens, timed per
// token; prints one JSON object. Memory is the process's peak RSS (VmHWM)
// and its RSS after importing the package (the post-import baseline).
//   node bench/peers/llamacpp_decode.mjs MODEL.gguf --ids 1,2,3 --tokens 64 --threads 2
// NODE_PATH (or a node_modules above the working directory) must find node-llama-cpp.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const modelPath = args[0];
const ids = option('ids', '').split(',').filter(Boolean).map(Number);
const tokens = Number(option('tokens', '64'));
const threads = Number(option('threads', '2'));

const status = (key) => Number(/(\d+)/.exec(readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith(key)))[1]) * 1024;
const require = createRequire(`${process.cwd()}/`);
const entry = require.resolve('node-llama-cpp');
const packageDir = entry.slice(0, entry.lastIndexOf('/node_modules/node-llama-cpp/') + '/node_modules/node-llama-cpp'.length);
const version = JSON.parse(readFileSync(`${packageDir}/package.json`, 'utf8')).version;
const { getLlama } = await import(entry);
const llama = await getLlama({ gpu: false, build: 'never' });
const baseline = status('VmRSS:');
const loadStart = performance.now();
const model = await llama.loadModel({ modelPath, useMmap: false });
const context = await model.createContext({ threads, contextSize: Math.max(256, ids.length + tokens + 8), batchSize: 512 });
const loadSeconds = (performance.now() - loadStart) / 1000;
const sequence = context.getSequence();
const out = [];
const start = performance.now();
let first = 0;
for await (const token of sequence.evaluate(ids, { temperature: 0 })) {
  if (out.length === 0) first = performance.now();
  out.push(token);
  if (out.length >= tokens) break;
}
const end = performance.now();
console.log(JSON.stringify({
  engine: `llama.cpp (node-llama-cpp ${version}, ${llama.buildType} binaries)`,
  ids: out,
  prefill_tokens: ids.length,
  prefill_tokens_per_second: ids.length / ((first - start) / 1000),
  decode_tokens: out.length - 1,
  decode_tokens_per_second: (out.length - 1) / ((end - first) / 1000),
  load_seconds: loadSeconds,
  peak_rss_bytes: status('VmHWM:'),
  baseline_rss_bytes: baseline,
  threads,
}));
await context.dispose();
await model.dispose();
