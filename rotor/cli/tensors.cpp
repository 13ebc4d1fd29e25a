// `rotor tensors FILE`: lists the tensors of a .safetensors or .npy file (validating it strictly).
#include <cstdio>

#include "rotor/cli/command.h"
#include "rotor/core/error.h"
#include "rotor/io/npy.h"
#include "rotor/io/safetensors.h"

namespace {

std::string shape_text(const rotor::Shape& shape) { return rotor::shape_str(shape); }

void setup(CLI::App& cmd) {
  static std::string path;
  cmd.add_option("file", path, ".safetensors, model.safetensors.index.json or .npy file")->required();
  cmd.callback([] {
    auto ends_with = [](const std::string& s, const std::string& suffix) {
      return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    if (ends_with(path, ".npy")) {
      const rotor::Tensor t = rotor::io::load_npy(path);
      std::printf("%s\t%s\t%s\n", path.c_str(), rotor::dtype_name(t.dtype()), shape_text(t.shape()).c_str());
    } else if (ends_with(path, ".index.json")) {
      for (const auto& [name, t] : rotor::io::load_sharded_safetensors(path))
        std::printf("%s\t%s\t%s\n", name.c_str(), rotor::dtype_name(t.dtype()), shape_text(t.shape()).c_str());
    } else {
      const rotor::io::SafetensorsFile file = rotor::io::SafetensorsFile::open(path);
      for (const auto& [key, value] : file.metadata()) std::printf("# %s: %s\n", key.c_str(), value.c_str());
      for (const rotor::io::SafetensorsEntry& e : file.entries())
        std::printf("%s\t%s\t%s\n", e.name.c_str(), e.dtype.c_str(), shape_text(e.shape).c_str());
    }
  });
}

const bool registered = rotor::cli::register_command("tensors", "list the tensors of a safetensors or NPY file", setup);

}  // namespace
