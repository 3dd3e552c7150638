# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# Find libibverbs and make sure the sodp provider can be built against it.
#
# The provider uses libibverbs' *private* provider ABI: the functions
# exported under the symbol version IBVERBS_PRIVATE_34 and the structure
# layouts that providers/sodp/ibverbs_private.h spells out. That layout is
# the one rdma-core 37 to 52 has (see the header for what changed before
# and after), so configuring refuses any libibverbs that
#   - does not export IBVERBS_PRIVATE_34 (checked by linking a program that
#     references verbs_register_driver_34@IBVERBS_PRIVATE_34), or
#   - comes from an rdma-core release outside 37..52.
#
# Inputs (cache variables, all optional):
#   SODP_IBVERBS_LIBRARY      libibverbs to link against (libibverbs.so or
#                             libibverbs.so.1). Default: found via pkg-config.
#   SODP_IBVERBS_INCLUDE_DIR  directory holding infiniband/verbs.h and
#                             rdma/ib_user_verbs.h. Default: via pkg-config.
#   PKG_CONFIG_PATH (environment) selects the libibverbs.pc that is asked.
#
# The rdma-core release is taken from libibverbs' pkg-config version
# (1.14.<release>.<patch>) and from the library's file name
# (libibverbs.so.1.14.<release>.<patch>); if both exist they must agree.
#
# Results:
#   sodp::ibverbs                  imported target (library + include dir)
#   SODP_IBVERBS_LINK              what to link a program using libibverbs'
#                                  public API with (= sodp::ibverbs)
#   SODP_IBVERBS_RDMA_CORE_VERSION rdma-core release, e.g. 44
#   SODP_IBVERBS_VERSION           libibverbs version, e.g. 1.14.44.0 (if known)
#   SODP_IBVERBS_PABI              34
#   SODP_IBVERBS_PROVIDER_SUFFIX   -rdmav34.so
#   SODP_PROVIDER_DIR              (cache) where `cmake --install` puts the
#                                  provider: the distribution's provider dir
#   SODP_DRIVER_CONF_DIR           (cache) where the .driver file goes

include_guard(GLOBAL)

set(SODP_IBVERBS_PABI 34)
set(SODP_IBVERBS_PRIVATE_VERSION "IBVERBS_PRIVATE_${SODP_IBVERBS_PABI}")
set(SODP_IBVERBS_PROVIDER_SUFFIX "-rdmav${SODP_IBVERBS_PABI}.so")
set(SODP_IBVERBS_RDMA_CORE_MIN 37)
set(SODP_IBVERBS_RDMA_CORE_MAX 52)

set(_sodp_abi_supported
  "sodp's provider is built against libibverbs' private provider ABI ${SODP_IBVERBS_PRIVATE_VERSION} as laid out by rdma-core ${SODP_IBVERBS_RDMA_CORE_MIN} to ${SODP_IBVERBS_RDMA_CORE_MAX}")
set(_sodp_abi_hint
  "Point PKG_CONFIG_PATH at the libibverbs.pc of a supported rdma-core, or set -DSODP_IBVERBS_LIBRARY=<path to libibverbs.so.1> and -DSODP_IBVERBS_INCLUDE_DIR=<its include dir>.")

# ---------------------------------------------------------------------------
# Ask pkg-config (uncached on purpose: PKG_CONFIG_PATH may differ per run).
# ---------------------------------------------------------------------------
find_package(PkgConfig QUIET)
set(_sodp_pc_version "")
set(_sodp_pc_libdir "")
set(_sodp_pc_includedir "")
if(PKG_CONFIG_FOUND)
  execute_process(COMMAND ${PKG_CONFIG_EXECUTABLE} --modversion libibverbs
                  OUTPUT_VARIABLE _sodp_pc_version
                  OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE _sodp_pc_rc ERROR_QUIET)
  if(_sodp_pc_rc EQUAL 0)
    execute_process(COMMAND ${PKG_CONFIG_EXECUTABLE} --variable=libdir libibverbs
                    OUTPUT_VARIABLE _sodp_pc_libdir
                    OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    execute_process(COMMAND ${PKG_CONFIG_EXECUTABLE} --variable=includedir libibverbs
                    OUTPUT_VARIABLE _sodp_pc_includedir
                    OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  else()
    set(_sodp_pc_version "")
  endif()
endif()

# ---------------------------------------------------------------------------
# Library and headers.
# ---------------------------------------------------------------------------
find_library(SODP_IBVERBS_LIBRARY
  NAMES ibverbs libibverbs.so.1
  HINTS ${_sodp_pc_libdir}
  DOC "libibverbs the sodp provider links against (libibverbs.so or .so.1)")
find_path(SODP_IBVERBS_INCLUDE_DIR
  NAMES infiniband/verbs.h
  HINTS ${_sodp_pc_includedir}
  DOC "Directory with infiniband/verbs.h and rdma/ib_user_verbs.h")

if(NOT SODP_IBVERBS_LIBRARY OR NOT EXISTS "${SODP_IBVERBS_LIBRARY}")
  message(FATAL_ERROR
    "${_sodp_abi_supported}; found no libibverbs library "
    "(SODP_IBVERBS_LIBRARY='${SODP_IBVERBS_LIBRARY}'). "
    "Install libibverbs-dev (Debian/Ubuntu) or rdma-core-devel (Fedora/RHEL). "
    "${_sodp_abi_hint}")
endif()
if(NOT SODP_IBVERBS_INCLUDE_DIR
   OR NOT EXISTS "${SODP_IBVERBS_INCLUDE_DIR}/infiniband/verbs.h"
   OR NOT EXISTS "${SODP_IBVERBS_INCLUDE_DIR}/rdma/ib_user_verbs.h")
  message(FATAL_ERROR
    "${_sodp_abi_supported}; found no usable libibverbs headers "
    "(SODP_IBVERBS_INCLUDE_DIR='${SODP_IBVERBS_INCLUDE_DIR}' must contain "
    "infiniband/verbs.h and rdma/ib_user_verbs.h). ${_sodp_abi_hint}")
endif()

# ---------------------------------------------------------------------------
# The private ABI: link a program against the library that needs
# verbs_register_driver_34@IBVERBS_PRIVATE_34 (and one public symbol, so
# that "links" means "is a libibverbs").
# ---------------------------------------------------------------------------
set(_sodp_abi_dir "${CMAKE_BINARY_DIR}/CMakeFiles/sodp-ibverbs-abi")
file(WRITE "${_sodp_abi_dir}/pabi.c" "
/* Generated by cmake/IbverbsAbi.cmake: does libibverbs export ${SODP_IBVERBS_PRIVATE_VERSION}? */
struct verbs_device_ops;
struct ibv_device;
void verbs_register_driver_${SODP_IBVERBS_PABI}(const struct verbs_device_ops *ops);
__asm__(\".symver verbs_register_driver_${SODP_IBVERBS_PABI},verbs_register_driver_${SODP_IBVERBS_PABI}@${SODP_IBVERBS_PRIVATE_VERSION}\");
struct ibv_device **ibv_get_device_list(int *num_devices);
int main(int argc, char **argv)
{
	(void)argv;
	if (argc > 1000) {
		verbs_register_driver_${SODP_IBVERBS_PABI}((const struct verbs_device_ops *)0);
		return ibv_get_device_list((int *)0) != 0;
	}
	return 0;
}
")
try_compile(_SODP_IBVERBS_HAS_PABI "${_sodp_abi_dir}/build"
  SOURCES "${_sodp_abi_dir}/pabi.c"
  LINK_LIBRARIES "${SODP_IBVERBS_LIBRARY}"
  OUTPUT_VARIABLE _sodp_abi_out)

if(NOT _SODP_IBVERBS_HAS_PABI)
  # Only to make the message useful: which private ABIs does it have?
  set(_sodp_found_pabi "")
  set(_sodp_readelf "${CMAKE_READELF}")
  if(NOT _sodp_readelf)
    find_program(_sodp_readelf NAMES readelf)
  endif()
  if(_sodp_readelf)
    execute_process(COMMAND ${_sodp_readelf} -W -V "${SODP_IBVERBS_LIBRARY}"
                    OUTPUT_VARIABLE _sodp_readelf_out ERROR_QUIET)
    string(REGEX MATCHALL "Name: IBVERBS_PRIVATE_[0-9]+" _sodp_found_pabi
           "${_sodp_readelf_out}")
    string(REPLACE "Name: " "" _sodp_found_pabi "${_sodp_found_pabi}")
    list(REMOVE_DUPLICATES _sodp_found_pabi)
    list(JOIN _sodp_found_pabi ", " _sodp_found_pabi)
  endif()
  if(_sodp_found_pabi)
    set(_sodp_what "it defines ${_sodp_found_pabi} instead")
  else()
    set(_sodp_what "it defines no IBVERBS_PRIVATE_* version at all")
  endif()
  message(FATAL_ERROR
    "${_sodp_abi_supported}; found ${SODP_IBVERBS_LIBRARY}, which does not "
    "export ${SODP_IBVERBS_PRIVATE_VERSION} (${_sodp_what}; a test program "
    "needing verbs_register_driver_${SODP_IBVERBS_PABI}@${SODP_IBVERBS_PRIVATE_VERSION} "
    "did not link). ${_sodp_abi_hint}\n"
    "Link output:\n${_sodp_abi_out}")
endif()

# ---------------------------------------------------------------------------
# The rdma-core release.
# ---------------------------------------------------------------------------
set(_sodp_rel_pc "")
if(_sodp_pc_version MATCHES "^1\\.[0-9]+\\.([0-9]+)(\\.[0-9]+)?$")
  set(_sodp_rel_pc "${CMAKE_MATCH_1}")
endif()
get_filename_component(_sodp_lib_real "${SODP_IBVERBS_LIBRARY}" REALPATH)
get_filename_component(_sodp_lib_name "${_sodp_lib_real}" NAME)
set(_sodp_rel_file "")
if(_sodp_lib_name MATCHES "^libibverbs\\.so\\.1\\.[0-9]+\\.([0-9]+)\\.[0-9]+$")
  set(_sodp_rel_file "${CMAKE_MATCH_1}")
endif()

if(_sodp_rel_pc STREQUAL "" AND _sodp_rel_file STREQUAL "")
  message(FATAL_ERROR
    "${_sodp_abi_supported}; found ${SODP_IBVERBS_LIBRARY} "
    "(exports ${SODP_IBVERBS_PRIVATE_VERSION}) but cannot tell which "
    "rdma-core release it comes from: pkg-config reports "
    "'${_sodp_pc_version}' for libibverbs and the file name "
    "'${_sodp_lib_name}' carries no version. ${_sodp_abi_hint}")
endif()
if(NOT _sodp_rel_pc STREQUAL "" AND NOT _sodp_rel_file STREQUAL ""
   AND NOT _sodp_rel_pc STREQUAL _sodp_rel_file)
  message(FATAL_ERROR
    "${_sodp_abi_supported}; found ${_sodp_lib_real} (rdma-core "
    "${_sodp_rel_file} by its file name) but pkg-config describes "
    "libibverbs ${_sodp_pc_version} (rdma-core ${_sodp_rel_pc}): the "
    "library and libibverbs.pc disagree. ${_sodp_abi_hint}")
endif()
if(NOT _sodp_rel_file STREQUAL "")
  set(SODP_IBVERBS_RDMA_CORE_VERSION "${_sodp_rel_file}")
  string(REGEX REPLACE "^libibverbs\\.so\\." "" SODP_IBVERBS_VERSION
         "${_sodp_lib_name}")
  set(_sodp_rel_source "file name ${_sodp_lib_name}")
  if(NOT _sodp_rel_pc STREQUAL "")
    string(APPEND _sodp_rel_source " and pkg-config ${_sodp_pc_version}")
  endif()
else()
  set(SODP_IBVERBS_RDMA_CORE_VERSION "${_sodp_rel_pc}")
  set(SODP_IBVERBS_VERSION "${_sodp_pc_version}")
  set(_sodp_rel_source "pkg-config ${_sodp_pc_version}")
endif()

if(SODP_IBVERBS_RDMA_CORE_VERSION LESS SODP_IBVERBS_RDMA_CORE_MIN
   OR SODP_IBVERBS_RDMA_CORE_VERSION GREATER SODP_IBVERBS_RDMA_CORE_MAX)
  message(FATAL_ERROR
    "${_sodp_abi_supported}; found rdma-core ${SODP_IBVERBS_RDMA_CORE_VERSION} "
    "(libibverbs ${SODP_IBVERBS_VERSION}, ${SODP_IBVERBS_LIBRARY}). "
    "It exports ${SODP_IBVERBS_PRIVATE_VERSION}, but rdma-core changed the "
    "structures behind that name outside ${SODP_IBVERBS_RDMA_CORE_MIN}..${SODP_IBVERBS_RDMA_CORE_MAX}. "
    "${_sodp_abi_hint}")
endif()

message(STATUS
  "sodp: libibverbs ${SODP_IBVERBS_VERSION} (rdma-core "
  "${SODP_IBVERBS_RDMA_CORE_VERSION}, from ${_sodp_rel_source}) at "
  "${SODP_IBVERBS_LIBRARY} exports ${SODP_IBVERBS_PRIVATE_VERSION}: supported")

# ---------------------------------------------------------------------------
# What the provider links against.
# ---------------------------------------------------------------------------
if(NOT TARGET sodp::ibverbs)
  add_library(sodp::ibverbs UNKNOWN IMPORTED GLOBAL)
endif()
set_target_properties(sodp::ibverbs PROPERTIES
  IMPORTED_LOCATION "${SODP_IBVERBS_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${SODP_IBVERBS_INCLUDE_DIR}")
set(SODP_IBVERBS_LINK sodp::ibverbs)

# ---------------------------------------------------------------------------
# Install locations. libibverbs looks for "lib<name>-rdmav34.so" in the
# directory compiled into it, which rdma-core sets to <libdir>/libibverbs;
# and it reads <name>.driver files from its compiled-in /etc/libibverbs.d.
# ---------------------------------------------------------------------------
get_filename_component(_sodp_lib_dir "${_sodp_lib_real}" DIRECTORY)
set(SODP_PROVIDER_DIR "${_sodp_lib_dir}/libibverbs" CACHE PATH
  "Where cmake --install puts libsodp${SODP_IBVERBS_PROVIDER_SUFFIX} (libibverbs' provider directory)")
# Empty means "<sysconfdir>/libibverbs.d", worked out at every configure so
# that changing CMAKE_INSTALL_PREFIX later takes effect (a cached default
# would keep the first prefix's path).
set(SODP_DRIVER_CONF_DIR "" CACHE PATH
  "Where cmake --install puts sodp.driver; empty: <sysconfdir>/libibverbs.d (libibverbs reads /etc/libibverbs.d)")
if(NOT SODP_DRIVER_CONF_DIR)
  set(SODP_DRIVER_CONF_DIR "${CMAKE_INSTALL_FULL_SYSCONFDIR}/libibverbs.d")
endif()
if(NOT IS_DIRECTORY "${SODP_PROVIDER_DIR}")
  message(STATUS "sodp: note: provider directory ${SODP_PROVIDER_DIR} does not exist (yet)")
endif()
if(NOT SODP_DRIVER_CONF_DIR STREQUAL "/etc/libibverbs.d")
  message(STATUS "sodp: note: sodp.driver will be installed to "
                 "${SODP_DRIVER_CONF_DIR}; a distribution libibverbs only reads "
                 "/etc/libibverbs.d (use -DCMAKE_INSTALL_PREFIX=/usr or "
                 "-DSODP_DRIVER_CONF_DIR=/etc/libibverbs.d)")
endif()
