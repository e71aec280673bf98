// The index stream rules of index_streams.h: parsing "$ce-" and "$et-" names,
// a stream's category, whether an index holds an event, and its whole-log
// filter (Narrowing).
#include "engine/index_streams.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace strata {

std::optional<IndexStream> ParseIndexStream(absl::string_view stream) {
  for (const auto& [prefix, kind] : {std::pair(kCategoryStreamPrefix, IndexKind::kCategory),
                                     std::pair(kEventTypeStreamPrefix, IndexKind::kEventType)}) {
    if (stream.size() > prefix.size() && absl::StartsWith(stream, prefix)) {
      return IndexStream{kind, stream.substr(prefix.size())};
    }
  }
  return std::nullopt;
}

bool IsIndexedStream(absl::string_view stream) { return !absl::StartsWith(stream, "$"); }

std::optional<absl::string_view> CategoryOf(absl::string_view stream) {
  if (!IsIndexedStream(stream)) return std::nullopt;
  const size_t dash = stream.find('-');
  if (dash == absl::string_view::npos || dash == 0) return std::nullopt;
  return stream.substr(0, dash);
}

bool IndexStream::Holds(absl::string_view stream, absl::string_view type) const {
  if (kind == IndexKind::kEventType) return IsIndexedStream(stream) && type == name;
  return CategoryOf(stream) == name;
}

ReadFilter IndexStream::Narrowing() const {
  ReadFilter filter;
  if (kind == IndexKind::kEventType) {
    filter.event_types.push_back(std::string(name));
  } else {
    filter.stream_prefix = absl::StrCat(name, "-");
  }
  return filter;
}

}  // namespace strata
