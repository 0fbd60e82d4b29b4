#include "CSentencePiece.h"

#include <sentencepiece_processor.h>

#include <cstring>
#include <string>
#include <vector>

struct spm_processor {
    sentencepiece::SentencePieceProcessor impl;
};

static int64_t copy_out(const std::string &s, char *out, size_t capacity) {
    if (out && capacity > 0) {
        size_t n = s.size() < capacity ? s.size() : capacity;
        std::memcpy(out, s.data(), n);
    }
    return static_cast<int64_t>(s.size());
}

extern "C" spm_processor *spm_load(const char *path, char *error, size_t error_capacity) {
    auto *p = new spm_processor();
    auto status = p->impl.Load(path);
    if (!status.ok()) {
        if (error && error_capacity > 0) {
            std::string msg = status.ToString();
            size_t n = msg.size() < error_capacity - 1 ? msg.size() : error_capacity - 1;
            std::memcpy(error, msg.data(), n);
            error[n] = '\0';
        }
        delete p;
        return nullptr;
    }
    return p;
}

extern "C" void spm_free(spm_processor *processor) { delete processor; }

extern "C" int64_t spm_encode(const spm_processor *processor, const char *text, size_t length,
                              int32_t *ids, size_t capacity) {
    std::vector<int> out;
    if (!processor->impl.Encode(std::string(text, length), &out).ok()) return -1;
    for (size_t i = 0; i < out.size() && i < capacity; ++i) ids[i] = out[i];
    return static_cast<int64_t>(out.size());
}

extern "C" int64_t spm_decode(const spm_processor *processor, const int32_t *ids, size_t count,
                              char *text, size_t capacity) {
    std::vector<int> in(ids, ids + count);
    std::string out;
    if (!processor->impl.Decode(in, &out).ok()) return -1;
    return copy_out(out, text, capacity);
}

extern "C" int64_t spm_id_to_piece(const spm_processor *processor, int32_t id, char *piece,
                                   size_t capacity) {
    if (id < 0 || id >= processor->impl.GetPieceSize()) return -1;
    return copy_out(processor->impl.IdToPiece(id), piece, capacity);
}

extern "C" int32_t spm_vocab_size(const spm_processor *p) { return p->impl.GetPieceSize(); }
extern "C" int32_t spm_piece_to_id(const spm_processor *p, const char *piece) {
    return p->impl.PieceToId(piece);
}
extern "C" int32_t spm_unk_id(const spm_processor *p) { return p->impl.unk_id(); }
extern "C" int32_t spm_bos_id(const spm_processor *p) { return p->impl.bos_id(); }
extern "C" int32_t spm_eos_id(const spm_processor *p) { return p->impl.eos_id(); }
extern "C" int32_t spm_pad_id(const spm_processor *p) { return p->impl.pad_id(); }
