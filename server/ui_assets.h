// The admin web UI's files (server/ui/), compiled into stratad by
// server/ui/embed.cmake and served by the HTTP listener at /ui/<name>.
#ifndef STRATA_SERVER_UI_ASSETS_H_
#define STRATA_SERVER_UI_ASSETS_H_

#include <vector>

#include "absl/strings/string_view.h"

namespace strata::server {

struct UiAsset {
  const char* path;          // "/ui/app.js"
  const char* content_type;  // "text/javascript; charset=utf-8"
  absl::string_view bytes;
};

const std::vector<UiAsset>& UiAssets();

}  // namespace strata::server

#endif  // STRATA_SERVER_UI_ASSETS_H_
