// What every HTTP response goes through: the one bounded streaming reader of
// response bodies, the check of a reply to a Range request against the range
// asked for, and a load's signal (the caller's AbortSignal plus a stall clock).
import { CancelledError, HttpError, OutOfBudgetError } from './errors.js';

export const CHUNK_BYTES = 1 << 20;

// Reads `response`'s body in order, handing each chunk to onChunk(bytes) — a
// view that is only valid during the call; onChunk returns false to stop.
//  - limit: bytes wanted at most; the reader stops there (a longer body is
//    cut, never buffered);
//  - maxBytes: a body longer than this is refused with OutOfBudgetError while
//    it streams, whether or not it declared its length;
//  - reuse: {buffer}, an ArrayBuffer for BYOB reads kept across calls (one
//    reusable 1 MiB buffer per stream: fresh chunks per read cost the browser
//    1.6-1.9x a shard in garbage, see DESIGN.md);
//  - load: a LoadSignal whose stall clock every chunk restarts.
// Returns {read, ended}: bytes handed out, and whether the body ended.
// A network failure or an abort rejects with the engine's error; callers map it.
export async function readBody(response, { url, limit = Infinity, maxBytes = Infinity, onChunk, reuse = {}, load }) {
  if (!response.body) return { read: 0, ended: true };
  let reader;
  let byob = true;
  try {
    reader = response.body.getReader({ mode: 'byob' });
  } catch {
    reader = response.body.getReader();  // engines without byte streams
    byob = false;
  }
  let read = 0;
  let ended = false;
  try {
    while (read < limit) {
      let result;
      if (byob) {
        // A failed BYOB read keeps (detaches) the buffer it was handed.
        if (!reuse.buffer || reuse.buffer.byteLength === 0) reuse.buffer = new ArrayBuffer(CHUNK_BYTES);
        result = await reader.read(new Uint8Array(reuse.buffer, 0, CHUNK_BYTES));
        if (result.value) reuse.buffer = result.value.buffer;  // the same memory, handed back
      } else {
        result = await reader.read();
      }
      if (result.done) {
        ended = true;
        break;
      }
      load?.touch();
      let chunk = result.value;
      if (read + chunk.length > maxBytes) {
        throw new OutOfBudgetError(`${url}: the body is longer than ${maxBytes} bytes, the cap for this file`);
      }
      if (chunk.length > limit - read) chunk = chunk.subarray(0, limit - read);
      read += chunk.length;
      if (onChunk(chunk) === false) break;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
  return { read, ended };
}

// Discards a response's body without reading it.
export function discardBody(response) {
  response.body?.cancel().catch(() => {});
}

// Checks the reply to `Range: bytes=begin-last` and returns
// {fileBytes, bodyBytes, skip}:
//  - a 206 must name exactly the range asked for (clipped to the file's end)
//    and, when `knownFileBytes` is given, that size: a server answering
//    another range would put another range's bytes in the weights;
//  - a 200 (Range ignored) sends the whole file from byte 0 (`skip` bytes
//    precede the ones wanted); it must say how long the file is, or the size
//    must be known already.
export function checkRangeReply(response, url, begin, last, knownFileBytes) {
  const fail = (message) => {
    discardBody(response);
    return new HttpError(`${url}: ${message}`, { status: response.status, url });
  };
  if (response.status === 206) {
    const value = response.headers.get('content-range');
    if (value === null) {
      throw fail('a ranged response without Content-Range (a cross-origin server must list it in ' +
        'Access-Control-Expose-Headers)');
    }
    const m = /^\s*bytes\s+(\d+)-(\d+)\/(\d+)\s*$/i.exec(value);
    if (!m) throw fail(`unreadable Content-Range "${value}" (asked for bytes ${begin}-${last})`);
    const [start, end, total] = m.slice(1).map(Number);
    if (![start, end, total].every(Number.isSafeInteger)) throw fail(`Content-Range "${value}" out of range`);
    if (knownFileBytes !== undefined && total !== knownFileBytes) {
      throw fail(`Content-Range "${value}" gives the file ${total} bytes, an earlier reply gave ${knownFileBytes}`);
    }
    if (start !== begin || end !== Math.min(last, total - 1)) {
      throw fail(`asked for bytes ${begin}-${last}, the server sent Content-Range "${value}"`);
    }
    return { fileBytes: total, bodyBytes: end - start + 1, skip: 0 };
  }
  const declared = response.headers.get('content-length');
  let fileBytes = declared === null ? knownFileBytes : Number(declared);
  if (fileBytes === undefined) {
    throw fail('the server ignores Range and sends no Content-Length');
  }
  if (!Number.isSafeInteger(fileBytes) || fileBytes < 0) throw fail(`unreadable Content-Length "${declared}"`);
  if (knownFileBytes !== undefined && fileBytes !== knownFileBytes) {
    throw fail(`a whole-file reply of ${fileBytes} bytes, an earlier reply gave ${knownFileBytes}`);
  }
  return { fileBytes, bodyBytes: fileBytes, skip: begin };
}

// A load's signal: aborted when the caller's AbortSignal fires or when no
// byte has arrived for `stallTimeoutMs` (0: never). Each request start and
// each chunk restart the clock, so a slow but moving transfer never trips it.
export class LoadSignal {
  constructor(signal, stallTimeoutMs = 0) {
    this.user = signal;
    this.stallTimeoutMs = stallTimeoutMs;
    this.controller = new AbortController();
    this.signal = this.controller.signal;
    this.stalled = null;
    this.timer = null;
    this.onUserAbort = () => this.controller.abort(signal.reason);
    if (signal?.aborted) this.onUserAbort();
    else signal?.addEventListener('abort', this.onUserAbort, { once: true });
  }

  touch() {
    if (!this.stallTimeoutMs || this.signal.aborted) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.stalled = new HttpError(`no data arrived for ${this.stallTimeoutMs} ms (the stallTimeoutMs option; 0 turns ` +
        'the check off)');
      this.controller.abort(this.stalled);
    }, this.stallTimeoutMs);
  }

  // Ends the clock and the link to the caller's signal (the load is over).
  stop() {
    clearTimeout(this.timer);
    this.timer = null;
    this.user?.removeEventListener('abort', this.onUserAbort);
  }

  // The typed error for an aborted load, or null while it runs.
  abortError() {
    if (this.user?.aborted) return new CancelledError('load cancelled', this.user.reason);
    if (this.stalled) return this.stalled;
    return this.signal.aborted ? new CancelledError('load cancelled', this.signal.reason) : null;
  }

  throwIfAborted() {
    const error = this.abortError();
    if (error) throw error;
  }

  // Resolves after `ms`, or rejects with abortError() when the load ends first.
  sleep(ms) {
    return new Promise((resolve, reject) => {
      if (this.signal.aborted) {
        reject(this.abortError());
        return;
      }
      const onAbort = () => {
        clearTimeout(timer);
        reject(this.abortError());
      };
      const timer = setTimeout(() => {
        this.signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      this.signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
