#pragma once

#include <cstdio>
#include <functional>
#include <map>
#include <string>

namespace switchyard::scheduler {

// Reads the regular members of an uncompressed tar from its start that
// `wanted(name, size)` picks, whole; every other member is skipped. Names
// lose a leading "./" and get their ustar prefix.
std::map<std::string, std::string> ReadTarMembers(std::FILE* archive,
                                                  const std::function<bool(const std::string&, size_t)>& wanted);

}  // namespace switchyard::scheduler
