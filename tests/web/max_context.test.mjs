// loadModel(location, { maxContext }) is the native CLI's --max-context: the
// same greedy ids while the context lasts (generation stops where the KV cache
// is full), the same error kind and message for a prompt that does not fit,
// and the same range of accepted values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { cli, fixtures, generateAll, nativeGenerate, reference, weightstream } from './helpers.mjs';

// The native CLI's failure on stderr ("weightstream: <Kind>: <message>") and exit status.
function nativeFailure(dir, prompt, extra) {
  const run = spawnSync(cli, ['generate', dir, '--prompt-ids', prompt.join(','), '--json', '--threads', '1', ...extra],
    { encoding: 'utf8' });
  // (after any "weightstream: warning: ..." lines: gpt2's fixture has no BOS/EOS naming)
  const match = /^weightstream: (?!warning:)(\w+): (.*)$/m.exec(run.stderr);
  assert.ok(match, `the CLI names an error kind: ${run.stderr}`);
  return { status: run.status, kind: match[1], message: match[2] };
}

test('maxContext: native --max-context ids within the context, its error beyond it', async (t) => {
  const { loadModel } = await weightstream();
  for (const name of ['gpt2', 'llama_gqa']) {
    await t.test(name, async () => {
      const dir = path.join(fixtures, name);
      const prompt = reference(name).prompt;
      assert.ok(Array.isArray(prompt) && prompt.length >= 2, 'the fixture prompt is token ids');
      const maxContext = prompt.length + 3;
      const model = await loadModel(dir, { maxContext });
      try {
        // 16 new tokens asked, the context holds fewer: both stop at the same id.
        const native = nativeGenerate(dir, prompt, 16, ['--max-context', String(maxContext)]);
        const { stats } = await generateAll(model.generate(prompt, { maxNewTokens: 16 }));
        assert.deepEqual(stats.ids, native.ids);
        assert.ok(stats.ids.length > 0 && stats.ids.length < 16, `stopped by the context (${stats.ids.length} ids)`);
        // The same ids the unlimited model starts with.
        const unlimited = nativeGenerate(dir, prompt, 16);
        assert.deepEqual(stats.ids, unlimited.ids.slice(0, stats.ids.length));

        // A prompt longer than the context: native exits 1 (run time, not the
        // command line) with InvalidArgument; the web generator fails with the same kind and message.
        const long = [...prompt, ...prompt];
        const failure = nativeFailure(dir, long, ['--max-new-tokens', '4', '--max-context', String(maxContext)]);
        assert.equal(failure.status, 1);
        assert.equal(failure.kind, 'InvalidArgument');
        await assert.rejects(generateAll(model.generate(long, { maxNewTokens: 4 })), (error) => {
          assert.equal(error.kind, failure.kind);
          assert.ok(error.message.includes(failure.message), `${error.message} vs ${failure.message}`);
          return true;
        });
      } finally {
        model.dispose();
      }
    });
  }
});

test('maxContext: the values --max-context accepts (0 to 2^24), others are usage errors', async () => {
  const { loadModel } = await weightstream();
  const dir = path.join(fixtures, 'gpt2');
  for (const bad of [-1, 1.5, 2 ** 24 + 1, '8', Number.NaN]) {
    await assert.rejects(loadModel(dir, { maxContext: bad }), { name: 'UsageError', kind: 'InvalidArgument' });
  }
  assert.equal(spawnSync(cli, ['generate', dir, '--prompt-ids', '1', '--max-context', String(2 ** 24 + 1)]).status, 2);
  // 0 (the default) is the model's maximum: the same ids as without the option.
  const ref = reference('gpt2');
  const model = await loadModel(dir, { maxContext: 0 });
  try {
    const { stats } = await generateAll(model.generate(ref.prompt, { maxNewTokens: ref.greedy.length }));
    assert.deepEqual(stats.ids, ref.greedy);
  } finally {
    model.dispose();
  }
});
