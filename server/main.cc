// stratad: the Strata server. Serves the event log, the link analytics
// commands and queries, and projection admin over gRPC on an embedded store.
#include "server/stratad_main.h"

int main(int argc, char** argv) { return strata::server::StratadMain(argc, argv); }
