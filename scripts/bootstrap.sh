# shellcheck shell=bash
# Sourced by ./dev: puts Node >= 24 and pnpm 10 on PATH without changing anything global.
# A machine that already has them (a GitHub runner with setup-node) is left as it is; otherwise both
# come into .tools/ inside the checkout (corepack cannot fetch pnpm here): pnpm from the npm registry,
# Node as below.
NODE_PIN="24.21.0"
PNPM_PIN="10.34.9"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"
# Node for linux (x64, arm64) comes from the npm registry's node-linux-<arch> packages; for darwin
# (x64, arm64), which the registry does not carry at this version, from nodejs.org's tarball, checked
# against its SHASUMS256.txt.
case "$(uname -s)" in
  Linux) node_os=linux ;;
  Darwin) node_os=darwin ;;
  *) node_os="" ;;
esac
case "$(uname -m)" in
  x86_64 | amd64) node_arch=x64 ;;
  aarch64 | arm64) node_arch=arm64 ;;
  *) node_arch="" ;;
esac
node_pkg="node-$node_os-$node_arch"
if [ "$node_os" = darwin ]; then node_bin="$tools/node-v$NODE_PIN-darwin-$node_arch/bin"; else node_bin="$tools/node_modules/$node_pkg/bin"; fi

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
pnpm_major() { pnpm --version 2>/dev/null | cut -d. -f1 || echo 0; }

if [ -x "$node_bin/node" ]; then
  export PATH="$node_bin:$tools/node_modules/.bin:$PATH"
fi
if [ "$(node_major)" -lt 24 ] || [ "$(pnpm_major)" -lt 10 ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "bootstrap: need npm (any version) to fetch Node $NODE_PIN and pnpm $PNPM_PIN; install Node.js first" >&2
    return 2 2>/dev/null || exit 2
  fi
  if [ -z "$node_os" ] || [ -z "$node_arch" ]; then
    echo "bootstrap: no Node build for $(uname -s) $(uname -m) on the npm registry; install Node >= 24 and pnpm 10 yourself (on Windows: see the README)" >&2
    return 2 2>/dev/null || exit 2
  fi
  echo "bootstrap: installing Node $NODE_PIN and pnpm $PNPM_PIN into .tools/ (project-local)" >&2
  mkdir -p "$tools"
  [ -f "$tools/package.json" ] || echo '{"private":true}' > "$tools/package.json"
  (cd "$tools" && npm install --no-audit --no-fund --loglevel=error --no-save \
      $([ "$node_os" = linux ] && echo "$node_pkg@$NODE_PIN") "pnpm@$PNPM_PIN" >&2) || { echo "bootstrap: npm install failed" >&2; return 2 2>/dev/null || exit 2; }
  if [ "$node_os" = darwin ]; then
    tarball="node-v$NODE_PIN-darwin-$node_arch.tar.gz"
    (cd "$tools" && curl -fsSLO "https://nodejs.org/dist/v$NODE_PIN/$tarball" && curl -fsSL "https://nodejs.org/dist/v$NODE_PIN/SHASUMS256.txt" | grep " $tarball\$" | shasum -a 256 -c - >&2 && tar -xzf "$tarball" && rm "$tarball") \
      || { echo "bootstrap: could not fetch and check Node $NODE_PIN from nodejs.org" >&2; return 2 2>/dev/null || exit 2; }
  fi
  export PATH="$node_bin:$tools/node_modules/.bin:$PATH"
fi
hash -r
