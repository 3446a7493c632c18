#!/usr/bin/env bash
# The README's first Quick start command (./dev demo): the mission end to end on a sample artifact,
# against the embedded Transparency Service started here and stopped at the end.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
scitt() { node "$root/packages/cli/src/main.ts" "$@"; }
work="$(mktemp -d "${TMPDIR:-/tmp}/scitt-demo.XXXXXX")"
keep="${SCITT_DEMO_KEEP:-}"
ts_pid=""
cleanup() {
  local status=$?
  # stop the service; its exit status must not become the demo's
  if [ -n "$ts_pid" ]; then kill "$ts_pid" 2>/dev/null || true; wait "$ts_pid" 2>/dev/null || true; fi
  if [ -z "$keep" ]; then rm -rf "$work"; fi
  exit "$status"
}
trap cleanup EXIT
cd "$work"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "an issuer key, and a Transparency Service whose registration policy trusts it"
scitt keygen --out issuer.pem
node -e 'const c=require("node:crypto");const jwk=c.createPublicKey(require("node:fs").readFileSync("issuer.pub.pem")).export({format:"jwk"});console.log(JSON.stringify({issuers:[{name:"demo release pipeline",key:jwk}]}))' > policy.json
mkfifo ts.out
# node itself in the background (not the shell function), so $! is the service and the trap stops it
node "$root/packages/cli/src/main.ts" serve --data ts-data --policy policy.json > ts.out 2> ts.log &
ts_pid=$!
read -r ts_url < ts.out
echo "Transparency Service at $ts_url (log: $work/ts.log)"

step "build a release artifact, its SBOM, and SLSA provenance (with the variables a GitHub runner sets)"
mkdir dist
printf 'hello from release 1.0.0\n' > dist/app-1.0.0.tar
cp "$root/test/fixtures/sample-sbom.cdx.json" build-sbom.cdx.json
GITHUB_ACTIONS=true GITHUB_SERVER_URL=https://github.com GITHUB_REPOSITORY=acme/app GITHUB_REPOSITORY_ID=1 \
GITHUB_REPOSITORY_OWNER_ID=2 GITHUB_REF=refs/tags/v1.0.0 GITHUB_SHA=0123456789abcdef0123456789abcdef01234567 \
GITHUB_WORKFLOW_REF=acme/app/.github/workflows/release.yml@refs/tags/v1.0.0 GITHUB_RUN_ID=42 GITHUB_RUN_ATTEMPT=1 \
GITHUB_EVENT_NAME=push RUNNER_ENVIRONMENT=github-hosted \
  scitt provenance generate --subject-path dist/app-1.0.0.tar --out build-provenance.json

step "issue Signed Statements about exactly those bytes (SBOM and provenance as Hash Envelopes)"
scitt statement create --key issuer.pem --iss https://demo.example/releases --payload build-sbom.cdx.json --subject-path dist/app-1.0.0.tar --out-dir statements
scitt statement create --key issuer.pem --iss https://demo.example/releases --payload build-provenance.json --subject-path dist/app-1.0.0.tar --out-dir statements

step "register each with the Transparency Service and attach its receipt beside the artifact"
for s in statements/*.cose; do
  scitt transparent "$s" --ts "$ts_url" --to dist/app-1.0.0.tar
done
ls -1 dist

step "the gate, offline, with the service's keys: receipts, issuer, artifact bytes, required evidence"
scitt keys --ts "$ts_url" --out ts-keys.cbor
scitt verify --artifact dist/app-1.0.0.tar --require sbom,provenance --ts-keys ts-keys.cbor --issuer-key issuer.pub.pem

step "tamper with the artifact after signing: the gate must refuse it"
printf 'malicious\n' >> dist/app-1.0.0.tar
if scitt verify --artifact dist/app-1.0.0.tar --require sbom,provenance --ts-keys ts-keys.cbor --issuer-key issuer.pub.pem; then
  echo "demo: a tampered artifact passed the gate: this is a bug" >&2
  exit 1
fi
echo "refused, as it must be"

step "what a receipt looks like"
scitt inspect "$(ls dist/*.scitt | head -1)" | sed -n '/receipts/,$p' | head -40

step "done"
if [ -n "$keep" ]; then echo "Everything is in $work"; else echo "Everything was in $work (removed on exit; SCITT_DEMO_KEEP=1 keeps it)"; fi
echo "A consumer downloads dist/ (artifact, .scitt files, evidence) and ts-keys.cbor, then verifies offline:"
echo "  scitt verify --artifact app-1.0.0.tar --require sbom,provenance --ts-keys ts-keys.cbor --issuer-key issuer.pub.pem"
