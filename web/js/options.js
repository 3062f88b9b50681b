// Argument checks for every public call (loadModel, loadModelInWorker,
// Model.generate / encode / decode). Misuse is refused with a UsageError of
// kind "InvalidArgument" before anything touches the network or the wasm
// module: a NaN that reached a retry loop or the C API would hang or be read
// as garbage there.
import { UsageError } from './errors.js';

// Attempts after a failed request or a dropped transfer.
export const DEFAULT_RETRIES = 5;
// A load fails when no byte (response headers or body) has arrived for this
// long: without it a server that accepts the connection and never answers
// holds a load (and its memory) until the caller gives up.
export const DEFAULT_STALL_TIMEOUT_MS = 30_000;
// C int limits of the wasm API (ws_generate_start, ws_decode).
const INT_MAX = 2 ** 31 - 1;
// The CLI's --max-context limit (native/cli/cmd_generate.cpp), checked again by ws_prepare.
const MAX_CONTEXT = 2 ** 24;

export function invalid(message) {
  return new UsageError('InvalidArgument', message);
}

function optionsObject(value, what) {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid(`${what} must be an object, not ${describe(value)}`);
  return value;
}

function describe(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '...' : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return typeof value;
}

function integer(value, name, min, max) {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(`${name} must be an integer from ${min} to ${max}, not ${describe(value)}`);
  }
  return value;
}

// A finite number in [min, max] (`above`: min itself excluded).
function finite(value, name, { min = -Infinity, max = Infinity, above = false } = {}) {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || (above && value === min) || value > max) {
    const low = above ? `above ${min}` : `at least ${min}`;
    throw invalid(`${name} must be a finite number ${low}${max < Infinity ? ` and at most ${max}` : ''}, not ${describe(value)}`);
  }
  return value;
}

function optionalFunction(value, name) {
  if (value !== undefined && value !== null && typeof value !== 'function') throw invalid(`${name} must be a function`);
  return value ?? undefined;
}

function optionalSignal(value, name) {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || typeof value.aborted !== 'boolean' || typeof value.addEventListener !== 'function') {
    throw invalid(`${name} must be an AbortSignal`);
  }
  return value;
}

// fetchOptions.headers in any form fetch() takes — a Headers object, an array
// of [name, value] pairs, a plain object (or any iterable of pairs) — as
// [name, value] pairs, which survive both spreading and postMessage.
export function headerPairs(headers) {
  if (headers === undefined || headers === null) return [];
  let pairs;
  if (typeof Headers !== 'undefined' && headers instanceof Headers) {
    pairs = [...headers.entries()];
  } else if (typeof headers === 'object' && typeof headers[Symbol.iterator] === 'function') {
    pairs = Array.from(headers, (pair) => {
      if (pair === null || typeof pair !== 'object' || typeof pair[Symbol.iterator] !== 'function') {
        throw invalid('fetchOptions.headers: each entry must be a [name, value] pair');
      }
      const items = Array.from(pair);
      if (items.length !== 2) throw invalid('fetchOptions.headers: each entry must be a [name, value] pair');
      return items;
    });
  } else if (typeof headers === 'object') {
    pairs = Object.entries(headers);
  } else {
    throw invalid('fetchOptions.headers must be a Headers object, an array of [name, value] pairs or an object');
  }
  pairs = pairs.map(([name, value]) => [String(name), String(value)]);
  if (typeof Headers !== 'undefined') {
    try {
      new Headers(pairs);  // the engine's own name and value rules
    } catch (error) {
      throw invalid(`fetchOptions.headers: ${error.message}`);
    }
  }
  return pairs;
}

function locationText(location) {
  if (typeof URL !== 'undefined' && location instanceof URL) return location.href;
  if (typeof location !== 'string' || location.trim() === '') {
    throw invalid(`the model location must be a non-empty string or a URL, not ${describe(location)}`);
  }
  return location;
}

function wasmOption(wasm) {
  if (wasm === undefined || wasm === null) return undefined;
  if (typeof wasm === 'string' || wasm instanceof URL || wasm instanceof ArrayBuffer || ArrayBuffer.isView(wasm) ||
      wasm instanceof WebAssembly.Module) {
    return wasm;
  }
  throw invalid('wasm must be a URL (string or URL), bytes or a WebAssembly.Module');
}

// loadModel's (location, options), checked and with defaults filled in.
// Unknown keys are ignored; `dtype` is only checked to be a string here (the
// core names the values it accepts).
export function loadArguments(location, options) {
  const text = locationText(location);
  const o = optionsObject(options, 'loadModel options');
  const dtype = o.dtype ?? 'keep';
  if (typeof dtype !== 'string') throw invalid(`dtype must be a string, not ${describe(dtype)}`);
  let fetchOptions = optionsObject(o.fetchOptions, 'fetchOptions');
  fetchOptions = { ...fetchOptions, headers: headerPairs(fetchOptions.headers) };
  const threads = o.threads ?? 'auto';
  if (threads !== 'auto') integer(threads, 'threads', 1, 1024);
  return {
    location: text,
    dtype,
    onProgress: optionalFunction(o.onProgress, 'onProgress'),
    signal: optionalSignal(o.signal, 'signal'),
    retries: integer(o.retries ?? DEFAULT_RETRIES, 'retries', 0, 1000),
    stallTimeoutMs: finite(o.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS, 'stallTimeoutMs', { min: 0, max: 2 ** 31 - 1 }),
    fetchOptions,
    wasm: wasmOption(o.wasm),
    threads,
    // Positions the KV cache holds (0: the model's maximum): the CLI's --max-context, same range.
    maxContext: integer(o.maxContext ?? 0, 'maxContext', 0, MAX_CONTEXT),
  };
}

// Token ids for the wasm API: an array-like of integers in [0, vocabSize).
export function tokenIds(ids, vocabSize, what = 'token ids') {
  if (ids === null || typeof ids !== 'object' || typeof ids.length !== 'number') {
    throw invalid(`${what} must be an array of token ids, not ${describe(ids)}`);
  }
  if (ids.length > INT_MAX / 4) throw invalid(`${what}: ${ids.length} ids are too many`);
  const out = Array.from(ids);
  const limit = vocabSize > 0 ? vocabSize : INT_MAX;
  for (let i = 0; i < out.length; ++i) {
    const id = out[i];
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= limit) {
      throw invalid(`${what}: entry ${i} is ${describe(id)}, not a token id (an integer from 0 to ${limit - 1})`);
    }
  }
  return out;
}

// Model.generate's prompt (text, token ids below `vocabSize`, {messages} or a
// messages array).
export function promptArgument(prompt, vocabSize) {
  if (typeof prompt === 'string') return prompt;
  if (prompt === undefined || prompt === null || typeof prompt !== 'object') {
    throw invalid(`the prompt must be text, an array of token ids or {messages}, not ${describe(prompt)}`);
  }
  if (!Array.isArray(prompt) && !ArrayBuffer.isView(prompt) && 'messages' in prompt) {
    return { messages: chatMessages(prompt.messages) };
  }
  // A bare conversation: an array of {role, content} (token ids are numbers).
  if (Array.isArray(prompt) && prompt.length > 0 && prompt[0] !== null && typeof prompt[0] === 'object') {
    return { messages: chatMessages(prompt) };
  }
  return tokenIds(prompt, vocabSize, 'the prompt');
}

// A conversation for the chat template: an array of objects with a string
// role (their other fields, content included, go to the template as they are).
export function chatMessages(messages) {
  if (!Array.isArray(messages)) throw invalid(`messages must be an array of {role, content}, not ${describe(messages)}`);
  messages.forEach((m, i) => {
    if (m === null || typeof m !== 'object' || typeof m.role !== 'string') {
      throw invalid(`messages[${i}] must be an object with a string role`);
    }
  });
  return messages;
}

// Model.generate's options, checked and with defaults filled in.
export function generateOptions(options) {
  const o = optionsObject(options, 'generate options');
  return {
    maxNewTokens: integer(o.maxNewTokens ?? 32, 'maxNewTokens', 0, INT_MAX),
    temperature: finite(o.temperature ?? 0, 'temperature', { min: 0 }),
    topK: integer(o.topK ?? 0, 'topK', 0, INT_MAX),
    topP: finite(o.topP ?? 1, 'topP', { min: 0, max: 1 }),
    repetitionPenalty: finite(o.repetitionPenalty ?? 1, 'repetitionPenalty', { min: 0, above: true }),
    seed: integer(o.seed ?? 0, 'seed', 0, Number.MAX_SAFE_INTEGER),
    signal: optionalSignal(o.signal, 'signal'),
    onToken: optionalFunction(o.onToken, 'onToken'),
    // A text prompt as the user's turn of a conversation in the chat template,
    // after `system` when given (as the CLI's --chat --system).
    chat: optionalBoolean(o.chat, 'chat') ?? (o.system !== undefined && o.system !== null),
    system: optionalString(o.system, 'system'),
  };
}

function optionalBoolean(value, name) {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw invalid(`${name} must be true or false, not ${describe(value)}`);
  return value;
}

function optionalString(value, name) {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalid(`${name} must be a string, not ${describe(value)}`);
  return value;
}

// The conversation a text prompt becomes with {chat: true, system}.
export function chatPrompt(text, system) {
  return { messages: [...(system !== undefined ? [{ role: 'system', content: system }] : []), { role: 'user', content: text }] };
}
