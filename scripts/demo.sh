#!/usr/bin/env bash
# The README's first Quick start command (via ./dev demo): the mission end to end on a sample artifact.
# Today: keygen -> statement create (embedded and hash envelope) -> verify -> tamper -> refused -> inspect.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
scitt() { node "$root/packages/cli/src/main.ts" "$@"; }
work="$(mktemp -d "${TMPDIR:-/tmp}/scitt-demo.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cd "$work"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "a sample artifact and its SBOM"
printf 'hello from release 1.0.0\n' > app-1.0.0.tar
digest=$(sha256sum app-1.0.0.tar | cut -d' ' -f1)
cp "$root/test/fixtures/sample-sbom.cdx.json" app-1.0.0.cdx.json
echo "artifact app-1.0.0.tar sha256:$digest"

step "scitt keygen"
scitt keygen --out issuer.pem

sub="pkg:generic/app@1.0.0?checksum=sha256:$digest"
step "scitt statement create (SBOM as a Hash Envelope, evidence stays beside the artifact)"
scitt statement create --payload app-1.0.0.cdx.json --key issuer.pem --iss https://demo.example/releases \
  --sub "$sub" --content-type application/vnd.cyclonedx+json --hash-envelope --location app-1.0.0.cdx.json \
  --out app-1.0.0.sbom.cose

step "scitt statement verify (signature and SBOM bytes)"
scitt statement verify app-1.0.0.sbom.cose --key issuer.pub.pem --payload app-1.0.0.cdx.json

step "tamper with the SBOM: verification must refuse it"
sed -i 's/"1.0.0"/"6.6.6"/' app-1.0.0.cdx.json
if scitt statement verify app-1.0.0.sbom.cose --key issuer.pub.pem --payload app-1.0.0.cdx.json; then
  echo "demo: a tampered SBOM verified: this is a bug" >&2
  exit 1
else
  echo "refused as expected (exit $?)"
fi

step "scitt inspect"
scitt inspect app-1.0.0.sbom.cose

step "done"
echo "A consumer verifies offline with:"
echo "  scitt statement verify app-1.0.0.sbom.cose --key issuer.pub.pem --payload app-1.0.0.cdx.json"
