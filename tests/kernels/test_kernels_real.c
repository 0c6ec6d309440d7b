/* test_kernels_real.c — matvec on tensors quantized by llama.cpp (tests/data/golden/quant:
 * real scale/min distributions of every block type) at every SIMD level, against the
 * float64 dot of llama.cpp's own reference dequantization (the .f32 files) with the
 * activation exactly as the kernel quantized it. */
#include "sk_gguf.h"
#include "sk_kernels.h"
#include "sk_test.h"

#include "kernels_internal.h" /* activation formats, to rebuild the kernel's input */
#include "kern_test.h"

static const char *k_quant_names[] = {"q8_0", "q4_0", "q4_1", "q5_0", "q5_1",   "q2_k",
                                      "q3_k", "q4_k", "q5_k", "q6_k", "iq4_nl", "iq4_xs"};
static const char *k_tensors[] = {"blk.0.attn_q.weight", "blk.1.ffn_down.weight"};

static void test_llama_quantized(void) {
    sk_err e = {0};
    sk_kctx *k = sk_kctx_new(2, &e);
    CHECK(k != NULL);
    if (!k) return;
    int checked = 0;
    for (size_t ti = 0; ti < sizeof k_quant_names / sizeof k_quant_names[0]; ti++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/golden/quant/quant-%s.gguf", SEEK_TEST_DATA,
                 k_quant_names[ti]);
        sk_gguf *g = NULL;
        int rc = sk_gguf_open(path, &g, &e);
        CHECK_OK(rc, &e);
        if (rc) continue;
        for (int tn = 0; tn < 2; tn++) {
            int64_t id = sk_gguf_find_tensor(g, k_tensors[tn]);
            CHECK(id >= 0);
            if (id < 0) continue;
            sk_tensor W = sk_gguf_tensor_view(g, id);
            CHECK(W.type == sk_type_from_name(k_quant_names[ti]));
            int64_t cols = W.ne[0], rows = W.ne[1];
            snprintf(path, sizeof path, "%s/golden/quant/quant-%s.%s.f32", SEEK_TEST_DATA,
                     k_quant_names[ti], k_tensors[tn]);
            size_t len;
            float *ref = sk_test_slurp(path, &len);
            CHECK(len == sizeof(float) * (size_t)(cols * rows));
            int kt = sk_kt_from_type(W.type);
            sk_act a = sk_kt_act(kt);
            float *x = malloc(sizeof(float) * (size_t)cols),
                  *xd = malloc(sizeof(float) * (size_t)cols);
            float *y = malloc(sizeof(float) * (size_t)rows);
            void *xa = malloc(sk_act_row_bytes(a, cols));
            for (int64_t c = 0; c < cols; c++)
                x[c] = sinf(0.37f * (float)c + (float)tn) * (c % 11 == 0 ? 4.0f : 1.0f);
            sk_act_quantize(a, x, xa, cols);
            act_dequant(a, xa, xd, cols);
            size_t rb;
            CHECK(sk_row_size(W.type, cols, &rb));
            for (int lvl = SK_CPU_SCALAR; lvl <= SK_CPU_NEON; lvl++) {
                if (sk_kernels_set_level((sk_cpu_level)lvl, &e)) continue;
                CHECK_OK(sk_matvec(k, &W, x, y, &e), &e);
                double worst = 0;
                for (int64_t r = 0; r < rows; r++) {
                    double s = 0, mag = 0;
                    for (int64_t c = 0; c < cols; c++) {
                        s += (double)ref[r * cols + c] * xd[c];
                        mag += fabs((double)ref[r * cols + c] * xd[c]);
                    }
                    if (a == SK_ACT_Q8_1) /* min term with the stored s = fp16(d·Σq) */
                        for (int64_t b = 0; b < cols / 32; b++) {
                            sk_fp16 m;
                            memcpy(&m,
                                   (const uint8_t *)W.data + r * rb +
                                       b * (rb / (size_t)(cols / 32)) + 2,
                                   2);
                            double ex = 0;
                            for (int j = 0; j < 32; j++) ex += xd[b * 32 + j];
                            s += h2f(m) * (h2f(((const sk_block_q8_1 *)xa)[b].s) - ex);
                        }
                    double rel = fabs(y[r] - s) / (mag > 0 ? mag : 1);
                    if (rel > worst) worst = rel;
                }
                CHECK_MSG(worst <= 1e-5, "%s %s at %s: rel err %.3g", k_quant_names[ti],
                          k_tensors[tn], sk_cpu_level_name((sk_cpu_level)lvl), worst);
                checked++;
            }
            free(x);
            free(xd);
            free(y);
            free(xa);
            free(ref);
        }
        sk_gguf_close(g);
    }
    sk_kernels_set_level(sk_cpu_best(), &e);
    sk_kctx_free(k);
    fprintf(stderr, "    %d tensor x level combinations checked\n", checked);
    CHECK(checked >= 24);
}

int main(void) {
    RUN(test_llama_quantized);
    return sk_test_report("kernels_real");
}
