#!/usr/bin/env bash
# The README's first Quick start command (./dev demo): the mission end to end on a sample artifact,
# against the embedded Transparency Service started here and stopped at the end.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
scitt() { node "$root/packages/cli/src/main.ts" "$@"; }
work="$(mktemp -d "${TMPDIR:-/tmp}/scitt-demo.XXXXXX")"
ts_pid=""
cleanup() { [ -n "$ts_pid" ] && kill "$ts_pid" 2>/dev/null && wait "$ts_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cd "$work"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "an issuer key, and a Transparency Service that trusts it"
scitt keygen --out issuer.pem
node -e 'const c=require("node:crypto");const jwk=c.createPublicKey(require("node:fs").readFileSync("issuer.pub.pem")).export({format:"jwk"});console.log(JSON.stringify({issuers:[{name:"demo release pipeline",key:jwk}]}))' > policy.json
mkfifo ts.out
scitt serve --data ts-data --policy policy.json > ts.out 2> ts.log &
ts_pid=$!
read -r ts_url < ts.out
echo "Transparency Service at $ts_url (log: $work/ts.log)"

step "build a release artifact and its SBOM"
mkdir dist
printf 'hello from release 1.0.0\n' > dist/app-1.0.0.tar
digest=$(sha256sum dist/app-1.0.0.tar | cut -d' ' -f1)
cp "$root/test/fixtures/sample-sbom.cdx.json" dist/app-1.0.0.cdx.json
echo "dist/app-1.0.0.tar sha256:$digest"

step "issue a Signed Statement about exactly those bytes (SBOM as a Hash Envelope beside the artifact)"
scitt statement create --payload dist/app-1.0.0.cdx.json --key issuer.pem --iss https://demo.example/releases \
  --sub "pkg:generic/app@1.0.0?checksum=sha256:$digest" --content-type application/vnd.cyclonedx+json \
  --hash-envelope --location app-1.0.0.cdx.json --out sbom.cose

step "register it: the service returns a receipt (RFC 9942)"
scitt register sbom.cose --ts "$ts_url" --out sbom.receipt

step "attach the receipt beside the artifact: a Transparent Statement"
scitt attach sbom.cose sbom.receipt --out dist/app-1.0.0.tar.scitt

step "the gate: verify receipt, issuer and artifact bytes (offline, with the service's keys)"
scitt keys --ts "$ts_url" --out ts-keys.cbor
scitt verify dist/app-1.0.0.tar.scitt --ts-keys ts-keys.cbor --issuer-key issuer.pub.pem \
  --artifact dist/app-1.0.0.tar --evidence dist/app-1.0.0.cdx.json

step "tamper with the artifact after signing: the gate must refuse it"
printf 'malicious\n' >> dist/app-1.0.0.tar
if scitt verify dist/app-1.0.0.tar.scitt --ts-keys ts-keys.cbor --issuer-key issuer.pub.pem --artifact dist/app-1.0.0.tar; then
  echo "demo: a tampered artifact passed the gate: this is a bug" >&2
  exit 1
fi
echo "refused, as it must be"

step "what the receipt looks like"
scitt inspect sbom.receipt

step "done"
echo "Everything was in $work (removed on exit). A consumer verifies offline with:"
echo "  scitt verify app-1.0.0.tar.scitt --ts-keys ts-keys.cbor --issuer-key issuer.pub.pem --artifact app-1.0.0.tar"
