#!/usr/bin/env bash
# Vendor NiiVue (npm @niivue/niivue, BSD-2-Clause) into the package for `medvlseg predict --html`.
#
#   bash scripts/vendor_niivue.sh [VERSION]      # default: the version pinned below
#
# Fetches the published npm tarball with `npm pack` (npm's own registry client, integrity-checked), checks its
# licence field, and copies the built UMD bundle (dist/niivue.umd.js, one self-contained file) plus the licence
# into src/medvlseg/resources/niivue/. The viewer page inlines that file, so nothing is fetched at run time.
# The npm tarball carries no LICENSE file; the text below is the upstream repository's LICENSE
# (github.com/niivue/niivue/blob/main/LICENSE), which package.json's "license": "BSD-2-Clause" refers to.
set -euo pipefail
VERSION="${1:-0.69.0}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/src/medvlseg/resources/niivue"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

(cd "$WORK" && npm pack --silent "@niivue/niivue@$VERSION" >/dev/null)
tar -xzf "$WORK"/niivue-niivue-"$VERSION".tgz -C "$WORK"
LICENSE_FIELD="$(node -p "require('$WORK/package/package.json').license")"
if [ "$LICENSE_FIELD" != "BSD-2-Clause" ]; then
  echo "vendor_niivue: @niivue/niivue@$VERSION is licensed '$LICENSE_FIELD', expected BSD-2-Clause" >&2
  exit 1
fi
mkdir -p "$DEST"
cp "$WORK/package/dist/niivue.umd.js" "$DEST/niivue.umd.js.tmp"
mv "$DEST/niivue.umd.js.tmp" "$DEST/niivue.umd.js"
cat > "$DEST/LICENSE" <<'LICENSE_TEXT'
BSD 2-Clause License

Copyright (c) 2021, Niivue
All rights reserved.

Redistribution and use in source and binary forms, with or without
modification, are permitted provided that the following conditions are met:

1. Redistributions of source code must retain the above copyright notice, this
   list of conditions and the following disclaimer.

2. Redistributions in binary form must reproduce the above copyright notice,
   this list of conditions and the following disclaimer in the documentation
   and/or other materials provided with the distribution.

THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"
AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE
IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE
DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE
FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL
DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR
SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER
CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY,
OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE
OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
LICENSE_TEXT
echo "$VERSION" > "$DEST/VERSION"
echo "vendored @niivue/niivue@$VERSION ($(wc -c < "$DEST/niivue.umd.js") bytes) into $DEST"
