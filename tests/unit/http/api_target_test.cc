#include "libs/http/api_target.h"

#include <catch2/catch.hpp>

namespace switchyard::http {

TEST_CASE("versioned and bare paths split alike", "[http][unit]") {
  ApiTarget v = ParseTarget("/v1.41/containers/abc/json?size=1");
  CHECK(v.api_version == "1.41");
  CHECK(v.path == "/containers/abc/json");
  CHECK(v.query == "size=1");
  CHECK(v.segments == std::vector<std::string>{"containers", "abc", "json"});
  ApiTarget bare = ParseTarget("/containers/abc/json");
  CHECK(bare.api_version.empty());
  CHECK(bare.path == "/containers/abc/json");
}

TEST_CASE("image names with registry and slashes survive decoding", "[http][unit]") {
  ApiTarget t = ParseTarget("/v1.41/images/127.0.0.1%3A5000%2Fsy%2Fbusybox/json");
  REQUIRE(t.segments.size() == 3);
  CHECK(t.segments[1] == "127.0.0.1:5000/sy/busybox");
}

TEST_CASE("a segment like v1 without a dot is a path, not a version", "[http][unit]") {
  ApiTarget t = ParseTarget("/v1/containers");
  CHECK(t.api_version.empty());
  CHECK(t.path == "/v1/containers");
}

TEST_CASE("query values decode and booleans follow Docker", "[http][unit]") {
  CHECK(QueryValue("filters=%7B%22a%22%3A1%7D&all=1", "filters") == "{\"a\":1}");
  CHECK_FALSE(QueryValue("all=1", "limit").has_value());
  CHECK(QueryBool("all=1", "all"));
  CHECK(QueryBool("all=true", "all"));
  CHECK_FALSE(QueryBool("all=0", "all"));
  CHECK_FALSE(QueryBool("all=false", "all"));
  CHECK_FALSE(QueryBool("", "all"));
}

TEST_CASE("url encoding round-trips", "[http][unit]") {
  CHECK(UrlEncode("a b/c:d") == "a%20b%2Fc%3Ad");
  CHECK(UrlDecode(UrlEncode("x=1&y=/z")) == "x=1&y=/z");
  CHECK(UrlDecode("%zz%4") == "%zz%4");  // malformed escapes stay as they are
  CHECK(BuildTarget("1.41", "/info", "") == "/v1.41/info");
  CHECK(BuildTarget("", "/containers/json", "all=1") == "/containers/json?all=1");
}

}  // namespace switchyard::http

TEST_CASE("WithQueryValue replaces a value and keeps the rest", "[http][unit]") {
  using switchyard::http::WithQueryValue;
  CHECK(WithQueryValue("container=web&repo=x%2Fy&tag=1", "container", "abc123") == "container=abc123&repo=x%2Fy&tag=1");
  CHECK(WithQueryValue("repo=x", "container", "a b") == "repo=x&container=a%20b");
  CHECK(WithQueryValue("", "container", "abc") == "container=abc");
  CHECK(WithQueryValue("container=a&container=b", "container", "c") == "container=c");
}
