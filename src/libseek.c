/* libseek.c — the public entry points of include/seek.h that belong to no single layer.
 * libseek.so is this file plus every module archive linked in whole. */
#include "seek.h"

const char *seek_version(void) {
    return SEEK_VERSION_STRING;
}
