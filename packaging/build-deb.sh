#!/bin/bash
# Builds nuwsgi_<version>_<arch>.deb with dpkg-deb from this checkout:
#
#   packaging/build-deb.sh [--no-build] [OUTDIR]      (default OUTDIR: dist/deb)
#
# --no-build packages dist/ as it is (the test command has just built it);
# by default tsc runs first, so a stale dist/ is never packaged.
#
# Installs the program under /usr/lib/nuwsgi (dist/src, python/, the production
# node_modules: koffi and its native build for this architecture), the commands
# /usr/bin/nuwsgi and /usr/bin/nuwsgi-service, and packaging/root verbatim: the
# /etc files (conffiles), default.ini and samples under /usr/share/nuwsgi, the
# systemd units, the init script and the logrotate file. Prints the .deb's path.
#
# Needs: node and npm (`npm ci` done), dpkg-deb, /usr/bin/python3 (the package
# depends on its libpython3.X, like Debian's uwsgi-plugin-python3).
set -euo pipefail

BUILD=yes
if [ "${1:-}" = --no-build ]; then BUILD=no; shift; fi
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
OUTDIR="$(mkdir -p "${1:-$ROOT/dist/deb}" && cd "${1:-$ROOT/dist/deb}" && pwd)"

die() { echo "build-deb: $*" >&2; exit 1; }

command -v dpkg-deb >/dev/null || die "dpkg-deb not found (Debian's dpkg package)"
[ -x /usr/bin/python3 ] || die "/usr/bin/python3 not found: the package depends on Debian's python3"
[ -d "$ROOT/node_modules/koffi" ] || die "node_modules/koffi is missing: run npm ci first"

if [ "$BUILD" = yes ]; then
  (cd "$ROOT" && node node_modules/typescript/bin/tsc -p tsconfig.json) || die "tsc failed"
fi
[ -f "$ROOT/dist/src/cli/main.js" ] && [ -f "$ROOT/dist/src/service/main.js" ] || die "dist/ is not built (npm run build)"

VERSION="$(node -p "require('$ROOT/package.json').version")-1"
ARCH="$(dpkg --print-architecture)"
PYVER="$(/usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
PYNEXT="$(/usr/bin/python3 -c 'import sys; print("%d.%d" % (sys.version_info[0], sys.version_info[1] + 1))')"

STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT
PKG="$STAGE/pkg"
LIB="$PKG/usr/lib/nuwsgi"

# The /etc files, /usr/share/nuwsgi, the units, the init script, logrotate.
mkdir -p "$PKG"
cp -a "$HERE/root/." "$PKG/"

# The program: compiled sources (no tests, no source maps), the Python loader, the entry scripts.
mkdir -p "$LIB/bin" "$LIB/dist"
(cd "$ROOT/dist" && find src -name '*.js' -print0 | xargs -0 cp --parents -t "$LIB/dist")
cp -a "$ROOT/python" "$LIB/python"
find "$LIB/python" -name '__pycache__' -prune -exec rm -rf {} +
cp "$ROOT/bin/nuwsgi" "$ROOT/bin/nuwsgi-service" "$LIB/bin/"
node -e '
  const p = require(process.argv[1]);
  const keep = { name: p.name, version: p.version, description: p.description, license: p.license, private: true, type: p.type, bin: p.bin, dependencies: p.dependencies };
  require("fs").writeFileSync(process.argv[2], JSON.stringify(keep, null, 2) + "\n");
' "$ROOT/package.json" "$LIB/package.json"

# The production node_modules as npm resolved them (koffi and the native build npm installed for this machine).
mkdir -p "$LIB/node_modules"
(cd "$ROOT" && npm ls --omit=dev --parseable --all 2>/dev/null) | while read -r dir; do
  [ "$dir" = "$ROOT" ] && continue
  rel="${dir#"$ROOT/"}"
  mkdir -p "$LIB/$(dirname "$rel")"
  cp -a "$dir" "$LIB/$rel"
done
[ -d "$LIB/node_modules/koffi" ] || die "npm ls listed no koffi"

mkdir -p "$PKG/usr/bin"
ln -s ../lib/nuwsgi/bin/nuwsgi "$PKG/usr/bin/nuwsgi"
ln -s ../lib/nuwsgi/bin/nuwsgi-service "$PKG/usr/bin/nuwsgi-service"

mkdir -p "$PKG/usr/share/doc/nuwsgi" "$PKG/var/log/nuwsgi/app"
cp "$ROOT/docs/debian.md" "$PKG/usr/share/doc/nuwsgi/README.Debian"

# Control files: maintainer scripts, every /etc file a conffile, md5sums, control.
mkdir -p "$PKG/DEBIAN"
cp "$HERE/DEBIAN/postinst" "$HERE/DEBIAN/prerm" "$HERE/DEBIAN/postrm" "$PKG/DEBIAN/"
chmod 755 "$PKG/DEBIAN/postinst" "$PKG/DEBIAN/prerm" "$PKG/DEBIAN/postrm"
(cd "$PKG" && find etc -type f | sort | sed 's|^|/|') > "$PKG/DEBIAN/conffiles"
(cd "$PKG" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) > "$PKG/DEBIAN/md5sums"
SIZE_KB="$(du -sk --exclude=DEBIAN "$PKG" | cut -f1)"
cat > "$PKG/DEBIAN/control" <<CONTROL
Package: nuwsgi
Version: $VERSION
Architecture: $ARCH
Maintainer: nuwsgi developers <nuwsgi@localhost>
Installed-Size: $SIZE_KB
Depends: nodejs (>= 20), python3 (>= $PYVER), python3 (<< $PYNEXT), libpython$PYVER
Recommends: logrotate
Suggests: nginx
Section: httpd
Priority: optional
Description: Python WSGI server for uWSGI users (Node.js with embedded CPython)
 nuwsgi reads uWSGI's options and configuration files and speaks the uwsgi
 protocol behind nginx's uwsgi_pass. Each worker is a Node.js process that
 embeds CPython.
 .
 This package follows Debian's uwsgi layout with nuwsgi's names: apps in
 /etc/nuwsgi/apps-available and apps-enabled, started by nuwsgi-service (and
 /etc/init.d/nuwsgi), sockets at /run/nuwsgi/app/NAME/socket, logs in
 /var/log/nuwsgi/app/NAME.log; the Emperor over /etc/nuwsgi-emperor/vassals
 (nuwsgi-emperor.service); one socket-activated unit per app
 (nuwsgi-app@NAME.socket).
CONTROL

DEB="$OUTDIR/nuwsgi_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group --build "$PKG" "$DEB" >/dev/null
echo "$DEB"
