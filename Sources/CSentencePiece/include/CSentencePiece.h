// A C view of SentencePiece's C++ processor, so Swift can call it.
#ifndef CSENTENCEPIECE_H
#define CSENTENCEPIECE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct spm_processor spm_processor;

/// Loads a serialized model (.model file). Returns NULL and fills `error`
/// (NUL-terminated, truncated to `error_capacity`) when the file is unusable.
spm_processor *spm_load(const char *path, char *error, size_t error_capacity);
void spm_free(spm_processor *processor);

/// Encodes UTF-8 text. Writes at most `capacity` ids and returns how many the
/// full encoding has (call again with a bigger buffer when it exceeds capacity),
/// or -1 on failure.
int64_t spm_encode(const spm_processor *processor, const char *text, size_t length,
                   int32_t *ids, size_t capacity);

/// Decodes ids to UTF-8. Same capacity convention as spm_encode, in bytes.
int64_t spm_decode(const spm_processor *processor, const int32_t *ids, size_t count,
                   char *text, size_t capacity);

/// The piece string of an id; same capacity convention, in bytes.
int64_t spm_id_to_piece(const spm_processor *processor, int32_t id, char *piece, size_t capacity);

int32_t spm_vocab_size(const spm_processor *processor);
int32_t spm_piece_to_id(const spm_processor *processor, const char *piece);
int32_t spm_unk_id(const spm_processor *processor);
int32_t spm_bos_id(const spm_processor *processor);
int32_t spm_eos_id(const spm_processor *processor);
int32_t spm_pad_id(const spm_processor *processor);

#ifdef __cplusplus
}
#endif

#endif
