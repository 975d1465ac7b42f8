# jobstate_warnings(target): the warning set every jobstate target builds with.
function(jobstate_warnings target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic
      -Wnon-virtual-dtor -Wcast-align -Wunused -Woverloaded-virtual
      -Wimplicit-fallthrough)
    # GCC 12, optimizing, reports false positives in library headers:
    # "potential null pointer dereference" in Boost.Asio's any_io_executor,
    # "may be used uninitialized" in std::variant<T, jobstate::error>
    # (result<T>) and "-Wrestrict" overlaps in std::string (GCC PR 105651);
    # under -fsanitize=thread it flags (-Wtsan) every atomic_thread_fence in
    # Asio's fenced blocks. So with GCC -Wnull-dereference is left out and
    # the other three are off (-Wuninitialized, the definite cases, stays on).
    if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
      target_compile_options(${target} PRIVATE -Wnull-dereference)
      if(JOBSTATE_THREAD_SAFETY_ANALYSIS)
        target_compile_options(${target} PRIVATE -Wthread-safety)
      endif()
    else()
      target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized
        -Wno-restrict -Wno-tsan)
    endif()
    if(JOBSTATE_WERROR)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
  endif()
endfunction()
