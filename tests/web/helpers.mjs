// Shared set-up of the node tests of the web build: where the built package,
// the model fixtures (written by transformers, tests/model/make_model_fixtures.py)
// and the native CLI are, a range server, and the native CLI's greedy ids.
import { spawn, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const webBuild = process.env.WS_WEB_BUILD_DIR || path.join(root, 'build/web');
export const nativeBuild = process.env.WS_NATIVE_BUILD_DIR || path.join(root, 'build/native');
export const fixtures = process.env.WS_MODEL_FIXTURES || path.join(nativeBuild, 'fixtures/models');
export const cli = process.env.WS_CLI || path.join(nativeBuild, 'weightstream');
export const smollm2Gguf = process.env.WS_SMOLLM2_GGUF || path.join(root, 'build/models/SmolLM2-135M-Instruct.Q4_1.gguf');
export const python = existsSync(path.join(root, '.venv/bin/python')) ? path.join(root, '.venv/bin/python') : 'python3';

// WS_REQUIRE_ALL=1 (.ci/run): CI provides every dependency (the SmolLM2 model,
// Chromium, vite), so a missing one fails the test instead of skipping it.
export const requireAll = process.env.WS_REQUIRE_ALL === '1';
// The `skip` option for a test whose dependency is missing for `reason`
// (false when present): the reason, or false under WS_REQUIRE_ALL=1, where the
// test then starts with requirePresent(reason) and fails.
export function skipUnlessRequired(reason) {
  return reason && !requireAll ? reason : false;
}
// Throws under WS_REQUIRE_ALL=1 when `reason` says a dependency is missing.
export function requirePresent(reason) {
  if (reason && requireAll) throw new Error(`WS_REQUIRE_ALL=1 and ${reason}`);
}

export async function weightstream() {
  return import(path.join(webBuild, 'package/index.js'));
}

export function reference(name) {
  return JSON.parse(readFileSync(path.join(fixtures, name, 'reference.json'), 'utf8'));
}

// The native CLI's greedy continuation (ids and text) of `prompt` (ids or text).
export function nativeGenerate(model, prompt, maxNewTokens = 32, extra = []) {
  const args = ['generate', model, ...(Array.isArray(prompt) ? ['--prompt-ids', prompt.join(',')] : ['--prompt', prompt]),
    '--max-new-tokens', String(maxNewTokens), '--temperature', '0', '--json', '--threads', '1', ...extra];
  return JSON.parse(execFileSync(cli, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
}

// tests/tools/range_server.py on `dir` (127.0.0.1, Range support, faults).
export async function rangeServer(dir, flags = []) {
  const child = spawn(python, [path.join(root, 'tests/tools/range_server.py'), dir, ...flags], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`range_server exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, close: () => child.kill() };
}

export async function collect(iterator) {
  let text = '';
  for await (const piece of iterator) text += piece;
  return text;
}

// A generation run to its end: the text, its pieces and the statistics the
// generator returns (its final {done: true, value}).
export async function generateAll(iterator) {
  const pieces = [];
  let step;
  while (!(step = await iterator.next()).done) pieces.push(step.value);
  return { text: pieces.join(''), pieces, stats: step.value };
}

// demos/web/serve.mjs on a free port; `env` may set WS_DEMO_ROOT (another page).
export async function demoServer(env = {}) {
  const child = spawn(process.execPath, [path.join(root, 'demos/web/serve.mjs'), '--port', '0'],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, WS_WEB_BUILD_DIR: webBuild, ...env } });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /(http:\/\/[\d.]+:\d+)\//.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`serve.mjs exited with ${code}`)));
  });
  return { url, close: () => child.kill() };
}

// Debian's Chromium through npm playwright-core (web/'s dev dependency), or
// the reason it cannot run here.
export const chromiumPath = process.env.WS_CHROMIUM || '/usr/bin/chromium';
export function playwrightCore() {
  try {
    return createRequire(path.join(root, 'web/package.json'))('playwright-core');
  } catch {
    return null;
  }
}
export function chromiumSkipReason() {
  if (!existsSync(chromiumPath)) return 'no chromium (apt-get install chromium)';
  if (!playwrightCore()) return 'no playwright-core (npm ci in web/)';
  return false;
}
export function launchChromium() {
  return playwrightCore().chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

// Summed VmRSS of the Chromium processes this node process started (its
// descendants named chrom*), in bytes: what the user pays, which CDP's JS
// heap figure does not show (ArrayBuffer backing stores are not in it).
export function browserRss() {
  const children = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(entry));
    } catch {}
  }
  let total = 0;
  const stack = [...(children.get(process.pid) || [])];
  while (stack.length) {
    const p = stack.pop();
    try {
      if (readFileSync(`/proc/${p}/comm`, 'utf8').startsWith('chrom')) {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
        if (m) total += Number(m[1]) * 1024;
      }
    } catch {}
    stack.push(...(children.get(p) || []));
  }
  return total;
}
