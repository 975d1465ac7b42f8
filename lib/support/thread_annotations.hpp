// Clang's thread-safety attributes as macros, so that the locking rules of
// lib/ are checked by the compiler (-Wthread-safety, the `tsa` preset)
// rather than trusted to comments. On compilers without the attributes they
// expand to nothing. In the style of leveldb's port/thread_annotations.h;
// the attributes are documented at
// https://clang.llvm.org/docs/ThreadSafetyAnalysis.html.
//
// A capability is a mutex (support::mutex, in support/mutex.hpp):
//   JOBSTATE_GUARDED_BY(m)  on a member: read or written only holding m;
//   JOBSTATE_REQUIRES(m)    on a function: called only holding m;
//   JOBSTATE_ACQUIRE(m), JOBSTATE_RELEASE(m): the function takes or gives
//                           back m (without an argument: `this`);
//   JOBSTATE_NO_THREAD_SAFETY_ANALYSIS: a function the analysis cannot
//                           follow; every use says why it is safe.
#ifndef JOBSTATE_SUPPORT_THREAD_ANNOTATIONS_HPP
#define JOBSTATE_SUPPORT_THREAD_ANNOTATIONS_HPP

#if defined(__has_attribute)
#if __has_attribute(guarded_by)
#define JOBSTATE_THREAD_ANNOTATION(x) __attribute__((x))
#endif
#endif
#ifndef JOBSTATE_THREAD_ANNOTATION
#define JOBSTATE_THREAD_ANNOTATION(x)
#endif

#define JOBSTATE_CAPABILITY(name) JOBSTATE_THREAD_ANNOTATION(capability(name))
#define JOBSTATE_SCOPED_CAPABILITY JOBSTATE_THREAD_ANNOTATION(scoped_lockable)
#define JOBSTATE_GUARDED_BY(x) JOBSTATE_THREAD_ANNOTATION(guarded_by(x))
#define JOBSTATE_REQUIRES(...) \
  JOBSTATE_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define JOBSTATE_ACQUIRE(...) \
  JOBSTATE_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define JOBSTATE_RELEASE(...) \
  JOBSTATE_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define JOBSTATE_NO_THREAD_SAFETY_ANALYSIS \
  JOBSTATE_THREAD_ANNOTATION(no_thread_safety_analysis)

#endif  // JOBSTATE_SUPPORT_THREAD_ANNOTATIONS_HPP
