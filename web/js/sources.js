// Where a model's bytes come from: HTTP(S) (fetch + Range) or, in Node, local
// files. A source reads small side files whole, header prefixes by range, and
// streams each shard's body through the wasm LoadExecutor: every chunk is
// copied straight to the heap address the executor names (BYOB reader, ONE
// reusable 1 MiB buffer; never arrayBuffer(), never a shard-sized buffer).
import { HttpError, FormatError, OutOfBudgetError, UsageError, WeightstreamError } from './errors.js';
import { importNode, isNode } from './core.js';
import { CHUNK_BYTES, LoadSignal, checkRangeReply, discardBody, readBody } from './transfer.js';

export { CHUNK_BYTES };
// The cap on the side files (config.json, tokenizer.json, ...; the largest
// real tokenizer.json files are tens of MB) of one load, all together, checked
// while the bodies stream: they are read in parallel, so a per-file cap alone
// would let a hostile server hold several times it.
export const SIDE_FILE_MAX_BYTES = 256 << 20;

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

function concatBytes(parts, total) {
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

const utf8 = new TextDecoder();

export class HttpSource {
  // `base`: the model directory URL, ending in '/'. `load`: the LoadSignal of
  // this load; `fetchOptions.headers`: [name, value] pairs (options.js).
  constructor(base, { load = new LoadSignal(), retries = 5, retryDelayMs = 200, fetchOptions = {} } = {}) {
    this.base = base;
    this.load = load;
    this.retries = retries;
    this.retryDelayMs = retryDelayMs;
    this.fetchOptions = fetchOptions;
    this.fileBytes = new Map();   // file -> size, from the first reply that gave it
    this.sideBytes = 0;           // side-file bytes held so far (SIDE_FILE_MAX_BYTES)
    this.prefixReuse = {};        // the reusable read buffer of header prefixes
    this.streamReuse = {};        // ... and of shard bodies
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
        if (this.load.abortError()) throw this.load.abortError();
        await this.load.sleep(this.retryDelayMs * (attempt + 1));
      }
    }
  }

  async requestOnce(file, extraHeaders) {
    const url = this.url(file);
    this.load.throwIfAborted();
    this.load.touch();
    const headers = new Headers(this.fetchOptions.headers || []);
    for (const [name, value] of Object.entries(extraHeaders)) headers.set(name, value);
    let response;
    try {
      response = await fetch(url, { ...this.fetchOptions, headers, cache: 'no-store', signal: this.load.signal });
    } catch (error) {
      this.load.throwIfAborted();
      // Browsers report CORS refusals and unreachable hosts alike as a TypeError.
      throw new HttpError(`${url}: request failed (${error.message}); if the server is another origin, it must ` +
        'allow it with Access-Control-Allow-Origin (and expose Content-Range)', { url, cause: error });
    }
    this.load.touch();
    if (response.status === 404 || response.status === 410) {
      discardBody(response);
      throw new HttpError(`${url}: HTTP ${response.status} (not found)`, { status: response.status, url, kind: 'NotFound' });
    }
    if (!response.ok) {
      discardBody(response);
      throw new HttpError(`${url}: HTTP ${response.status} ${response.statusText}`.trim(), { status: response.status, url });
    }
    return response;
  }

  // A failed body read as a typed error: the load's own abort or stall, a
  // typed error from the core or a cap, else a transfer failure.
  transferError(url, error, where = '') {
    const aborted = this.load.abortError();
    if (aborted) return aborted;
    if (error instanceof WeightstreamError && error.kind !== 'Http') return error;
    return new HttpError(`${url}: transfer failed${where} (${error.message})`, { url, cause: error });
  }

  // The whole text of a small file (at most SIDE_FILE_MAX_BYTES, whether or
  // not the server says how long it is); null when `optional` and it does
  // not exist. A dropped transfer is retried from the start.
  async text(file, { optional = false } = {}) {
    const url = this.url(file);
    for (let failures = 0; ; ) {
      let response;
      try {
        response = await this.request(file);
      } catch (error) {
        if (optional && error.kind === 'NotFound') return null;
        throw error;
      }
      const declared = Number(response.headers.get('content-length'));
      if (declared > SIDE_FILE_MAX_BYTES) {
        discardBody(response);
        throw new OutOfBudgetError(`${url}: ${declared} bytes, more than the ${SIDE_FILE_MAX_BYTES}-byte cap on a side file`);
      }
      const parts = [];
      let total = 0;
      try {
        await readBody(response, { url, maxBytes: SIDE_FILE_MAX_BYTES, load: this.load, onChunk: (chunk) => {
          this.sideBytes += chunk.length;
          if (this.sideBytes > SIDE_FILE_MAX_BYTES) {
            throw new OutOfBudgetError(`${url}: the side files of this model pass the ${SIDE_FILE_MAX_BYTES}-byte cap`);
          }
          parts.push(chunk.slice());
          total += chunk.length;
        } });
      } catch (error) {
        this.sideBytes -= total;  // a retry reads it again
        const typed = this.transferError(url, error);
        if (typed.kind !== 'Http' || this.load.abortError() || ++failures > this.retries) throw typed;
        await this.load.sleep(this.retryDelayMs * failures);
        continue;
      }
      return utf8.decode(concatBytes(parts, total));  // still counted: the core keeps side files
    }
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
    for (let failures = 0; ; ) {
      const from = begin + have;
      const response = await this.request(file, { Range: `bytes=${from}-${end - 1}` });
      const reply = checkRangeReply(response, url, from, end - 1, this.fileBytes.get(file));
      this.fileBytes.set(file, reply.fileBytes);
      const want = Math.max(0, Math.min(end, reply.fileBytes) - begin);
      if (!out) out = new Uint8Array(want);
      let skip = reply.skip;  // a 200 starts at byte 0
      try {
        if (have < want) {
          await readBody(response, { url, limit: reply.bodyBytes, reuse: this.prefixReuse, load: this.load, onChunk: (value) => {
            let chunk = value;
            if (skip) {
              const s = Math.min(skip, chunk.length);
              chunk = chunk.subarray(s);
              skip -= s;
            }
            const n = Math.min(chunk.length, want - have);
            out.set(chunk.subarray(0, n), have);
            have += n;
            return have < want;
          } });
        } else {
          discardBody(response);
        }
      } catch (error) {
        const typed = this.transferError(url, error);
        if (typed.kind !== 'Http' || this.load.abortError() || ++failures > this.retries) throw typed;
        await this.load.sleep(this.retryDelayMs * failures);
        continue;
      }
      if (have >= want) return { bytes: out, fileBytes: reply.fileBytes };
      if (++failures > this.retries) throw new FormatError('Truncated', `${url}: ended after ${begin + have} bytes`);
    }
  }

  // Streams shard `shard` (file `file`, plan bytes up to `end`) into the
  // executor. A dropped connection resumes with a Range request from the
  // next byte the executor needs.
  async stream(core, session, shard, file, end, onBytes) {
    const url = this.url(file);
    let failures = 0;
    for (;;) {
      const start = core.nextTarget(session, shard);
      if (start.len === 0) return;
      let response;
      try {
        response = await this.request(file, { Range: `bytes=${start.offset}-${end - 1}` });
      } catch (error) {
        if (error.kind !== 'Http' || error.status >= 400 && error.status < 500 || this.load.abortError() ||
            ++failures > this.retries) {
          throw error;
        }
        await this.load.sleep(this.retryDelayMs * failures);
        continue;
      }
      const reply = checkRangeReply(response, url, start.offset, end - 1, this.fileBytes.get(file));
      let skip = reply.skip;  // server ignored Range
      try {
        await readBody(response, { url, limit: reply.bodyBytes, reuse: this.streamReuse, load: this.load, onChunk: (value) => {
          let chunk = value;
          if (skip) {
            const s = Math.min(skip, chunk.length);
            chunk = chunk.subarray(s);
            skip -= s;
            if (!chunk.length) return true;
          }
          const used = feed(core, session, shard, chunk);
          failures = 0;
          onBytes(used);
          return used === chunk.length && core.nextTarget(session, shard).len !== 0;
        } });
      } catch (error) {
        const typed = this.transferError(url, error, ` at byte ${core.nextTarget(session, shard).offset}`);
        if (typed.kind !== 'Http' || this.load.abortError() || ++failures > this.retries) throw typed;
        await this.load.sleep(this.retryDelayMs * failures);
        continue;
      }
      this.load.throwIfAborted();
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
  constructor(dir, { load = new LoadSignal() } = {}) {
    this.dir = dir;
    this.load = load;
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
    // Read in chunks up to the cap rather than trusting stat(): a FIFO or a
    // device file has no size and may never end.
    try {
      const parts = [];
      let total = 0;
      for (;;) {
        this.load.throwIfAborted();
        const chunk = new Uint8Array(Math.min(CHUNK_BYTES, SIDE_FILE_MAX_BYTES + 1 - total));
        const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
        if (bytesRead === 0) break;
        total += bytesRead;
        if (total > SIDE_FILE_MAX_BYTES) {
          throw new OutOfBudgetError(`${this.url(file)}: more than the ${SIDE_FILE_MAX_BYTES}-byte cap on a side file`);
        }
        parts.push(chunk.subarray(0, bytesRead));
      }
      return utf8.decode(concatBytes(parts, total));
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
        this.load.throwIfAborted();
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

function parseUrl(text, base) {
  try {
    return base === undefined ? new URL(text) : new URL(text, base);
  } catch (error) {
    throw new UsageError('InvalidArgument', `${text}: not a valid URL (${error.message})`);
  }
}

// Splits a model location into a source and the weights file it names, if any.
// Directory URLs work with or without a trailing slash. A location that is
// not a URL (or, in Node, a path) is a UsageError.
export async function openLocation(location, options) {
  let text = location instanceof URL ? location.href : String(location);
  const isHttp = /^https?:\/\//i.test(text);
  let weightsFile = null;
  const single = /\.(gguf|safetensors)$/i.test(text.replace(/[?#].*$/, ''));
  if (isHttp || !isNode) {
    const base = typeof location === 'string' && !isHttp && typeof self !== 'undefined' && self.location
      ? parseUrl(text, self.location.href) : parseUrl(text);
    let href = base.href;
    if (single) {
      const u = new URL(href);
      const name = u.pathname.slice(u.pathname.lastIndexOf('/') + 1);
      try {
        weightsFile = decodeURIComponent(name);
      } catch {
        throw new UsageError('InvalidArgument', `${text}: malformed percent-encoding in "${name}"`);
      }
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
  if (text.startsWith('file:')) {
    try {
      text = (await importNode('node:url')).fileURLToPath(text);
    } catch (error) {
      throw new UsageError('InvalidArgument', `${text}: not a usable file: URL (${error.message})`);
    }
  }
  text = path.resolve(text);
  if (single) {
    weightsFile = path.basename(text);
    text = path.dirname(text);
  }
  const source = new FileSource(text, options);
  await source.fs();
  return { source, weightsFile };
}
