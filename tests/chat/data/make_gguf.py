#!/usr/bin/env python3
"""Writes the metadata-only GGUF files used by tests/chat (no tensors): a GGUF v3 header, the
key/value pairs below, zero padding to the default 32-byte alignment. Independent of Seek's own
GGUF writer. Run from this folder: python3 make_gguf.py"""
import struct

def gguf_str(x):
    b = x.encode()
    return struct.pack('<Q', len(b)) + b

def write(path, kvs):
    out = b'GGUF' + struct.pack('<IQQ', 3, 0, len(kvs))
    for k, v in kvs:
        out += gguf_str(k) + struct.pack('<I', 8) + gguf_str(v)  # 8 = string
    out += b'\0' * ((-len(out)) % 32)
    with open(path, 'wb') as f:
        f.write(out)

def tmpl(name):
    with open('../templates/' + name + '.jinja', encoding='utf-8') as f:
        return f.read()

write('r1-template.gguf', [('general.architecture', 'deepseek2'),
                           ('tokenizer.chat_template', tmpl('deepseek-r1'))])
write('distill-llama-template.gguf', [('general.architecture', 'llama'),
                                      ('tokenizer.chat_template', tmpl('r1-distill-llama'))])
write('no-template.gguf', [('general.architecture', 'qwen2')])
