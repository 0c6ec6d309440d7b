#!/usr/bin/python3
"""bench/train_torch.py — the PyTorch side of bench/train_vs_torch.sh.

Trains the model of a DeepSeek-V3 config.json (MLA with q LoRA, RoPE on adjacent pairs,
dense SwiGLU, DeepSeekMoE with sigmoid routing + selection bias, the sequence-wise balance
loss, MTP of depth D, AdamW with clipping and the aux-loss-free bias update) in float32 on
the same token file as `seek train --data` (lines of T+1 ids; step s uses lines
s*B .. s*B+B-1 modulo the line count), written the way an ordinary PyTorch user would:
batched matmuls for attention, per-expert index gather / index_add_ for the MoE.

  /usr/bin/python3 bench/train_torch.py CONFIG.json DATA.txt STEPS BATCH THREADS

Prints one line per step (loss) and finally
  torch: STEPS steps, TOKENS tokens, SECONDS s (after step 1), TOK/S tok/s
where the timing excludes the first step (allocator warm-up), as the Seek side does.
"""
import json
import math
import sys
import time

import torch
import torch.nn.functional as F


def main():
    cfg_path, data_path, steps, batch, threads = sys.argv[1:6]
    steps, batch, threads = int(steps), int(batch), int(threads)
    torch.set_num_threads(threads)
    torch.manual_seed(1234)
    c = json.load(open(cfg_path))
    H, V = c["hidden_size"], c["vocab_size"]
    L, D = c["num_hidden_layers"], c.get("num_nextn_predict_layers", 0)
    nh, dn, dr, dv = (c["num_attention_heads"], c["qk_nope_head_dim"], c["qk_rope_head_dim"],
                      c["v_head_dim"])
    qr, kvr = c["q_lora_rank"], c["kv_lora_rank"]
    E, K, mf, ns = (c["n_routed_experts"], c["num_experts_per_tok"], c["moe_intermediate_size"],
                    c["n_shared_experts"])
    ff, eps = c["intermediate_size"], c["rms_norm_eps"]
    alpha, lam = c.get("aux_loss_alpha", 0.0), c.get("mtp_loss_scaling_factor", 0.3)
    rsf = c["routed_scaling_factor"]
    std = c.get("initializer_range", 0.02)
    lines = [list(map(int, ln.split())) for ln in open(data_path) if ln.strip()]
    data = torch.tensor(lines, dtype=torch.long)
    S = data.shape[1]
    T = S - 1

    params, decay = {}, set()

    def mat(name, o, i, s=std):
        params[name] = torch.nn.Parameter(torch.randn(o, i) * s)
        decay.add(name)

    def vec(name, n):
        params[name] = torch.nn.Parameter(torch.ones(n))

    out_std = std / math.sqrt(2 * (L + D))
    mat("emb", V, H)
    mat("head", V, H)
    vec("norm", H)
    for l in range(L + D):
        p = f"l{l}."
        vec(p + "an", H)
        mat(p + "qa", qr, H)
        vec(p + "qan", qr)
        mat(p + "qb", nh * (dn + dr), qr)
        mat(p + "kva", kvr + dr, H)
        vec(p + "kvan", kvr)
        mat(p + "kvb", nh * (dn + dv), kvr)
        mat(p + "o", H, nh * dv, out_std)
        vec(p + "fn", H)
        if l >= c["first_k_dense_replace"]:
            mat(p + "gate", E, H)
            params[p + "bias"] = torch.zeros(E)
            for x in range(E):
                mat(p + f"e{x}g", mf, H)
                mat(p + f"e{x}u", mf, H)
                mat(p + f"e{x}d", H, mf, out_std)
            mat(p + "sg", ns * mf, H)
            mat(p + "su", ns * mf, H)
            mat(p + "sd", H, ns * mf, out_std)
        else:
            mat(p + "g", ff, H)
            mat(p + "u", ff, H)
            mat(p + "d", H, ff, out_std)
        if l >= L:
            vec(p + "en", H)
            vec(p + "hn", H)
            mat(p + "eh", H, 2 * H)
            vec(p + "sn", H)
    P = params
    inv = 1.0 / (10000.0 ** (torch.arange(0, dr, 2, dtype=torch.float64) / dr))
    ang = torch.arange(T, dtype=torch.float64)[:, None] * inv[None, :]
    cos_t, sin_t = torch.cos(ang).float(), torch.sin(ang).float()
    scale = (dn + dr) ** -0.5
    causal = torch.full((T, T), float("-inf")).triu(1)

    def rms(x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w

    def rope(x, Tn):  # x [..., Tn, dr] adjacent pairs
        a, b = x[..., 0::2], x[..., 1::2]
        cs, sn = cos_t[:Tn], sin_t[:Tn]
        return torch.stack((a * cs - b * sn, a * sn + b * cs), -1).flatten(-2)

    def attn(p, x):
        Bn, Tn, _ = x.shape
        q = F.linear(rms(F.linear(x, P[p + "qa"]), P[p + "qan"]), P[p + "qb"])
        q = q.view(Bn, Tn, nh, dn + dr).transpose(1, 2)
        qn, qp = q[..., :dn], rope(q[..., dn:], Tn)
        kva = F.linear(x, P[p + "kva"])
        ckv, kpe = kva[..., :kvr], rope(kva[..., kvr:], Tn)[:, None]
        kv = F.linear(rms(ckv, P[p + "kvan"]), P[p + "kvb"]).view(Bn, Tn, nh, dn + dv)
        kv = kv.transpose(1, 2)
        kn, v = kv[..., :dn], kv[..., dn:]
        s = (qn @ kn.transpose(-1, -2) + qp @ kpe.transpose(-1, -2)) * scale
        s = s + causal[:Tn, :Tn]
        o = torch.softmax(s, -1) @ v
        return F.linear(o.transpose(1, 2).reshape(Bn, Tn, nh * dv), P[p + "o"])

    def mlp(x, g, u, d):
        return F.linear(F.silu(F.linear(x, g)) * F.linear(x, u), d)

    loads = {}

    def moe(p, x):
        Bn, Tn, _ = x.shape
        xf = x.reshape(-1, H)
        s = torch.sigmoid(F.linear(xf, P[p + "gate"]))
        with torch.no_grad():
            sel = torch.topk(s + P[p + "bias"], K, dim=-1).indices
        w = s.gather(1, sel)
        w = w / w.sum(-1, keepdim=True) * rsf
        out = mlp(xf, P[p + "sg"], P[p + "su"], P[p + "sd"])
        for x_ in range(E):
            rows, slot = (sel == x_).nonzero(as_tuple=True)
            if rows.numel() == 0:
                continue
            y = mlp(xf.index_select(0, rows), P[p + f"e{x_}g"], P[p + f"e{x_}u"], P[p + f"e{x_}d"])
            out = out.index_add(0, rows, y * w[rows, slot][:, None])
        # sequence-wise balance loss
        with torch.no_grad():
            cnt = F.one_hot(sel.view(Bn, Tn * K), E).sum(1).float()  # [B,E]
            fi = cnt * E / (K * Tn)
            loads[p] = cnt.sum(0)
        Pi = (s / s.sum(-1, keepdim=True)).view(Bn, Tn, E).mean(1)
        bal = (fi * Pi).sum(-1).mean()
        return out.view(Bn, Tn, H), bal

    def block(l, x):
        p = f"l{l}."
        h = x + attn(p, rms(x, P[p + "an"]))
        xn = rms(h, P[p + "fn"])
        if l >= c["first_k_dense_replace"]:
            y, bal = moe(p, xn)
            return h + y, bal
        return h + mlp(xn, P[p + "g"], P[p + "u"], P[p + "d"]), 0.0

    def loss_fn(ids):
        x = F.embedding(ids[:, :T], P["emb"])
        bal = 0.0
        for l in range(L):
            x, b = block(l, x)
            bal = bal + b
        h = rms(x, P["norm"])
        main = F.cross_entropy(F.linear(h, P["head"]).view(-1, V), ids[:, 1:].reshape(-1))
        tot = main
        hp = h
        for k in range(1, D + 1):
            l, p, Tk = L + k - 1, f"l{L + k - 1}.", T - k
            e = rms(F.embedding(ids[:, k:k + Tk], P["emb"]), P[p + "en"])
            u = F.linear(torch.cat((e, rms(hp[:, :Tk], P[p + "hn"])), -1), P[p + "eh"])
            y, b = block(l, u)
            bal = bal + b
            hp = rms(y, P[p + "sn"])
            lk = F.cross_entropy(F.linear(hp, P["head"]).reshape(-1, V),
                                 ids[:, k + 1:k + 1 + Tk].reshape(-1))
            tot = tot + lam / D * lk
        return tot + alpha * bal, main

    train = [v for n, v in P.items() if isinstance(v, torch.nn.Parameter)]
    dec = [v for n, v in P.items() if n in decay]
    nodec = [v for n, v in P.items() if isinstance(v, torch.nn.Parameter) and n not in decay]
    opt = torch.optim.AdamW([{"params": dec, "weight_decay": 0.1},
                             {"params": nodec, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.95), eps=1e-8)
    n_train = sum(v.numel() for v in train)
    print(f"torch {torch.__version__}: {n_train} trainable parameters, {threads} threads",
          flush=True)
    t1 = None
    for s in range(steps):
        if s == 1:
            t1 = time.perf_counter()
        rows = [(s * batch + i) % data.shape[0] for i in range(batch)]
        ids = data[rows]
        opt.zero_grad(set_to_none=True)
        loss, main_l = loss_fn(ids)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(train, 1.0)
        opt.step()
        with torch.no_grad():
            for p_, ld in loads.items():
                P[p_ + "bias"] += 1e-3 * torch.sign(ld.mean() - ld)
        print(f"step {s + 1} loss {loss.item():.4f} main {main_l.item():.4f}", flush=True)
    dt = time.perf_counter() - t1 if t1 is not None else 0.0
    ntok = (steps - 1) * batch * T
    print(f"torch: {steps} steps, {ntok} tokens, {dt:.3f} s (after step 1), "
          f"{ntok / dt if dt > 0 else 0:.1f} tok/s")


if __name__ == "__main__":
    main()
