#include "services/scheduler/tar_members.h"

#include <cstring>

namespace switchyard::scheduler {
namespace {

constexpr size_t kBlock = 512;

size_t OctalSize(const char* field, size_t n) {
  size_t size = 0;
  for (size_t i = 0; i < n && field[i] >= '0' && field[i] <= '7'; ++i) size = size * 8 + (field[i] - '0');
  return size;
}

}  // namespace

std::map<std::string, std::string> ReadTarMembers(std::FILE* archive,
                                                  const std::function<bool(const std::string&, size_t)>& wanted) {
  std::rewind(archive);
  std::map<std::string, std::string> members;
  char header[kBlock];
  while (std::fread(header, 1, kBlock, archive) == kBlock) {
    if (header[0] == '\0') break;  // end-of-archive blocks
    std::string name(header, strnlen(header, 100));
    const std::string prefix(header + 345, strnlen(header + 345, 155));  // ustar
    if (!prefix.empty()) name = prefix + "/" + name;
    if (name.rfind("./", 0) == 0) name = name.substr(2);
    const size_t size = OctalSize(header + 124, 12);
    const size_t padded = (size + kBlock - 1) / kBlock * kBlock;
    const bool regular = header[156] == '0' || header[156] == '\0';
    if (regular && wanted(name, size)) {
      std::string body(padded, '\0');
      if (std::fread(body.data(), 1, padded, archive) != padded) break;
      body.resize(size);
      members[name] = std::move(body);
    } else if (std::fseek(archive, static_cast<long>(padded), SEEK_CUR) != 0) {
      break;
    }
  }
  return members;
}

}  // namespace switchyard::scheduler
