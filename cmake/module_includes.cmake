# strata_module_includes(TARGET MODULE): the include directories of a library
# (or program) of module MODULE (a top-level folder: engine, projections, ...).
#
#   PUBLIC  <build>/include/public/MODULE: links to MODULE's public headers
#           only (every .h not under an internal/ folder), as MODULE/<path>.
#           A target that links this one sees these and nothing else of
#           MODULE: another module's internals do not resolve.
#   PRIVATE <build>/include/private/MODULE: MODULE/ itself, so the module's
#           own sources include its internals, and nothing of other modules
#           but what they publish: an include of a module above does not
#           resolve either.
#
# So the compiler holds every module to the map in the README; the include
# check (tests/architecture) says which line broke it. Tests, benchmarks and
# test utilities include from the repository root (white-box). Configure
# re-links the headers whenever a header is added or removed (CONFIGURE_DEPENDS).
function(strata_module_includes target module)
  set(source ${PROJECT_SOURCE_DIR}/${module})
  set(public ${CMAKE_BINARY_DIR}/include/public/${module})
  set(private ${CMAKE_BINARY_DIR}/include/private/${module})
  get_property(done GLOBAL PROPERTY STRATA_MODULE_INCLUDES_${module})
  if(NOT done)
    set_property(GLOBAL PROPERTY STRATA_MODULE_INCLUDES_${module} TRUE)
    file(REMOVE_RECURSE ${public} ${private})
    file(GLOB_RECURSE headers RELATIVE ${source} CONFIGURE_DEPENDS ${source}/*.h)
    foreach(header IN LISTS headers)
      if(header MATCHES "(^|/)internal/")
        continue()
      endif()
      get_filename_component(dir ${public}/${module}/${header} DIRECTORY)
      file(MAKE_DIRECTORY ${dir})
      file(CREATE_LINK ${source}/${header} ${public}/${module}/${header} SYMBOLIC)
    endforeach()
    file(MAKE_DIRECTORY ${private})
    file(CREATE_LINK ${source} ${private}/${module} SYMBOLIC)
  endif()
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "EXECUTABLE")
    target_include_directories(${target} PRIVATE ${private})
  else()
    target_include_directories(${target} PUBLIC ${public} PRIVATE ${private})
  endif()
endfunction()
