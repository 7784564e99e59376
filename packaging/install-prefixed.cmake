# Runs at install time (see install.cmake), when CMAKE_INSTALL_PREFIX is the
# prefix really installed to. SLASHD_SOURCE_DIR and SLASHD_STAGE_DIR are set
# by the install(CODE) before it.

# The unit and the man page, with @PREFIX@ replaced.
set(PREFIX "${CMAKE_INSTALL_PREFIX}")
set(_out "${SLASHD_STAGE_DIR}/prefixed")
configure_file("${SLASHD_SOURCE_DIR}/packaging/slashd.service.in" "${_out}/slashd.service" @ONLY)
configure_file("${SLASHD_SOURCE_DIR}/packaging/slashd.8" "${_out}/slashd.8" @ONLY)
file(INSTALL DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system" TYPE FILE
     FILES "${_out}/slashd.service")
file(INSTALL DESTINATION "${CMAKE_INSTALL_PREFIX}/share/man/man8" TYPE FILE
     FILES "${_out}/slashd.8")

# The config: never overwrite one an operator has edited. A changed file
# stays as it is, and the new sample goes beside it as slashd.ini.new.
set(_etc "${CMAKE_INSTALL_PREFIX}/etc/slashd")
set(_ini "${SLASHD_STAGE_DIR}/slashd.ini")
set(_have "$ENV{DESTDIR}${_etc}/slashd.ini")
if(EXISTS "${_have}")
  file(READ "${_have}" _old)
  file(READ "${_ini}" _new)
  if(NOT _old STREQUAL _new)
    message(STATUS "Keeping: ${_have} (it differs from this version's sample, which is "
                   "installed beside it as slashd.ini.new)")
    file(INSTALL DESTINATION "${_etc}" TYPE FILE FILES "${_ini}" RENAME slashd.ini.new)
    return()
  endif()
endif()
file(INSTALL DESTINATION "${_etc}" TYPE FILE FILES "${_ini}")
