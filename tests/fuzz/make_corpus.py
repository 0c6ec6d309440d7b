#!/usr/bin/env python3
"""Regenerates the fuzz seed corpus from the golden test files: the metadata+tensor-info part of
a few GGUF files (cut where the data section starts, plus a little data), the JSON header of a few
safetensors files (plus a little data), and two small complete files. Run from the repo root."""
import os, struct

D = 'tests/data/golden'
OUT = 'tests/fuzz/corpus'

def gguf_data_start(b):
    pos = 24
    n_t, n_kv = struct.unpack_from('<QQ', b, 8)
    sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
    align = 32
    def rstr(p):
        n = struct.unpack_from('<Q', b, p)[0]
        return b[p + 8:p + 8 + n], p + 8 + n
    for _ in range(n_kv):
        k, pos = rstr(pos)
        t = struct.unpack_from('<I', b, pos)[0]; pos += 4
        if t == 8:
            _, pos = rstr(pos)
        elif t == 9:
            et, cnt = struct.unpack_from('<IQ', b, pos); pos += 12
            for _ in range(cnt):
                if et == 8:
                    _, pos = rstr(pos)
                else:
                    pos += sizes[et]
        else:
            if k == b'general.alignment':
                align = struct.unpack_from('<I', b, pos)[0]
            pos += sizes[t]
    for _ in range(n_t):
        _, pos = rstr(pos)
        nd = struct.unpack_from('<I', b, pos)[0]
        pos += 4 + 8 * nd + 4 + 8
    return (pos + align - 1) // align * align

for name, src in [('llama3-header', 'llama3-tiny/model.gguf'), ('qwen2-q8-header', 'qwen2-tiny/model-q8_0.gguf'),
                  ('quant-q4k-header', 'quant/quant-q4_k.gguf')]:
    b = open(os.path.join(D, src), 'rb').read()
    n = gguf_data_start(b)
    open(os.path.join(OUT, 'gguf', name + '.gguf'), 'wb').write(b[:n + 256])

def gstr(s):
    s = s.encode()
    return struct.pack('<Q', len(s)) + s

small = b'GGUF' + struct.pack('<IQQ', 3, 2, 3)
small += gstr('general.architecture') + struct.pack('<I', 8) + gstr('llama')
small += gstr('tok.tokens') + struct.pack('<IIQ', 9, 8, 2) + gstr('a') + gstr('bc')
small += gstr('x.f32') + struct.pack('<IIQ', 9, 6, 2) + struct.pack('<ff', 1, 2)
small += gstr('t.f32') + struct.pack('<IQIQ', 1, 8, 0, 0)
small += gstr('t.q8') + struct.pack('<IQQIQ', 2, 32, 1, 8, 32)
small += b'\0' * ((-len(small)) % 32) + bytes(range(32)) + bytes(34) + bytes(30)
open(os.path.join(OUT, 'gguf', 'small.gguf'), 'wb').write(small)

for name, src in [('llama3', 'llama3-tiny/model.safetensors'), ('qwen2', 'qwen2-tiny/model.safetensors')]:
    b = open(os.path.join(D, src), 'rb').read()
    n = struct.unpack_from('<Q', b, 0)[0]
    open(os.path.join(OUT, 'safetensors', name + '-header.safetensors'), 'wb').write(b[:8 + n + 64])
h = (b'{"__metadata__":{"format":"pt"},"a":{"dtype":"F8_E4M3","shape":[2,2],"data_offsets":[0,4]},'
     b'"a_scale_inv":{"dtype":"F32","shape":[1,1],"data_offsets":[4,8]},'
     b'"b":{"dtype":"BF16","shape":[4],"data_offsets":[8,16]}}')
open(os.path.join(OUT, 'safetensors', 'small.safetensors'), 'wb').write(struct.pack('<Q', len(h)) + h + bytes(range(16)))
