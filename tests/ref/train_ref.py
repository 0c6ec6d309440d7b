#!/usr/bin/python3
"""Independent float64 PyTorch reference for Seek's trainer (tests/ref/train_ref.py).

Implements the DeepSeek-V3 architecture (MLA with optional q LoRA, YaRN RoPE on adjacent
pairs, dense SwiGLU, DeepSeekMoE with sigmoid/softmax routing, selection-only bias and
groups, sequence-wise balance loss, MTP of depth D) and the training conventions of
/work/shared/spec/training-conventions.md, differentiated by autograd in float64.

  /usr/bin/python3 tests/ref/train_ref.py anchor     # forward logits vs tests/data/golden
  /usr/bin/python3 tests/ref/train_ref.py generate   # writes tests/data/trainref/<case>/

Each case folder holds config.json, weights.safetensors (F32, HF names and shapes, V3
checkpoint layout incl. the MTP copies of embedding and head), batch.txt, mask.txt and
grads.safetensors (`loss` [] plus the gradient of every tensor in weights.safetensors; the
MTP copies carry the shared gradient, e_score_correction_bias zeros). Needs only torch.
"""
import json
import math
import os
import struct
import sys

import torch

torch.set_default_dtype(torch.float64)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "data")

# ---------------------------------------------------------------- safetensors (minimal)
DT = {"F32": (torch.float32, 4), "BF16": (torch.bfloat16, 2), "F16": (torch.float16, 2),
      "F64": (torch.float64, 8)}


def st_read(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    hdr = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for name, ent in hdr.items():
        if name == "__metadata__":
            continue
        dt, sz = DT[ent["dtype"]]
        b, e = ent["data_offsets"]
        buf = bytearray(raw[base + b:base + e])
        t = torch.frombuffer(buf, dtype=dt) if len(buf) else torch.zeros(0, dtype=dt)
        out[name] = t.reshape(ent["shape"]).to(torch.float64)
    return out


def st_write(path, tensors):
    names = sorted(tensors)
    hdr, blobs, off = {}, [], 0
    for nm in names:
        t = tensors[nm].detach().to(torch.float32).contiguous()
        b = t.numpy().tobytes()
        hdr[nm] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


# ---------------------------------------------------------------- config
class Cfg:
    def __init__(self, d):
        self.d = d
        self.V = d["vocab_size"]
        self.H = d["hidden_size"]
        self.inter = d["intermediate_size"]
        self.moe_inter = d.get("moe_intermediate_size", 0)
        self.L = d["num_hidden_layers"]
        self.D = d.get("num_nextn_predict_layers", 0) or 0
        self.nh = d["num_attention_heads"]
        self.qr = d.get("q_lora_rank") or 0
        self.kvr = d["kv_lora_rank"]
        self.dn = d["qk_nope_head_dim"]
        self.dr = d["qk_rope_head_dim"]
        self.dv = d["v_head_dim"]
        self.E = d.get("n_routed_experts") or 0
        self.ns = d.get("n_shared_experts") or 0
        self.K = d.get("num_experts_per_tok") or 0
        self.G = d.get("n_group") or 1
        self.TG = d.get("topk_group") or 1
        self.method = d.get("topk_method", "greedy")
        self.score = d.get("scoring_func", "softmax")
        self.norm_topk = bool(d.get("norm_topk_prob", False))
        self.rscale = d.get("routed_scaling_factor", 1.0)
        self.first_dense = d.get("first_k_dense_replace", 0)
        self.freq = d.get("moe_layer_freq", 1)
        self.eps = d["rms_norm_eps"]
        self.theta = d.get("rope_theta", 10000.0)
        self.rs = d.get("rope_scaling")
        self.lam = d.get("mtp_loss_scaling_factor", 0.0)
        self.alpha = d.get("aux_loss_alpha", 0.0) or 0.0
        self.has_bias = self.method == "noaux_tc"

    def is_moe(self, l):
        return self.E > 0 and l >= self.first_dense and l % self.freq == 0


def inv_freq(c):
    d = c.dr
    inv = 1.0 / c.theta ** (torch.arange(0, d, 2, dtype=torch.float64) / d)
    if c.rs and c.rs.get("type", c.rs.get("rope_type")) == "yarn":
        s = c.rs["factor"]
        L0 = c.rs["original_max_position_embeddings"]
        bf, bs = c.rs.get("beta_fast", 32), c.rs.get("beta_slow", 1)

        def corr(r):
            return d * math.log(L0 / (r * 2 * math.pi)) / (2 * math.log(c.theta))
        lo = max(math.floor(corr(bf)), 0)
        hi = min(math.ceil(corr(bs)), d - 1)
        if hi == lo:
            hi = lo + 0.001
        ramp = ((torch.arange(d // 2, dtype=torch.float64) - lo) / (hi - lo)).clamp(0, 1)
        inv = inv * (1 - ramp) + inv / s * ramp
    return inv


def attn_scale(c):
    sc = (c.dn + c.dr) ** -0.5
    if c.rs and c.rs.get("type", c.rs.get("rope_type")) == "yarn":
        m_all = c.rs.get("mscale_all_dim", 0)
        if m_all:
            m = 0.1 * m_all * math.log(c.rs["factor"]) + 1.0
            sc = sc * m * m
    return sc


# ---------------------------------------------------------------- model
def rms(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope(x, ang):
    # x [..., T, ?, d] adjacent pairs (2i, 2i+1); ang [T, d/2]
    x0, x1 = x[..., 0::2], x[..., 1::2]
    cs, sn = torch.cos(ang), torch.sin(ang)
    shp = [1] * (x.dim() - 3) + [ang.shape[0], 1, ang.shape[1]]
    cs, sn = cs.reshape(shp), sn.reshape(shp)
    y0 = x0 * cs - x1 * sn
    y1 = x0 * sn + x1 * cs
    return torch.stack([y0, y1], -1).flatten(-2)


def mla(P, pre, c, x):
    B, T, _ = x.shape
    if c.qr:
        q = rms(x @ P[pre + "q_a_proj.weight"].T, P[pre + "q_a_layernorm.weight"], c.eps)
        q = q @ P[pre + "q_b_proj.weight"].T
    else:
        q = x @ P[pre + "q_proj.weight"].T
    q = q.view(B, T, c.nh, c.dn + c.dr)
    qn, qp = q[..., :c.dn], q[..., c.dn:]
    kva = x @ P[pre + "kv_a_proj_with_mqa.weight"].T
    ckv = rms(kva[..., :c.kvr], P[pre + "kv_a_layernorm.weight"], c.eps)
    kpe = kva[..., c.kvr:].unsqueeze(2)  # [B,T,1,dr]
    kv = (ckv @ P[pre + "kv_b_proj.weight"].T).view(B, T, c.nh, c.dn + c.dv)
    kn, v = kv[..., :c.dn], kv[..., c.dn:]
    ang = torch.arange(T, dtype=torch.float64)[:, None] * inv_freq(c)[None, :]
    qp = rope(qp, ang)
    kpe = rope(kpe, ang)[:, :, 0, :]
    s = torch.einsum("bthd,bshd->bhts", qn, kn) + torch.einsum("bthd,bsd->bhts", qp, kpe)
    s = s * attn_scale(c)
    causal = torch.ones(T, T, dtype=torch.bool).triu(1)
    s = s.masked_fill(causal, float("-inf"))
    p = torch.softmax(s, -1)
    o = torch.einsum("bhts,bshd->bthd", p, v).reshape(B, T, c.nh * c.dv)
    return o @ P[pre + "o_proj.weight"].T


def swiglu(P, pre, x):
    g = x @ P[pre + "gate_proj.weight"].T
    u = x @ P[pre + "up_proj.weight"].T
    return (torch.nn.functional.silu(g) * u) @ P[pre + "down_proj.weight"].T


def route(c, s, bias):
    """Selection (no grad). s [N,E] unbiased scores. Returns indices [N,K] and min margin."""
    with torch.no_grad():
        ch = s + bias if bias is not None else s.clone()
        N = ch.shape[0]
        margin = float("inf")
        if c.G > 1:
            g = ch.view(N, c.G, c.E // c.G)
            gs = g.topk(2, -1).values.sum(-1) if bias is not None else g.max(-1).values
            srt = gs.sort(-1, descending=True).values
            margin = min(margin, (srt[:, c.TG - 1] - srt[:, c.TG]).min().item())
            keep = gs.topk(c.TG, -1).indices
            gm = torch.zeros(N, c.G, dtype=torch.bool)
            gm.scatter_(1, keep, True)
            ch = ch.masked_fill(~gm.repeat_interleave(c.E // c.G, 1), float("-inf"))
        srt = ch.sort(-1, descending=True).values
        if c.K < c.E:
            d = srt[:, c.K - 1] - srt[:, c.K]
            d = d[torch.isfinite(d)]
            if d.numel():
                margin = min(margin, d.min().item())
        sel = ch.topk(c.K, -1).indices
    return sel, margin


def moe(P, pre, c, x, stats):
    B, T, H = x.shape
    xf = x.reshape(B * T, H)
    logits = xf @ P[pre + "gate.weight"].T
    s = torch.sigmoid(logits) if c.score == "sigmoid" else torch.softmax(logits, -1)
    bias = P[pre + "gate.e_score_correction_bias"].detach() if c.has_bias else None
    sel, margin = route(c, s.detach(), bias)
    stats["margin"] = min(stats.get("margin", float("inf")), margin)
    w = s.gather(1, sel)
    if c.norm_topk:
        w = w / w.sum(-1, keepdim=True)
    w = w * c.rscale
    wfull = torch.zeros(B * T, c.E).scatter(1, sel, w)
    y = swiglu(P, pre + "shared_experts.", xf) if c.ns else torch.zeros_like(xf)
    for e in range(c.E):
        rows = (sel == e).any(-1).nonzero().flatten()
        if rows.numel() == 0:
            continue
        ye = swiglu(P, pre + "experts.%d." % e, xf[rows])
        y = y.index_add(0, rows, wfull[rows, e:e + 1] * ye)
    # sequence-wise balance loss
    with torch.no_grad():
        cnt = torch.zeros(B * T, c.E).scatter(1, sel, 1.0).view(B, T, c.E).sum(1)
        f = cnt * c.E / (c.K * T)
    Pi = (s / s.sum(-1, keepdim=True)).view(B, T, c.E).mean(1)
    bal = (f * Pi).sum(-1).mean()
    stats.setdefault("load", []).append(cnt.sum(0))
    return y.view(B, T, H), bal


def block(P, c, l, x, stats):
    pre = "model.layers.%d." % l
    h = x + mla(P, pre + "self_attn.", c, rms(x, P[pre + "input_layernorm.weight"], c.eps))
    xn = rms(h, P[pre + "post_attention_layernorm.weight"], c.eps)
    if c.is_moe(l):
        f, bal = moe(P, pre + "mlp.", c, xn, stats)
    else:
        f, bal = swiglu(P, pre + "mlp.", xn), 0.0
    return h + f, bal


def ce_mean(logits, tgt, m):
    lp = torch.log_softmax(logits, -1).gather(-1, tgt.unsqueeze(-1)).squeeze(-1)
    n = m.sum()
    if n.item() == 0:
        return logits.sum() * 0.0
    return -(lp * m).sum() / n


def trunk(P, c, inp, stats):
    h = P["model.embed_tokens.weight"][inp]
    bal = 0.0
    for l in range(c.L):
        h, b = block(P, c, l, h, stats)
        bal = bal + b
    return rms(h, P["model.norm.weight"], c.eps), bal


def loss_fn(P, c, ids, mask, stats):
    B, S = ids.shape
    T = S - 1
    h0, bal = trunk(P, c, ids[:, :T], stats)
    head = P["lm_head.weight"]
    m = mask.to(torch.float64)
    lmain = ce_mean(h0 @ head.T, ids[:, 1:], m[:, 1:])
    stats["main"] = lmain.item()
    mtp = 0.0
    hprev = h0
    for k in range(1, c.D + 1):
        Tk = T - k
        pre = "model.layers.%d." % (c.L + k - 1)
        e = P["model.embed_tokens.weight"][ids[:, k:k + Tk]]
        cat = torch.cat([rms(e, P[pre + "enorm.weight"], c.eps),
                         rms(hprev[:, :Tk], P[pre + "hnorm.weight"], c.eps)], -1)
        u = cat @ P[pre + "eh_proj.weight"].T
        u, b = block(P, c, c.L + k - 1, u, stats)
        bal = bal + b
        hk = rms(u, P[pre + "shared_head.norm.weight"], c.eps)
        lk = ce_mean(hk @ head.T, ids[:, k + 1:k + 1 + Tk], m[:, k + 1:k + 1 + Tk])
        stats["mtp%d" % k] = lk.item()
        mtp = mtp + lk
        hprev = hk
    loss = lmain
    if c.D:
        loss = loss + c.lam / c.D * mtp
    if c.alpha:
        loss = loss + c.alpha * bal
    stats["bal"] = float(bal) if not torch.is_tensor(bal) else bal.item()
    return loss


# ---------------------------------------------------------------- anchor
def anchor():
    worst = 0.0
    for case in ("ds3-tiny", "ds3-grouped", "ds2-lite-tiny"):
        d = os.path.join(DATA, "golden", case)
        c = Cfg(json.load(open(os.path.join(d, "config.json"))))
        P = st_read(os.path.join(d, "model.safetensors"))
        ids = torch.tensor([[int(t) for t in open(os.path.join(d, "tokens.txt")).read().split()]])
        with torch.no_grad():
            h, _ = trunk(P, c, ids, {})
            logits = (h @ P["lm_head.weight"].T)[0]
        raw = open(os.path.join(d, "logits.f32"), "rb").read()
        ref = torch.frombuffer(bytearray(raw), dtype=torch.float32).to(torch.float64)
        ref = ref.view(logits.shape)
        diff = (logits - ref).abs().max().item()
        rel = diff / ref.abs().max().item()
        print("anchor %-14s max|ref-official| = %.3e  (relative %.3e, argmax agree %d/%d)" % (
            case, diff, rel, int((logits.argmax(-1) == ref.argmax(-1)).sum()), ref.shape[0]))
        worst = max(worst, diff)
    ok = worst < 1e-4
    print("anchor:", "OK" if ok else "FAILED")
    return ok


# ---------------------------------------------------------------- cases
def base_cfg(**kw):
    d = {
        "architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3",
        "vocab_size": 48, "hidden_size": 24, "intermediate_size": 40,
        "moe_intermediate_size": 12, "num_hidden_layers": 2, "num_nextn_predict_layers": 0,
        "num_attention_heads": 2, "num_key_value_heads": 2, "n_shared_experts": 1,
        "n_routed_experts": 8, "routed_scaling_factor": 2.5, "kv_lora_rank": 12,
        "q_lora_rank": 16, "qk_rope_head_dim": 8, "v_head_dim": 8, "qk_nope_head_dim": 8,
        "topk_method": "noaux_tc", "n_group": 4, "topk_group": 2, "num_experts_per_tok": 2,
        "moe_layer_freq": 1, "first_k_dense_replace": 1, "norm_topk_prob": True,
        "scoring_func": "sigmoid", "aux_loss_alpha": 0.01, "seq_aux": True,
        "hidden_act": "silu", "max_position_embeddings": 163840, "initializer_range": 0.02,
        "rms_norm_eps": 1e-06, "tie_word_embeddings": False, "rope_theta": 10000.0,
        "rope_scaling": {"beta_fast": 32, "beta_slow": 1, "factor": 40, "mscale": 1.0,
                         "mscale_all_dim": 1.0, "original_max_position_embeddings": 4096,
                         "type": "yarn"},
        "attention_bias": False, "torch_dtype": "float32", "bos_token_id": 0, "eos_token_id": 1,
    }
    d.update(kw)
    return d


CASES = {
    # V3 layout: q LoRA, sigmoid + bias + groups, MTP D=1 (a MoE block), mask with holes.
    "v3-mtp1": dict(cfg=base_cfg(num_nextn_predict_layers=1, mtp_loss_scaling_factor=0.3),
                    B=3, S=10, mask="holes", seed=11),
    # MTP D=2 with moe_layer_freq 2: layers 0,1 dense, 2 MoE, MTP blocks 3 (dense), 4 (MoE).
    "v3-mtp2": dict(cfg=base_cfg(num_hidden_layers=3, num_nextn_predict_layers=2,
                                 mtp_loss_scaling_factor=0.5, moe_layer_freq=2,
                                 aux_loss_alpha=0.02),
                    B=2, S=11, mask="holes", seed=12),
    # V2-Lite layout: plain q_proj, softmax, greedy, no bias, no renormalisation, scale 1.
    "v2lite": dict(cfg=base_cfg(architectures=["DeepseekV2ForCausalLM"], model_type="deepseek_v2",
                                q_lora_rank=None, topk_method="greedy", n_group=1, topk_group=1,
                                scoring_func="softmax", norm_topk_prob=False,
                                routed_scaling_factor=1.0, n_shared_experts=2,
                                aux_loss_alpha=0.001,
                                rope_scaling={"beta_fast": 32, "beta_slow": 1, "factor": 40,
                                              "mscale": 0.707, "mscale_all_dim": 0.707,
                                              "original_max_position_embeddings": 4096,
                                              "type": "yarn"}),
                   B=3, S=9, mask="holes", seed=13),
    # Longer sequences and more heads: 2 x 65 ids (T = 64), 4 heads, MTP D=1.
    "v3-long": dict(cfg=base_cfg(num_attention_heads=4, num_key_value_heads=4,
                                 num_nextn_predict_layers=1, mtp_loss_scaling_factor=0.3,
                                 vocab_size=40),
                    B=2, S=65, mask="holes", seed=15),
    # V2 group-limited greedy (softmax, group score = max), renormalised, q LoRA, whole
    # sequence masked out in row 1, no balance loss.
    "v2-groups": dict(cfg=base_cfg(architectures=["DeepseekV2ForCausalLM"],
                                   model_type="deepseek_v2", topk_method="group_limited_greedy",
                                   scoring_func="softmax", norm_topk_prob=True,
                                   routed_scaling_factor=2.0, aux_loss_alpha=0.0),
                      B=2, S=9, mask="row", seed=14),
}


def param_shapes(c):
    sh = {"model.embed_tokens.weight": [c.V, c.H], "model.norm.weight": [c.H],
          "lm_head.weight": [c.V, c.H]}
    for l in range(c.L + c.D):
        p = "model.layers.%d." % l
        sh[p + "input_layernorm.weight"] = [c.H]
        sh[p + "post_attention_layernorm.weight"] = [c.H]
        a = p + "self_attn."
        if c.qr:
            sh[a + "q_a_proj.weight"] = [c.qr, c.H]
            sh[a + "q_a_layernorm.weight"] = [c.qr]
            sh[a + "q_b_proj.weight"] = [c.nh * (c.dn + c.dr), c.qr]
        else:
            sh[a + "q_proj.weight"] = [c.nh * (c.dn + c.dr), c.H]
        sh[a + "kv_a_proj_with_mqa.weight"] = [c.kvr + c.dr, c.H]
        sh[a + "kv_a_layernorm.weight"] = [c.kvr]
        sh[a + "kv_b_proj.weight"] = [c.nh * (c.dn + c.dv), c.kvr]
        sh[a + "o_proj.weight"] = [c.H, c.nh * c.dv]
        m = p + "mlp."
        if c.is_moe(l):
            sh[m + "gate.weight"] = [c.E, c.H]
            if c.has_bias:
                sh[m + "gate.e_score_correction_bias"] = [c.E]
            for e in range(c.E):
                x = m + "experts.%d." % e
                sh[x + "gate_proj.weight"] = [c.moe_inter, c.H]
                sh[x + "up_proj.weight"] = [c.moe_inter, c.H]
                sh[x + "down_proj.weight"] = [c.H, c.moe_inter]
            if c.ns:
                x = m + "shared_experts."
                sh[x + "gate_proj.weight"] = [c.ns * c.moe_inter, c.H]
                sh[x + "up_proj.weight"] = [c.ns * c.moe_inter, c.H]
                sh[x + "down_proj.weight"] = [c.H, c.ns * c.moe_inter]
        else:
            sh[m + "gate_proj.weight"] = [c.inter, c.H]
            sh[m + "up_proj.weight"] = [c.inter, c.H]
            sh[m + "down_proj.weight"] = [c.H, c.inter]
        if l >= c.L:
            sh[p + "enorm.weight"] = [c.H]
            sh[p + "hnorm.weight"] = [c.H]
            sh[p + "eh_proj.weight"] = [c.H, 2 * c.H]
            sh[p + "shared_head.norm.weight"] = [c.H]
            sh[p + "embed_tokens.weight"] = [c.V, c.H]
            sh[p + "shared_head.head.weight"] = [c.V, c.H]
    return sh


def make_weights(c, g):
    P = {}
    for nm, shp in param_shapes(c).items():
        if nm.endswith("e_score_correction_bias"):
            t = torch.randn(shp, generator=g) * 0.2
        elif len(shp) == 1:
            t = 1.0 + 0.2 * torch.randn(shp, generator=g)
        elif "embed_tokens" in nm:
            t = torch.randn(shp, generator=g)
        else:
            t = torch.randn(shp, generator=g) / math.sqrt(shp[1])
        # exactly representable in float32, so the C side sees the same numbers
        P[nm] = t.to(torch.float32).to(torch.float64)
    for l in range(c.L, c.L + c.D):
        p = "model.layers.%d." % l
        P[p + "embed_tokens.weight"] = P["model.embed_tokens.weight"].clone()
        P[p + "shared_head.head.weight"] = P["lm_head.weight"].clone()
    return P


def run_case(name, spec, outdir):
    cfgd = spec["cfg"]
    c = Cfg(cfgd)
    for attempt in range(200):
        g = torch.Generator().manual_seed(spec["seed"] * 1000 + attempt)
        P = make_weights(c, g)
        ids = torch.randint(0, c.V, (spec["B"], spec["S"]), generator=g)
        mask = torch.ones(spec["B"], spec["S"], dtype=torch.int64)
        if spec["mask"] == "holes":
            mask = (torch.rand(spec["B"], spec["S"], generator=g) > 0.3).to(torch.int64)
            mask[0, 0] = 0  # never used
        elif spec["mask"] == "row":
            mask[1, :] = 0
        leaves = {k: v.clone().requires_grad_(True) for k, v in P.items()}
        stats = {}
        loss = loss_fn(leaves, c, ids, mask, stats)
        if stats.get("margin", float("inf")) > 2e-4:
            break
    else:
        raise SystemExit("%s: no seed with a routing margin > 2e-4" % name)
    loss.backward()
    grads = {"loss": loss.detach().reshape([])}
    for k, v in leaves.items():
        gr = v.grad if v.grad is not None else torch.zeros_like(v)
        grads[k] = gr
    # shared embedding / head: copies carry the sum (main names already hold it, as the
    # copies are never used in the forward pass)
    for l in range(c.L, c.L + c.D):
        p = "model.layers.%d." % l
        grads[p + "embed_tokens.weight"] = grads["model.embed_tokens.weight"]
        grads[p + "shared_head.head.weight"] = grads["lm_head.weight"]
    # float64 gradient check of a few random coordinates (the reference checks itself)
    worst = 0.0
    g2 = torch.Generator().manual_seed(5)
    names = [k for k in P if not k.endswith("e_score_correction_bias")
             and not (k.startswith("model.layers.%d." % c.L) and
                      ("embed_tokens" in k or "shared_head.head" in k))]
    for nm in names[:: max(1, len(names) // 12)]:
        i = int(torch.randint(0, P[nm].numel(), (1,), generator=g2))
        h = 1e-6
        Pp = {k: v.clone() for k, v in P.items()}
        Pm = {k: v.clone() for k, v in P.items()}
        Pp[nm].view(-1)[i] += h
        Pm[nm].view(-1)[i] -= h
        with torch.no_grad():
            fd = (loss_fn(Pp, c, ids, mask, {}) - loss_fn(Pm, c, ids, mask, {})).item() / (2 * h)
        an = grads[nm].view(-1)[i].item()
        worst = max(worst, abs(fd - an) / (abs(an) + 1e-4))
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "config.json"), "w") as f:
        json.dump(cfgd, f, indent=2)
        f.write("\n")
    st_write(os.path.join(outdir, "weights.safetensors"), P)
    st_write(os.path.join(outdir, "grads.safetensors"), grads)
    with open(os.path.join(outdir, "batch.txt"), "w") as f:
        for row in ids.tolist():
            f.write(" ".join(str(t) for t in row) + "\n")
    with open(os.path.join(outdir, "mask.txt"), "w") as f:
        for row in mask.tolist():
            f.write(" ".join(str(t) for t in row) + "\n")
    info = {"loss": loss.item(), "main": stats["main"], "balance_sum": stats["bal"],
            "mtp": [stats["mtp%d" % k] for k in range(1, c.D + 1)],
            "routing_margin": stats.get("margin"), "fd_check_worst_rel": worst,
            "seed_attempt": attempt}
    with open(os.path.join(outdir, "info.json"), "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    print("case %-10s loss %.9f  routing margin %.2e  fd-check worst rel %.2e" % (
        name, loss.item(), info["routing_margin"] or float("nan"), worst))
    return worst < 1e-5


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else "all"
    # optional second argument: where the generated case folders go (default tests/data/trainref)
    out_root = sys.argv[2] if len(sys.argv) > 2 else os.path.join(DATA, "trainref")
    ok = True
    if what in ("anchor", "all"):
        ok = anchor() and ok
    if what in ("generate", "all"):
        for name, spec in CASES.items():
            ok = run_case(name, spec, os.path.join(out_root, name)) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
