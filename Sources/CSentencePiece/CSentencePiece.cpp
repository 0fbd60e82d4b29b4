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

static void set_error(const std::string &message, char *error, size_t error_capacity) {
    if (error && error_capacity > 0) {
        size_t n = message.size() < error_capacity - 1 ? message.size() : error_capacity - 1;
        std::memcpy(error, message.data(), n);
        error[n] = '\0';
    }
}

// Every call into the library is behind a catch: a corrupt model makes
// SentencePiece (its Darts trie) throw, and an exception must not cross
// into Swift, where it would abort the process.
extern "C" spm_processor *spm_load(const char *path, char *error, size_t error_capacity) {
    auto *p = new spm_processor();
    try {
        auto status = p->impl.Load(path);
        if (status.ok()) return p;
        set_error(status.ToString(), error, error_capacity);
    } catch (const std::exception &e) {
        set_error(std::string("corrupt model: ") + e.what(), error, error_capacity);
    } catch (...) {
        set_error("corrupt model", error, error_capacity);
    }
    delete p;
    return nullptr;
}

extern "C" void spm_free(spm_processor *processor) { delete processor; }

extern "C" int64_t spm_encode(const spm_processor *processor, const char *text, size_t length,
                              int32_t *ids, size_t capacity) {
    std::vector<int> out;
    try {
        if (!processor->impl.Encode(std::string(text, length), &out).ok()) return -1;
    } catch (...) {
        return -1;
    }
    for (size_t i = 0; i < out.size() && i < capacity; ++i) ids[i] = out[i];
    return static_cast<int64_t>(out.size());
}

extern "C" int64_t spm_decode(const spm_processor *processor, const int32_t *ids, size_t count,
                              char *text, size_t capacity) {
    std::vector<int> in(ids, ids + count);
    std::string out;
    try {
        if (!processor->impl.Decode(in, &out).ok()) return -1;
    } catch (...) {
        return -1;
    }
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
