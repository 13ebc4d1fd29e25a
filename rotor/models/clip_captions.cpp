#include "rotor/models/clip_captions.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "rotor/core/error.h"

namespace rotor::models {

const std::vector<std::string>& caption_templates() {
  static const std::vector<std::string> templates = {
      "a photo of {}.",          "a picture of {}.",           "{} on a plain background.",
      "a black and white photo of {}.", "a low resolution photo of {}.", "a small grey image of {}.",
      "a product photo of {}.",  "this is {}.",
  };
  return templates;
}

const std::vector<std::vector<std::string>>& class_names() {
  static const std::vector<std::vector<std::string>> names = {
      {"t-shirt", "top", "tee"},
      {"trouser", "pair of trousers", "pair of pants"},
      {"pullover", "sweater", "jumper"},
      {"dress", "gown", "frock"},
      {"coat", "jacket", "overcoat"},
      {"sandal", "flip-flop", "open shoe"},
      {"shirt", "button-down shirt", "blouse"},
      {"sneaker", "trainer", "running shoe"},
      {"bag", "handbag", "purse"},
      {"ankle boot", "boot", "bootie"},
  };
  return names;
}

namespace {

std::string with_article(const std::string& name) {
  const char first = name.empty() ? 'x' : name[0];
  const bool vowel = first == 'a' || first == 'e' || first == 'i' || first == 'o' || first == 'u';
  return (vowel ? "an " : "a ") + name;
}

}  // namespace

std::string class_caption(int64_t label, int64_t t, int64_t n) {
  const auto& templates = caption_templates();
  const auto& names = class_names();
  ROTOR_CHECK(label >= 0 && label < kFashionClasses, "clip: class ", label, " is not in 0..9");
  ROTOR_CHECK(t >= 0 && t < static_cast<int64_t>(templates.size()) && n >= 0 &&
                  n < static_cast<int64_t>(names[static_cast<size_t>(label)].size()),
              "clip: no caption template ", t, " / name ", n);
  std::string text = templates[static_cast<size_t>(t)];
  const size_t at = text.find("{}");
  std::string phrase = with_article(names[static_cast<size_t>(label)][static_cast<size_t>(n)]);
  if (at == 0) phrase[0] = static_cast<char>(phrase[0] - 'a' + 'A');  // sentence start
  return text.replace(at, 2, phrase);
}

std::string random_caption(int64_t label, Rng& rng) {
  ROTOR_CHECK(label >= 0 && label < kFashionClasses, "clip: class ", label, " is not in 0..9");
  const int64_t t = static_cast<int64_t>(rng.uniform_int(caption_templates().size()));
  const int64_t n = static_cast<int64_t>(rng.uniform_int(class_names()[static_cast<size_t>(label)].size()));
  return class_caption(label, t, n);
}

std::vector<std::string> class_prompts(int64_t label) {
  ROTOR_CHECK(label >= 0 && label < kFashionClasses, "clip: class ", label, " is not in 0..9");
  std::vector<std::string> out;
  for (size_t t = 0; t < caption_templates().size(); ++t)
    for (size_t n = 0; n < class_names()[static_cast<size_t>(label)].size(); ++n)
      out.push_back(class_caption(label, static_cast<int64_t>(t), static_cast<int64_t>(n)));
  return out;
}

std::vector<std::string> all_captions() {
  std::vector<std::string> out;
  for (int64_t c = 0; c < kFashionClasses; ++c)
    for (auto& s : class_prompts(c)) out.push_back(std::move(s));
  return out;
}

namespace {

bool word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-'; }

}  // namespace

std::vector<int64_t> classes_named(const std::string& text) {
  std::string lower = text;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::set<int64_t> found;
  size_t at = 0;
  while (at < lower.size()) {
    if (!word_char(lower[at]) || (at > 0 && word_char(lower[at - 1]))) {
      ++at;
      continue;
    }
    size_t best = 0;
    int64_t best_class = -1;
    for (int64_t c = 0; c < kFashionClasses; ++c)
      for (const std::string& name : class_names()[static_cast<size_t>(c)]) {
        const size_t end = at + name.size();
        if (name.size() > best && lower.compare(at, name.size(), name) == 0 &&
            (end == lower.size() || !word_char(lower[end])))
          best = name.size(), best_class = c;
      }
    if (best_class >= 0) found.insert(best_class);
    at += std::max<size_t>(best, 1);
  }
  return {found.begin(), found.end()};
}

}  // namespace rotor::models
