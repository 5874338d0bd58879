# Installation of the daemon's system files and the Debian package.
#
# Install components:
#   qtw     (default) bin/qtw, libqtw.a, headers, CMake package, qtw.pc
#   daemon  the systemd unit, /etc/qtw/qtw.toml, docs: system-wide files, so
#           `cmake --install build --prefix P --component qtw` installs a
#           library and CLI anywhere without touching /etc.
# `cpack -G DEB` (in the build dir) packs both into qtw_<version>_<arch>.deb
# with maintainer scripts (deploy/debian) that create the `qtw` system user
# and /var/lib/qtw.

# The unit in deploy/ names /usr/local/bin/qtw (a by-hand install); the
# installed copy names the binary of this install's prefix (/usr/bin in the
# package). Written at install time, when the prefix is known.
install(CODE "
  file(READ \"${PROJECT_SOURCE_DIR}/deploy/qtw.service\" _unit)
  string(REPLACE \"/usr/local/bin/qtw \" \"\${CMAKE_INSTALL_PREFIX}/bin/qtw \" _unit \"\${_unit}\")
  file(WRITE \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/lib/systemd/system/qtw.service\" \"\${_unit}\")
  message(STATUS \"Installing: \$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/lib/systemd/system/qtw.service\")
" COMPONENT daemon)
# /etc/qtw/qtw.toml, whatever the prefix (a conffile in the package).
install(FILES ${PROJECT_SOURCE_DIR}/deploy/qtw.toml DESTINATION /etc/qtw
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ COMPONENT daemon)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/DAEMON.md
              ${PROJECT_SOURCE_DIR}/docs/KEYS.md
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/qtw COMPONENT daemon)

set(CPACK_PACKAGE_NAME qtw)
set(CPACK_PACKAGE_VENDOR "qtrade-wallets")
set(CPACK_PACKAGE_CONTACT "qtrade-wallets maintainers <qtw@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Three-tier Solana key management: HODL, Bank and single-use Explorer keys")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Shared-library dependencies from the binary (dpkg-shlibdeps), plus adduser
# for the maintainer scripts.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/deploy/debian/conffiles ${PROJECT_SOURCE_DIR}/deploy/debian/postinst
    ${PROJECT_SOURCE_DIR}/deploy/debian/prerm ${PROJECT_SOURCE_DIR}/deploy/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# Strips bin/qtw (not libqtw.a: CMake never strips static libraries).
set(CPACK_STRIP_FILES ON)
include(CPack)
