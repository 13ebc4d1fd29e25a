// Loads a boosted-tree model (rotor's JSON, or XGBoost's JSON model) and prints one prediction per row of a
// CSV file, as `rotor boost predict` writes them.
//   boost_predict MODEL.json DATA.csv [--no-label]
// DATA.csv's first column is the label unless --no-label is given; missing cells are NaN.
#include <cstdio>
#include <cstring>
#include <exception>

#include "rotor/io/table_reader.h"
#include "rotor/trees/boost_model.h"

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4 || (argc == 4 && std::strcmp(argv[3], "--no-label") != 0)) {
    std::fprintf(stderr, "usage: %s MODEL.json DATA.csv [--no-label]\n", argv[0]);
    return 2;
  }
  try {
    const rotor::trees::BoostModel model = rotor::trees::load_model(argv[1]);
    rotor::io::TableOptions options;
    if (argc == 4) options.label_column = -1;
    const rotor::io::Table table = rotor::io::read_csv(argv[2], options);
    model.check_table(table);
    const std::vector<float> predictions = model.predict(table.values.data(), table.rows);
    const int outputs = model.num_outputs();
    for (int64_t r = 0; r < table.rows; ++r) {
      for (int k = 0; k < outputs; ++k) std::printf(k ? ",%.9g" : "%.9g", predictions[static_cast<size_t>(r * outputs + k)]);
      std::printf("\n");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "boost_predict: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
