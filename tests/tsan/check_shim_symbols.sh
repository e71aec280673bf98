#!/usr/bin/env bash
# Usage: check_shim_symbols.sh SHIM.so — fails when the shim defines an Abseil
# or RocksDB symbol that Debian's libabsl_synchronization / librocksdb do not
# (its wrapper would never run). Prints what it checked.
set -euo pipefail
shim=$1
defined=$(nm -D --defined-only /usr/lib/x86_64-linux-gnu/libabsl_synchronization.so.* \
            /usr/lib/x86_64-linux-gnu/librocksdb.so.* 2>/dev/null | awk '{print $3}')
n=0
for sym in $(nm -D --defined-only "$shim" | awk '$2 == "T" && $3 ~ /^_ZN?K?4absl|^_ZN7rocksdb/ {print $3}'); do
  if ! grep -qx -- "$sym" <<<"$defined"; then
    echo "the shim wraps $sym, which Debian's libraries do not define" >&2
    exit 1
  fi
  n=$((n + 1))
done
if [ "$n" -eq 0 ]; then
  echo "the shim wraps no Abseil or RocksDB symbol: is it the shim?" >&2
  exit 1
fi
echo "the shim's $n wrapped symbols are all defined by Debian's libraries"
