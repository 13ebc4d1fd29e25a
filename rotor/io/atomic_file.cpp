#include "rotor/io/atomic_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "rotor/core/error.h"

namespace rotor::io {

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  tmp_path_ = cat(path_, ".tmp-", ::getpid());
  file_ = std::fopen(tmp_path_.c_str(), "wb");
  ROTOR_CHECK(file_, "cannot write '", path_, "': ", std::strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (!committed_) {
    if (file_) std::fclose(file_);
    std::remove(tmp_path_.c_str());
  }
}

void AtomicFile::write(const void* data, size_t bytes) {
  ROTOR_CHECK(!committed_, "write to '", path_, "' after commit");
  if (bytes && std::fwrite(data, 1, bytes, file_) != bytes)
    throw Error(cat("cannot write '", path_, "': ", std::strerror(errno)));
}

void AtomicFile::commit() {
  ROTOR_CHECK(!committed_, "'", path_, "' committed twice");
  const bool ok = std::fflush(file_) == 0 && ::fsync(::fileno(file_)) == 0 && !std::ferror(file_);
  const int err = errno;
  std::fclose(file_);
  file_ = nullptr;
  if (!ok || std::rename(tmp_path_.c_str(), path_.c_str()) != 0) {
    std::remove(tmp_path_.c_str());
    committed_ = true;
    throw Error(cat("cannot write '", path_, "': ", std::strerror(ok ? errno : err)));
  }
  committed_ = true;
}

void write_file_atomic(const std::string& path, std::string_view contents) {
  AtomicFile f(path);
  f.write(contents);
  f.commit();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  ROTOR_CHECK(in, "cannot read '", path, "': ", std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  ROTOR_CHECK(!in.bad(), "error reading '", path, "'");
  return ss.str();
}

}  // namespace rotor::io
