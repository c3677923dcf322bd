#!/usr/bin/env bash
# Sets emoforge up on Debian 12 + Node 20: the Debian packages it drives (installed with apt-get
# only when missing) and the npm dependencies from package-lock.json. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "setup: emoforge needs Node.js 20 or newer (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# binary-or-file:package pairs
wanted=(
  /usr/bin/ffmpeg:ffmpeg
  /usr/bin/ffprobe:ffmpeg
  /usr/bin/flite:flite
  /usr/bin/espeak-ng:espeak-ng
  /usr/bin/pocketsphinx_continuous:pocketsphinx
  /usr/share/pocketsphinx/model/en-us/en-us:pocketsphinx-en-us
  # real speech with reference transcripts (LibriVox), for the ASR accuracy test
  /usr/share/pocketsphinx/test/data/librivox/transcription:pocketsphinx-testdata
  # headless browser for the report.html test (driven by playwright-core, never downloaded by it)
  /usr/bin/chromium:chromium
  # Redis for the BullMQ executor's tests and benchmark (a real server on a loopback port)
  /usr/bin/redis-server:redis-server
)
missing=()
for pair in "${wanted[@]}"; do
  path=${pair%%:*}
  package=${pair##*:}
  if [ ! -e "$path" ] && [[ ! " ${missing[*]} " =~ " ${package} " ]]; then missing+=("$package"); fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

echo "setup: installing npm dependencies (npm ci)"
npm ci --no-audit --no-fund --loglevel=error
echo "setup: compiling the TypeScript to .build/ (npm run build)"
node scripts/build.mjs --no-check
echo "setup: done"
