// Symbol visibility for the jobstate shared library.
//
// The library is built with hidden visibility; only declarations marked
// JOBSTATE_EXPORT are part of the binary interface.
#ifndef JOBSTATE_EXPORT_HPP
#define JOBSTATE_EXPORT_HPP

#if defined(JOBSTATE_STATIC)
#define JOBSTATE_EXPORT
#elif defined(_WIN32)
#if defined(JOBSTATE_BUILDING)
#define JOBSTATE_EXPORT __declspec(dllexport)
#else
#define JOBSTATE_EXPORT __declspec(dllimport)
#endif
#else
#define JOBSTATE_EXPORT __attribute__((visibility("default")))
#endif

#endif  // JOBSTATE_EXPORT_HPP
