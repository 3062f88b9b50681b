#!/usr/bin/env node
// The weightstream browser demo: `node demos/web/serve.mjs [--port N] [--host H]`.
// A static server with HTTP Range support and the COOP/COEP headers that make
// the page cross-origin isolated (SharedArrayBuffer for threaded builds, and
// precise memory measurement). Serves:
//   /            demos/web (the page)
//   /pkg/        build/web/package (the npm package: cmake --build --preset web)
//   /models/     build/models (checkpoints; the default is SmolLM2-135M-Instruct)
//   /fixtures/   build/native/fixtures/models (the tests' tiny checkpoints)
import http from 'node:http';
import { createReadStream, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
};
const port = Number(option('port', process.env.PORT || 8080));
const host = option('host', '127.0.0.1');
const webBuild = process.env.WS_WEB_BUILD_DIR || path.join(root, 'build/web');

const mounts = [
  ['/pkg/', path.join(webBuild, 'package')],
  ['/models/', path.join(root, 'build/models')],
  ['/fixtures/', path.join(root, 'build/native/fixtures/models')],
  ['/', process.env.WS_DEMO_ROOT ? path.resolve(process.env.WS_DEMO_ROOT) : here],  // WS_DEMO_ROOT: another page (tests)
];

const types = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json; charset=utf-8', '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.txt': 'text/plain; charset=utf-8', '.ts': 'text/plain; charset=utf-8',
};

function defaultModel() {
  const bf16 = path.join(root, 'build/models/SmolLM2-135M-Instruct-bf16/model.safetensors');
  if (existsSync(bf16)) return '/models/SmolLM2-135M-Instruct-bf16/';
  if (existsSync(path.join(root, 'build/models/SmolLM2-135M-Instruct.Q4_1.gguf'))) return '/models/SmolLM2-135M-Instruct.Q4_1.gguf';
  return '/fixtures/gpt2/';
}

function resolve(urlPath) {
  for (const [prefix, dir] of mounts) {
    if (!urlPath.startsWith(prefix)) continue;
    const file = path.resolve(dir, '.' + path.posix.normalize('/' + urlPath.slice(prefix.length)));
    if (file !== dir && !file.startsWith(dir + path.sep)) return null;  // no escaping the mount
    return file;
  }
  return null;
}

function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

const server = http.createServer((req, res) => {
  // Cross-origin isolation for the whole site.
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed', { Allow: 'GET, HEAD' });
  let urlPath;
  try {
    urlPath = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  } catch {
    return send(res, 400, 'bad request');
  }
  if (urlPath === '/demo-config.json') {
    return send(res, 200, JSON.stringify({ defaultModel: defaultModel() }), { 'Content-Type': types['.json'], 'Cache-Control': 'no-store' });
  }
  let file = resolve(urlPath);
  if (file && existsSync(file) && statSync(file).isDirectory()) {
    if (!urlPath.endsWith('/')) return send(res, 301, '', { Location: urlPath + '/' });
    file = path.join(file, 'index.html');
  }
  if (!file || !existsSync(file) || !statSync(file).isFile()) return send(res, 404, 'not found');
  const size = statSync(file).size;
  const headers = {
    'Content-Type': types[path.extname(file)] || 'application/octet-stream',
    'Accept-Ranges': 'bytes',
    'Cache-Control': 'no-store',
  };
  let begin = 0;
  let end = size - 1;
  let status = 200;
  const range = req.headers.range;
  if (range) {
    const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
    if (!m || (m[1] === '' && m[2] === '')) return send(res, 416, '', { 'Content-Range': `bytes */${size}` });
    if (m[1] === '') {  // suffix range: the last N bytes
      begin = Math.max(0, size - Number(m[2]));
    } else {
      begin = Number(m[1]);
      if (m[2] !== '') end = Math.min(Number(m[2]), size - 1);
    }
    if (begin >= size || begin > end) return send(res, 416, '', { 'Content-Range': `bytes */${size}` });
    status = 206;
    headers['Content-Range'] = `bytes ${begin}-${end}/${size}`;
  }
  headers['Content-Length'] = size === 0 ? 0 : end - begin + 1;
  res.writeHead(status, headers);
  if (req.method === 'HEAD' || size === 0) return res.end();
  createReadStream(file, { start: begin, end, highWaterMark: 1 << 20 }).on('error', () => res.destroy()).pipe(res);
});

server.listen(port, host, () => {
  const { port: actual } = server.address();
  console.log(`weightstream demo: http://${host}:${actual}/  (default model ${defaultModel()})`);
  if (!existsSync(path.join(webBuild, 'package/index.js'))) {
    console.log('warning: build/web/package is missing; run: cmake --preset web && cmake --build --preset web -j2');
  }
});
