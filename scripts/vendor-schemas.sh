#!/usr/bin/env bash
# Reproduces the vendored official schemas in packages/core/schemas from npm packages (npm pack, no installs).
# Schemas written here from spec text (SPDX 2.2/2.3/3.0, in-toto Statement v1, DSSE, SLSA Provenance v1)
# have no npm source and are not touched; packages/core/schemas/README.md says which is which.
# Usage: scripts/vendor-schemas.sh            (rewrites the vendored files)
#        scripts/vendor-schemas.sh --check    (fails if a vendored file differs from its package)
set -euo pipefail

CYCLONEDX_LIBRARY="@cyclonedx/cyclonedx-library@10.3.0"
SARIF_MATCHER_UTILS="@microsoft/sarif-matcher-utils@1.0.0-beta.0"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/packages/core/schemas"
check=0
[ "${1:-}" = "--check" ] && check=1

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# fetch <spec>: npm pack into $tmp/<n>/ and unpack; prints the unpacked package directory
fetch() {
  local dir="$tmp/$2"
  mkdir -p "$dir"
  (cd "$dir" && npm pack --silent "$1" >/dev/null && tar xzf ./*.tgz)
  echo "$dir/package"
}

# place <from> <to>: copy, or in --check mode compare
place() {
  if [ "$check" = 1 ]; then
    cmp -s "$1" "$2" || { echo "vendor-schemas: $2 differs from $1" >&2; exit 1; }
  else
    mkdir -p "$(dirname "$2")"
    cp "$1" "$2"
  fi
}

cdx="$(fetch "$CYCLONEDX_LIBRARY" cdx)"
for v in 1.4 1.5 1.6 1.7; do
  place "$cdx/res/schema/bom-$v.SNAPSHOT.schema.json" "$dest/cyclonedx/bom-$v.SNAPSHOT.schema.json"
  place "$cdx/res/schema/bom-$v.SNAPSHOT.xsd" "$dest/cyclonedx/bom-$v.SNAPSHOT.xsd"
done
for f in spdx.SNAPSHOT.schema.json jsf-0.82.SNAPSHOT.schema.json cryptography-defs.SNAPSHOT.schema.json spdx.SNAPSHOT.xsd; do
  place "$cdx/res/schema/$f" "$dest/cyclonedx/$f"
done

sarif="$(fetch "$SARIF_MATCHER_UTILS" sarif)"
place "$sarif/lib/schemas/sarif-2.1.0-rtm.5.json" "$dest/sarif/sarif-2.1.0-rtm.5.json"

if [ "$check" = 1 ]; then echo "vendor-schemas: vendored files match their npm packages"; else echo "vendor-schemas: wrote $dest"; fi
(cd "$dest" && sha256sum cyclonedx/* sarif/*)
