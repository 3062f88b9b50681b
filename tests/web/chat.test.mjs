// Chat templates in the wasm build: the same Jinja engine as the native build
// renders SmolLM2's template (from its GGUF) to the text the native CLI
// renders (itself checked against transformers by ctest cli.tokenize_parity
// and against jinja2 by template.parity), and a {messages} prompt generates the
// native CLI's ids and stops at the template's end of turn.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cli, generateAll, requirePresent, skipUnlessRequired, smollm2Gguf, weightstream } from './helpers.mjs';

const noSmollm2 = !existsSync(smollm2Gguf) && 'SmolLM2 GGUF absent (.ci/setup.d/30-smollm2.sh)';

const CONVERSATIONS = [
  [{ role: 'user', content: 'What is the capital of France?' }],
  [{ role: 'system', content: 'Answer in one word.' }, { role: 'user', content: 'Capital of Italy?' }],
  [{ role: 'user', content: 'Hi!' }, { role: 'assistant', content: 'Hello. How can I help?' },
    { role: 'user', content: '  Tell me a joke about émojis 🤖.\n' }],
];

function nativeTokenize(messages) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ws-chat-'));
  try {
    const file = path.join(dir, 'messages.json');
    writeFileSync(file, JSON.stringify(messages));
    return JSON.parse(execFileSync(cli, ['tokenize', smollm2Gguf, '--messages', file, '--json'], { encoding: 'utf8' }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('SmolLM2 chat template: wasm renders what the native build renders', { skip: skipUnlessRequired(noSmollm2) }, async () => {
  requirePresent(noSmollm2);
  const { loadModel } = await weightstream();
  const model = await loadModel(smollm2Gguf);
  try {
    for (const messages of CONVERSATIONS) {
      const native = nativeTokenize(messages);
      assert.equal(model.applyChatTemplate(messages), native.text);
      assert.deepEqual(model.encode(model.applyChatTemplate(messages), { addSpecialTokens: false }), native.ids);
    }
    // Without the generation prompt the text ends with the last turn.
    assert.ok(model.applyChatTemplate(CONVERSATIONS[0], { addGenerationPrompt: false }).endsWith('<|im_end|>\n'));
    // A {messages} prompt: the native CLI's ids, stopping at <|im_end|>.
    const question = 'What is the capital of France? Answer in one sentence.';
    const native = JSON.parse(execFileSync(cli, ['generate', smollm2Gguf, '--chat', '--prompt', question,
      '--max-new-tokens', '40', '--json', '--threads', '1'], { encoding: 'utf8' }));
    assert.ok(native.stopped_at_eos, 'the native CLI answers within 40 tokens');
    const { text, stats } = await generateAll(model.generate({ messages: [{ role: 'user', content: question }] }, { maxNewTokens: 40 }));
    assert.deepEqual(stats.promptIds, native.prompt_ids);
    assert.deepEqual(stats.ids, native.ids);
    assert.equal(stats.stoppedAtEos, native.stopped_at_eos);
    assert.equal(text, native.text);
    // Bad messages are usage errors, before the template runs.
    assert.throws(() => model.applyChatTemplate([{ content: 'no role' }]), { kind: 'InvalidArgument' });
    assert.throws(() => model.applyChatTemplate('not a list'), { kind: 'InvalidArgument' });
  } finally {
    model.dispose();
  }
});
