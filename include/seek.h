/*
 * seek.h — the public C API of libseek.
 *
 * libseek loads DeepSeek-family models (GGUF or Hugging Face safetensors), tokenizes,
 * generates and trains. Link with `pkg-config --libs seek`.
 */
#ifndef SEEK_H
#define SEEK_H

#ifdef __cplusplus
extern "C" {
#endif

#define SEEK_VERSION_STRING "0.1.0"

/* The library version, e.g. "0.1.0". */
const char *seek_version(void);

#ifdef __cplusplus
}
#endif
#endif
