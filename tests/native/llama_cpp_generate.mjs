// llama.cpp's view of a GGUF file, through npm node-llama-cpp's prebuilt CPU
// build (never a download or a build: build "never"). Prints one JSON line:
//   {"text_ids": [...] (llama.cpp's tokenization of --text, without BOS),
//    "ids": [...] (greedy continuation of --ids, or of BOS + --text's ids,
//                  ending with the end-of-generation token when one comes)}
//
// usage: node llama_cpp_generate.mjs PACKAGE_DIR MODEL.gguf [--ids 1,2,3] [--text T] [--n N]
//   PACKAGE_DIR: where node-llama-cpp is installed (its node_modules' parent)
import path from "node:path";
import {pathToFileURL} from "node:url";

const [packageDir, modelPath, ...rest] = process.argv.slice(2);
const options = {};
for (let i = 0; i < rest.length; i += 2) options[rest[i].replace(/^--/, "")] = rest[i + 1];

const entry = path.join(packageDir, "node_modules", "node-llama-cpp", "dist", "index.js");
const {getLlama} = await import(pathToFileURL(entry).href);
const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
const model = await llama.loadModel({modelPath});
const context = await model.createContext({contextSize: 96, threads: 2});
const sequence = context.getSequence();

const result = {};
let prompt = options.ids ? options.ids.split(",").map(Number) : null;
if (options.text !== undefined) {
  result.text_ids = Array.from(model.tokenize(options.text));
  if (!prompt) prompt = (model.tokens.bos != null ? [model.tokens.bos] : []).concat(result.text_ids);
}
const n = Number(options.n ?? 12);
result.ids = [];
for await (const token of sequence.evaluate(prompt, {temperature: 0, yieldEogToken: true})) {
  result.ids.push(token);
  if (result.ids.length >= n || model.isEogToken(token)) break;
}
console.log(JSON.stringify(result));
await context.dispose();
await model.dispose();
await llama.dispose();
