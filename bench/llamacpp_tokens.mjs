// Prints the greedy tokens llama.cpp (node-llama-cpp 3.22.1) generates after the bench prompt
// (300 + (i * 7919) % 20000, i < N_PROMPT), comma-separated, for bench/generate_bench.sh to compare with rotor's.
// Usage: node llamacpp_tokens.mjs MODEL.gguf N_GEN N_PROMPT   (run from a folder where node-llama-cpp is installed)
import {getLlama} from "node-llama-cpp";
const [modelPath, nGen = "128", nPrompt = "128"] = process.argv.slice(2);
const llama = await getLlama({gpu: false, logLevel: "error"});
const model = await llama.loadModel({modelPath});
const context = await model.createContext({contextSize: 1024, threads: 1, batchSize: 512});
const seq = context.getSequence();
const prompt = Array.from({length: Number(nPrompt)}, (_, i) => 300 + (i * 7919) % 20000);
const out = [];
for await (const tok of seq.evaluate(prompt, {temperature: 0})) {
  out.push(tok);
  if (out.length >= Number(nGen)) break;
}
console.log(out.join(","));
process.exit(0);
