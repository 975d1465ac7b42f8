# Install rules and the CMake package `jobstate`, for find_package:
#   find_package(jobstate CONFIG REQUIRED)
#   target_link_libraries(app PRIVATE jobstate::jobstate)
# Included by the top-level CMakeLists.txt when JOBSTATE_INSTALL is on.
#
# Only the `jobstate` target is installed. It is made from the objects of
# jobstate_objects without linking to it, so that target stays out of the
# export set.
include(CMakePackageConfigHelpers)

set(JOBSTATE_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/jobstate"
  CACHE STRING "Where to install jobstate's CMake package, under the prefix")
mark_as_advanced(JOBSTATE_CMAKE_DIR)

install(TARGETS jobstate EXPORT jobstateTargets
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/jobstate"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
  FILES_MATCHING PATTERN "*.hpp" PATTERN "*.h")

# The config file looks for LMDB only when the library is static (a shared
# libjobstate carries its own dependency on liblmdb).
if(JOBSTATE_SHARED)
  set(JOBSTATE_NEEDS_LMDB OFF)
else()
  set(JOBSTATE_NEEDS_LMDB ON)
endif()

# The package, as files in the build tree first; the same files serve the
# build tree (-Djobstate_DIR=<build dir>) and are installed.
configure_package_config_file(
  "${CMAKE_CURRENT_LIST_DIR}/jobstateConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/jobstateConfig.cmake"
  INSTALL_DESTINATION "${JOBSTATE_CMAKE_DIR}"
  NO_SET_AND_CHECK_MACRO)
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/jobstateConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}"
  COMPATIBILITY SameMajorVersion)
configure_file("${CMAKE_CURRENT_LIST_DIR}/FindLMDB.cmake"
  "${PROJECT_BINARY_DIR}/FindLMDB.cmake" COPYONLY)

install(EXPORT jobstateTargets
  NAMESPACE jobstate::
  DESTINATION "${JOBSTATE_CMAKE_DIR}")
install(FILES
  "${PROJECT_BINARY_DIR}/jobstateConfig.cmake"
  "${PROJECT_BINARY_DIR}/jobstateConfigVersion.cmake"
  "${CMAKE_CURRENT_LIST_DIR}/FindLMDB.cmake"
  DESTINATION "${JOBSTATE_CMAKE_DIR}")

# The build tree as a package, without installing.
export(EXPORT jobstateTargets
  NAMESPACE jobstate::
  FILE "${PROJECT_BINARY_DIR}/jobstateTargets.cmake")
