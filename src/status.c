/* status.c — the descriptions of libattn's status codes and the one way to report a reason. */
#include "status.h"

#include <stdarg.h>
#include <stdio.h>

const char *attn_strerror(int status)
{
    switch (status) {
    case ATTN_OK: return "success";
    case ATTN_ABSENT: return "not in the file";
    case ATTN_ERR_IO: return "input/output error";
    case ATTN_ERR_NOMEM: return "out of memory";
    case ATTN_ERR_FORMAT: return "not an attn model file";
    case ATTN_ERR_VERSION: return "unsupported model file version";
    case ATTN_ERR_TRUNCATED: return "model file truncated";
    case ATTN_ERR_CORRUPT: return "model file corrupt";
    case ATTN_ERR_CRC: return "CRC mismatch: model file damaged";
    case ATTN_ERR_INFLATE: return "invalid compressed data";
    case ATTN_ERR_TYPE: return "metadata value of another type";
    case ATTN_ERR_ARG: return "invalid argument";
    case ATTN_ERR_FILE: return "cannot read the model file";
    case ATTN_ERR_MODEL: return "invalid model: missing or inconsistent metadata or tensors";
    case ATTN_ERR_STATE:
        return "call out of order (decode before encode, or past the maximum length)";
    case ATTN_ERR_THREAD: return "cannot start worker threads";
    case ATTN_ERR_PARAM: return "invalid generation parameters";
    case ATTN_ERR_DECODER: return "the model failed";
    case ATTN_ERR_TOO_MANY: return "too many sources for this decoder";
    case ATTN_ERR_TOO_LONG: return "target longer than the maximum length";
    case ATTN_ERR_LENGTH: return "more new tokens than the model has positions";
    case ATTN_ERR_ISA: return "instruction set not supported by this CPU";
    case ATTN_ERR_LANG: return "no sentence rules for this language";
    case ATTN_ERR_SPACE: return "more results than the array holds";
    }
    return "unknown status";
}

int attn_fail(char *why, size_t why_len, int status, const char *fmt, ...)
{
    if (why && why_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_len, fmt, ap);
        va_end(ap);
    }
    return status;
}
