#include "rotor/text/sentencepiece_processor.h"

#include <algorithm>
#include <cfloat>
#include <cstdio>
#include <functional>
#include <queue>

#include "rotor/core/error.h"

namespace rotor::text {

namespace {

using PieceType = SentencePieceModel::PieceType;

std::vector<std::string> user_defined_pieces(const SentencePieceModel& model) {
  std::vector<std::string> out;
  for (const auto& piece : model.pieces)
    if (piece.type == PieceType::kUserDefined) out.push_back(piece.text);
  return out;
}

}  // namespace

SentencePieceProcessor::SentencePieceProcessor(SentencePieceModel model)
    : model_(std::move(model)), normalizer_(model_, user_defined_pieces(model_)) {
  ROTOR_CHECK(!(model_.treat_whitespace_as_suffix && model_.type == SentencePieceModel::Type::kWord),
              "sentencepiece: word models with treat_whitespace_as_suffix are not supported");
  user_defined_ = user_defined_pieces(model_);
  std::fill(std::begin(byte_ids_), std::end(byte_ids_), -1);
  min_score_ = FLT_MAX;
  max_score_ = FLT_MIN;
  for (size_t i = 0; i < model_.pieces.size(); ++i) {
    const auto& piece = model_.pieces[i];
    const bool normal = piece.type == PieceType::kNormal || piece.type == PieceType::kUserDefined ||
                        piece.type == PieceType::kUnused;
    auto& map = normal ? pieces_ : reserved_;
    ROTOR_CHECK(map.emplace(piece.text, static_cast<int>(i)).second, "sentencepiece: piece '", piece.text,
                "' appears twice");
    if (normal) max_piece_bytes_ = std::max(max_piece_bytes_, piece.text.size());
    if (piece.type == PieceType::kNormal) {
      min_score_ = std::min(min_score_, piece.score);
      max_score_ = std::max(max_score_, piece.score);
    }
    if (piece.type == PieceType::kByte) {
      unsigned value;
      char end;
      ROTOR_CHECK(piece.text.size() == 6 && std::sscanf(piece.text.c_str(), "<0x%2X%c", &value, &end) == 2 &&
                      end == '>',
                  "sentencepiece: byte piece '", piece.text, "' is not of the form <0xXX>");
      byte_ids_[value] = static_cast<int>(i);
    }
  }
  for (const auto& [text, id] : pieces_)
    for (size_t length = 1; length <= text.size(); ++length) prefixes_.emplace(text.substr(0, length), -1);
  for (const auto& [text, id] : pieces_) prefixes_[text] = id;
  if (model_.byte_fallback)
    for (int b = 0; b < 256; ++b)
      ROTOR_CHECK(byte_ids_[b] >= 0, "sentencepiece: byte fallback model lacks the piece for byte ", b);
}

int SentencePieceProcessor::piece_id(std::string_view piece) const {
  if (auto it = pieces_.find(piece); it != pieces_.end()) return it->second;
  if (auto it = reserved_.find(piece); it != reserved_.end()) return it->second;
  return model_.unk_id;
}

size_t SentencePieceProcessor::user_defined_prefix(std::string_view text) const {
  size_t best = 0;
  for (const auto& symbol : user_defined_)
    if (symbol.size() > best && text.substr(0, symbol.size()) == symbol) best = symbol.size();
  return best;
}

std::vector<SentencePieceProcessor::Segment> SentencePieceProcessor::encode_bpe(std::string_view text) const {
  struct Symbol {
    int prev, next;
    std::string_view piece;
    bool frozen;
  };
  struct Pair {
    int left, right;
    float score;
    size_t size;
  };
  auto lower = [](const Pair& a, const Pair& b) { return a.score != b.score ? a.score < b.score : a.left > b.left; };
  std::priority_queue<Pair, std::vector<Pair>, decltype(lower)> agenda(lower);
  std::vector<Symbol> symbols;
  std::unordered_map<std::string_view, std::pair<std::string_view, std::string_view>> unmerge;
  // Initial symbols: characters, or whole user-defined symbols (which never merge).
  for (size_t pos = 0; pos < text.size();) {
    size_t length = user_defined_prefix(text.substr(pos));
    const bool frozen = length > 0;
    if (!frozen) length = std::max<size_t>(1, utf8_char_length(text.substr(pos)));
    const int index = static_cast<int>(symbols.size());
    symbols.push_back({index - 1, -1, text.substr(pos, length), frozen});
    if (index > 0) symbols[index - 1].next = index;
    pos += length;
  }
  auto add_pair = [&](int left, int right) {
    if (left < 0 || right < 0 || symbols[left].frozen || symbols[right].frozen) return;
    const std::string_view joined(symbols[left].piece.data(), symbols[left].piece.size() + symbols[right].piece.size());
    const auto it = pieces_.find(joined);
    if (it == pieces_.end()) return;
    agenda.push({left, right, model_.pieces[it->second].score, joined.size()});
    unmerge[joined] = {symbols[left].piece, symbols[right].piece};
  };
  for (int i = 1; i < static_cast<int>(symbols.size()); ++i) add_pair(i - 1, i);
  while (!agenda.empty()) {
    const Pair top = agenda.top();
    agenda.pop();
    Symbol& left = symbols[top.left];
    Symbol& right = symbols[top.right];
    if (left.piece.empty() || right.piece.empty() || left.piece.size() + right.piece.size() != top.size) continue;
    left.piece = std::string_view(left.piece.data(), top.size);
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.left;
    right.piece = {};
    add_pair(left.prev, top.left);
    add_pair(top.left, left.next);
  }
  // Unused pieces are split back into the pieces they were merged from.
  std::vector<Segment> out;
  std::function<void(std::string_view)> emit = [&](std::string_view piece) {
    const int id = piece_id(piece);
    const auto it = unmerge.find(piece);
    if (model_.pieces[id].type != PieceType::kUnused || it == unmerge.end()) {
      out.emplace_back(piece, id);
      return;
    }
    emit(it->second.first);
    emit(it->second.second);
  };
  for (int i = symbols.empty() ? -1 : 0; i >= 0; i = symbols[i].next) emit(symbols[i].piece);
  return out;
}

std::vector<SentencePieceProcessor::Segment> SentencePieceProcessor::encode_unigram(std::string_view text) const {
  // Best path ending at each byte offset: score, id of its last piece, where that piece starts.
  struct Best {
    float score = 0;
    int id = -1;
    int64_t start = -1;
  };
  constexpr float kUnknownPenalty = 10.0f;
  const float unknown_score = min_score_ - kUnknownPenalty;
  std::vector<Best> best(text.size() + 1);
  best[0].start = 0;
  auto offer = [&](size_t end, float score, int id, size_t start) {
    if (best[end].start < 0 || score > best[end].score) best[end] = {score, id, static_cast<int64_t>(start)};
  };
  for (size_t start = 0; start < text.size();) {
    const float base = best[start].score;
    const size_t char_length = std::max<size_t>(1, utf8_char_length(text.substr(start)));
    bool has_single = false;
    // Pieces starting here, shortest first (the order sentencepiece's trie reports them).
    const size_t limit = std::min(text.size() - start, max_piece_bytes_);
    for (size_t length = 1; length <= limit; ++length) {
      const auto it = prefixes_.find(text.substr(start, length));
      if (it == prefixes_.end()) break;  // no piece continues this prefix
      if (it->second < 0) continue;
      const auto& piece = model_.pieces[it->second];
      if (piece.type == PieceType::kUnused) continue;
      float score = piece.score;
      if (piece.type == PieceType::kUserDefined) {
        size_t chars = 0;
        for (size_t k = 0; k < length; ++k) chars += (static_cast<unsigned char>(text[start + k]) & 0xC0) != 0x80;
        score = static_cast<float>(chars) * max_score_ - 0.1f;
      }
      offer(start + length, score + base, it->second, start);
      if (length == char_length) has_single = true;
    }
    if (!has_single) offer(start + char_length, unknown_score + base, model_.unk_id, start);
    start += char_length;
  }
  std::vector<Segment> out;
  for (size_t end = text.size(); end > 0;) {
    const Best& b = best[end];
    ROTOR_CHECK(b.start >= 0, "sentencepiece: no segmentation reaches byte ", end);
    out.emplace_back(text.substr(b.start, end - b.start), b.id);
    end = static_cast<size_t>(b.start);
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::vector<SentencePieceProcessor::Segment> SentencePieceProcessor::encode_chars(std::string_view text) const {
  std::vector<Segment> out;
  for (size_t pos = 0; pos < text.size();) {
    size_t length = user_defined_prefix(text.substr(pos));
    if (length == 0) length = std::max<size_t>(1, utf8_char_length(text.substr(pos)));
    out.emplace_back(text.substr(pos, length), piece_id(text.substr(pos, length)));
    pos += length;
  }
  return out;
}

std::vector<SentencePieceProcessor::Segment> SentencePieceProcessor::encode_words(std::string_view text) const {
  // A word starts at the beginning and at each ▁ (at the first ▁ of a run when whitespace-only
  // pieces are allowed).
  std::vector<std::pair<size_t, size_t>> words;  // [begin, end)
  bool in_spaces = false;
  for (size_t pos = 0; pos < text.size();) {
    const size_t length = std::max<size_t>(1, utf8_char_length(text.substr(pos)));
    const bool space = text.substr(pos, length) == kSpaceSymbol;
    if (pos == 0 || (space && (!in_spaces || !model_.allow_whitespace_only_pieces))) {
      words.push_back({pos, pos});
      in_spaces = true;
    }
    if (in_spaces && !space) in_spaces = false;
    words.back().second = pos + length;
    pos += length;
  }
  std::vector<Segment> out;
  for (const auto& [begin, end] : words) {
    const std::string_view word = text.substr(begin, end - begin);
    out.emplace_back(word, piece_id(word));
  }
  return out;
}

std::vector<uint32_t> SentencePieceProcessor::encode(std::string_view line) const {
  const std::string normalized = normalizer_.normalize(line);
  std::vector<Segment> segments;
  switch (model_.type) {
    case SentencePieceModel::Type::kBpe: segments = encode_bpe(normalized); break;
    case SentencePieceModel::Type::kUnigram: segments = encode_unigram(normalized); break;
    case SentencePieceModel::Type::kChar: segments = encode_chars(normalized); break;
    case SentencePieceModel::Type::kWord: segments = encode_words(normalized); break;
  }
  std::vector<uint32_t> ids;
  // Consecutive unknown pieces become one; with byte fallback an unknown piece becomes its bytes.
  for (size_t k = 0; k < segments.size();) {
    auto [piece, id] = segments[k++];
    if (id == model_.unk_id) {
      while (k < segments.size() && segments[k].second == model_.unk_id) {
        piece = std::string_view(piece.data(), piece.size() + segments[k].first.size());
        ++k;
      }
      if (model_.byte_fallback) {
        for (unsigned char c : piece) ids.push_back(static_cast<uint32_t>(byte_ids_[c]));
        continue;
      }
    }
    ids.push_back(static_cast<uint32_t>(id));
  }
  return ids;
}

std::string SentencePieceProcessor::decode(std::span<const uint32_t> ids) const {
  std::string out, bytes;
  bool at_start = true;
  auto flush_bytes = [&] {
    // Byte pieces are joined and read as UTF-8; each byte that is not part of a valid character
    // becomes U+FFFD.
    std::string_view rest = bytes;
    while (!rest.empty()) {
      const size_t length = utf8_char_length(rest);
      if (length == 0) {
        out += "\xEF\xBF\xBD";
        rest.remove_prefix(1);
      } else {
        out += rest.substr(0, length);
        rest.remove_prefix(length);
      }
    }
    if (!bytes.empty()) at_start = false;
    bytes.clear();
  };
  for (const uint32_t id : ids) {
    ROTOR_CHECK(id < model_.pieces.size(), "sentencepiece: id ", id, " is outside the vocabulary (", model_.pieces.size(),
                " pieces)");
    const auto& piece = model_.pieces[id];
    if (piece.type == PieceType::kByte) {
      bytes += static_cast<char>(std::find(std::begin(byte_ids_), std::end(byte_ids_), int(id)) - std::begin(byte_ids_));
      continue;
    }
    flush_bytes();
    if (piece.type == PieceType::kControl) continue;
    std::string surface;
    if (piece.type == PieceType::kUnknown) {
      surface = model_.unk_surface;
    } else {
      std::string_view text = piece.text;
      if (at_start && (model_.add_dummy_prefix || model_.remove_extra_whitespaces) &&
          text.substr(0, kSpaceSymbol.size()) == kSpaceSymbol)
        text.remove_prefix(kSpaceSymbol.size());
      for (size_t i = 0; i < text.size();) {
        if (text.substr(i, kSpaceSymbol.size()) == kSpaceSymbol) {
          surface += ' ';
          i += kSpaceSymbol.size();
        } else {
          surface += text[i++];
        }
      }
    }
    if (!surface.empty()) at_start = false;
    out += surface;
  }
  flush_bytes();
  return out;
}

}  // namespace rotor::text
