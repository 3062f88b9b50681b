// A local HTTP server that misbehaves on purpose, for the hostile-input tests
// (hostile.test.mjs in Node, browser_hostile.test.mjs in Chromium).
import { createServer } from 'node:http';
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { fixtures } from './helpers.mjs';

function readRange(file, begin, end) {
  const out = Buffer.alloc(end - begin + 1);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, out, 0, out.length, begin);
  } finally {
    closeSync(fd);
  }
  return out;
}

// /MODE/<fixture path>: the fixture file, served by a server that misbehaves
// as MODE says (see the modes below; "ok" behaves). Every reply allows any
// origin, so a cross-origin isolated page can use it too.
export function hostileServer() {
  const server = createServer((req, res) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Expose-Headers', 'Content-Range, Content-Length');
    res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
    if (req.method === 'OPTIONS') {  // CORS preflight (Authorization, Range)
      res.writeHead(204, { 'Access-Control-Allow-Headers': '*, Authorization', 'Access-Control-Allow-Methods': 'GET',
        'Access-Control-Max-Age': '600' }).end();
      return;
    }
    const url = new URL(req.url, 'http://x');
    const [, mode, ...rest] = url.pathname.split('/');
    const file = path.join(fixtures, ...rest.map(decodeURIComponent));
    const name = path.basename(file);
    if (mode === 'no-headers') return;  // accept, never answer
    if (mode === 'auth' && (req.headers.authorization !== 'Bearer secret' || req.headers['x-extra'] !== '1')) {
      res.writeHead(401, { 'Content-Length': '0' }).end();
      return;
    }
    let size;
    try {
      size = statSync(file).size;
    } catch {
      res.writeHead(404, { 'Content-Length': '0' }).end();
      return;
    }
    if ((mode === 'endless-config' && name === 'config.json') ||
        (mode === 'endless-side-files' && name !== 'model.safetensors')) {
      // Chunked, no Content-Length, never ends: the reader's cap must stop it.
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const chunk = Buffer.alloc(256 << 10, 0x20);
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) {}
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
      return;
    }
    if (mode === 'huge-config' && name === 'config.json') {
      res.writeHead(200, { 'Content-Length': String(1e12) });
      res.write(Buffer.alloc(1024, 0x20));
      return;  // and nothing more
    }
    if (mode === 'deep-tokenizer' && name === 'tokenizer.json') {
      // The pre-tokenizer a Sequence nested 100 000 deep.
      const tokenizer = JSON.parse(readFileSync(file, 'utf8'));
      tokenizer.pre_tokenizer = '@DEEP@';
      const depth = 100000;
      const body = JSON.stringify(tokenizer).replace('"@DEEP@"',
        '{"type":"Sequence","pretokenizers":['.repeat(depth) + ']}'.repeat(depth));
      res.writeHead(200, { 'Content-Length': String(Buffer.byteLength(body)) }).end(body);
      return;
    }
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range || '');
    if (!m) {
      res.writeHead(200, { 'Content-Length': String(size) }).end(readFileSync(file));
      return;
    }
    const begin = Number(m[1]);
    const end = Math.min(Number(m[2]), size - 1);
    if (mode === 'range-from-zero') {  // always the first bytes, whatever was asked
      const n = end - begin;
      res.writeHead(206, { 'Content-Range': `bytes 0-${n}/${size}`, 'Content-Length': String(n + 1) })
        .end(readRange(file, 0, n));
      return;
    }
    if (mode === 'range-wrong-total' && begin > 0) {  // the header's reply gave the true size
      res.writeHead(206, { 'Content-Range': `bytes ${begin}-${end}/${size + 1}`, 'Content-Length': String(end - begin + 1) })
        .end(readRange(file, begin, end));
      return;
    }
    if (mode === 'range-longer' && end < size - 1) {  // from the right byte, to the end of the file
      res.writeHead(206, { 'Content-Range': `bytes ${begin}-${size - 1}/${size}`, 'Content-Length': String(size - begin) })
        .end(readRange(file, begin, size - 1));
      return;
    }
    const body = readRange(file, begin, end);
    res.writeHead(206, { 'Content-Range': `bytes ${begin}-${end}/${size}`, 'Content-Length': String(body.length) });
    if (mode === 'stall-body' && name === 'model.safetensors' && begin > 0) {
      res.write(body.subarray(0, body.length >> 1));  // half, then silence
      return;
    }
    res.end(body);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({
      url: `http://127.0.0.1:${server.address().port}`,
      close: () => {
        server.closeAllConnections();
        server.close();
      },
    }));
  });
}
