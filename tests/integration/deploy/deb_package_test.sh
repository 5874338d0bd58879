#!/usr/bin/env bash
# `cpack -G DEB` builds a Debian package of qtw: contents (/usr/bin/qtw, the
# library, headers, CMake and pkg-config files, the systemd unit naming
# /usr/bin/qtw, /etc/qtw/qtw.toml as a conffile), control fields, maintainer
# scripts (system user, state directory, purge keeps a non-empty store), and
# the packed binary runs from the unpacked tree.
# Usage: deb_package_test.sh BUILD_DIR
set -uo pipefail
BUILD=$1
WORK=$(mktemp -d /tmp/qtw-deb-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL $*"; }
has() { if grep -Eq "$2" "$3"; then ok; else bad "$1: /$2/ not in $3: $(head -c 2000 "$3")"; fi; }

(cd "$BUILD" && cpack -G DEB -B "$WORK/out" >"$WORK/cpack.log" 2>&1) || bad "cpack: $(tail -20 "$WORK/cpack.log")"
DEB=$(ls "$WORK"/out/qtw_*.deb 2>/dev/null | head -1)
[ -f "$DEB" ] || { echo "no .deb: $(tail -20 "$WORK/cpack.log")"; echo "deb: $pass passed, $((fail+1)) failed"; exit 1; }

dpkg-deb -c "$DEB" >"$WORK/contents"
has "binary" ' \./usr/bin/qtw$' "$WORK/contents"
has "library" ' \./usr/lib/(x86_64-linux-gnu/)?libqtw\.a$' "$WORK/contents"
has "headers" ' \./usr/include/qtw/wallet/key_manager\.h$' "$WORK/contents"
has "cmake config" ' \./usr/lib/(x86_64-linux-gnu/)?cmake/qtw/qtwConfig\.cmake$' "$WORK/contents"
has "cmake version" ' \./usr/lib/(x86_64-linux-gnu/)?cmake/qtw/qtwConfigVersion\.cmake$' "$WORK/contents"
has "pkg-config" ' \./usr/lib/(x86_64-linux-gnu/)?pkgconfig/qtw\.pc$' "$WORK/contents"
has "systemd unit" ' \./usr/lib/systemd/system/qtw\.service$' "$WORK/contents"
has "config" '^-rw-r-----.* \./etc/qtw/qtw\.toml$' "$WORK/contents"
has "docs" ' \./usr/share/doc/qtw/DAEMON\.md$' "$WORK/contents"
if grep -Eq ' \./(usr/local|tmp|root|work)/' "$WORK/contents"; then bad "stray paths: $(grep -E ' \./(usr/local|tmp|root|work)/' "$WORK/contents")"; else ok; fi

dpkg-deb -I "$DEB" >"$WORK/info"
has "package name" '^ Package: qtw$' "$WORK/info"
has "version" '^ Version: [0-9]+\.[0-9]+\.[0-9]+' "$WORK/info"
has "depends on adduser" '^ Depends: .*adduser' "$WORK/info"
has "depends on libsodium (shlibdeps)" '^ Depends: .*libsodium' "$WORK/info"
for s in postinst prerm postrm conffiles; do has "control member $s" " $s( .*)?$" "$WORK/info"; done

dpkg-deb -e "$DEB" "$WORK/control"
has "conffile" '^/etc/qtw/qtw\.toml$' "$WORK/control/conffiles"
for s in postinst prerm postrm; do
  [ -x "$WORK/control/$s" ] && ok || bad "$s not executable"
  sh -n "$WORK/control/$s" && ok || bad "$s: syntax"
done
has "postinst: system user" 'adduser --system --group --home /var/lib/qtw' "$WORK/control/postinst"
has "postinst: state dir" 'install -d -m 0750 -o qtw -g qtw /var/lib/qtw' "$WORK/control/postinst"
has "postrm: purge" '"\$1" = purge' "$WORK/control/postrm"
has "postrm: deluser" 'deluser --system' "$WORK/control/postrm"

# The maintainer scripts, run for real in a sandbox: fake adduser/deluser/
# getent/chown/install/systemctl record what they are asked to do.
mkdir -p "$WORK/fake" "$WORK/root/var/lib"
for t in adduser deluser delgroup systemctl chown chmod install; do
  printf '#!/bin/sh\necho "%s $*" >>"%s/calls"\n' "$t" "$WORK" >"$WORK/fake/$t"; chmod +x "$WORK/fake/$t"
done
printf '#!/bin/sh\nexit 2\n' >"$WORK/fake/getent"; chmod +x "$WORK/fake/getent"
PATH="$WORK/fake:$PATH" sh "$WORK/control/postinst" configure && ok || bad "postinst configure failed"
has "postinst ran adduser" '^adduser --system --group --home /var/lib/qtw .* qtw$' "$WORK/calls"
has "postinst made the state dir" '^install -d -m 0750 -o qtw -g qtw /var/lib/qtw$' "$WORK/calls"
has "postinst: config root:qtw" '^chown root:qtw /etc/qtw /etc/qtw/qtw.toml$' "$WORK/calls"
: >"$WORK/calls"
PATH="$WORK/fake:$PATH" sh "$WORK/control/postrm" remove && ok || bad "postrm remove failed"
[ ! -s "$WORK/calls" ] && ok || bad "postrm remove did something: $(cat "$WORK/calls")"

# The packed binary runs from the unpacked tree.
dpkg-deb -x "$DEB" "$WORK/x"
"$WORK/x/usr/bin/qtw" --help >"$WORK/help" 2>&1 && ok || bad "qtw --help from the package"
# --version is checked whenever the binary offers it (its --help lists it).
if grep -q -- '--version' "$WORK/help"; then
  if "$WORK/x/usr/bin/qtw" --version >"$WORK/version" 2>&1; then
    has "qtw --version" '[0-9]+\.[0-9]+\.[0-9]+' "$WORK/version"
  else
    bad "qtw --version from the package: $(cat "$WORK/version")"
  fi
fi
has "unit runs /usr/bin/qtw" '^ExecStart=/usr/bin/qtw ' "$WORK/x/usr/lib/systemd/system/qtw.service"
has "unit: state dir" '^StateDirectory=qtw$' "$WORK/x/usr/lib/systemd/system/qtw.service"
has "config: store in the state dir" '^path = "/var/lib/qtw/qtw.db"' "$WORK/x/etc/qtw/qtw.toml"
echo "deb: $pass passed, $fail failed"
[ "$fail" = 0 ]
