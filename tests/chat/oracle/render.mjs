// Renders every template in TEMPLATES_DIR (NAME.jinja) for every conversation in
// CONVERSATIONS.json, with add_generation_prompt false and true, using @huggingface/jinja —
// a JavaScript port of the Jinja engine transformers uses for apply_chat_template.
// Usage: node render.mjs TEMPLATES_DIR CONVERSATIONS.json > expected.json
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Template } from "@huggingface/jinja";

const NAMES = ["deepseek3", "deepseek-r1", "r1-distill-qwen", "r1-distill-llama", "deepseek2"];
const [dir, convPath] = process.argv.slice(2);
if (!dir || !convPath) {
  console.error("usage: node render.mjs TEMPLATES_DIR CONVERSATIONS.json");
  process.exit(2);
}
const conversations = JSON.parse(readFileSync(convPath, "utf8"));
const cases = [];
for (const name of NAMES) {
  const template = new Template(readFileSync(join(dir, name + ".jinja"), "utf8"));
  for (const conv of conversations) {
    for (const gen of [false, true]) {
      const c = { template: name, conversation: conv.name, add_generation_prompt: gen };
      try {
        c.output = template.render({
          messages: conv.messages,
          add_generation_prompt: gen,
          bos_token: "<｜begin▁of▁sentence｜>",
          eos_token: "<｜end▁of▁sentence｜>",
        });
      } catch (err) {
        c.error = String(err && err.message ? err.message : err);
      }
      cases.push(c);
    }
  }
}
process.stdout.write(JSON.stringify({ renderer: "@huggingface/jinja 0.5.11", cases }, null, 1) + "\n");
