/* spm_kind.c — registers SentencePiece as a kind of tokenizer: its table of functions. */
#include "spm_impl.h"

const tok_kind tok_kind_spm = {
    .name = "spm",
    .sniff = spm_sniff,
    .open = spm_open,
    .free = spm_free,
    .vocab_size = spm_vocab_size,
    .max_token_bytes = spm_max_token_bytes,
    .token_bytes = spm_token_bytes,
    .is_special = spm_is_special,
    .special_id = spm_special_id,
    .token_id = spm_token_id,
    .encode = spm_encode,
    .encoder_open = spm_encoder_open,
    .encoder_free = spm_encoder_free,
    .encoder_encode = spm_encoder_encode,
    .decode = spm_decode,
    .stream_push = spm_stream_push,
    .stream_flush = spm_stream_flush,
    .serialize = spm_serialize,
};
