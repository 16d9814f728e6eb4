#include "libs/build/dockerfile_froms.h"

#include <cctype>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace switchyard::build {
namespace {

// Logical lines: comments dropped, backslash continuations joined.
std::vector<std::string> Instructions(absl::string_view text) {
  std::vector<std::string> out;
  std::string current;
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    absl::string_view line = absl::StripAsciiWhitespace(raw);
    if (current.empty() && (line.empty() || line.front() == '#')) continue;
    if (!line.empty() && line.back() == '\\') {
      line.remove_suffix(1);
      absl::StrAppend(&current, line, " ");
      continue;
    }
    absl::StrAppend(&current, line);
    out.push_back(std::move(current));
    current.clear();
  }
  if (!current.empty()) out.push_back(std::move(current));
  return out;
}

// $NAME, ${NAME}, ${NAME:-default}, ${NAME:+alt} from `args`.
std::string Expand(absl::string_view text, const std::map<std::string, std::string>& args) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$' || i + 1 == text.size()) {
      out.push_back(text[i]);
      continue;
    }
    std::string name, modifier, word;
    size_t j = i + 1;
    if (text[j] == '{') {
      size_t close = text.find('}', j);
      if (close == absl::string_view::npos) {
        absl::StrAppend(&out, text.substr(i));
        break;
      }
      absl::string_view inner = text.substr(j + 1, close - j - 1);
      size_t colon = inner.find(':');
      name = std::string(inner.substr(0, colon));
      if (colon != absl::string_view::npos && colon + 1 < inner.size()) {
        modifier = std::string(inner.substr(colon + 1, 1));
        word = std::string(inner.substr(colon + 2));
      }
      i = close;
    } else {
      while (j < text.size() && (std::isalnum(static_cast<unsigned char>(text[j])) || text[j] == '_')) ++j;
      name = std::string(text.substr(i + 1, j - i - 1));
      i = j - 1;
    }
    auto it = args.find(name);
    const bool set = it != args.end() && !it->second.empty();
    if (modifier == "-") {
      out += set ? it->second : word;
    } else if (modifier == "+") {
      out += set ? word : "";
    } else if (it != args.end()) {
      out += it->second;
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<BaseImage>> BaseImages(absl::string_view dockerfile, absl::string_view target,
                                                  const std::map<std::string, std::string>& build_args) {
  std::map<std::string, std::string> args;  // global ARGs: those before the first FROM
  std::vector<BaseImage> bases;
  std::set<std::string> stages;  // names (and indexes) of the stages so far
  bool seen_from = false, reached_target = target.empty();
  for (const std::string& line : Instructions(dockerfile)) {
    std::vector<std::string> words = absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (words.empty()) continue;
    const std::string keyword = absl::AsciiStrToUpper(words[0]);
    if (keyword == "ARG" && !seen_from) {
      for (size_t i = 1; i < words.size(); ++i) {
        std::pair<std::string, std::string> kv = absl::StrSplit(words[i], absl::MaxSplits('=', 1));
        auto given = build_args.find(kv.first);
        args[kv.first] = given != build_args.end() ? given->second : kv.second;
      }
      continue;
    }
    if (keyword != "FROM") continue;
    if (!target.empty() && reached_target) break;  // the target stage was the last one built
    seen_from = true;
    BaseImage base;
    std::string name;
    for (size_t i = 1; i < words.size(); ++i) {
      if (absl::StartsWith(words[i], "--platform=")) {
        base.platform = Expand(absl::StripPrefix(words[i], "--platform="), args);
      } else if (base.image.empty()) {
        base.image = Expand(words[i], args);
      } else if (absl::AsciiStrToLower(words[i]) == "as" && i + 1 < words.size()) {
        name = absl::AsciiStrToLower(words[++i]);
      }
    }
    const std::string index = absl::StrCat(bases.size());
    const std::string lowered = absl::AsciiStrToLower(base.image);
    if (lowered == "scratch" || stages.count(lowered) > 0) base.image.clear();
    stages.insert(index);
    if (!name.empty()) stages.insert(name);
    bases.push_back(std::move(base));
    if (!target.empty() && absl::AsciiStrToLower(target) == name) reached_target = true;
  }
  if (!seen_from) return absl::InvalidArgumentError("the Dockerfile has no FROM");
  if (!reached_target) return absl::InvalidArgumentError(absl::StrCat("target stage ", target, " could not be found"));
  return bases;
}

}  // namespace switchyard::build
