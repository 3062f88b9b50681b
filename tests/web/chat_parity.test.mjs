// One chat (a system turn and a user turn) on every target: the native CLI
// (`tokenize --messages`, `generate --messages`, `generate --chat --system`),
// Node (the web package: {messages}, the messages array, {chat, system}) and
// headless Chromium (main thread and Web Worker) give the same prompt ids and
// the same greedy ids on SmolLM2, and no end-of-turn text is ever streamed.
// (The C++ API's side is tests/api/chat_api_test.cpp, against the same CLI.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  chromiumSkipReason, cli, demoServer, launchChromium, requirePresent, root, skipUnlessRequired, smollm2Gguf, weightstream,
} from './helpers.mjs';

const SYSTEM = 'Answer in one word.';
const USER = 'What is the capital of France?';
const MESSAGES = [{ role: 'system', content: SYSTEM }, { role: 'user', content: USER }];
// SmolLM2 answers this in 8 tokens, its end of turn included.
const MAX_NEW_TOKENS = 16;
// Text that must never reach a stream: the end-of-turn / EOS tokens' own text.
const END_TEXTS = ['<|im_end|>', '<|endoftext|>', '<|im_start|>'];

const servedGguf = path.join(root, 'build/models', path.basename(smollm2Gguf));
const noModel = !existsSync(smollm2Gguf) && 'SmolLM2 GGUF absent (.ci/setup.d/30-smollm2.sh)';
const noChromium = noModel || chromiumSkipReason() ||
  (!existsSync(servedGguf) && `${servedGguf} absent (the demo server serves build/models)`);

function cliJson(args) {
  return JSON.parse(execFileSync(cli, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
}

// The CLI's answers: tokenize, generate --messages, generate --chat --system,
// and the plain (streamed, not --json) output of the latter.
function nativeChat() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ws-chat-parity-'));
  try {
    const file = path.join(dir, 'messages.json');
    writeFileSync(file, JSON.stringify(MESSAGES));
    const common = ['--max-new-tokens', String(MAX_NEW_TOKENS), '--temperature', '0', '--threads', '1'];
    const chatArgs = ['generate', smollm2Gguf, '--chat', '--system', SYSTEM, '--prompt', USER, ...common];
    return {
      tokenized: cliJson(['tokenize', smollm2Gguf, '--messages', file, '--json']),
      messages: cliJson(['generate', smollm2Gguf, '--messages', file, ...common, '--json']),
      chat: cliJson([...chatArgs, '--json']),
      streamed: execFileSync(cli, chatArgs, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let native = null;
function nativeOnce() {
  native ??= nativeChat();
  return native;
}

function assertNoEndText(text, label) {
  for (const end of END_TEXTS) assert.ok(!text.includes(end), `${label}: "${end}" was streamed: ${JSON.stringify(text)}`);
}

// One target's answer against the CLI's.
function assertSameAsCli(label, got, cliRun) {
  assert.deepEqual(got.promptIds, cliRun.prompt_ids, `${label}: prompt ids`);
  assert.deepEqual(got.ids, cliRun.ids, `${label}: greedy ids`);
  assert.equal(got.stoppedAtEos, true, `${label}: stops at the end of turn`);
  assert.equal(got.text, cliRun.text, `${label}: text`);
  for (const piece of got.pieces) assertNoEndText(piece, `${label} piece`);
  assertNoEndText(got.text, label);
}

test('the CLI: tokenize, generate --messages and --chat --system agree and stream no end-of-turn text',
  { skip: skipUnlessRequired(noModel) }, () => {
    requirePresent(noModel);
    const { tokenized, messages, chat, streamed } = nativeOnce();
    assert.deepEqual(messages.prompt_ids, tokenized.ids);
    assert.deepEqual(chat.prompt_ids, tokenized.ids);
    assert.deepEqual(chat.ids, messages.ids);
    assert.equal(messages.stopped_at_eos, true, 'the answer ends within the token budget, at its end of turn');
    assert.ok(messages.ids.length < MAX_NEW_TOKENS);
    assert.equal(chat.text, messages.text);
    assertNoEndText(messages.text, 'generate --json text');
    assertNoEndText(streamed, 'generate stdout');
    assert.ok(streamed.includes(messages.text), `stdout ${JSON.stringify(streamed)}`);
  });

test('Node: {messages}, a messages array and {chat, system} give the CLI\'s prompt and greedy ids',
  { skip: skipUnlessRequired(noModel) }, async () => {
    requirePresent(noModel);
    const { tokenized, messages: cliRun } = nativeOnce();
    const { loadModel } = await weightstream();
    const model = await loadModel(smollm2Gguf);
    try {
      assert.equal(model.applyChatTemplate(MESSAGES), tokenized.text);
      const forms = [
        ['{messages}', { messages: MESSAGES }, {}],
        ['messages array', MESSAGES, {}],
        ['{chat, system}', USER, { chat: true, system: SYSTEM }],
        ['{system} alone', USER, { system: SYSTEM }],
      ];
      for (const [label, prompt, options] of forms) {
        const pieces = [];
        const iterator = model.generate(prompt, { maxNewTokens: MAX_NEW_TOKENS, ...options });
        let step;
        while (!(step = await iterator.next()).done) pieces.push(step.value);
        const stats = step.value;  // the generator's return value
        assertSameAsCli(`node ${label}`, { ...stats, pieces, text: pieces.join('') }, cliRun);
      }
    } finally {
      model.dispose();
    }
  });

test('headless Chromium, main thread and Web Worker: the CLI\'s prompt and greedy ids, no end-of-turn text',
  { skip: skipUnlessRequired(noChromium), timeout: 180000 }, async () => {
    requirePresent(noChromium);
    const { tokenized, messages: cliRun } = nativeOnce();
    const server = await demoServer();
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${server.url}/`);
      const results = await page.evaluate(async ({ url, messages, user, system, maxNewTokens }) => {
        const ws = await import('/pkg/index.js');
        const run = async (model, prompt, options) => {
          const pieces = [];
          const iterator = model.generate(prompt, { maxNewTokens, ...options });
          let step;
          while (!(step = await iterator.next()).done) pieces.push(step.value);
          return { ...step.value, pieces, text: pieces.join('') };
        };
        const out = {};
        const main = await ws.loadModel(url);
        out.mainTemplate = main.applyChatTemplate(messages);
        out.main = await run(main, { messages });
        out.mainChat = await run(main, user, { chat: true, system });
        main.dispose();
        const worker = await ws.loadModelInWorker(url);
        out.workerTemplate = await worker.applyChatTemplate(messages);
        out.workerEncoded = await worker.encode(out.workerTemplate, { addSpecialTokens: false });
        out.workerDecoded = await worker.decode(out.workerEncoded);
        out.worker = await run(worker, messages);
        out.workerChat = await run(worker, user, { chat: true, system });
        worker.dispose();
        return out;
      }, { url: `/models/${path.basename(smollm2Gguf)}`, messages: MESSAGES, user: USER, system: SYSTEM,
        maxNewTokens: MAX_NEW_TOKENS });
      assert.equal(results.mainTemplate, tokenized.text);
      assert.equal(results.workerTemplate, tokenized.text);
      assert.deepEqual(results.workerEncoded, tokenized.ids);
      assert.equal(results.workerDecoded, tokenized.text);
      for (const label of ['main', 'mainChat', 'worker', 'workerChat']) {
        assertSameAsCli(`chromium ${label}`, results[label], cliRun);
      }
    } finally {
      await browser.close();
      server.close();
    }
  });
