# jobstate_warnings(target): the warning set every jobstate target builds with.
function(jobstate_warnings target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic
      -Wnon-virtual-dtor -Wcast-align -Wunused -Woverloaded-virtual
      -Wnull-dereference -Wimplicit-fallthrough)
    if(JOBSTATE_WERROR)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
  endif()
endfunction()
