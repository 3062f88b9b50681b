// One hostile case of hostile.test.mjs, in a process of its own:
//   node hostile_child.mjs CASE SERVER_URL
// runs CASE (a misuse of the API or a load from a misbehaving server mode of
// SERVER_URL), then loads the gpt2 fixture in the same process and generates
// its greedy reference, and prints one line "RESULT <json>": the outcome (the
// error's class, kind, message, or what resolved), how long the case took,
// the ids generated afterwards and the process's peak RSS.
import { mkdtempSync, cpSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { collect, fixtures, generateAll, reference, weightstream } from './helpers.mjs';

const [caseName, server] = process.argv.slice(2);
const ws = await weightstream();
const gpt2 = path.join(fixtures, 'gpt2');
const ref = reference('gpt2');

// A call that must return a promise (never throw synchronously).
function promiseOf(call) {
  let result;
  try {
    result = call();
  } catch (error) {
    throw Object.assign(new Error(`threw synchronously: ${error?.message}`), { syncThrow: true, original: error });
  }
  if (!(result instanceof Promise)) throw Object.assign(new Error('did not return a promise'), { syncThrow: true });
  return result;
}

async function loadAndGenerate(location, options) {
  const model = await promiseOf(() => ws.loadModel(location, options));
  const { ids } = (await generateAll(model.generate(ref.prompt, { maxNewTokens: ref.greedy.length }))).stats;
  model.dispose();
  return { ids };
}

const loadOption = (options) => () => promiseOf(() => ws.loadModel(gpt2, options));
const withModel = (fn) => async () => {
  const model = await ws.loadModel(gpt2);
  return fn(model);
};
const generateWith = (prompt, options) => withModel((model) => collect(model.generate(prompt, options)));
const decodeIds = (ids) => withModel((model) => model.decode(ids));
const trap = (how) => async () => {
  const core = await ws.loadCore();
  return core.m._ws_test_trap(how);
};

const cases = {
  // Misuse: every public function validates first and rejects (never throws) with a UsageError.
  'url-unclosed-bracket': () => promiseOf(() => ws.loadModel('http://[::1/')),
  'url-port-out-of-range': () => promiseOf(() => ws.loadModel('http://127.0.0.1:99999/model/')),
  'url-not-a-string': () => promiseOf(() => ws.loadModel(42)),
  'worker-url-unclosed-bracket': () => promiseOf(() => ws.loadModelInWorker('http://[::1/')),
  'worker-in-node': () => promiseOf(() => ws.loadModelInWorker(gpt2)),
  'retries-nan': () => promiseOf(() => ws.loadModel(`${server}/no-headers/gpt2/`, { retries: NaN })),
  'retries-negative': loadOption({ retries: -1 }),
  'retries-fraction': loadOption({ retries: 1.5 }),
  'stall-timeout-infinite': loadOption({ stallTimeoutMs: Infinity }),
  'threads-zero': loadOption({ threads: 0 }),
  'dtype-number': loadOption({ dtype: 16 }),
  'on-progress-not-function': loadOption({ onProgress: 'yes' }),
  'signal-not-signal': loadOption({ signal: {} }),
  'options-not-object': loadOption('fast'),
  'headers-bad-pair': loadOption({ fetchOptions: { headers: [['Authorization']] } }),
  'generate-undefined': generateWith(undefined),
  'generate-null': generateWith(null),
  'generate-object-prompt': generateWith({}),
  'generate-id-out-of-vocab': generateWith([1, 1e9]),
  'generate-max-tokens-nan': generateWith(ref.prompt, { maxNewTokens: NaN }),
  'generate-temperature-negative': generateWith(ref.prompt, { temperature: -1 }),
  'decode-negative': decodeIds([-1]),
  'decode-huge': decodeIds([1e9]),
  'decode-fraction': decodeIds([3.7]),
  'decode-all-three': decodeIds([-1, 1e9, 3.7]),
  'encode-not-text': withModel((model) => model.encode(null)),
  // dispose() between two steps of a running generate(): no use-after-free.
  'dispose-during-generate': withModel(async (model) => {
    const it = model.generate(ref.prompt, { maxNewTokens: 16 });
    await it.next();
    model.dispose();
    await it.next();
  }),
  'dispose-in-on-token': withModel((model) =>
    collect(model.generate(ref.prompt, { maxNewTokens: 16, onToken: () => model.dispose() }))),
  'generate-after-dispose': withModel((model) => {
    model.dispose();
    model.dispose();  // twice: nothing happens
    return collect(model.generate(ref.prompt));
  }),
  'decode-after-dispose': withModel((model) => {
    model.dispose();
    return model.decode([1, 2]);
  }),
  // Misbehaving servers.
  'range-always-from-zero': () => loadAndGenerate(`${server}/range-from-zero/gpt2/`, { retries: 1 }),
  'range-wrong-total': () => loadAndGenerate(`${server}/range-wrong-total/gpt2/`, { retries: 1 }),
  'range-longer-than-asked': () => loadAndGenerate(`${server}/range-longer/gpt2/`, { retries: 1 }),
  'side-file-endless-no-length': () => loadAndGenerate(`${server}/endless-config/gpt2/`, { retries: 0 }),
  'side-files-all-endless': () => loadAndGenerate(`${server}/endless-side-files/gpt2/`, { retries: 0 }),
  'side-file-declared-huge': () => loadAndGenerate(`${server}/huge-config/gpt2/`, { retries: 0 }),
  'no-response-headers': () => loadAndGenerate(`${server}/no-headers/gpt2/`, { stallTimeoutMs: 1000 }),
  'no-response-headers-default-timeout': () => loadAndGenerate(`${server}/no-headers/gpt2/`),
  'body-stalls': () => loadAndGenerate(`${server}/stall-body/gpt2/`, { stallTimeoutMs: 1000 }),
  'headers-missing': () => loadAndGenerate(`${server}/auth/gpt2/`, { retries: 0 }),
  'headers-as-headers-object': () => loadAndGenerate(`${server}/auth/gpt2/`,
    { fetchOptions: { headers: new Headers({ Authorization: 'Bearer secret', 'X-Extra': '1' }) } }),
  'headers-as-pairs': () => loadAndGenerate(`${server}/auth/gpt2/`,
    { fetchOptions: { headers: [['Authorization', 'Bearer secret'], ['X-Extra', '1']] } }),
  'headers-as-object': () => loadAndGenerate(`${server}/auth/gpt2/`,
    { fetchOptions: { headers: { Authorization: 'Bearer secret', 'X-Extra': '1' } } }),
  'server-ok': () => loadAndGenerate(`${server}/ok/gpt2/`),
  // Traps inside the wasm module.
  'trap-unreachable': trap(0),
  'trap-out-of-bounds': trap(1),
  'trap-stack-overflow': trap(2),
  'trap-then-old-model': async () => {
    const model = await ws.loadModel(gpt2);
    await trap(0)().catch(() => {});
    try {
      return model.encode('hello');
    } finally {
      model.dispose();  // still allowed, does nothing
    }
  },
  // A tokenizer.json whose pre-tokenizer Sequence nests 100 000 deep.
  // A header of a million (empty) tensors: parsed in linear time by the core,
  // then refused because none of them is a GPT-2 parameter.
  'million-entry-header': async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ws-hostile-'));
    cpSync(gpt2, dir, { recursive: true });
    const entries = [];
    for (let i = 0; i < 1000000; ++i) entries.push(`"t${i}":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`);
    const header = Buffer.from(`{${entries.join(',')}}`);
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(header.length));
    writeFileSync(path.join(dir, 'model.safetensors'), Buffer.concat([prefix, header]));
    return loadAndGenerate(dir);
  },
  'deep-tokenizer': async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ws-hostile-'));
    cpSync(gpt2, dir, { recursive: true });
    const tokenizer = JSON.parse(readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'));
    const depth = 100000;
    tokenizer.pre_tokenizer = '@DEEP@';
    const deep = '{"type":"Sequence","pretokenizers":['.repeat(depth) + ']}'.repeat(depth);
    writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tokenizer).replace('"@DEEP@"', deep));
    // The core refuses the nesting (depth limit): a tokenizer it cannot read
    // only costs text, so the model loads and the text prompt is the error.
    const model = await ws.loadModel(dir);
    try {
      return model.encode('Hello world');
    } finally {
      model.dispose();
    }
  },
};

const run = cases[caseName];
if (!run) {
  console.error(`no case ${caseName}`);
  process.exit(2);
}
const started = performance.now();
const outcome = { case: caseName };
try {
  const value = await run();
  outcome.resolved = true;
  outcome.value = value;
} catch (error) {
  outcome.resolved = false;
  outcome.syncThrow = Boolean(error?.syncThrow);
  const e = error?.syncThrow && error.original ? error.original : error;
  outcome.name = e?.name;
  outcome.kind = e?.kind;
  outcome.status = e?.status;
  outcome.message = String(e?.message ?? e);
  outcome.weightstreamError = e instanceof ws.WeightstreamError;
  for (const cls of ['UsageError', 'HttpError', 'FormatError', 'OutOfBudgetError', 'UnsupportedError', 'CancelledError',
    'WasmTrapError']) {
    if (ws[cls] && e instanceof ws[cls]) outcome.class = cls;
  }
}
outcome.ms = performance.now() - started;
// Afterwards, in the same process: a valid model loads and generates.
try {
  outcome.after = await loadAndGenerate(gpt2);
} catch (error) {
  outcome.after = { error: `${error?.name} ${error?.kind}: ${error?.message}` };
}
outcome.expectedIds = ref.greedy;
outcome.maxRssBytes = process.resourceUsage().maxRSS * 1024;
console.log('RESULT ' + JSON.stringify(outcome));
process.exit(0);  // sockets a hostile server left open must not keep the process alive
