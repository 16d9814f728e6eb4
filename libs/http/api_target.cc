#include "libs/http/api_target.h"

#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace switchyard::http {
namespace {

bool IsVersionSegment(absl::string_view s) {
  if (s.size() < 2 || s[0] != 'v') return false;
  bool dot = false;
  for (char c : s.substr(1)) {
    if (c == '.') {
      dot = true;
    } else if (!std::isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return dot;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

ApiTarget ParseTarget(absl::string_view target) {
  ApiTarget result;
  size_t q = target.find('?');
  absl::string_view path = target.substr(0, q);
  if (q != absl::string_view::npos) result.query = std::string(target.substr(q + 1));
  std::vector<absl::string_view> parts = absl::StrSplit(path, '/', absl::SkipEmpty());
  size_t start = 0;
  if (!parts.empty() && IsVersionSegment(parts[0])) {
    result.api_version = std::string(parts[0].substr(1));
    start = 1;
  }
  for (size_t i = start; i < parts.size(); ++i) {
    result.segments.push_back(UrlDecode(parts[i]));
    absl::StrAppend(&result.path, "/", parts[i]);
  }
  if (result.path.empty()) result.path = "/";
  return result;
}

std::string BuildTarget(absl::string_view api_version, absl::string_view path,
                        absl::string_view query) {
  std::string out;
  if (!api_version.empty()) absl::StrAppend(&out, "/v", api_version);
  absl::StrAppend(&out, path);
  if (!query.empty()) absl::StrAppend(&out, "?", query);
  return out;
}

std::string UrlDecode(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      int hi = HexValue(text[i + 1]);
      int lo = HexValue(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(c == '+' ? ' ' : c);
  }
  return out;
}

std::string UrlEncode(absl::string_view text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::optional<std::string> QueryValue(absl::string_view query, absl::string_view key) {
  for (absl::string_view pair : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    size_t eq = pair.find('=');
    absl::string_view name = pair.substr(0, eq);
    if (UrlDecode(name) != key) continue;
    if (eq == absl::string_view::npos) return std::string();
    return UrlDecode(pair.substr(eq + 1));
  }
  return std::nullopt;
}

std::string WithQueryValue(absl::string_view query, absl::string_view key, absl::string_view value) {
  std::vector<std::string> pairs;
  bool replaced = false;
  const std::string encoded = absl::StrCat(UrlEncode(key), "=", UrlEncode(value));
  for (absl::string_view pair : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    if (UrlDecode(pair.substr(0, pair.find('='))) != key) {
      pairs.emplace_back(pair);
    } else if (!replaced) {
      pairs.push_back(encoded);
      replaced = true;
    }
  }
  if (!replaced) pairs.push_back(encoded);
  return absl::StrJoin(pairs, "&");
}

bool QueryBool(absl::string_view query, absl::string_view key) {
  std::optional<std::string> value = QueryValue(query, key);
  if (!value.has_value()) return false;
  std::string lower = absl::AsciiStrToLower(*value);
  return !(lower.empty() || lower == "0" || lower == "false" || lower == "no");
}

}  // namespace switchyard::http
