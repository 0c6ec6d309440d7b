#!/usr/bin/env node
// Generates the tokenizer conformance corpus deterministically (fixed seed, no external data).
// Usage: node gen_corpus.js > corpus.jsonl   (one JSON string per line)
//
// Characters whose treatment differs between the JavaScript oracle and Hugging Face's Rust
// tokenizers are left out on purpose: U+0085 and U+FEFF (JavaScript's \s differs from Unicode
// White_Space), U+180E, lone surrogates, and code points assigned after Unicode 14 (PCRE2 10.42's
// tables). Everything else is fair game.
"use strict";

let seed = 0x5eed1234;
function rnd() { // mulberry32
  seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const ri = (n) => Math.floor(rnd() * n);
const pick = (a) => a[ri(a.length)];
const range = (lo, hi) => String.fromCodePoint(lo + ri(hi - lo + 1));
const rep = (n, f) => Array.from({ length: n }, f).join("");

const out = [];
const add = (s) => out.push(s);

// ---- English prose with contractions -------------------------------------------------------
const words = ("the quick brown fox jumps over lazy dog and it was a bright cold day in April " +
  "clocks were striking thirteen Winston Smith his chin nuzzled into breast effort to escape vile " +
  "wind slipped quickly through glass doors of Victory Mansions though not enough prevent swirl " +
  "gritty dust from entering along with him hallway smelt boiled cabbage old rag mats at one end " +
  "coloured poster too large for indoor display had been tacked wall It depicted simply enormous " +
  "face more than metre wide man about forty-five heavy black moustache ruggedly handsome features " +
  "tokenizer model language encode decode inference training gradient transformer attention").split(" ");
const contractions = ["I've", "it's", "they're", "we'll", "I'd", "don't", "can't", "you'RE", "HE'S",
  "She'D", "we'VE", "I'M", "y'all", "o'clock", "rock'n'roll", "'tis", "'twas", "isn't", "won't",
  "shouldn't've", "ma'am", "O'Neil", "l'homme", "d'accord", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d"];
const punct = [".", ",", "!", "?", ";", ":", "...", " -", " —", "–", "\"", "'", "(", ")", "[", "]"];
for (let i = 0; i < 260; i++) {
  const n = 1 + ri(25);
  let s = "";
  for (let k = 0; k < n; k++) {
    let w = rnd() < 0.15 ? pick(contractions) : pick(words);
    if (rnd() < 0.1) w = w[0].toUpperCase() + w.slice(1);
    if (rnd() < 0.05) w = w.toUpperCase();
    s += (k ? " " : "") + w;
    if (rnd() < 0.15) s += pick(punct);
  }
  if (rnd() < 0.3) s = " " + s;
  if (rnd() < 0.3) s += pick([".", "!", "?", "\n", " ", "\n\n"]);
  add(s);
}
for (const c of contractions) { add(c); add(" " + c); add("x" + c + "x"); }

// ---- numbers ---------------------------------------------------------------------------------
const digits = "0123456789";
for (let len = 1; len <= 40; len++) {
  for (let k = 0; k < 3; k++) add(rep(len, () => pick(digits)));
  add(" " + rep(len, () => pick(digits)));
}
for (let i = 0; i < 140; i++) {
  const num = () => rep(1 + ri(12), () => pick(digits));
  const f = pick([
    () => num(), () => "-" + num(), () => num() + "." + num(), () => num().replace(/\B(?=(\d{3})+(?!\d))/g, ","),
    () => num() + "e-" + ri(300), () => "+1 (" + num().slice(0, 3) + ") 555-" + num().slice(0, 4),
    () => "v" + ri(10) + "." + ri(100) + "." + ri(1000), () => "abc" + num() + "def", () => num() + "px",
    () => "0x" + rep(1 + ri(16), () => pick("0123456789abcdefABCDEF")), () => ri(32) + "/" + ri(13) + "/" + (1900 + ri(200)),
    () => "$" + num() + "." + num().slice(0, 2), () => num() + "%", () => ri(24) + ":" + String(ri(60)).padStart(2, "0"),
    () => "１２３" + num(), () => "٣٤٥٦٧" + num(), () => "x²+y³=z⁴", () => "½ ¼ ¾ " + num(), () => "Ⅻ Ⅳ ⅻ " + num(),
    () => "४५६७८" + num(), () => "๑๒๓" + num(), () => num() + " " + num() + "  " + num(),
  ]);
  add(f());
}

// ---- CJK -------------------------------------------------------------------------------------
const zhCommon = "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留红治决周保达办运武半候七必城父强步完革深区即求品士转量空甚众技轻程告江语英基派满式李息写呢识极令黄德收脸钱党倒未持取设始版双历越史商千片容研像找友孩站广改议形委早房音火际则首单据导影失拿网香似斯专石若兵弟谁校读志飞观争究包组造落视济喜离虽坐集编宝谈府拉黑且随格尽剑讲布杀微怕母调局根曾准团段终乐切级克精哪官示冷域读";
const zhPunct = "，。！？、；：“”‘’（）《》【】…—～·「」『』";
for (let i = 0; i < 170; i++) {
  let s = "";
  const n = 1 + ri(30);
  for (let k = 0; k < n; k++) {
    const r = rnd();
    if (r < 0.7) s += pick(zhCommon);
    else if (r < 0.85) s += pick(zhPunct);
    else if (r < 0.9) s += pick(words);
    else if (r < 0.95) s += String(ri(100000));
    else s += " ";
  }
  add(s);
}
add("我想在apple工作1314151天～"); add("毕老师！1 + 1 = 2"); add("龥龦龧 一丁 丏");

const hira = [0x3041, 0x3096], kata = [0x30a1, 0x30fa];
const kanji = "日本語東京大学先生学生時間今年電車会社仕事言葉友達";
for (let i = 0; i < 160; i++) {
  let s = "";
  const n = 1 + ri(25);
  for (let k = 0; k < n; k++) {
    const r = rnd();
    if (r < 0.4) s += range(...hira);
    else if (r < 0.65) s += range(...kata);
    else if (r < 0.8) s += pick(kanji);
    else if (r < 0.85) s += pick("ー・「」。、！？");
    else if (r < 0.9) s += range(0xff66, 0xff9d); // half-width katakana (outside the CJK split)
    else if (r < 0.95) s += pick(words) + " ";
    else s += String(ri(1000));
  }
  add(s);
}
add("こんにちは世界"); add("カタカナとひらがな、漢字。"); add("ｶﾀｶﾅﾃﾞｽ");

// ---- Korean ----------------------------------------------------------------------------------
for (let i = 0; i < 170; i++) {
  let s = "";
  const n = 1 + ri(12);
  for (let k = 0; k < n; k++) {
    s += rep(1 + ri(5), () => range(0xac00, 0xd7a3));
    s += pick([" ", " ", " ", ", ", ". ", "? ", "! ", "\n", ""]);
    if (rnd() < 0.1) s += String(ri(1000)) + pick(["개", "명", "원", "년 "]);
    if (rnd() < 0.05) s += pick(words) + " ";
  }
  add(s);
}
add("안녕하세요, 세계! 저는 한국어를 배우고 있습니다."); add("ㄱㄴㄷㄹ ㅏㅑㅓㅕ"); add("한글 Hangul 漢字 123");

// ---- code ------------------------------------------------------------------------------------
const code = [
  "def f(x):\n    return x*2\n",
  "#include <stdio.h>\nint main(void) {\n\tprintf(\"%d\\n\", 42);\n\treturn 0;\n}\n",
  "for (int i = 0; i < n; ++i) { sum += a[i] * b[i]; }",
  "const add = (a, b) => a + b;\nconsole.log(add(1, 2)); // 3\n",
  "fn main() {\n    let v: Vec<u32> = (0..10).map(|x| x * x).collect();\n    println!(\"{:?}\", v);\n}\n",
  "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"hello, 世界\")\n}\n",
  "SELECT id, name FROM users WHERE age >= 18 AND name LIKE '%son' ORDER BY id DESC;",
  "<!DOCTYPE html>\n<html lang=\"en\">\n  <body><div class=\"x\">&nbsp;&lt;tag&gt;</div></body>\n</html>\n",
  "#!/bin/bash\nset -euo pipefail\nfor f in *.txt; do echo \"$f\"; done 2>&1 | tee log\n",
  "{\"key\": [1, 2.5, true, null], \"nested\": {\"a\": \"b\\\"c\"}}",
  "x = [i**2 for i in range(10) if i % 2 == 0]\nprint(f\"{x!r:>10}\")\n",
  "if (a && b || !c) { x <<= 2; y >>>= 1; z ??= 0; }",
  "template<typename T> std::vector<T> v{1,2,3}; // C++17\n",
  "    \r\n    indented\r\n\tline\r\n",
  "$ git commit -m 'fix: off-by-one' && git push origin main",
  "@@ -1,4 +1,5 @@\n-old line\n+new line\n context\n",
  "matrix = [[1, 2], [3, 4]]  # 2x2\n",
  "class Foo(Bar):\n    \"\"\"Docstring.\"\"\"\n    def __init__(self):\n        super().__init__()\n",
  "a.b.c.d(e)[f]->g::h",
  "x=1;y=2;z=x+y;/* comment */",
];
for (const c of code) add(c);
const kw = ["if", "else", "for", "while", "return", "int", "float", "def", "class", "import", "from",
  "let", "const", "var", "fn", "pub", "struct", "impl", "self", "this", "new", "null", "None", "True"];
const ops = ["=", "==", "!=", "+=", "->", "=>", "::", "&&", "||", "<<", ">>", "++", "--", "**", "//",
  "/*", "*/", "#", "@", "$", "%", "^", "&", "|", "~", "?", ":", ";", ",", ".", "(", ")", "{", "}", "[", "]", "<", ">"];
for (let i = 0; i < 200; i++) {
  let s = "";
  const lines = 1 + ri(6);
  for (let l = 0; l < lines; l++) {
    s += pick(["", "    ", "\t", "        ", "\t\t", "  "]);
    const n = 1 + ri(10);
    for (let k = 0; k < n; k++) {
      const r = rnd();
      if (r < 0.3) s += pick(kw);
      else if (r < 0.55) s += pick(ops);
      else if (r < 0.7) s += pick(words) + (rnd() < 0.3 ? "_" + pick(words) : "");
      else if (r < 0.8) s += String(ri(10000));
      else if (r < 0.9) s += "\"" + pick(words) + "\"";
      else s += pick(["camelCase", "snake_case", "SCREAMING_CASE", "PascalCase", "x1", "i", "j", "_priv", "__dunder__"]);
      if (rnd() < 0.6) s += " ";
    }
    s += pick(["\n", "\r\n", ";\n", " {\n", "\n\n"]);
  }
  add(s);
}

// ---- emoji -----------------------------------------------------------------------------------
const emoji = ["😀", "😁", "🚀", "❤️", "👍", "👍🏻", "👍🏽", "👍🏿", "👋🏾", "👨‍👩‍👧‍👦", "👩‍💻", "🧑🏽‍🚀",
  "🏳️‍🌈", "🇯🇵", "🇺🇸", "🇩🇪", "1️⃣", "#️⃣", "✨", "🔥", "💯", "🎉", "🤖", "🦀", "🐍", "☕", "⚡", "✅",
  "❌", "⭐", "🌍", "👁️‍🗨️", "🧔‍♂️", "👨🏿‍🦰", "🤷‍♀️", "🙇🏼‍♂️", "©", "®", "™", "↗️", "♻️", "〰️"];
for (const e of emoji) { add(e); add(e + e); add("a" + e + "b"); add(" " + e + " "); }
for (let i = 0; i < 100; i++) {
  let s = "";
  const n = 1 + ri(10);
  for (let k = 0; k < n; k++) s += (rnd() < 0.6 ? pick(emoji) : pick(words)) + pick(["", " ", "  ", "!", "\n"]);
  add(s);
}

// ---- whitespace runs -------------------------------------------------------------------------
const wsChars = [" ", " ", " ", "\t", "\n", "\r\n", "\r", "\u00a0", "\u3000", "\u2003", "\u000b", "\u000c", "\u2028", "\u202f"];
for (let len = 1; len <= 12; len++) for (const c of [" ", "\t", "\n", "\r\n"]) add(c.repeat(len));
for (let i = 0; i < 170; i++) {
  let s = "";
  const n = 1 + ri(8);
  for (let k = 0; k < n; k++) {
    s += rep(1 + ri(6), () => pick(wsChars));
    if (rnd() < 0.7) s += pick(words);
    if (rnd() < 0.2) s += pick(punct);
    if (rnd() < 0.1) s += String(ri(999));
  }
  add(s);
}
add(""); add(" "); add("  "); add("\n"); add("\n\n"); add("\n\n\n"); add("\t\n"); add("    Hello\n    Hello");
add("  Hello"); add("   Hello"); add("Hello  "); add("Hello \n world"); add("a \n\n b"); add(" \r\n \r\n x");

// ---- punctuation -----------------------------------------------------------------------------
const ascPunct = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
const uniPunct = ["¿", "¡", "«", "»", "—", "–", "…", "‘", "’", "“", "”", "•", "§", "¶", "†", "‡", "※", "‰",
  "€", "£", "¥", "₹", "°", "±", "×", "÷", "→", "⇒", "∀", "∑", "√", "∞", "≠", "≤", "≥", "①", "②", "☆", "♪"];
for (let i = 0; i < 200; i++) {
  let s = "";
  const n = 1 + ri(10);
  for (let k = 0; k < n; k++) {
    const r = rnd();
    if (r < 0.4) s += rep(1 + ri(6), () => ascPunct[ri(ascPunct.length)]);
    else if (r < 0.6) s += rep(1 + ri(3), () => pick(uniPunct));
    else if (r < 0.85) s += pick(words);
    else s += pick([" ", "\n", "  ", "\r\n"]);
  }
  add(s);
}
for (const c of ascPunct) { add(c); add(c + "abc"); add(" " + c + c + c); add(c + "\n"); add("x" + c + "Y"); }
add("!!!!!!"); add("-----====="); add("a.b"); add("(x)"); add("nHello"); add("...\n\n"); add("?!?!\r\n\r\n");

// ---- other scripts, combining marks --------------------------------------------------------
const scripts = [
  "Привет, мир! Как дела?", "Γειά σου Κόσμε", "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "สวัสดีชาวโลก",
  "Xin chào thế giới, Cửa Việt", "Ünïcödé", "Führer", "façade naïve coöperate", "ÀÉÎÕÜ àéîõü ßẞ",
  "Ελληνικά και Русский и English", "ქართული ენა", "Հայերեն", "ᚠᚢᚦᚨᚱᚲ", "ꦗꦮ", "𐌰𐌱𐌲", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𝐛𝐨𝐥𝐝",
  "a\u0301b", "e\u0301\u0302\u0303", "n\u0303o", "\u0301\u0301leading marks", "ö vs o\u0308",
  "ŉ ǅ ǈ ǋ ﬁ ﬀ ﬃ", "İstanbul ıi", "ΣΊΣΥΦΟΣ σς", "Ǆemal", "K (Kelvin) ſ (long s) Å", "ﾟ ゙ ゚",
  "ĠÑĤÐ²ÑĬÑĢ", "ied 4 ½ months", "w048 7tuijk dsdfhu", " discards", "\u0001\u0002\u001b[0m\u007f",
  "\u00ad soft hyphen", "zero\u200bwidth\u200cjoiners\u200d", "\ufffd replacement \ufffd\ufffd",
  "\u2060word\u2061", "tab\there", "\u061c\u200e\u200f bidi", "¤¦¨ª¯´¸º", "\u00a0nbsp\u00a0",
];
for (const s of scripts) { add(s); add(" " + s); add(s + "\n" + s); }
const scriptRanges = [[0x400, 0x4ff], [0x370, 0x3ff], [0x600, 0x6ff], [0x5d0, 0x5ea], [0x900, 0x97f],
  [0xe01, 0xe5b], [0x10a0, 0x10ff], [0x1e00, 0x1eff], [0x300, 0x36f], [0x2000, 0x206f], [0x2100, 0x214f],
  [0x2190, 0x21ff], [0x2200, 0x22ff], [0x2500, 0x257f], [0xff01, 0xff5e], [0x1f300, 0x1f5ff], [0x1d400, 0x1d4ff],
  [0xa0, 0xff], [0x100, 0x17f], [0x3000, 0x303f], [0x4e00, 0x9fff], [0xac00, 0xd7a3], [0x3040, 0x30ff]];
const bad = new Set([0x85, 0xfeff, 0x180e]);
function randChar() {
  for (;;) {
    const r = pick(scriptRanges);
    const cp = r[0] + ri(r[1] - r[0] + 1);
    if (bad.has(cp)) continue;
    const ch = String.fromCodePoint(cp);
    if (/\p{Cn}/u.test(ch) || /\p{Cs}/u.test(ch)) continue;
    if (cp >= 0x2065 && cp <= 0x2069) continue;
    return ch;
  }
}
for (let i = 0; i < 260; i++) {
  let s = "";
  const n = 1 + ri(30);
  for (let k = 0; k < n; k++) {
    const r = rnd();
    if (r < 0.55) s += randChar();
    else if (r < 0.7) s += pick(words);
    else if (r < 0.8) s += pick(wsChars);
    else if (r < 0.9) s += ascPunct[ri(ascPunct.length)];
    else s += String(ri(100000));
  }
  add(s);
}

// ---- special-token look-alikes -------------------------------------------------------------
const specials = ["<｜User｜>", "<｜Assistant｜>", "<｜end▁of▁sentence｜>", "<｜begin▁of▁sentence｜>", "<|EOT|>",
  "<｜tool▁calls▁begin｜>", "<｜tool▁call▁begin｜>", "<｜tool▁sep｜>", "<｜tool▁call▁end｜>", "<｜fim▁hole｜>",
  "<｜place▁holder▁no▁12｜>", "<｜▁pad▁｜>"];
const looks = ["<|User|>", "<｜User", "User｜>", "<｜user｜>", "< ｜User｜>", "<think>", "</think>", "<think >",
  "<｜end_of_sentence｜>", "<|endoftext|>", "<|im_start|>", "<s>", "</s>", "[INST]", "<<SYS>>", "<｜", "｜>", "▁", "｜"];
for (let i = 0; i < 160; i++) {
  let s = "";
  const n = 1 + ri(6);
  for (let k = 0; k < n; k++) {
    const r = rnd();
    if (r < 0.3) s += pick(specials);
    else if (r < 0.6) s += pick(looks);
    else if (r < 0.9) s += (rnd() < 0.5 ? " " : "") + pick(words);
    else s += pick(["\n", "\n\n", " ", ""]);
  }
  add(s);
}
add("<｜User｜>Hi<｜Assistant｜>"); add("<think>\nOkay"); add("</think>\n\nAnswer"); add("<<｜User｜>>");
add("<｜begin▁of▁sentence｜><｜User｜>What is 2+2?<｜Assistant｜><think>\n");

// ---- long words ------------------------------------------------------------------------------
for (const n of [1, 2, 3, 7, 16, 33, 64, 100, 257, 600]) {
  add("a".repeat(n)); add("ab".repeat(n)); add(" " + "x".repeat(n)); add("3".repeat(n)); add("é".repeat(n));
  add("中".repeat(n)); add("-".repeat(n)); add("=".repeat(n) + "\n");
}
add("pneumonoultramicroscopicsilicovolcanoconiosis"); add("Donaudampfschifffahrtsgesellschaftskapitän");
add("supercalifragilisticexpialidocious antidisestablishmentarianism");
for (let i = 0; i < 60; i++) {
  const r = rnd();
  if (r < 0.3) add(rep(30 + ri(400), () => pick("abcdefghijklmnopqrstuvwxyz")));
  else if (r < 0.5) add(rep(20 + ri(200), () => pick("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")) + "==");
  else if (r < 0.7) add("https://example.com/" + rep(5 + ri(60), () => pick("abcdefghij0123456789-_/.?=&%")));
  else if (r < 0.85) add(rep(16 + ri(100), () => pick("0123456789abcdef")));
  else add(rep(5 + ri(40), () => pick(words)).replace(/ /g, ""));
}

// ---- random soup ----------------------------------------------------------------------------
for (let i = 0; i < 150; i++) {
  let s = "";
  const n = 1 + ri(40);
  for (let k = 0; k < n; k++) {
    const r = rnd();
    if (r < 0.2) s += randChar();
    else if (r < 0.35) s += pick(emoji);
    else if (r < 0.5) s += pick(wsChars);
    else if (r < 0.6) s += pick(zhCommon);
    else if (r < 0.7) s += ascPunct[ri(ascPunct.length)];
    else if (r < 0.8) s += pick(digits);
    else if (r < 0.85) s += pick(contractions);
    else if (r < 0.9) s += pick(looks);
    else s += pick(words);
  }
  add(s);
}

for (const s of out) process.stdout.write(JSON.stringify(s) + "\n");
process.stderr.write(`${out.length} strings\n`);
