# `cmake --install build --prefix P` lays slashd out under P:
#
#   P/bin/slashd
#   P/lib/slashd/plugins/{help,ec2,s3}.so
#   P/include/slashd/plugin.h
#   P/lib/pkgconfig/slashd.pc
#   P/etc/slashd/slashd.ini
#   P/lib/systemd/system/slashd.service
#   P/share/man/man8/slashd.8
#   P/share/doc/slashd/{README.md,plugin-guide.md,examples/hello/}
#
# The layout is fixed, not GNUInstallDirs': the installed binary finds its
# config and plugins relative to itself (core/paths.c), and slashd.pc finds
# the header relative to itself (${pcfiledir}), so every path here must stay
# where those expect it.

# The SDK's ABI version, for slashd.pc, read from the header that defines it.
file(STRINGS ${PROJECT_SOURCE_DIR}/sdk/slashd/plugin.h _abi_lines
     REGEX "^#define SLASHD_ABI_(MAJOR|MINOR) [0-9]+$")
foreach(_line IN LISTS _abi_lines)
  if(_line MATCHES "^#define (SLASHD_ABI_(MAJOR|MINOR)) ([0-9]+)$")
    set(${CMAKE_MATCH_1} ${CMAKE_MATCH_3})
  endif()
endforeach()
if(NOT DEFINED SLASHD_ABI_MAJOR OR NOT DEFINED SLASHD_ABI_MINOR)
  message(FATAL_ERROR "cannot read SLASHD_ABI_MAJOR/MINOR from sdk/slashd/plugin.h")
endif()
configure_file(${PROJECT_SOURCE_DIR}/packaging/slashd.pc.in ${CMAKE_BINARY_DIR}/packaging/slashd.pc
               @ONLY)

# The installed sample config is config/slashd.ini with the three lines that
# only make sense in a source tree changed: no `[plugins] dir = build/plugins`
# (unset, the plugins beside the installed binary are used), the state in
# /var/lib/slashd (the unit's StateDirectory), and `slashd send` from PATH.
# Each replacement must match: a changed source ini fails the build here
# rather than installing a config that does not work.
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/config/slashd.ini)
file(READ ${PROJECT_SOURCE_DIR}/config/slashd.ini _ini)
function(_slashd_ini_replace from to)
  string(FIND "${_ini}" "${from}" _at)
  if(_at EQUAL -1)
    message(FATAL_ERROR "config/slashd.ini no longer has \"${from}\"; update "
                        "packaging/install.cmake, which derives the installed config from it")
  endif()
  string(REPLACE "${from}" "${to}" _ini "${_ini}")
  set(_ini "${_ini}" PARENT_SCOPE)
endfunction()
_slashd_ini_replace("\nstate_dir = var              ;" "\nstate_dir = /var/lib/slashd  ;")
_slashd_ini_replace("\n[plugins]\ndir = build/plugins\n"
                    "\n[plugins]\n; dir = /path/to/plugins   ; default: lib/slashd/plugins under slashd's prefix\n")
_slashd_ini_replace("`build/slashd send help`" "`slashd send help`")
file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/packaging/slashd.ini CONTENT "${_ini}")

install(TARGETS slashd RUNTIME DESTINATION bin)
# Installed 0644 (as Debian installs shared objects) and owned by whoever
# installs: the loader refuses group- or world-writable plugins and those
# owned by anyone but root or the user slashd runs as.
install(TARGETS plugin_help plugin_ec2 plugin_s3 LIBRARY DESTINATION lib/slashd/plugins)
install(FILES ${PROJECT_SOURCE_DIR}/sdk/slashd/plugin.h DESTINATION include/slashd)
install(FILES ${CMAKE_BINARY_DIR}/packaging/slashd.pc DESTINATION lib/pkgconfig)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/plugin-guide.md
        DESTINATION share/doc/slashd)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/examples/hello DESTINATION share/doc/slashd/examples
        PATTERN "build*" EXCLUDE)

# The unit and the man page name the prefix, which is only known when
# installing (`--prefix P` overrides what was configured): they, and the
# config, are written by a script that runs then.
install(CODE "set(SLASHD_SOURCE_DIR \"${PROJECT_SOURCE_DIR}\")
set(SLASHD_STAGE_DIR \"${CMAKE_BINARY_DIR}/packaging\")")
install(SCRIPT ${PROJECT_SOURCE_DIR}/packaging/install-prefixed.cmake)
