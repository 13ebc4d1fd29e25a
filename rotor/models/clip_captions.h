#pragma once
// Captions for Fashion-MNIST images, built from the class names (issue 15 part 1).
//
// Every class has three names (synonyms) and every caption is one of kCaptionTemplates with "{}" replaced by
// a name and its indefinite article ("an ankle boot", "a t-shirt"): 8 templates x 3 names = 24 captions per
// class, 240 in all. A training caption is one of the class's 24, drawn uniformly (template and name
// independently) from the trainer's generator for every image at every step. A zero-shot prompt set for a
// class is all 24 of its captions (prompt ensembling averages their normalised text embeddings).
#include <cstdint>
#include <string>
#include <vector>

#include "rotor/core/rng.h"

namespace rotor::models {

constexpr int64_t kFashionClasses = 10;

// The templates, in order; "{}" stands for "<article> <name>".
const std::vector<std::string>& caption_templates();
// Per class (0 = T-shirt/top ... 9 = Ankle boot): its names, the first being the dataset's own.
const std::vector<std::vector<std::string>>& class_names();

// Caption of class `label` from template t with name n ("a photo of a pullover").
std::string class_caption(int64_t label, int64_t t, int64_t n);
// A uniformly drawn caption of the class (one rng.uniform_int for the template, one for the name).
std::string random_caption(int64_t label, Rng& rng);
// Every caption of a class (template-major), the zero-shot prompts.
std::vector<std::string> class_prompts(int64_t label);
// Every caption of every class (class-major): the corpus the caption tokenizer is trained on.
std::vector<std::string> all_captions();

// The classes whose names occur in a text (ascending, each once), matched case-insensitively as whole words
// (letters, digits and '-' make up a word) with the longest name winning at each position and matches not
// overlapping: "a button-down shirt" names only class 6, "a t-shirt" only class 0, "trousers" none (the
// names are "trouser" and "pair of trousers"). A generated caption names class c when this is {c}.
std::vector<int64_t> classes_named(const std::string& text);

}  // namespace rotor::models
