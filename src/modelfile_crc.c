/* modelfile_crc.c — CRC-32 (zlib's) for the model files, with carry-less multiplication.
 *
 * Checking a model's CRCs reads every stored and every decoded byte, so the CRC is a good part of
 * the load time.  On CPUs with PCLMULQDQ this folds 64 bytes per step (the method of Intel's
 * "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ", with the constants of the
 * reflected CRC-32 polynomial 0xEDB88320), several times faster than zlib's table-driven crc32;
 * elsewhere, and for the last bytes, zlib's crc32 is used.  Both give the same values.
 */
#include "modelfile_int.h"

#include <immintrin.h>
#include <zlib.h>

/* x*k.lo ^ x.hi*k.hi: one 128-bit fold step. */
__attribute__((target("pclmul,sse4.1")))
static inline __m128i fold(__m128i x, __m128i k)
{
    return _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11));
}

/* Continues the raw (not inverted) CRC state over len bytes, len >= 64 and a multiple of 16;
 * returns the new state. */
__attribute__((target("pclmul,sse4.1")))
static uint32_t crc_clmul(uint32_t state, const uint8_t *p, size_t len)
{
    const __m128i k1k2 = _mm_set_epi64x(0x1c6e41596, 0x154442bd4);
    const __m128i k3k4 = _mm_set_epi64x(0x0ccaa009e, 0x1751997d0);
    const __m128i k5 = _mm_set_epi64x(0, 0x163cd6124);
    const __m128i poly = _mm_set_epi64x(0x1f7011641, 0x1db710641);
    const __m128i mask32 = _mm_set_epi32(0, 0, 0, -1);
    __m128i x0 = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i x1 = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
    __m128i x2 = _mm_loadu_si128((const __m128i *)(const void *)(p + 32));
    __m128i x3 = _mm_loadu_si128((const __m128i *)(const void *)(p + 48));
    x0 = _mm_xor_si128(x0, _mm_cvtsi32_si128((int)state));
    p += 64;
    len -= 64;
    for (; len >= 64; p += 64, len -= 64) {
        x0 = _mm_xor_si128(fold(x0, k1k2), _mm_loadu_si128((const __m128i *)(const void *)p));
        x1 =
            _mm_xor_si128(fold(x1, k1k2), _mm_loadu_si128((const __m128i *)(const void *)(p + 16)));
        x2 =
            _mm_xor_si128(fold(x2, k1k2), _mm_loadu_si128((const __m128i *)(const void *)(p + 32)));
        x3 =
            _mm_xor_si128(fold(x3, k1k2), _mm_loadu_si128((const __m128i *)(const void *)(p + 48)));
    }
    __m128i x = _mm_xor_si128(fold(x0, k3k4), x1);
    x = _mm_xor_si128(fold(x, k3k4), x2);
    x = _mm_xor_si128(fold(x, k3k4), x3);
    for (; len >= 16; p += 16, len -= 16)
        x = _mm_xor_si128(fold(x, k3k4), _mm_loadu_si128((const __m128i *)(const void *)p));
    /* 128 -> 64 bits, then 64 -> 32, then Barrett reduction */
    x = _mm_xor_si128(_mm_srli_si128(x, 8), _mm_clmulepi64_si128(k3k4, x, 0x01));
    x = _mm_xor_si128(_mm_srli_si128(x, 4),
                      _mm_clmulepi64_si128(_mm_and_si128(x, mask32), k5, 0x00));
    __m128i t = _mm_clmulepi64_si128(_mm_and_si128(x, mask32), poly, 0x10);
    t = _mm_clmulepi64_si128(_mm_and_si128(t, mask32), poly, 0x00);
    return (uint32_t)_mm_extract_epi32(_mm_xor_si128(t, x), 1);
}

uint32_t mf_crc32(uint32_t crc, const void *data, uint64_t n)
{
    const uint8_t *p = data;
    int have_clmul = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
    while (n >= 64 && have_clmul) {
        size_t k = n > (1u << 30) ? (1u << 30) : (size_t)n & ~(size_t)15;
        crc = ~crc_clmul(~crc, p, k);
        p += k;
        n -= k;
    }
    while (n > 0) {
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = (uint32_t)crc32(crc, p, k);
        p += k;
        n -= k;
    }
    return crc;
}
