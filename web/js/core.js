// The wasm core: instantiates build/web/weightstream.{mjs,wasm} once and wraps
// its C API (web/src/exports.cpp) in small JS helpers. Every parser lives in
// the wasm side; nothing here interprets a model file.
import createWeightstreamModule from './weightstream.mjs';
import { WasmTrapError, asWeightstreamError, errorFromKind } from './errors.js';

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

// The module's exports (`_name` functions), each behind the trap guard of
// `core`; everything else (HEAPU8, UTF8ToString, ...) read through from the
// module itself, so values the glue replaces (on memory growth) stay current.
function guardedExports(core, module) {
  const guarded = Object.create(module);
  for (const name of Object.keys(module)) {
    if (name.startsWith('_') && typeof module[name] === 'function') {
      guarded[name] = (...args) => core.call(name, args);
    }
  }
  return guarded;
}

export class Core {
  constructor(module, variant) {
    this.module = module;
    this.m = guardedExports(this, module);
    this.variant = variant;  // 'single' or 'threads'
    // The WasmTrapError that ended this instance, or null while it is usable.
    this.discarded = null;
    this.uncache = [];  // loadCore's: each drops this instance from a cache entry
    // Threads the backend may use: the pthreads build's pool + the caller,
    // no more than the machine has.
    const hardware = typeof navigator === 'object' && navigator.hardwareConcurrency ? navigator.hardwareConcurrency : 1;
    this.threads = Math.max(1, Math.min(module._ws_max_threads(), hardware));
    this.view = null;
  }

  // Every call into the module goes through here. A trap (out-of-bounds
  // access, unreachable, stack overflow: any exception out of an export) can
  // leave the allocator, the stack pointer and every C++ object half-updated,
  // so the instance is never called again: the error is typed, the instance
  // leaves the cache, and the next loadCore() makes a fresh one.
  call(name, args) {
    if (this.discarded) throw this.discardedError();
    try {
      return this.module[name](...args);
    } catch (error) {
      this.discard(name, error);
      throw this.discarded;
    }
  }

  discard(name, error) {
    if (this.discarded) return;
    const what = error && error.message ? error.message : String(error);
    this.discarded = new WasmTrapError(`the wasm module trapped in ${name.replace(/^_/, '')} (${what}); its instance was ` +
      'discarded and the next load starts a fresh one', { cause: error });
    for (const drop of this.uncache) drop();
    try {
      this.module.PThread?.terminateAllThreads?.();  // the pthreads build's pool
    } catch {}
  }

  discardedError() {
    return new WasmTrapError('the wasm instance this model lived in was discarded after a trap ' +
      `(${this.discarded.message}); load the model again`, { cause: this.discarded });
  }

  // The heap as bytes, re-checked on every call: memory growth replaces the
  // buffer (with pthreads another thread may have grown it).
  heap() {
    const buffer = this.m.wasmMemory ? this.m.wasmMemory.buffer : this.m.HEAPU8.buffer;
    if (!this.view || this.view.buffer !== buffer) this.view = new Uint8Array(buffer);
    return this.view;
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
    return decoder.decode(this.heap().slice(ptr, ptr + len));  // a copy: TextDecoder refuses shared memory
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
      if (!this.discarded) this.m._free(ptr);  // a trap inside fn() ended the instance
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
      if (!this.discarded) this.m._free(ptr);  // a trap inside fn() ended the instance
    }
  }

  // {offset, dst, len} of the next region of `shard` (dst 0: bytes nobody needs).
  nextTarget(session, shard) {
    const p = this.m._ws_next_target(session, shard) >> 3;
    const f64 = new Float64Array(this.heap().buffer);
    if (f64[p + 2] < 0) this.fail();  // a bad handle or shard, or nothing being loaded
    return { offset: f64[p], dst: f64[p + 1], len: f64[p + 2] };
  }

  commit(session, shard, n) {
    this.check(this.m._ws_commit(session, shard, n));
  }
}

const corePromises = new Map();

// Whether this realm can run the pthreads build: SharedArrayBuffer exists only
// in cross-origin isolated pages and workers (COOP + COEP headers).
export function canUseThreads() {
  return !isNode && typeof SharedArrayBuffer !== 'undefined' && globalThis.crossOriginIsolated === true;
}

async function createCore(variant, wasm) {
  let factory = createWeightstreamModule;
  let source;
  if (variant === 'threads') {
    // Built by the web-threads preset; the specifiers are computed so that
    // bundlers leave the optional variant alone (they then ship only the
    // single-threaded one, and this falls back to it).
    // (Vite rewrites `new URL(<literal or template>, import.meta.url)`, hence `here`.)
    const here = import.meta.url;
    const url = (suffix) => new URL('./weightstream-mt' + suffix, here);
    // The variant's pool workers load weightstream-mt.worker.js; without it
    // the module would wait for them forever, so check it is there first.
    const probe = await fetch(url('.worker.js'), { method: 'HEAD', credentials: 'same-origin' });
    if (!probe.ok) throw new Error('no pthreads variant beside this file');
    factory = (await import(/* @vite-ignore */ /* webpackIgnore: true */ url('.mjs').href)).default;
    source = await fetch(url('.wasm'), { credentials: 'same-origin' });
  } else {
    source = await wasmBytesOrResponse(wasm);
  }
  let rejectInit;
  const failed = new Promise((resolve, reject) => { rejectInit = reject; });
  const module = await Promise.race([failed, factory({
    instantiateWasm(imports, receive) {
      instantiate(source, imports).then((result) => receive(result.instance, result.module), (error) => rejectInit(error));
      return {};
    },
    print: () => {},
    printErr: () => {},
  })]);
  return new Core(module, variant);
}

// The Core of this realm (page, worker or Node process). options.wasm
// overrides where weightstream.wasm comes from (URL, bytes or a compiled
// Module); options.threads: 'auto' (the pthreads build when the page is
// cross-origin isolated and the package has it) or 1.
export function loadCore(options = {}) {
  options = options ?? {};
  const variant = options.threads !== 1 && !options.wasm && canUseThreads() ? 'threads' : 'single';
  const key = options.wasm ? null : variant;
  if (key && corePromises.has(key)) return corePromises.get(key);
  let promise = createCore(variant, options.wasm).catch((error) => {
    throw asWeightstreamError(error, 'weightstream.wasm');
  });
  if (variant === 'threads') promise = promise.catch(() => loadCore({ ...options, threads: 1 }));
  if (key) {
    corePromises.set(key, promise);
    promise.then((core) => {
      core.uncache.push(() => { if (corePromises.get(key) === promise) corePromises.delete(key); });
    }, () => corePromises.delete(key));
  }
  return promise;
}
