#include "libs/api_routes/route.h"

namespace switchyard::api_routes {

std::vector<RouteEntry> ImageRoutes() {
  using R = Routing;
  return {
      {"GET", "/images/json", "ImageList", R::kTyped},
      {"POST", "/images/create", "ImageCreate", R::kPlacedPull},
      {"POST", "/images/load", "ImageLoad", R::kSpooledLoad},
      {"GET", "/images/get", "ImageGetAll", R::kImagesInQuery},
      {"GET", "/images/search", "ImageSearch", R::kEitherEngine},
      {"POST", "/images/prune", "ImagesPrune", R::kFanOutMerge, Merge::kPrune, "ImagesDeleted"},
      {"GET", "/images/{name*}/json", "ImageInspect", R::kImageInPath},
      {"GET", "/images/{name*}/history", "ImageHistory", R::kImageInPath},
      {"GET", "/images/{name*}/get", "ImageGet", R::kImageInPath},
      {"POST", "/images/{name*}/push", "ImagePush", R::kImageInPath},
      {"POST", "/images/{name*}/tag", "ImageTag", R::kImageEverywhere},
      {"DELETE", "/images/{name*}", "ImageDelete", R::kImageEverywhere},
  };
}

}  // namespace switchyard::api_routes
