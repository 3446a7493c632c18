#!/usr/bin/env bash
# Builds the `scitt serve` image (deploy/Containerfile) with podman, then smoke-tests it: GET /health,
# the image's own healthcheck command, and a registration from the host's CLI.
#   scripts/container.sh            (as root where the base must come from debootstrap)
# The base is node:24-bookworm-slim when an image registry answers; otherwise the same thing is made
# from Debian packages (debootstrap --variant=minbase bookworm) plus Node 24 from the npm registry.
# Where `podman run` is refused (a sandbox denying crun's setrlimit and cgroup calls), the image's own
# filesystem is exported and its entrypoint run as its non-root user under unshare + chroot instead.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# shellcheck source=scripts/bootstrap.sh
source scripts/bootstrap.sh
image="${SCITT_IMAGE:-localhost/scitt-serve:dev}"
port="${SCITT_SMOKE_PORT:-18080}"
work="$(mktemp -d "${TMPDIR:-/tmp}/scitt-container.XXXXXX")"
pid=""; cid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if [ -n "$cid" ]; then podman rm -f "$cid" >/dev/null 2>&1 || true; fi
  for m in "$work/fs/proc" "$work/fs/dev"; do umount "$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
say() { printf '\n== %s\n' "$*"; }
command -v podman >/dev/null || { echo "container.sh: needs podman (apt-get install podman)" >&2; exit 2; }

say "the one-file CLI the image carries"
node scripts/bundle.ts --cli

say "base image"
base="docker.io/library/node:24-bookworm-slim"
if ! timeout 60 podman pull -q "$base" >/dev/null 2>&1; then
  base="localhost/scitt-node24-bookworm-slim:$(node -p process.versions.node)"
  if ! podman image exists "$base"; then
    echo "no image registry answered: building $base from Debian packages"
    [ "$(id -u)" = 0 ] || { echo "container.sh: debootstrap needs root" >&2; exit 2; }
    command -v debootstrap >/dev/null || { echo "container.sh: needs debootstrap (apt-get install debootstrap)" >&2; exit 2; }
    mirror="$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)"
    debootstrap --variant=minbase bookworm "$work/rootfs" "${mirror:-http://deb.debian.org/debian}" > "$work/debootstrap.log" 2>&1 \
      || { tail -20 "$work/debootstrap.log" >&2; exit 2; }
    # what node:24-bookworm-slim adds to Debian: the node binary
    install -m 0755 "$(command -v node)" "$work/rootfs/usr/local/bin/node"
    rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
    tar -C "$work/rootfs" -c . | podman import --change 'CMD ["node"]' - "$base" >/dev/null
    rm -rf "$work/rootfs"
  fi
fi
echo "base: $base"

say "podman build"
# RUN steps under crun where it may run; else buildah's chroot isolation (a sandbox that denies crun's calls)
if ! podman build -q --format docker --build-arg "BASE=$base" -f deploy/Containerfile -t "$image" . > "$work/build.log" 2>&1; then
  echo "podman build with the default runtime failed ($(grep -m1 -i error "$work/build.log" | head -c 200)); building with --isolation=chroot"
  podman build -q --isolation=chroot --format docker --build-arg "BASE=$base" -f deploy/Containerfile -t "$image" . >/dev/null
fi
podman image inspect "$image" --format 'image {{.Id}}  user {{.Config.User}}  volumes {{.Config.Volumes}}  entrypoint {{.Config.Entrypoint}}
healthcheck {{.Config.Healthcheck.Test}}
size {{.Size}} bytes'

say "smoke test: /health and a registration"
node packages/cli/src/main.ts keygen --out "$work/issuer.pem" >/dev/null
node -e 'const c=require("node:crypto");const jwk=c.createPublicKey(require("node:fs").readFileSync(process.argv[1])).export({format:"jwk"});console.log(JSON.stringify({issuers:[{name:"smoke test",key:jwk}]}))' "$work/issuer.pub.pem" > "$work/policy.json"
url="http://127.0.0.1:$port"
mode="podman run"
if cid="$(podman run -d -p "127.0.0.1:$port:8080" -v "$work/policy.json:/etc/scitt/policy.json:ro,Z" "$image" --policy /etc/scitt/policy.json 2> "$work/run.err")" \
   && sleep 2 && [ "$(podman inspect -f '{{.State.Running}}' "$cid" 2>/dev/null)" = true ]; then
  :
else
  echo "podman run refused here ($(head -c 300 "$work/run.err" | tr '\n' ' ')); running the image's filesystem under unshare + chroot instead"
  cid=""
  mode="the exported image under chroot, as uid 10001"
  ctr="$(podman create "$image")"
  mkdir -p "$work/fs"
  podman export "$ctr" | tar -x -C "$work/fs"
  podman rm "$ctr" >/dev/null
  cp "$work/policy.json" "$work/fs/etc/scitt/policy.json"
  chown -R 10001:10001 "$work/fs/var/lib/scitt"
  # the image's own entrypoint, port moved to $port on the host's loopback
  unshare --mount --pid --fork sh -c "mount --bind /dev '$work/fs/dev' && mount -t proc proc '$work/fs/proc' && exec chroot --userspec=10001:10001 '$work/fs' /usr/local/bin/scitt serve --data /var/lib/scitt --host 127.0.0.1 --port $port --policy /etc/scitt/policy.json" > "$work/serve.out" 2> "$work/serve.err" &
  pid=$!
fi
for _ in $(seq 1 100); do curl -fsS "$url/health" >/dev/null 2>&1 && break; sleep 0.2; done
echo "mode: $mode"
echo "GET /health: $(curl -fsS "$url/health")"
if [ -n "$pid" ]; then
  # the HEALTHCHECK command, run inside the image's filesystem as its user
  chroot --userspec=10001:10001 "$work/fs" node -e "fetch('$url/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))" && echo "HEALTHCHECK command: exit 0"
fi
printf 'release bytes\n' > "$work/app.tar"
node packages/cli/src/main.ts statement create --payload "$work/policy.json" --key "$work/issuer.pem" --iss https://smoke.example --sub "pkg:generic/app@1.0.0" --no-content-type --out "$work/s.cose" >/dev/null
node packages/cli/src/main.ts register "$work/s.cose" --ts "$url" --out "$work/s.receipt"
node packages/cli/src/main.ts keys --ts "$url" --out "$work/ts-keys.cbor" >/dev/null
node packages/cli/src/main.ts attach "$work/s.cose" "$work/s.receipt" --out "$work/s.scitt" >/dev/null
node packages/cli/src/main.ts verify "$work/s.scitt" --ts-keys "$work/ts-keys.cbor" --issuer-key "$work/issuer.pub.pem"
echo "GET /health after: $(curl -fsS "$url/health")"
say "ok: $image"
