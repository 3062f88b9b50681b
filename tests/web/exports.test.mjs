// The raw wasm exports (web/src/exports.cpp) called as a hostile or buggy
// caller would: handles never made or destroyed already, null and
// out-of-heap pointers, lengths past the heap, negative, NaN and huge counts.
// Every call must come back with its error value and a typed error
// (ws_error_kind), never trap (a trap would throw a WebAssembly.RuntimeError
// here), and the module must still load and generate correctly afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { generateAll, fixtures, reference, weightstream } from './helpers.mjs';

const encoder = new TextEncoder();

function lastKind(m) {
  return m.UTF8ToString(m._ws_error_kind());
}

// Calls `fn` and checks the error value and kind it leaves.
function expectError(m, label, fn, errorValue = -1, kind = 'InvalidArgument') {
  let result;
  assert.doesNotThrow(() => { result = fn(); }, `${label} trapped`);
  assert.equal(result, errorValue, `${label} returned ${result}`);
  assert.equal(lastKind(m), kind, `${label}: ${m.UTF8ToString(m._ws_error_message())}`);
}

// The length field of ws_next_target's answer (-1 on error).
function targetLength(core, handle, shard) {
  const p = core.m._ws_next_target(handle, shard) >> 3;
  return new Float64Array(core.heap().buffer)[p + 2];
}

function cString(core, text) {
  const bytes = encoder.encode(`${text}\0`);
  const ptr = core.m._malloc(bytes.length);
  core.heap().set(bytes, ptr);
  return ptr;
}

test('raw exports refuse hostile arguments with typed errors', async () => {
  const ws = await weightstream();
  const core = await ws.loadCore();
  const m = core.m;
  const heapBytes = () => core.heap().length;
  const name = cString(core, 'config.json');
  const dtype = cString(core, 'f32');
  const buffer = m._malloc(64);

  // Handles: never made, destroyed already, negative, huge.
  const destroyed = m._ws_session_create();
  assert.ok(destroyed > 0);
  assert.equal(m._ws_session_destroy(destroyed), 0);
  for (const handle of [0, -1, 987654321, destroyed]) {
    const h = `handle ${handle}`;
    expectError(m, `${h}: destroy`, () => m._ws_session_destroy(handle));
    expectError(m, `${h}: open`, () => m._ws_open(handle, name, name));
    expectError(m, `${h}: open_wanted`, () => m._ws_open_wanted(handle));
    expectError(m, `${h}: open_answer`, () => m._ws_open_answer(handle, name, name, buffer, 4, 4));
    expectError(m, `${h}: open_absent`, () => m._ws_open_absent(handle, name, name));
    expectError(m, `${h}: get_file`, () => m._ws_get_file(handle, name));
    expectError(m, `${h}: prepare`, () => m._ws_prepare(handle, dtype, 1, 0));
    expectError(m, `${h}: info`, () => m._ws_info(handle));
    expectError(m, `${h}: next_target`, () => targetLength(core, handle, 0));
    expectError(m, `${h}: scratch`, () => m._ws_scratch(handle, 16), 0);
    expectError(m, `${h}: commit`, () => m._ws_commit(handle, 0, 1));
    expectError(m, `${h}: bytes_done`, () => m._ws_bytes_done(handle));
    expectError(m, `${h}: finish_load`, () => m._ws_finish_load(handle));
    expectError(m, `${h}: encode`, () => m._ws_encode(handle, buffer, 4, 1));
    expectError(m, `${h}: decode`, () => m._ws_decode(handle, buffer, 1));
    expectError(m, `${h}: generate_start`, () => m._ws_generate_start(handle, buffer, 1, 4, 0, 0, 1, 1, 0));
    expectError(m, `${h}: generate_step`, () => m._ws_generate_step(handle), -2);
    expectError(m, `${h}: generate_stats`, () => m._ws_generate_stats(handle));
    expectError(m, `${h}: chat_prompt`, () => m._ws_chat_prompt(handle, buffer, 2));
  }

  // A live session, hostile pointers, lengths and numbers.
  const s = m._ws_session_create();
  const pastHeap = heapBytes() + 4096;
  const empty = cString(core, '');
  const single = cString(core, 'model.safetensors');
  expectError(m, 'open_answer before open', () => m._ws_open_answer(s, name, name, buffer, 4, 4));
  expectError(m, 'open_absent before open', () => m._ws_open_absent(s, name, name));
  assert.equal(m._ws_open_wanted(s), 0, 'nothing is wanted before open');
  expectError(m, 'open null location', () => m._ws_open(s, 0, empty));
  expectError(m, 'open weights file past the heap', () => m._ws_open(s, name, pastHeap));
  assert.equal(m._ws_open(s, name, empty), 0, 'open a directory');
  assert.ok(m._ws_open_wanted(s) > 0, 'a directory opener wants its side files and model.safetensors');
  expectError(m, 'open_answer for a file not asked for', () => m._ws_open_answer(s, dtype, name, buffer, 4, 4));
  expectError(m, 'open_absent for a file not asked for', () => m._ws_open_absent(s, dtype, name));
  expectError(m, 'open_answer null file name', () => m._ws_open_answer(s, 0, name, buffer, 4, 4));
  expectError(m, 'open_answer null location', () => m._ws_open_answer(s, name, 0, buffer, 4, 4));
  expectError(m, 'open_answer null bytes with a length', () => m._ws_open_answer(s, name, name, 0, 5, 5));
  expectError(m, 'open_answer bytes running past the heap', () => m._ws_open_answer(s, name, name, heapBytes() - 8, 64, 64));
  for (const size of [NaN, -1, Infinity, 1.5, 2 ** 60]) {
    expectError(m, `open_answer length ${size}`, () => m._ws_open_answer(s, name, name, buffer, size, 4));
    expectError(m, `open_answer file size ${size}`, () => m._ws_open_answer(s, name, name, buffer, 4, size));
    expectError(m, `scratch ${size}`, () => m._ws_scratch(s, size), 0);
  }
  // An answer of the wrong length ends the open (a failed opener wants nothing more).
  expectError(m, 'open_answer shorter than asked', () => m._ws_open_answer(s, single, single, buffer, 4, 100));
  assert.equal(m._ws_open_wanted(s), 0);
  expectError(m, 'get_file null name', () => m._ws_get_file(s, 0));
  m._free(empty);
  m._free(single);
  expectError(m, 'prepare null dtype', () => m._ws_prepare(s, 0, 1, 0));
  expectError(m, 'prepare without shards', () => m._ws_prepare(s, dtype, -7, 0));
  expectError(m, 'next_target with nothing loading', () => targetLength(core, s, -1));
  expectError(m, 'commit with nothing loading', () => m._ws_commit(s, -1, NaN));
  expectError(m, 'encode null text with a length', () => m._ws_encode(s, 0, 10, 1));
  expectError(m, 'encode length -1', () => m._ws_encode(s, buffer, -1, 1));
  expectError(m, 'decode null ids', () => m._ws_decode(s, 0, 5));
  expectError(m, 'decode negative count', () => m._ws_decode(s, buffer, -1));
  expectError(m, 'decode 2^30 ids', () => m._ws_decode(s, buffer, 2 ** 30));
  expectError(m, 'decode misaligned ids', () => m._ws_decode(s, buffer + 1, 1));
  expectError(m, 'generate_start null ids', () => m._ws_generate_start(s, 0, 3, 4, 0, 0, 1, 1, 0));
  expectError(m, 'generate_start negative count', () => m._ws_generate_start(s, buffer, -1, 4, 0, 0, 1, 1, 0));
  for (const seed of [NaN, -1, 2 ** 64, 0.5]) {
    expectError(m, `generate_start seed ${seed}`, () => m._ws_generate_start(s, buffer, 1, 4, 0, 0, 1, 1, seed));
  }
  assert.equal(m._ws_session_destroy(s), 0);
  expectError(m, 'destroy twice', () => m._ws_session_destroy(s));
  m._free(name);
  m._free(dtype);
  m._free(buffer);
});

// A loaded model's session: shard indices past the model, header calls after
// prepare, ids outside the vocabulary. Then it still generates the reference.
test('raw exports on a loaded model, then it still generates transformers\' ids', async () => {
  const ws = await weightstream();
  const model = await ws.loadModel(path.join(fixtures, 'gpt2'));
  const { core, session } = model;
  const m = core.m;
  const name = cString(core, 'model.safetensors');
  expectError(m, 'open after prepare', () => m._ws_open(session, name, name));
  expectError(m, 'open_answer after prepare', () => m._ws_open_answer(session, name, name, name, 4, 4));
  expectError(m, 'prepare twice', () => m._ws_prepare(session, name, 1, 0));
  for (const shard of [-1, 1, 2 ** 31 - 1]) {
    expectError(m, `next_target shard ${shard}`, () => targetLength(core, session, shard));
    expectError(m, `commit shard ${shard}`, () => m._ws_commit(session, shard, 1));
  }
  const ids = m._malloc(8);
  new Int32Array(core.heap().buffer).set([-5, 2 ** 31 - 1], ids >> 2);
  assert.equal(m._ws_decode(session, ids, 2), 0, 'unknown ids decode to nothing');
  expectError(m, 'generate_start with ids outside the vocabulary',
    () => { m._ws_generate_start(session, ids, 2, 1, 0, 0, 1, 1, 0); return m._ws_generate_step(session); }, -2);
  m._free(ids);
  m._free(name);

  const ref = reference('gpt2');
  const { stats } = await generateAll(model.generate(ref.prompt, { maxNewTokens: ref.greedy.length }));
  assert.deepEqual(stats.ids, ref.greedy);
  model.dispose();
});
