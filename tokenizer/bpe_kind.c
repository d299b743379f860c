/* bpe_kind.c — registers byte-level BPE as a kind of tokenizer: its table of functions. */
#include "bpe_impl.h"

const tok_kind tok_kind_bpe = {
    .name = "bpe",
    .sniff = bpe_sniff,
    .open = bpe_open,
    .free = bpe_free,
    .vocab_size = bpe_vocab_size,
    .max_token_bytes = bpe_max_token_bytes,
    .token_bytes = bpe_token_bytes,
    .is_special = bpe_is_special,
    .special_id = bpe_special_id,
    .token_id = bpe_token_id,
    .encode = bpe_encode,
    .encoder_open = bpe_encoder_open,
    .encoder_free = bpe_encoder_free,
    .encoder_encode = bpe_encoder_encode,
    .decode = bpe_decode,
    .stream_push = bpe_stream_push,
    .pattern = bpe_pattern,
    .set_pattern = bpe_set_pattern,
    .serialize = bpe_serialize,
};
