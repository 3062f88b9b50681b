// The wasm core: instantiates build/web/weightstream.{mjs,wasm} once and wraps
// its C API (web/src/exports.cpp) in small JS helpers. Every parser lives in
// the wasm side; nothing here interprets a model file.
import createWeightstreamModule from './weightstream.mjs';
import { errorFromKind } from './errors.js';

export const isNode = typeof process === 'object' && typeof process.versions === 'object' &&
  typeof process.versions.node === 'string';

// Node built-ins, imported only on Node's code paths. The specifier is a
// variable so bundlers neither try to resolve them for the browser nor split
// the bundle around them (a worker bundle must stay one chunk).
export function importNode(name) {
  return import(/* @vite-ignore */ /* webpackIgnore: true */ name);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function wasmBytesOrResponse(wasm) {
  if (wasm instanceof ArrayBuffer || ArrayBuffer.isView(wasm) || wasm instanceof WebAssembly.Module) return wasm;
  // The literal `new URL('./weightstream.wasm', import.meta.url)` is what
  // bundlers (Vite, webpack 5) recognise as an asset to emit.
  const url = wasm ? new URL(String(wasm), typeof location === 'object' ? location.href : import.meta.url)
    : new URL('./weightstream.wasm', import.meta.url);
  if (isNode && url.protocol === 'file:') {
    const { readFile } = await importNode('node:fs/promises');
    return readFile(url);
  }
  return fetch(url, { credentials: 'same-origin' });
}

async function instantiate(source, imports) {
  if (source instanceof WebAssembly.Module) return { instance: await WebAssembly.instantiate(source, imports), module: source };
  if (typeof Response !== 'undefined' && source instanceof Response) {
    if (!source.ok) throw errorFromKind('Http', `weightstream.wasm: HTTP ${source.status}`);
    if (WebAssembly.instantiateStreaming && (source.headers.get('content-type') || '').startsWith('application/wasm')) {
      return WebAssembly.instantiateStreaming(source, imports);
    }
    source = await source.arrayBuffer();  // the module itself, not a model: small
  }
  return WebAssembly.instantiate(source, imports);
}

export class Core {
  constructor(module) {
    this.m = module;
  }

  heap() {
    return this.m.HEAPU8;  // re-read every time: memory growth replaces it
  }

  // Throws the wasm side's last error as a typed WeightstreamError.
  fail() {
    const kind = this.m.UTF8ToString(this.m._ws_error_kind());
    const message = this.m.UTF8ToString(this.m._ws_error_message());
    throw errorFromKind(kind, message);
  }

  check(rc) {
    if (rc < 0) this.fail();
    return rc;
  }

  // The text the last call left in ws_text().
  text() {
    const ptr = this.m._ws_text();
    const len = this.m._ws_text_len();
    return decoder.decode(this.heap().subarray(ptr, ptr + len));
  }

  // Runs fn(ptr, len) with `bytes` (a Uint8Array or string) copied into the heap.
  withBytes(bytes, fn) {
    if (typeof bytes === 'string') bytes = encoder.encode(bytes);
    const ptr = this.m._malloc(Math.max(1, bytes.length));
    if (!ptr) throw errorFromKind('OutOfBudget', `cannot allocate ${bytes.length} bytes in the wasm heap`);
    try {
      this.heap().set(bytes, ptr);
      return fn(ptr, bytes.length);
    } finally {
      this.m._free(ptr);
    }
  }

  withCString(text, fn) {
    return this.withBytes(encoder.encode(text + '\0'), (ptr) => fn(ptr));
  }

  withInt32s(values, fn) {
    const ptr = this.m._malloc(Math.max(4, values.length * 4));
    if (!ptr) throw errorFromKind('OutOfBudget', 'cannot allocate token ids in the wasm heap');
    try {
      new Int32Array(this.heap().buffer, ptr, values.length).set(values);
      return fn(ptr, values.length);
    } finally {
      this.m._free(ptr);
    }
  }

  // {offset, dst, len} of the next region of `shard` (dst 0: bytes nobody needs).
  nextTarget(session, shard) {
    const p = this.m._ws_next_target(session, shard) >> 3;
    const f64 = new Float64Array(this.heap().buffer);
    return { offset: f64[p], dst: f64[p + 1], len: f64[p + 2] };
  }

  commit(session, shard, n) {
    this.check(this.m._ws_commit(session, shard, n));
  }
}

let corePromise = null;

// The one Core of this realm (page, worker or Node process). `options.wasm`
// overrides where weightstream.wasm comes from (URL, bytes or a compiled Module).
export function loadCore(options = {}) {
  if (corePromise && !options.wasm) return corePromise;
  const promise = (async () => {
    const source = await wasmBytesOrResponse(options.wasm);
    const module = await createWeightstreamModule({
      instantiateWasm(imports, receive) {
        instantiate(source, imports).then(
          (result) => receive(result.instance, result.module),
          (error) => rejectInit(error));
        return {};
      },
      print: () => {},
      printErr: () => {},
    });
    return new Core(module);
  })();
  let rejectInit;
  const guarded = new Promise((resolve, reject) => {
    rejectInit = reject;
    promise.then(resolve, reject);
  });
  if (!options.wasm) corePromise = guarded;
  return guarded;
}
