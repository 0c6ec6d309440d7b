#!/usr/bin/env node
// Encodes strings with a tokenizer.json + tokenizer_config.json through transformers.js (the
// @lenml/tokenizers port of the Hugging Face tokenizers, installed for tests/tokenizer/oracle):
// an independent reader of the files that `seek tokenizer train` writes.
// Usage: node data_hf_encode.js TOKENIZER_DIR IN.jsonl OUT.jsonl
// IN: one JSON string per line; OUT: one JSON array of ids per line (no BOS; added tokens are
// always matched).
"use strict";
const fs = require("fs");
const { TokenizerLoader } = require("@lenml/tokenizers");
const [dir, inp, out] = process.argv.slice(2);
if (!dir || !inp || !out) {
  console.error("usage: node data_hf_encode.js TOKENIZER_DIR IN.jsonl OUT.jsonl");
  process.exit(2);
}
const tok = TokenizerLoader.fromPreTrained({
  tokenizerJSON: JSON.parse(fs.readFileSync(dir + "/tokenizer.json", "utf8")),
  tokenizerConfig: JSON.parse(fs.readFileSync(dir + "/tokenizer_config.json", "utf8")),
});
const lines = fs.readFileSync(inp, "utf8").split("\n").filter((l) => l.length > 0);
const res = lines.map((l) => JSON.stringify(tok.encode(JSON.parse(l), { add_special_tokens: false })));
fs.writeFileSync(out, res.join("\n") + "\n");
