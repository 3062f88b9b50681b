// Where a model's bytes come from: HTTP(S) (fetch + Range) or, in Node, local
// files. A source reads small side files whole, header prefixes by range, and
// streams each shard's body through the wasm LoadExecutor: every chunk is
// copied straight to the heap address the executor names (BYOB reader, ONE
// reusable 1 MiB buffer; never arrayBuffer(), never a shard-sized buffer).
import { HttpError, CancelledError, FormatError, UsageError } from './errors.js';
import { importNode, isNode } from './core.js';

export const CHUNK_BYTES = 1 << 20;
const SIDE_FILE_MAX_BYTES = 256 << 20;

function throwIfAborted(signal) {
  if (signal && signal.aborted) throw new CancelledError('load cancelled', signal.reason);
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(new CancelledError('load cancelled', signal.reason));
    }, { once: true });
  });
}

// Copies `bytes` into the shard's next targets, committing as it goes.
// Returns how many bytes were used (fewer only past the shard's plan).
function feed(core, session, shard, bytes) {
  let pos = 0;
  while (pos < bytes.length) {
    const t = core.nextTarget(session, shard);
    if (t.len === 0) break;
    const n = Math.min(t.len, bytes.length - pos);
    if (t.dst) core.heap().set(bytes.subarray(pos, pos + n), t.dst);
    core.commit(session, shard, n);
    pos += n;
  }
  return pos;
}

export class HttpSource {
  // `base`: the model directory URL, ending in '/'.
  constructor(base, { signal, retries = 5, retryDelayMs = 200, fetchOptions = {} } = {}) {
    this.base = base;
    this.signal = signal;
    this.retries = retries;
    this.retryDelayMs = retryDelayMs;
    this.fetchOptions = fetchOptions;
  }

  url(file) {
    return new URL(file, this.base).href;
  }

  // One GET; 5xx answers and failed connections are retried (with a growing
  // pause) up to `retries` times, 4xx ones are not.
  async request(file, headers = {}) {
    for (let attempt = 0; ; ++attempt) {
      try {
        return await this.requestOnce(file, headers);
      } catch (error) {
        if (error.kind !== 'Http' || (error.status >= 400 && error.status < 500) || attempt >= this.retries) throw error;
        await sleep(this.retryDelayMs * (attempt + 1), this.signal);
      }
    }
  }

  async requestOnce(file, headers) {
    const url = this.url(file);
    throwIfAborted(this.signal);
    let response;
    try {
      response = await fetch(url, { ...this.fetchOptions, headers: { ...(this.fetchOptions.headers || {}), ...headers },
        cache: 'no-store', signal: this.signal });
    } catch (error) {
      throwIfAborted(this.signal);
      // Browsers report CORS refusals and unreachable hosts alike as a TypeError.
      throw new HttpError(`${url}: request failed (${error.message}); if the server is another origin, it must ` +
        'allow it with Access-Control-Allow-Origin (and expose Content-Range)', { url, cause: error });
    }
    if (response.status === 404 || response.status === 410) {
      throw new HttpError(`${url}: HTTP ${response.status} (not found)`, { status: response.status, url, kind: 'NotFound' });
    }
    if (!response.ok) {
      throw new HttpError(`${url}: HTTP ${response.status} ${response.statusText}`.trim(), { status: response.status, url });
    }
    return response;
  }

  // The whole text of a small file; null when `optional` and it does not exist.
  async text(file, { optional = false } = {}) {
    let response;
    try {
      response = await this.request(file);
    } catch (error) {
      if (optional && error.kind === 'NotFound') return null;
      throw error;
    }
    const length = Number(response.headers.get('content-length') || 0);
    if (length > SIDE_FILE_MAX_BYTES) {
      response.body?.cancel();
      throw new FormatError('InvalidConfig', `${this.url(file)}: ${length} bytes, too large for a side file`);
    }
    return response.text();
  }

  async exists(file) {
    try {
      const { fileBytes } = await this.prefix(file, 0, 1);
      return fileBytes >= 0;
    } catch (error) {
      if (error.kind === 'NotFound') return false;
      throw error;
    }
  }

  // Bytes [begin, end) of `file` (clipped to its size) and the file's size.
  // Headers are small (at most a few MiB); a dropped transfer is resumed.
  async prefix(file, begin, end) {
    const url = this.url(file);
    let out = null;
    let have = 0;
    let fileBytes = 0;
    for (let failures = 0; ; ) {
      const response = await this.request(file, { Range: `bytes=${begin + have}-${end - 1}` });
      const range = response.headers.get('content-range');
      if (response.status === 206 && range) {
        const m = /\/(\d+)\s*$/.exec(range);
        if (!m) throw new HttpError(`${url}: unreadable Content-Range "${range}"`, { url });
        fileBytes = Number(m[1]);
      } else if (response.status === 206) {
        response.body?.cancel();
        throw new HttpError(`${url}: a ranged response without Content-Range (a cross-origin server must ` +
          'list it in Access-Control-Expose-Headers)', { url });
      } else {
        fileBytes = Number(response.headers.get('content-length'));
        if (response.headers.get('content-length') === null || !Number.isFinite(fileBytes)) {
          response.body?.cancel();
          throw new HttpError(`${url}: the server ignores Range and sends no Content-Length`, { url });
        }
      }
      const want = Math.max(0, Math.min(end, fileBytes) - begin);
      if (!out) out = new Uint8Array(want);
      let skip = response.status === 206 ? 0 : begin + have;  // a 200 starts at byte 0
      const reader = response.body.getReader();
      try {
        while (have < want) {
          const { value, done } = await reader.read();
          if (done) break;
          let chunk = value;
          if (skip) {
            const s = Math.min(skip, chunk.length);
            chunk = chunk.subarray(s);
            skip -= s;
          }
          const n = Math.min(chunk.length, want - have);
          out.set(chunk.subarray(0, n), have);
          have += n;
        }
      } catch (error) {
        throwIfAborted(this.signal);
        if (++failures > this.retries) throw new HttpError(`${url}: transfer failed (${error.message})`, { url, cause: error });
        await sleep(this.retryDelayMs * failures, this.signal);
        continue;
      } finally {
        reader.cancel().catch(() => {});
      }
      if (have >= want) return { bytes: out, fileBytes };
      if (++failures > this.retries) throw new FormatError('Truncated', `${url}: ended after ${begin + have} bytes`);
    }
  }

  // Streams shard `shard` (file `file`, plan bytes up to `end`) into the
  // executor. A dropped connection resumes with a Range request from the
  // next byte the executor needs.
  async stream(core, session, shard, file, end, onBytes) {
    const url = this.url(file);
    let buffer = new ArrayBuffer(CHUNK_BYTES);
    let failures = 0;
    for (;;) {
      const start = core.nextTarget(session, shard);
      if (start.len === 0) return;
      let response;
      try {
        response = await this.request(file, { Range: `bytes=${start.offset}-${end - 1}` });
      } catch (error) {
        if (error.kind !== 'Http' || error.status >= 400 && error.status < 500 || ++failures > this.retries) throw error;
        await sleep(this.retryDelayMs * failures, this.signal);
        continue;
      }
      let skip = response.status === 206 ? 0 : start.offset;  // server ignored Range
      let reader;
      let byob = true;
      try {
        reader = response.body.getReader({ mode: 'byob' });
      } catch {
        reader = response.body.getReader();  // engines without byte streams
        byob = false;
      }
      try {
        for (;;) {
          const { value, done } = byob
            ? await reader.read(new Uint8Array(buffer, 0, CHUNK_BYTES))
            : await reader.read();
          if (done) break;
          if (byob) buffer = value.buffer;  // the same memory, handed back
          let chunk = value;
          if (skip) {
            const s = Math.min(skip, chunk.length);
            chunk = chunk.subarray(s);
            skip -= s;
          }
          const used = feed(core, session, shard, chunk);
          failures = 0;
          onBytes(used);
          if (used < chunk.length || core.nextTarget(session, shard).len === 0) break;
        }
      } catch (error) {
        throwIfAborted(this.signal);
        if (error.kind && error.kind !== 'Http') throw error;  // the core refused the bytes
        // A failed BYOB read keeps the buffer it was handed (now detached).
        if (buffer.byteLength === 0) buffer = new ArrayBuffer(CHUNK_BYTES);
        if (++failures > this.retries) {
          throw new HttpError(`${url}: transfer failed at byte ${core.nextTarget(session, shard).offset} (${error.message})`,
            { url, cause: error });
        }
        await sleep(this.retryDelayMs * failures, this.signal);
      } finally {
        reader.cancel().catch(() => {});
      }
      throwIfAborted(this.signal);
      if (core.nextTarget(session, shard).len !== 0 && failures === 0) {
        // The body ended early without an error: count it and resume.
        if (++failures > this.retries) {
          throw new FormatError('Truncated', `${url}: the transfer ended at byte ${core.nextTarget(session, shard).offset}`);
        }
      }
    }
  }
}

// Node only: a local directory (or the directory of one file). Reads go
// straight into the wasm heap at the executor's addresses: no JS buffer at all.
export class FileSource {
  constructor(dir, { signal } = {}) {
    this.dir = dir;
    this.signal = signal;
  }

  async fs() {
    if (!this._fs) {
      const [fs, path] = await Promise.all([importNode('node:fs/promises'), importNode('node:path')]);
      this._fs = fs;
      this._path = path;
    }
    return this._fs;
  }

  url(file) {
    return this._path ? this._path.join(this.dir, file) : `${this.dir}/${file}`;
  }

  async open(file) {
    const fs = await this.fs();
    try {
      return await fs.open(this.url(file), 'r');
    } catch (error) {
      if (error.code === 'ENOENT') throw new HttpError(`${this.url(file)}: no such file`, { kind: 'NotFound', url: this.url(file) });
      throw new UsageError('Io', `${this.url(file)}: ${error.message}`);
    }
  }

  async text(file, { optional = false } = {}) {
    let handle;
    try {
      handle = await this.open(file);
    } catch (error) {
      if (optional && error.kind === 'NotFound') return null;
      throw error;
    }
    try {
      const { size } = await handle.stat();
      if (size > SIDE_FILE_MAX_BYTES) throw new FormatError('InvalidConfig', `${this.url(file)}: too large for a side file`);
      return await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  }

  async exists(file) {
    const fs = await this.fs();
    try {
      await fs.stat(this.url(file));
      return true;
    } catch {
      return false;
    }
  }

  async prefix(file, begin, end) {
    const handle = await this.open(file);
    try {
      const { size } = await handle.stat();
      const want = Math.max(0, Math.min(end, size) - begin);
      const out = new Uint8Array(want);
      const { bytesRead } = want ? await handle.read(out, 0, want, begin) : { bytesRead: 0 };
      if (bytesRead < want) throw new FormatError('Truncated', `${this.url(file)}: ended after ${begin + bytesRead} bytes`);
      return { bytes: out, fileBytes: size };
    } finally {
      await handle.close();
    }
  }

  async stream(core, session, shard, file, end, onBytes) {
    const handle = await this.open(file);
    try {
      for (;;) {
        throwIfAborted(this.signal);
        const t = core.nextTarget(session, shard);
        if (t.len === 0) return;
        if (!t.dst) {  // bytes nobody needs: seek past them
          core.commit(session, shard, t.len);
          continue;
        }
        const n = Math.min(t.len, 16 * CHUNK_BYTES);
        const view = new Uint8Array(core.heap().buffer, t.dst, n);
        const { bytesRead } = await handle.read(view, 0, n, t.offset);
        if (bytesRead === 0) throw new FormatError('Truncated', `${this.url(file)}: ended at byte ${t.offset}, before ${end}`);
        core.commit(session, shard, bytesRead);
        onBytes(bytesRead);
      }
    } finally {
      await handle.close();
    }
  }
}

// Splits a model location into a source and the weights file it names, if any.
// Directory URLs work with or without a trailing slash.
export async function openLocation(location, options) {
  let text = location instanceof URL ? location.href : String(location);
  const isHttp = /^https?:\/\//i.test(text);
  let weightsFile = null;
  const single = /\.(gguf|safetensors)$/i.test(text.replace(/[?#].*$/, ''));
  if (isHttp || !isNode) {
    const base = typeof location === 'string' && !isHttp && typeof self !== 'undefined' && self.location
      ? new URL(text, self.location.href) : new URL(text);
    let href = base.href;
    if (single) {
      const u = new URL(href);
      weightsFile = decodeURIComponent(u.pathname.slice(u.pathname.lastIndexOf('/') + 1));
      u.pathname = u.pathname.slice(0, u.pathname.lastIndexOf('/') + 1);
      href = u.href;
    } else if (!new URL(href).pathname.endsWith('/')) {
      const u = new URL(href);
      u.pathname += '/';
      href = u.href;
    }
    return { source: new HttpSource(href, options), weightsFile };
  }
  const path = await importNode('node:path');
  if (text.startsWith('file:')) text = (await importNode('node:url')).fileURLToPath(text);
  text = path.resolve(text);
  if (single) {
    weightsFile = path.basename(text);
    text = path.dirname(text);
  }
  const source = new FileSource(text, options);
  await source.fs();
  return { source, weightsFile };
}
