/* bench_model.h — `seek bench -m MODEL`: prompt and generation speed of a model, the weight
 * bytes one generated token reads, the memory bandwidth measured in the same run and the share
 * of it achieved, and the KV / MLA latent cache bytes per token. Dispatched from cmd_bench.c
 * (which owns `seek bench kernels`) for every invocation that is not `bench kernels`. */
#ifndef SK_BENCH_MODEL_H
#define SK_BENCH_MODEL_H

#include "sk_model.h"

#include <stdint.h>

/* argv[0] is "bench". Returns 0 ok, 1 failure, 2 usage. */
int sk_bench_model(int argc, char **argv);

/* Bytes of weights one decoded token reads: every tensor once, except the token embedding
 * (one row) and, in MoE layers, only n_active of the n_routed experts (exactly what one token's
 * routing touches), and only the MLA up-projection form the forward pass uses (attn_k_b /
 * attn_v_b when present, else attn_kv_b). `seek bench` then swaps the k rows of attn_kv_b for
 * the model's F16 Wkᵀ cache where it has one (sk_model_mla_wkt_bytes). */
uint64_t sk_bench_bytes_per_token(const sk_model_weights *w);

#endif
