/* weights.c — ownership helpers of sk_model_weights (views only; see sk_model.h). */
#include "sk_model.h"

#include <stdlib.h>
#include <string.h>

void sk_model_weights_free(sk_model_weights *w) {
    if (!w) return;
    if (w->layers) {
        int n = w->cfg.n_layer + w->cfg.n_mtp;
        for (int i = 0; i < n; i++) {
            free(w->layers[i].exp_gate);
            free(w->layers[i].exp_up);
            free(w->layers[i].exp_down);
        }
        free(w->layers);
    }
    memset(w, 0, sizeof *w);
}
