#include "libs/build/dockerfile_froms.h"

#include <catch2/catch.hpp>

namespace switchyard::build {
namespace {

std::vector<std::string> Images(const absl::StatusOr<std::vector<BaseImage>>& bases) {
  REQUIRE(bases.ok());
  std::vector<std::string> out;
  for (const auto& b : *bases) out.push_back(b.image);
  return out;
}

TEST_CASE("the images a Dockerfile starts from, stage by stage", "[build][unit]") {
  const char* multi = R"(# syntax comment
ARG BASE=busybox
ARG TAG
FROM ${BASE}:${TAG:-1.36} AS builder
RUN make \
    all
from --platform=linux/arm64 alpine:3 as Tools
FROM builder
FROM scratch
COPY --from=tools /x /x
)";
  CHECK(Images(BaseImages(multi, "", {})) == std::vector<std::string>{"busybox:1.36", "alpine:3", "", ""});
  auto bases = BaseImages(multi, "", {{"BASE", "debian"}, {"TAG", "12"}});
  CHECK(Images(bases) == std::vector<std::string>{"debian:12", "alpine:3", "", ""});
  CHECK((*bases)[1].platform == "linux/arm64");
  // --target stops after its stage, as the classic builder does.
  CHECK(Images(BaseImages(multi, "builder", {})) == std::vector<std::string>{"busybox:1.36"});
  CHECK(Images(BaseImages(multi, "TOOLS", {})) == std::vector<std::string>{"busybox:1.36", "alpine:3"});
}

TEST_CASE("a Dockerfile the builder would refuse is said so, not guessed", "[build][unit]") {
  CHECK(absl::IsInvalidArgument(BaseImages("RUN true\n", "", {}).status()));
  CHECK(absl::IsInvalidArgument(BaseImages("FROM a AS one\n", "two", {}).status()));
  CHECK(Images(BaseImages("FROM $UNSET\n", "", {})) == std::vector<std::string>{""});
}

}  // namespace
}  // namespace switchyard::build
