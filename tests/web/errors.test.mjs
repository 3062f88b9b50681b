// Failures give typed errors: malformed files, missing files, HTTP faults,
// dropped connections (resumed), cancellation, models too big for wasm32.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, openSync, readFileSync, rmSync, truncateSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { collect, fixtures, generateAll, rangeServer, reference, root, weightstream } from './helpers.mjs';

function copyFixture(name) {
  const dir = mkdtempSync(path.join(tmpdir(), 'ws-web-'));
  cpSync(path.join(fixtures, name), dir, { recursive: true });
  return dir;
}

async function rejectsWith(promise, kind, cls, pattern) {
  await assert.rejects(promise, (error) => {
    assert.equal(error.kind, kind, `${error.kind}: ${error.message}`);
    if (cls) assert.ok(error instanceof cls, `${error.name} is not ${cls.name}`);
    if (pattern) assert.match(error.message, pattern);
    return true;
  });
}

test('malformed and missing files', async (t) => {
  const ws = await weightstream();
  await t.test('truncated shard', async () => {
    const dir = copyFixture('gpt2');
    const file = path.join(dir, 'model.safetensors');
    truncateSync(file, readFileSync(file).length - 100);
    await rejectsWith(ws.loadModel(dir), 'Truncated', ws.FormatError, /model\.safetensors/);
    rmSync(dir, { recursive: true });
  });
  await t.test('garbage header', async () => {
    const dir = copyFixture('gpt2');
    const fd = openSync(path.join(dir, 'model.safetensors'), 'r+');
    writeSync(fd, Buffer.from('{"a":'), 0, 5, 8);
    closeSync(fd);
    await rejectsWith(ws.loadModel(dir), 'InvalidHeader', ws.FormatError);
    rmSync(dir, { recursive: true });
  });
  await t.test('header length past the end of the file', async () => {
    const dir = copyFixture('gpt2');
    const fd = openSync(path.join(dir, 'model.safetensors'), 'r+');
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(600000n);  // the file has about 504 kB
    writeSync(fd, prefix, 0, 8, 0);
    closeSync(fd);
    await assert.rejects(ws.loadModel(dir), (e) => ['InvalidHeader', 'Truncated'].includes(e.kind) && e instanceof ws.FormatError);
    rmSync(dir, { recursive: true });
  });
  await t.test('unknown model type', async () => {
    const dir = copyFixture('gpt2');
    const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
    config.model_type = 'bert';
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
    await rejectsWith(ws.loadModel(dir), 'Unsupported', ws.UnsupportedError, /bert/);
    rmSync(dir, { recursive: true });
  });
  await t.test('missing tensor', async () => {
    const dir = copyFixture('gpt2');
    const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
    config.n_layer += 1;
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
    await rejectsWith(ws.loadModel(dir), 'MissingTensor', ws.FormatError);
    rmSync(dir, { recursive: true });
  });
  await t.test('no config.json / no such directory', async () => {
    const dir = copyFixture('gpt2');
    rmSync(path.join(dir, 'config.json'));
    await rejectsWith(ws.loadModel(dir), 'NotFound', ws.HttpError);
    await rejectsWith(ws.loadModel(path.join(dir, 'nope')), 'NotFound', ws.HttpError);
    rmSync(dir, { recursive: true });
  });
  await t.test('index naming a shard that does not exist', async () => {
    const dir = copyFixture('llama_sharded');
    const index = JSON.parse(readFileSync(path.join(dir, 'model.safetensors.index.json'), 'utf8'));
    const first = Object.keys(index.weight_map)[0];
    index.weight_map[first] = 'model-99999-of-00012.safetensors';
    writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify(index));
    await assert.rejects(ws.loadModel(dir), (e) => ['NotFound', 'InvalidIndex'].includes(e.kind));
    rmSync(dir, { recursive: true });
  });
});

test('too big for wasm32: OutOfBudget before any weight byte moves', async () => {
  const ws = await weightstream();
  const dir = copyFixture('gpt2');
  // A sparse 4.4 GB safetensors file whose header declares one huge tensor.
  const bytes = 1100000000 * 4;
  const header = Buffer.from(JSON.stringify({ 'transformer.wte.weight': { dtype: 'F32', shape: [1100000000], data_offsets: [0, bytes] } }));
  const file = path.join(dir, 'model.safetensors');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(header.length));
  writeFileSync(file, Buffer.concat([prefix, header]));
  truncateSync(file, 8 + header.length + bytes);
  // Admission reads the sizes from config.json, before the header is matched
  // against the model: a GPT-2 of 16 layers of width 8192 needs ~51 GB as f32.
  const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, n_embd: 8192, n_layer: 16, n_head: 64 }));
  await rejectsWith(ws.loadModel(dir), 'OutOfBudget', ws.OutOfBudgetError, /4 GiB/);
  rmSync(dir, { recursive: true });
});

test('HTTP: 404, 5xx retried, dropped connections resumed', async (t) => {
  const ws = await weightstream();
  const ref = reference('llama_sharded');
  await t.test('404', async () => {
    const server = await rangeServer(fixtures);
    try {
      await rejectsWith(ws.loadModel(`${server.url}/no_such_model/`), 'NotFound', ws.HttpError);
    } finally {
      server.close();
    }
  });
  await t.test('503 on the first request of every file', async () => {
    const server = await rangeServer(fixtures, ['--fail-first', '1']);
    try {
      const model = await ws.loadModel(`${server.url}/llama_sharded`, { retries: 3 });
      const { stats } = await generateAll(model.generate(ref.prompt, { maxNewTokens: 8 }));
      assert.deepEqual(stats.ids, ref.greedy.slice(0, 8));
      model.dispose();
    } finally {
      server.close();
    }
  });
  await t.test('503 forever: HttpError with the status', async () => {
    const server = await rangeServer(fixtures, ['--fail-first', '100']);
    try {
      await assert.rejects(ws.loadModel(`${server.url}/gpt2`, { retries: 1 }),
        (e) => e.kind === 'Http' && e.status === 503 && e instanceof ws.HttpError);
    } finally {
      server.close();
    }
  });
  for (const [what, dropOn] of [['header', '0'], ['body', '1']]) {
    await t.test(`connection dropped mid-${what}`, async () => {
      // GET number `dropOn` of each file (0: the header prefix, 1: the
      // weights) stops after 3000 bytes and closes the connection.
      const server = await rangeServer(fixtures, ['--drop-after', '3000', '--drop-on', dropOn]);
      try {
        const gpt2 = reference('gpt2');
        const model = await ws.loadModel(`${server.url}/gpt2/`);
        const { stats } = await generateAll(model.generate(gpt2.prompt, { maxNewTokens: gpt2.greedy.length }));
        assert.deepEqual(stats.ids, gpt2.greedy);
        model.dispose();
      } finally {
        server.close();
      }
    });
  }
  await t.test('server ignoring Range', async () => {
    const server = await rangeServer(fixtures, ['--ignore-range']);
    try {
      const model = await ws.loadModel(`${server.url}/llama_sharded`);
      const { stats } = await generateAll(model.generate(ref.prompt, { maxNewTokens: 8 }));
      assert.deepEqual(stats.ids, ref.greedy.slice(0, 8));
      model.dispose();
    } finally {
      server.close();
    }
  });
});

test('abort: loading and generating', async (t) => {
  const ws = await weightstream();
  await t.test('already aborted', async () => {
    await rejectsWith(ws.loadModel(path.join(fixtures, 'gpt2'), { signal: AbortSignal.abort() }), 'Cancelled', ws.CancelledError);
  });
  await t.test('during an HTTP load', async () => {
    const server = await rangeServer(fixtures);
    try {
      const controller = new AbortController();
      const load = ws.loadModel(`${server.url}/llama_sharded/`, {
        signal: controller.signal,
        onProgress: (p) => { if (p.loaded > 0) controller.abort(); },
      });
      await rejectsWith(load, 'Cancelled', ws.CancelledError);
    } finally {
      server.close();
    }
  });
  await t.test('during generation', async () => {
    const ref = reference('gpt2');
    const model = await ws.loadModel(path.join(fixtures, 'gpt2'));
    const controller = new AbortController();
    let tokens = 0;
    const onToken = () => { if (++tokens === 3) controller.abort(); };
    let cancelled = null;
    await rejectsWith(collect(model.generate(ref.prompt, { maxNewTokens: 32, signal: controller.signal, onToken }))
      .catch((error) => { cancelled = error; throw error; }), 'Cancelled', ws.CancelledError);
    assert.equal(cancelled.generation.ids.length, 3, 'the error carries what was generated before');
    // The model is still usable afterwards.
    const { stats } = await generateAll(model.generate(ref.prompt, { maxNewTokens: ref.greedy.length }));
    assert.deepEqual(stats.ids, ref.greedy);
    model.dispose();
    assert.throws(() => model.encode('x'), (e) => e.kind === 'InvalidArgument');
  });
});

// ERROR_KINDS lists every kind the core can return: ws::ErrorKind in
// src/core/result.h, read from the header itself (up to kLastErrorKind), in
// its order; and each name the wasm module spells (ws_error_kind) is one of them.
test('ERROR_KINDS is the C++ ErrorKind enum, in order, plus Internal', async () => {
  const { CORE_ERROR_KINDS, ERROR_KINDS, errorFromKind } = await weightstream();
  const header = readFileSync(path.join(root, 'src/core/result.h'), 'utf8');
  const body = /enum class ErrorKind\s*\{([^}]*)\}/.exec(header)[1];
  const cpp = body.split('\n').map((line) => line.replace(/\/\/.*$/, '').trim().replace(/,$/, '')).filter(Boolean);
  const last = /constexpr ErrorKind kLastErrorKind = ErrorKind::(\w+);/.exec(header)[1];
  assert.equal(cpp[cpp.length - 1], last, 'kLastErrorKind is the enum\'s last value');
  assert.ok(cpp.length >= 17, `parsed ${cpp.length} kinds from result.h`);
  assert.deepEqual([...CORE_ERROR_KINDS], cpp);
  assert.deepEqual([...ERROR_KINDS], [...cpp, 'Internal']);
  for (const kind of ERROR_KINDS) assert.equal(errorFromKind(kind, 'x').kind, kind);
  // index.d.ts's ErrorKind type names the same kinds.
  const dts = readFileSync(path.join(root, 'web/js/index.d.ts'), 'utf8');
  const union = /export type ErrorKind =([^;]*);/.exec(dts)[1];
  assert.deepEqual(union.match(/'(\w+)'/g).map((q) => q.slice(1, -1)), [...ERROR_KINDS]);
});
