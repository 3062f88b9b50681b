// The backend's kernel tests (tests/backend/kernels_test.cpp: every SIMD
// kernel against the scalar reference) built for wasm with SIMD128, under node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { requirePresent, skipUnlessRequired, webBuild } from './helpers.mjs';

const binary = path.join(webBuild, 'web_kernel_tests.js');

const missing = !existsSync(binary) && 'web_kernel_tests.js not built';

test('wasm SIMD128 kernels match the scalar reference', { skip: skipUnlessRequired(missing) }, () => {
  requirePresent(missing);
  // Node's global fetch makes the 3.1.6 glue try to fetch() its wasm by path.
  const run = spawnSync(process.execPath, ['--no-experimental-fetch', binary], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /\[  PASSED  \] \d+ tests/);
  assert.doesNotMatch(run.stdout, /FAILED/);
  assert.doesNotMatch(run.stdout, /\[  SKIPPED \]/);  // a comparison that did not run is not a pass
});
