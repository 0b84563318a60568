#!/usr/bin/env bash
# Install the web app's front-end libraries from package-lock.json and copy the files the pages
# load into src/rapport/web/static/vendor/ (git-ignored). Fast when nothing changed: npm ci runs
# only when the lockfile differs from the one node_modules was installed from.
set -euo pipefail
cd "$(dirname "$0")/.."

VENDOR=src/rapport/web/static/vendor
STAMP=node_modules/.rapport-lock-sha256

if ! command -v npm >/dev/null 2>&1; then
    echo "error: npm is needed for the web app's assets (Debian: apt-get install -y nodejs npm)" >&2
    exit 1
fi

want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ]; then
    npm ci --no-audit --no-fund --loglevel=error
    echo "$want" >"$STAMP"
fi

# source in node_modules -> name under static/vendor/
FILES=(
    "htmx.org/dist/htmx.min.js htmx.min.js"
    "sortablejs/Sortable.min.js sortable.min.js"
    "chart.js/dist/chart.umd.min.js chart.umd.min.js"
    "swagger-ui-dist/swagger-ui-bundle.js swagger-ui-bundle.js"
    "swagger-ui-dist/swagger-ui.css swagger-ui.css"
    "swagger-ui-dist/favicon-32x32.png swagger-ui-favicon.png"
)
mkdir -p "$VENDOR"
for pair in "${FILES[@]}"; do
    read -r src name <<<"$pair"
    if ! cmp -s "node_modules/$src" "$VENDOR/$name"; then
        cp "node_modules/$src" "$VENDOR/$name"
    fi
done
