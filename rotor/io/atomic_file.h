#pragma once
// AtomicFile: writes go to "<path>.tmp-<pid>" in the same directory; commit() flushes, fsyncs and
// renames over <path>. If the object is destroyed without commit() (an error was thrown), the
// temporary file is removed and any existing <path> is left untouched.
#include <cstdio>
#include <string>
#include <string_view>

namespace rotor::io {

class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t bytes);
  void write(std::string_view text) { write(text.data(), text.size()); }
  std::FILE* stream() { return file_; }  // for fprintf-style output; errors are caught at commit()
  void commit();
  const std::string& path() const { return path_; }

 private:
  std::string path_, tmp_path_;
  std::FILE* file_ = nullptr;
  bool committed_ = false;
};

// Convenience: write a whole string to a file atomically.
void write_file_atomic(const std::string& path, std::string_view contents);
// Read a whole file; throws rotor::Error naming the file when it cannot be read.
std::string read_file(const std::string& path);

}  // namespace rotor::io
