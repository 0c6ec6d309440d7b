#!/usr/bin/env node
// Reference encoder for Seek's tokenizer conformance tests.
// Usage: node encode.js [--model deepseek_v3|llama3|qwen3] CORPUS.jsonl OUT.jsonl
// Each input line is a JSON string; each output line is the JSON array of ids that the
// tokenizer of @lenml/tokenizer-MODEL (a transformers.js port; default deepseek_v3) gives for
// it, without BOS; added tokens such as <｜User｜> are always matched by this port.
// For a tokenizer with an NFC normalizer (qwen3), strings that NFC changes are written as
// null: Seek does not normalize (as llama.cpp), so they are not comparable.
"use strict";
const fs = require("fs");

let args = process.argv.slice(2);
let model = "deepseek_v3";
if (args[0] === "--model") {
  model = args[1];
  args = args.slice(2);
}
const [inp, out] = args;
if (!inp || !out || !["deepseek_v3", "llama3", "qwen3"].includes(model)) {
  console.error("usage: node encode.js [--model deepseek_v3|llama3|qwen3] CORPUS.jsonl OUT.jsonl");
  process.exit(2);
}
const { fromPreTrained } = require(`@lenml/tokenizer-${model}`);
const tok = fromPreTrained();
const nfc = model === "qwen3";
const lines = fs.readFileSync(inp, "utf8").split("\n").filter((l) => l.length > 0);
const res = [];
for (const [i, line] of lines.entries()) {
  let s;
  try {
    s = JSON.parse(line);
  } catch (err) {
    console.error(`${inp}:${i + 1}: not JSON: ${err.message}`);
    process.exit(1);
  }
  if (typeof s !== "string") {
    console.error(`${inp}:${i + 1}: not a JSON string`);
    process.exit(1);
  }
  if (nfc && s.normalize("NFC") !== s) {
    res.push("null");
    continue;
  }
  res.push(JSON.stringify(Array.from(tok.encode(s, { add_special_tokens: false }))));
}
fs.writeFileSync(out + ".tmp", res.join("\n") + "\n");
fs.renameSync(out + ".tmp", out);
console.error(`${model}: encoded ${res.length} strings -> ${out}`);
