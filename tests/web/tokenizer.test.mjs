// The tokenizer in wasm: the same parity tests as native (tests/tokenizer:
// the 8 real tokenizer.json families and every component variant against
// Python tokenizers, typed errors, the fast splitters against Oniguruma), built
// with emscripten (web_tokenizer_tests) and run under node. The fixtures come
// from the native build's ctest step (fixtures.tokenizer, fixtures.tokenizer_families).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { nativeBuild, requirePresent, skipUnlessRequired, webBuild } from './helpers.mjs';

const binary = path.join(webBuild, 'web_tokenizer_tests.js');
const familyFixture = path.join(nativeBuild, 'fixtures/tokenizer/family_qwen3/expected.json');
const missing = (!existsSync(binary) && 'web_tokenizer_tests.js not built') ||
  (!existsSync(familyFixture) && `${familyFixture} missing (run ctest -R tokenizer in the native build)`);

test('wasm tokenizer equals Python tokenizers on the parity fixtures', { skip: skipUnlessRequired(missing) }, () => {
  requirePresent(missing);
  // Node's global fetch makes the 3.1.6 glue try to fetch() its wasm by path.
  // The synthetic variants' streaming, random-bytes and vocabulary tests are
  // left to the native run (they test no wasm-specific code and cost minutes
  // here); the families run every test, the synthetic ones encode and decode.
  const filter = '--gtest_filter=-Tokenizers/Parity.StreamDecode*:Tokenizers/Parity.ArbitraryBytes*:' +
    'Tokenizers/Parity.VocabularyLookups*';
  const run = spawnSync(process.execPath, ['--no-experimental-fetch', '--max-old-space-size=4096', binary, filter],
    { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(run.status, 0, run.stdout.slice(-20000) + run.stderr);
  assert.match(run.stdout, /\[  PASSED  \] \d+ tests/);
  assert.doesNotMatch(run.stdout, /FAILED/);
  assert.doesNotMatch(run.stdout, /\[  SKIPPED \]/);
  assert.match(run.stdout, /Families\/Parity\.EncodeMatchesReference\/family_gemma3/);
});
