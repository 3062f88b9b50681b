// Greedy output of the wasm build equals transformers' (reference.json) and
// the native CLI's, from local files and over HTTP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  fixtures, generateAll, nativeGenerate, rangeServer, reference, requirePresent, skipUnlessRequired, smollm2Gguf,
  weightstream,
} from './helpers.mjs';

const MODELS = ['gpt2', 'gpt2_f16', 'llama_gqa', 'llama_sharded', 'llama_bf16', 'llama_f16', 'llama3_rope', 'mistral', 'qwen2',
  // make_model_fixtures_current.py (transformers 5.23)
  'mistral_window', 'qwen2_window', 'qwen3', 'gemma', 'gemma2', 'gemma3', 'phi3', 'phi4_mini'];

test('greedy ids from files equal transformers and the native CLI', async (t) => {
  const { loadModel } = await weightstream();
  for (const name of MODELS) {
    await t.test(name, async () => {
      const dir = path.join(fixtures, name);
      const ref = reference(name);
      const model = await loadModel(dir);
      const { ids } = (await generateAll(model.generate(ref.prompt, { maxNewTokens: ref.greedy.length }))).stats;
      assert.deepEqual(ids, ref.greedy, 'transformers');
      assert.deepEqual(ids, nativeGenerate(dir, ref.prompt, ref.greedy.length).ids, 'native CLI');
      assert.equal(model.memory().boundBytes, model.info.bytesToBind);
      model.dispose();
    });
  }
});

test('over HTTP (directory URL with and without a trailing slash, sharded) the same ids', async () => {
  const { loadModel } = await weightstream();
  const server = await rangeServer(fixtures);
  try {
    for (const [name, suffix] of [['gpt2', ''], ['llama_sharded', '/'], ['llama_bf16', '']]) {
      const ref = reference(name);
      const progress = [];
      const model = await loadModel(`${server.url}/${name}${suffix}`, { onProgress: (p) => progress.push(p) });
      const { stats } = await generateAll(model.generate(ref.prompt, { maxNewTokens: ref.greedy.length }));
      assert.deepEqual(stats.ids, ref.greedy, name);
      const last = progress.at(-1);
      assert.equal(last.loaded, last.total);
      assert.equal(last.total, model.info.bytesToRead);
      model.dispose();
    }
  } finally {
    server.close();
  }
});

test('text prompt: tokens, ids and text equal the native CLI', async () => {
  const { loadModel } = await weightstream();
  const dir = path.join(fixtures, 'gpt2');
  const prompt = 'Hello world, the stream of weights';
  const native = nativeGenerate(dir, prompt, 16);
  const model = await loadModel(dir);
  const { text, stats } = await generateAll(model.generate(prompt, { maxNewTokens: 16 }));
  assert.deepEqual(stats.promptIds, native.prompt_ids);
  assert.deepEqual(stats.ids, native.ids);
  assert.equal(text, native.text);
  assert.equal(model.decode(native.ids), native.text);
  model.dispose();
});

test('sampling is deterministic for a seed and matches the native CLI', async () => {
  const { loadModel } = await weightstream();
  const dir = path.join(fixtures, 'llama_gqa');
  const ref = reference('llama_gqa');
  const model = await loadModel(dir);
  const options = { maxNewTokens: 16, temperature: 0.8, topK: 40, topP: 0.9, seed: 7 };
  const { stats } = await generateAll(model.generate(ref.prompt, options));
  const native = nativeGenerate(dir, ref.prompt, 16, ['--temperature', '0.8', '--top-k', '40', '--top-p', '0.9', '--seed', '7']);
  assert.deepEqual(stats.ids, native.ids);
  model.dispose();
});

const smolDir = path.join(path.dirname(smollm2Gguf), 'SmolLM2-135M-Instruct-bf16');
const noSmollm2 = !existsSync(smollm2Gguf) && 'SmolLM2 GGUF absent (.ci/setup.d/30-smollm2.sh)';
test('SmolLM2 (real weights): GGUF over HTTP and its bf16 conversion give the native CLI ids',
  { skip: skipUnlessRequired(noSmollm2) }, async () => {
    requirePresent(noSmollm2);
    const { loadModel } = await weightstream();
    const prompt = 'The capital of France is';
    const native = nativeGenerate(smollm2Gguf, prompt, 12);
    const server = await rangeServer(path.dirname(smollm2Gguf));
    try {
      const model = await loadModel(`${server.url}/${path.basename(smollm2Gguf)}`);
      const { text, stats } = await generateAll(model.generate(prompt, { maxNewTokens: 12 }));
      assert.deepEqual(stats.ids, native.ids);
      assert.equal(text, native.text);
      model.dispose();
      // .ci/run converts it before the node tests.
      const noBf16 = !existsSync(path.join(smolDir, 'model.safetensors')) && `no ${smolDir}/model.safetensors`;
      requirePresent(noBf16);
      if (!noBf16) {
        const bf16 = await loadModel(`${server.url}/${path.basename(smolDir)}`);
        const { stats: bf16Stats } = await generateAll(bf16.generate(prompt, { maxNewTokens: 12 }));
        assert.deepEqual(bf16Stats.ids, nativeGenerate(smolDir, prompt, 12).ids);
        bf16.dispose();
      }
    } finally {
      server.close();
    }
  });

// An end-of-turn id ends the stream and adds no text (the shared Generator,
// as native): a ChatML prompt the model answers and closes with <|im_end|>.
test('SmolLM2: the EOS id ends generation and its text is not streamed, as native',
  { skip: skipUnlessRequired(noSmollm2) }, async () => {
    requirePresent(noSmollm2);
    const { loadModel } = await weightstream();
    const prompt = '<|im_start|>user\nWhat is the capital of France? Answer in one sentence.<|im_end|>\n<|im_start|>assistant\n';
    const native = nativeGenerate(smollm2Gguf, prompt, 48);
    const model = await loadModel(smollm2Gguf);
    try {
      const { pieces, stats } = await generateAll(model.generate(prompt, { maxNewTokens: 48 }));
      assert.equal(stats.stoppedAtEos, true, 'the answer should end with <|im_end|> within 48 tokens');
      assert.deepEqual(stats.ids, native.ids);
      assert.equal(pieces.join(''), native.text);
      assert.ok(!pieces.join('').includes('<|im_end|>'), pieces.join(''));
    } finally {
      model.dispose();
    }
  });

// Quantize while the fetch streams: the bf16 conversion held as q4_0 / q8_0
// blocks binds exactly the native CLI's bytes and generates its ids (the
// WASM SIMD128 block kernels against the native AVX-512/AVX2 ones).
test('SmolLM2 bf16 quantized while streaming (dtype q4_0, q8_0) equals the native CLI',
  { skip: skipUnlessRequired(noSmollm2) }, async () => {
    requirePresent(noSmollm2);
    const noBf16 = !existsSync(path.join(smolDir, 'model.safetensors')) && `no ${smolDir}/model.safetensors`;
    requirePresent(noBf16);
    const { loadModel } = await weightstream();
    const prompt = 'The capital of France is';
    const server = await rangeServer(path.dirname(smolDir));
    try {
      for (const dtype of ['q4_0', 'q8_0']) {
        const native = nativeGenerate(smolDir, prompt, 8, ['--dtype', dtype]);
        const model = await loadModel(`${server.url}/${path.basename(smolDir)}`, { dtype });
        const { stats } = await generateAll(model.generate(prompt, { maxNewTokens: 8 }));
        assert.deepEqual(stats.ids, native.ids, dtype);
        assert.equal(model.memory().boundBytes, native.load.bound_bytes, dtype);
        model.dispose();
      }
    } finally {
      server.close();
    }
  });

// The trained fixtures (tests/model/make_trained_fixtures.py: peaked
// next-token distributions, as a real model's) quantized to Q8_0 while they
// load: the WASM SIMD128 block kernels give transformers' f32 greedy ids.
test('trained fixtures held as q8_0 give transformers\' f32 greedy ids', async (t) => {
  const { loadModel } = await weightstream();
  for (const name of ['trained_gpt2', 'trained_llama_gqa', 'trained_qwen2', 'trained_mistral_window']) {
    await t.test(name, async () => {
      const ref = reference(name);
      const model = await loadModel(path.join(fixtures, name), { dtype: 'q8_0' });
      try {
        const { stats } = await generateAll(model.generate(ref.prompt, { maxNewTokens: ref.greedy.length }));
        assert.equal(ref.greedy.length, 32);
        assert.deepEqual(stats.ids, ref.greedy);
      } finally {
        model.dispose();
      }
    });
  }
});
