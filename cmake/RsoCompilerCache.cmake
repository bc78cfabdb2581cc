# Use ccache when it is installed: rebuilds after a branch switch or in a fresh
# build directory then cost seconds instead of minutes.
find_program(RSO_CCACHE ccache)
if(RSO_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  # Precompiled headers are only cacheable when ccache may ignore their
  # timestamps and __TIME__-style macros; the setting must reach the compile
  # step itself, hence `cmake -E env`.
  set(CMAKE_CXX_COMPILER_LAUNCHER
      ${CMAKE_COMMAND} -E env "CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime"
      ${RSO_CCACHE})
endif()
