// _jobstate: the native half of the `jobstate` Python package.
//
// A thin, private layer: requests come in as Python dicts (converted to
// Boost.JSON values exactly: ints stay ints up to 64 bits, floats stay
// doubles) and are read by the same public readers as the C API
// (<jobstate/json_requests.hpp>); jobs and answers go out as dicts in
// jobstate's native JSON shape (<jobstate/json.hpp>). The public, Pythonic API
// (Engine, Job, Status, exceptions) is written in Python on top of it
// (jobstate/_engine.py and friends).
//
// Threads and the GIL:
//  - every call into the engine releases the GIL, so Python threads run
//    (and commit together) while one waits for a commit or a wait;
//  - the engine's own threads take the GIL only to hand a finished
//    asynchronous wait to its asyncio loop (loop.call_soon_threadsafe), never
//    while holding a lock that a Python thread could need (see
//    lib/capi/async_op.hpp), and never once the interpreter is finalizing;
//  - closing an engine releases the GIL, since closing completes pending
//    waits, whose completions take it;
//  - at interpreter exit, no other thread stays inside the module: a thread
//    that comes back from the engine then (a daemon thread) is parked for
//    good instead (see "the GIL and exiting" below).
#include <jobstate/async.hpp>
#include <jobstate/engine.hpp>
#include <jobstate/json.hpp>
#include <jobstate/json_requests.hpp>
#include <jobstate/timestamp.hpp>

#include "capi/async_op.hpp"

#include <boost/asio/error.hpp>
#include <boost/json/value.hpp>
#include <pybind11/pybind11.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#ifdef __GLIBCXX__
#include <cxxabi.h>
#endif

namespace py = pybind11;
namespace json = boost::json;

namespace jobstate {
namespace [[gnu::visibility("hidden")]] python {

using capi::async_op;
using capi::engine_guard;

// --------------------------------------------------------------- errors

// Set by the package (jobstate/_errors.py): makes the exception for
// (code, message, detail, current_status, current_revision). Never freed:
// it must outlive every completion, even at interpreter exit.
py::object* error_factory = nullptr;

[[noreturn]] void raise_error(const jobstate::error& e) {
  int code = static_cast<int>(errc::io_error);
  if (e.code().category() == jobstate::category()) code = e.code().value();
  if (!error_factory) throw std::runtime_error(e.message());
  py::object status = py::none();
  if (auto s = e.current_status()) status = py::str(std::string(to_string(*s)));
  py::object revision = py::none();
  if (auto r = e.current_revision()) revision = py::int_(*r);
  py::object exc =
      (*error_factory)(code, e.message(), e.detail(), status, revision);
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc.ptr())), exc.ptr());
  throw py::error_already_set();
}

[[noreturn]] void raise_invalid(std::string text) {
  raise_error(jobstate::error(errc::invalid_argument, std::move(text)));
}

template <class T>
T unwrap(result<T> r) {
  if (!r) raise_error(r.error());
  return std::move(*r);
}

std::string text_arg(py::handle h, std::string_view what);

// The job named by three str arguments.
job_ref job_ref_arg(py::handle account_id, py::handle project_id,
                    py::handle id) {
  return unwrap(jobstate::make_job_ref(text_arg(account_id, "account_id"),
                                       text_arg(project_id, "project_id"),
                                       text_arg(id, "id")));
}

// The error of a completion that is not a cancellation the caller asked
// for: operation_aborted then means that the engine closed.
jobstate::error error_of(const boost::system::error_code& ec) {
  if (ec == boost::asio::error::operation_aborted) {
    return jobstate::error(errc::engine_closed,
                           "the engine closed before the operation completed");
  }
  return jobstate::error(std::error_code(ec));
}

bool interpreter_finalizing() noexcept {
#if PY_VERSION_HEX >= 0x030D0000
  return Py_IsFinalizing() != 0;
#else
  return _Py_IsFinalizing() != 0;
#endif
}

// ------------------------------------------------- the GIL and exiting
//
// Once the interpreter finalizes, CPython ends any thread but the
// finalizing one as soon as it asks for the GIL (3.11 to 3.13: with
// pthread_exit, a forced unwind). Ended inside this module, such a thread
// would run the destructors of its C++ frames without the GIL (dropping
// references while the interpreter is torn down: a crash), and the process
// would end with std::terminate ("terminate called without an active
// exception") at the first frame that cannot throw, such as a destructor
// that re-acquires the GIL. So, once the interpreter begins to exit, no
// other thread may be inside the module holding or waiting for the GIL:
//  - every entry from Python runs as a `section`; a thread counts as inside
//    while it holds the GIL within a section, not while it has released it
//    (gil_released) for a blocking call;
//  - the package's atexit hook (which runs before finalization, on the
//    thread that then finalizes) calls _at_exit(), which closes the gate:
//    from then on, another thread that would enter a section, or take the
//    GIL back after a blocking call, is parked for good instead, and
//    _at_exit() waits (without the GIL) for those inside to leave;
//  - engine threads then no longer call into Python (gil_for_callback).
// Should a thread still be ended while it waits for the GIL (the atexit hook
// did not run, or its wait gave up), the forced unwind is caught where the
// GIL is taken, and the thread parked there.

struct exit_gate {
  std::mutex mutex;
  std::condition_variable idle;
  bool closed = false;      // GUARDED_BY(mutex)
  std::thread::id exiting;  // GUARDED_BY(mutex): the thread that exits
  std::size_t inside = 0;   // GUARDED_BY(mutex): sections entered
};

// Never destroyed: threads parked for good, and engine threads, may use it
// until the process ends.
exit_gate& gate() {
  static exit_gate* g = new exit_gate();
  return *g;
}

// Sections the calling thread is in, while it holds the GIL.
thread_local int section_depth = 0;

// Counts a section in; false once the gate is closed to this thread.
bool enter_gate() noexcept {
  exit_gate& g = gate();
  std::lock_guard lock(g.mutex);
  if (g.closed && std::this_thread::get_id() != g.exiting) return false;
  ++g.inside;
  return true;
}

void leave_gate() noexcept {
  exit_gate& g = gate();
  std::lock_guard lock(g.mutex);
  if (--g.inside == 0) g.idle.notify_all();
}

// Blocks the calling thread until the process ends. For a thread that may no
// longer run Python code; it holds no GIL and no lock of jobstate's, and its
// stack (with the references on it) stays as it is. CPython 3.14 treats such
// threads the same way (PyThread_hang_thread).
[[noreturn]] void park_forever() noexcept {
  for (;;) std::this_thread::sleep_for(std::chrono::hours(24));
}

// Takes the GIL back (PyEval_RestoreThread), or parks the thread for good if
// CPython ends it meanwhile (see above).
void restore_gil(PyThreadState* state) noexcept {
#ifdef __GLIBCXX__
  try {
    PyEval_RestoreThread(state);
  } catch (abi::__forced_unwind&) {
    park_forever();
  }
#else
  PyEval_RestoreThread(state);
#endif
}

// The body of a call from Python. Parks the thread (releasing the GIL
// first) when the gate is closed to it.
class section {
 public:
  section() noexcept {
    if (section_depth == 0 && !enter_gate()) {
      PyEval_SaveThread();
      park_forever();
    }
    ++section_depth;
  }
  ~section() {
    if (--section_depth == 0) leave_gate();
  }
  section(const section&) = delete;
  section& operator=(const section&) = delete;
};

// Releases the GIL for its lifetime (as py::gil_scoped_release does), leaving
// the section meanwhile. Taking the GIL back, it parks the thread instead if
// the gate has closed to it.
class gil_released {
 public:
  gil_released() noexcept : depth_(section_depth), state_(PyEval_SaveThread()) {
    if (depth_ > 0) {
      section_depth = 0;
      leave_gate();
    }
  }
  ~gil_released() {
    if (!enter_gate()) park_forever();
    restore_gil(state_);
    section_depth = depth_;
    if (depth_ == 0) leave_gate();
  }
  gil_released(const gil_released&) = delete;
  gil_released& operator=(const gil_released&) = delete;

 private:
  int depth_;
  PyThreadState* state_;
};

// The GIL, as a section, for a callback on a thread that may not hold it (an
// engine thread, or one closing an engine); unless the interpreter is
// exiting: then `*this` is false, and Python must not be touched. Never
// parks an engine thread, which the engine's shutdown joins.
class gil_for_callback {
 public:
  gil_for_callback() noexcept {
    if (interpreter_finalizing()) return;
    if (section_depth == 0 && !enter_gate()) return;
#ifdef __GLIBCXX__
    try {
      gil_.emplace();
    } catch (abi::__forced_unwind&) {
      park_forever();
    }
#else
    gil_.emplace();
#endif
    ++section_depth;
  }
  ~gil_for_callback() {
    if (!gil_) return;
    const bool last = --section_depth == 0;
    gil_.reset();
    if (last) leave_gate();
  }
  gil_for_callback(const gil_for_callback&) = delete;
  gil_for_callback& operator=(const gil_for_callback&) = delete;
  explicit operator bool() const noexcept { return gil_.has_value(); }

 private:
  std::optional<py::gil_scoped_acquire> gil_;
};

// Closes the gate (see above): called by the package's atexit hook. Waits
// without the GIL for the sections in progress on other threads, for at most
// `patience` (they hold the GIL only briefly: to convert a value, to make an
// exception); it gives up only if Python code run inside one blocks.
void close_gate(std::chrono::milliseconds patience) {
  exit_gate& g = gate();
  {
    std::lock_guard lock(g.mutex);
    g.closed = true;
    g.exiting = std::this_thread::get_id();
  }
  gil_released released;
  std::unique_lock lock(g.mutex);
  g.idle.wait_for(lock, patience, [&] { return g.inside == 0; });
}

// `value` as a Python object.
template <class T>
py::object to_python(T&& value) {
  if constexpr (std::is_base_of_v<py::object, std::decay_t<T>>) {
    return std::forward<T>(value);
  } else {
    return py::cast(std::forward<T>(value));
  }
}

// A method of a bound class, run as a section; the answer is converted to a
// Python object inside it too.
template <class C, class R, class... A>
auto in_section(R (C::*method)(A...)) {
  return [method](C& self, A... args) -> py::object {
    section in;
    if constexpr (std::is_void_v<R>) {
      (self.*method)(std::forward<A>(args)...);
      return py::none();
    } else {
      return to_python((self.*method)(std::forward<A>(args)...));
    }
  };
}

template <class C, class R, class... A>
auto in_section(R (C::*method)(A...) const) {
  return [method](const C& self, A... args) -> py::object {
    section in;
    return to_python((self.*method)(std::forward<A>(args)...));
  };
}

// ------------------------------------------------------ JSON conversions

constexpr int max_depth = 512;

// A str that UTF-8 cannot encode (one with a lone surrogate), met while
// converting an argument. `path` names where, innermost first (dict keys,
// "[i]" for list items), filled in while the exception goes up.
struct unencodable_text {
  std::string what;
  std::vector<std::string> path;

  // "input.pages[2] contains ...": the path under `root` (an argument's
  // name; none for a request's members), or "value" when empty.
  std::string message(std::string_view root) const {
    std::string where(root);
    for (auto it = path.rbegin(); it != path.rend(); ++it) {
      if (!where.empty() && (*it)[0] != '[') where += '.';
      where += *it;
    }
    return (where.empty() ? "value" : where) + " " + what;
  }
};

std::string type_name(py::handle h) {
  return py::str(py::type::handle_of(h).attr("__name__")).cast<std::string>();
}

// The UTF-8 bytes of a str (alive as long as it); unencodable_text if it
// holds a lone surrogate.
std::string_view utf8_of(PyObject* str) {
  Py_ssize_t size = 0;
  const char* text = PyUnicode_AsUTF8AndSize(str, &size);
  if (text) return {text, static_cast<std::size_t>(size)};
  if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) {
    throw py::error_already_set();
  }
  PyErr_Clear();
  const Py_ssize_t length = PyUnicode_GetLength(str);
  for (Py_ssize_t i = 0; i < length; ++i) {
    const Py_UCS4 c = PyUnicode_ReadChar(str, i);
    if (c >= 0xd800 && c <= 0xdfff) {
      char code[8];
      std::snprintf(code, sizeof code, "%04X", static_cast<unsigned>(c));
      throw unencodable_text{
          "contains a lone surrogate (U+" + std::string(code) + " at index " +
              std::to_string(i) + "), which is not valid Unicode",
          {}};
    }
  }
  throw unencodable_text{"cannot be encoded as UTF-8", {}};
}

// A str argument of a native call, as UTF-8: TypeError when it is not a
// str, InvalidArgument when it holds a lone surrogate.
std::string text_arg(py::handle h, std::string_view what) {
  if (!PyUnicode_Check(h.ptr())) {
    throw py::type_error(std::string(what) + " must be a str, got " +
                         type_name(h));
  }
  try {
    return std::string(utf8_of(h.ptr()));
  } catch (const unencodable_text& e) {
    raise_invalid(e.message(what));
  }
}

// A non-negative integer argument of a native call: TypeError when it is not
// an int, InvalidArgument when it is negative or beyond 2**64 - 1.
std::uint64_t count_arg(py::handle h, std::string_view what) {
  PyObject* o = h.ptr();
  if (!PyLong_Check(o) || PyBool_Check(o)) {
    throw py::type_error(std::string(what) + " must be an int, got " +
                         type_name(h));
  }
  const unsigned long long v = PyLong_AsUnsignedLongLong(o);
  if (v == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
    if (!PyErr_ExceptionMatches(PyExc_OverflowError)) {
      throw py::error_already_set();
    }
    PyErr_Clear();
    raise_invalid(std::string(what) + " must be from 0 to 2**64 - 1, got " +
                  py::repr(h).cast<std::string>());
  }
  return static_cast<std::uint64_t>(v);
}

json::value to_json_value(py::handle h, int depth = 0) {
  PyObject* o = h.ptr();
  if (depth > max_depth) {
    raise_invalid("JSON value nested more than " + std::to_string(max_depth) +
                  " levels deep (a cycle?)");
  }
  if (o == Py_None) return nullptr;
  if (PyBool_Check(o)) return o == Py_True;
  if (PyLong_Check(o)) {
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow == 0) {
      if (v == -1 && PyErr_Occurred()) throw py::error_already_set();
      return static_cast<std::int64_t>(v);
    }
    if (overflow > 0) {
      const unsigned long long u = PyLong_AsUnsignedLongLong(o);
      if (!(u == static_cast<unsigned long long>(-1) && PyErr_Occurred())) {
        return static_cast<std::uint64_t>(u);
      }
      PyErr_Clear();
    }
    raise_invalid("integer " + py::repr(h).cast<std::string>() +
                  " is outside the JSON range (-2**63 to 2**64 - 1)");
  }
  if (PyFloat_Check(o)) {
    const double d = PyFloat_AS_DOUBLE(o);
    if (!std::isfinite(d)) {
      raise_invalid("JSON has no NaN or infinity, got " +
                    py::repr(h).cast<std::string>());
    }
    return d;
  }
  if (PyUnicode_Check(o)) return json::string(utf8_of(o));
  if (PyDict_Check(o)) {
    json::object obj;
    obj.reserve(static_cast<std::size_t>(PyDict_Size(o)));
    PyObject* key = nullptr;
    PyObject* value = nullptr;
    Py_ssize_t pos = 0;
    while (PyDict_Next(o, &pos, &key, &value)) {
      if (!PyUnicode_Check(key)) {
        throw py::type_error("JSON object keys must be str, got " +
                             py::repr(key).cast<std::string>());
      }
      std::string_view name;
      try {
        name = utf8_of(key);
      } catch (unencodable_text& e) {
        e.what = "has a key that " + e.what;
        throw;
      }
      try {
        obj.insert_or_assign(name, to_json_value(value, depth + 1));
      } catch (unencodable_text& e) {
        e.path.emplace_back(name);
        throw;
      }
    }
    return obj;
  }
  if (PyList_Check(o) || PyTuple_Check(o)) {
    py::sequence seq = py::reinterpret_borrow<py::sequence>(h);
    json::array arr;
    arr.reserve(seq.size());
    std::size_t i = 0;
    for (py::handle item : seq) {
      try {
        arr.push_back(to_json_value(item, depth + 1));
      } catch (unencodable_text& e) {
        e.path.push_back("[" + std::to_string(i) + "]");
        throw;
      }
      ++i;
    }
    return arr;
  }
  throw py::type_error(
      "cannot convert " + py::repr(py::type::handle_of(h)).cast<std::string>() +
      " to JSON: expected None, bool, int, float, str, list, tuple or dict");
}

py::object from_json_value(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return py::none();
    case json::kind::bool_:
      return py::bool_(v.get_bool());
    case json::kind::int64:
      return py::reinterpret_steal<py::object>(
          PyLong_FromLongLong(v.get_int64()));
    case json::kind::uint64:
      return py::reinterpret_steal<py::object>(
          PyLong_FromUnsignedLongLong(v.get_uint64()));
    case json::kind::double_:
      return py::float_(v.get_double());
    case json::kind::string: {
      const json::string& s = v.get_string();
      PyObject* str = PyUnicode_DecodeUTF8(
          s.data(), static_cast<Py_ssize_t>(s.size()), "surrogateescape");
      if (!str) throw py::error_already_set();
      return py::reinterpret_steal<py::object>(str);
    }
    case json::kind::array: {
      const json::array& a = v.get_array();
      py::list list(a.size());
      for (std::size_t i = 0; i < a.size(); ++i) {
        list[i] = from_json_value(a[i]);
      }
      return list;
    }
    case json::kind::object: {
      py::dict d;
      for (const auto& kv : v.get_object()) {
        d[py::str(std::string(kv.key()))] = from_json_value(kv.value());
      }
      return d;
    }
  }
  return py::none();
}

// A request argument: a dict (or None where optional) read as JSON.
json::value request_value(py::handle h) {
  try {
    return to_json_value(h);
  } catch (const unencodable_text& e) {
    raise_invalid(e.message(""));
  }
}

py::object job_object(const job& j) {
  return from_json_value(jobstate::to_json(j));
}

// ---------------------------------------------------- asynchronous ops

// True on a thread while it hands an outcome to Python (an engine thread).
thread_local bool in_engine_callback = false;

// Runs `fn` later on the main thread, with the GIL (Py_AddPendingCall). For
// work that must not run on an engine thread: releasing references whose
// finalizers could run arbitrary Python code (an abandoned coroutine's
// `finally` blocks), or closing an engine (which joins its threads).
// Without room in the interpreter's queue, the work is not done (a leak).
void on_main_thread(std::function<void()> fn) {
  auto* job = new std::function<void()>(std::move(fn));
  const int queued = Py_AddPendingCall(
      [](void* p) -> int {
        std::unique_ptr<std::function<void()>> f(
            static_cast<std::function<void()>*>(p));
        (*f)();
        return 0;
      },
      job);
  if (queued != 0) {
    // Dropping the function would release what it holds here and now.
    static_cast<void>(job);
  }
}

// What a finished asynchronous op hands its asyncio loop: .result() gives
// the answer or raises the mapped exception. Made on an engine thread,
// read on the loop's thread.
template <class T>
class outcome {
 public:
  outcome(boost::system::error_code ec, T value, bool cancel_requested)
      : ec_(ec),
        value_(std::move(value)),
        cancel_requested_(cancel_requested) {}

  py::object result() const {
    if (ec_ == boost::asio::error::operation_aborted && cancel_requested_) {
      PyErr_SetString(
          py::module_::import("asyncio").attr("CancelledError").ptr(),
          "the operation was cancelled");
      throw py::error_already_set();
    }
    if (ec_) raise_error(error_of(ec_));
    return convert(value_);
  }

 private:
  static py::object convert(const wait_result& r) {
    return py::make_tuple(job_object(r.job), r.timed_out);
  }
  static py::object convert(const change_batch& b) {
    return from_json_value(jobstate::to_json(b));
  }
  static py::object convert(const std::optional<job>& claimed) {
    return claimed ? job_object(*claimed) : py::none();
  }

  boost::system::error_code ec_;
  T value_;
  bool cancel_requested_;
};

// An op that resolves an asyncio future: on completion it calls
// loop.call_soon_threadsafe(settle, outcome), holding the GIL only for that.
template <class T>
class loop_op final : public async_op<T> {
 public:
  loop_op(std::shared_ptr<engine_guard> guard, py::object loop,
          py::object settle)
      : async_op<T>(std::move(guard)),
        loop_(std::move(loop)),
        settle_(std::move(settle)) {}

  ~loop_op() override { drop_python_references(); }

  // Cancels from Python. Called with the GIL held, which is safe: the op's
  // mutex is never held by a thread waiting for the GIL (on_complete runs
  // after it is released), and the engine's registry mutex neither.
  void cancel_from_python() { this->cancel(); }

 private:
  void on_complete(boost::system::error_code ec, T value) noexcept override {
    gil_for_callback gil;
    if (!gil) {
      // Too late to touch Python: leak the two references.
      loop_.release();
      settle_.release();
      return;
    }
    in_engine_callback = true;
    bool handed_over = false;
    try {
      auto o = std::make_shared<outcome<T>>(ec, std::move(value),
                                            this->cancel_requested());
      loop_.attr("call_soon_threadsafe")(settle_, py::cast(std::move(o)));
      handed_over = true;
    } catch (py::error_already_set&) {
      // The loop is closed (RuntimeError): nobody awaits the answer.
    } catch (...) {
    }
    if (handed_over) {
      // The loop holds settle now; these are not the last references to
      // anything that matters.
      loop_ = py::object();
      settle_ = py::object();
    } else {
      // These may be the last references to an abandoned coroutine, whose
      // finalization runs Python code: not on this thread.
      on_main_thread([loop = std::move(loop_), settle = std::move(settle_)] {});
    }
    in_engine_callback = false;
  }

  void drop_python_references() noexcept {
    if (!loop_ && !settle_) return;
    gil_for_callback gil;
    if (!gil) {
      loop_.release();
      settle_.release();
      return;
    }
    loop_ = py::object();
    settle_ = py::object();
  }

  py::object loop_;    // touched with the GIL only
  py::object settle_;  // touched with the GIL only
};

// An op that a blocking call waits for.
template <class T>
class blocking_op final : public async_op<T> {
 public:
  using answer = std::pair<boost::system::error_code, T>;
  explicit blocking_op(std::shared_ptr<engine_guard> guard)
      : async_op<T>(std::move(guard)) {}
  std::future<answer> future() { return promise_.get_future(); }

 private:
  void on_complete(boost::system::error_code ec, T value) noexcept override {
    promise_.set_value(answer(ec, std::move(value)));
  }
  std::promise<answer> promise_;
};

// Handle of a pending asyncio wait or watch, for cancellation.
class op_handle {
 public:
  template <class Op>
  explicit op_handle(std::shared_ptr<Op> op)
      : cancel_([op] { op->cancel_from_python(); }) {}
  void cancel() { cancel_(); }

 private:
  std::function<void()> cancel_;
};

// Runs fn(engine&) → result<T> inside the guard, without the GIL; raises
// on error.
template <class F>
auto call_unlocked(engine_guard& guard, F&& fn) {
  using R = std::invoke_result_t<F, engine&>;
  std::optional<R> r;
  {
    gil_released released;
    r.emplace(guard.call(std::forward<F>(fn)));
  }
  return unwrap(std::move(*r));
}

// ------------------------------------------------------------- engine

class py_engine {
 public:
  py_engine(const std::string& path, py::handle options) {
    auto opts =
        unwrap(jobstate::options_from_json(path, request_value(options)));
    result<std::unique_ptr<engine>> e = error(errc::io_error);
    {
      gil_released released;
      e = engine::open(opts);
    }
    guard_ = std::make_shared<engine_guard>(unwrap(std::move(e)));
  }

  ~py_engine() {
    section in;
    // Closing joins the engine's threads: never on one of them (should the
    // last reference go away while an outcome is handed over).
    if (in_engine_callback) {
      on_main_thread([guard = std::move(guard_)] {
        gil_released released;
        guard->close();
      });
      return;
    }
    // Closing completes pending waits, whose completions take the GIL. The
    // guard may outlive this object (pending ops hold it): close it here.
    gil_released released;
    guard_->close();
    guard_.reset();
  }

  void close() {
    gil_released released;
    guard_->close();
  }

  bool closed() const { return guard_->closing(); }

  py::tuple create(py::handle request) {
    auto r = unwrap(jobstate::create_request_from_json(request_value(request)));
    auto created =
        call_unlocked(*guard_, [&](engine& e) { return e.create(r); });
    return py::make_tuple(job_object(created.job), created.created);
  }

  // (parent dict, [child id, ...], created).
  py::tuple create_batch(py::handle request) {
    const json::value v = request_value(request);
    auto batch = call_unlocked(
        *guard_, [&](engine& e) -> result<jobstate::created_batch> {
          auto r = jobstate::batch_request_from_json(
              v, e.options().limits.max_batch_children);
          if (!r) return r.error();
          return e.create_batch(*r);
        });
    py::list ids(batch.child_ids.size());
    for (std::size_t i = 0; i < batch.child_ids.size(); ++i) {
      ids[i] = py::str(batch.child_ids[i].to_string());
    }
    return py::make_tuple(job_object(batch.parent), ids, batch.created);
  }

  py::object list_children(py::handle a, py::handle p, py::handle id,
                           py::handle query) {
    auto ref = job_ref_arg(a, p, id);
    auto q =
        unwrap(jobstate::children_query_from_json(ref, request_value(query)));
    auto page = call_unlocked(
        *guard_, [&](engine& e) { return jobstate::list_children(e, ref, q); });
    return from_json_value(jobstate::to_json(page));
  }

  py::object get(py::handle a, py::handle p, py::handle id) {
    auto ref = job_ref_arg(a, p, id);
    return job_object(
        call_unlocked(*guard_, [&](engine& e) { return e.get(ref); }));
  }

  py::object start(py::handle a, py::handle p, py::handle id,
                   py::handle options) {
    auto ref = job_ref_arg(a, p, id);
    auto opts =
        unwrap(jobstate::mutation_options_from_json(request_value(options)));
    return job_object(
        call_unlocked(*guard_, [&](engine& e) { return e.start(ref, opts); }));
  }

  py::object report_progress(py::handle a, py::handle p, py::handle id,
                             py::handle progress, py::handle options) {
    auto ref = job_ref_arg(a, p, id);
    auto pr = unwrap(jobstate::progress_from_json(request_value(progress)));
    auto opts =
        unwrap(jobstate::mutation_options_from_json(request_value(options)));
    return job_object(call_unlocked(
        *guard_, [&](engine& e) { return e.report_progress(ref, pr, opts); }));
  }

  py::object complete(py::handle a, py::handle p, py::handle id,
                      py::handle completion, py::handle options) {
    auto ref = job_ref_arg(a, p, id);
    auto c = unwrap(jobstate::completion_from_json(request_value(completion)));
    auto opts =
        unwrap(jobstate::mutation_options_from_json(request_value(options)));
    return job_object(call_unlocked(
        *guard_, [&](engine& e) { return e.complete(ref, c, opts); }));
  }

  py::object cancel(py::handle a, py::handle p, py::handle id,
                    py::handle reason, py::handle options) {
    auto ref = job_ref_arg(a, p, id);
    const std::string why = text_arg(reason, "reason");
    auto opts =
        unwrap(jobstate::mutation_options_from_json(request_value(options)));
    return job_object(call_unlocked(
        *guard_, [&](engine& e) { return e.cancel(ref, why, opts); }));
  }

  py::object rerun(py::handle a, py::handle p, py::handle id,
                   py::handle options) {
    auto ref = job_ref_arg(a, p, id);
    auto opts =
        unwrap(jobstate::rerun_options_from_json(request_value(options)));
    return job_object(
        call_unlocked(*guard_, [&](engine& e) { return e.rerun(ref, opts); }));
  }

  // Blocks (without the GIL) until a job is claimed or the request's wait
  // passes; closing the engine answers it.
  py::object claim(py::handle request) {
    auto r = unwrap(jobstate::claim_request_from_json(request_value(request)));
    auto op = std::make_shared<blocking_op<std::optional<job>>>(guard_);
    auto answer = op->future();
    start_op(op, [&](engine& e) {
      jobstate::async_claim(e, r, op->handler(e.get_executor()));
    });
    auto [ec, claimed] = await_blocking(*op, answer);
    if (ec) raise_error(error_of(ec));
    return claimed ? job_object(*claimed) : py::none();
  }

  op_handle claim_async(py::handle request, py::object loop,
                        py::object settle) {
    auto r = unwrap(jobstate::claim_request_from_json(request_value(request)));
    // Checked first: the asynchronous answer would carry the code alone.
    if (auto v = guard_->call([&](engine& e) { return e.check(r); }); !v) {
      raise_error(v.error());
    }
    auto op = std::make_shared<loop_op<std::optional<job>>>(
        guard_, std::move(loop), std::move(settle));
    start_op(op, [&](engine& e) {
      jobstate::async_claim(e, r, op->handler(e.get_executor()));
    });
    return op_handle(op);
  }

  py::object heartbeat(py::handle a, py::handle p, py::handle id,
                       py::handle progress, py::handle options) {
    auto ref = job_ref_arg(a, p, id);
    std::optional<jobstate::progress> pr;
    if (!progress.is_none()) {
      pr = unwrap(jobstate::progress_from_json(request_value(progress)));
    }
    auto opts =
        unwrap(jobstate::mutation_options_from_json(request_value(options)));
    auto beat = call_unlocked(
        *guard_, [&](engine& e) { return e.heartbeat(ref, opts, pr); });
    return py::make_tuple(job_object(beat.job), beat.cancelled);
  }

  std::uint64_t expire_leases() {
    return call_unlocked(*guard_, [&](engine& e) { return e.expire_leases(); });
  }

  py::object list(py::handle query) {
    auto q = unwrap(jobstate::list_query_from_json(request_value(query)));
    auto page = call_unlocked(*guard_, [&](engine& e) { return e.list(q); });
    return from_json_value(jobstate::to_json(page));
  }

  py::object purge(py::handle request) {
    auto r = unwrap(jobstate::purge_request_from_json(request_value(request)));
    auto done = call_unlocked(*guard_, [&](engine& e) { return e.purge(r); });
    return from_json_value(jobstate::to_json(done));
  }

  py::object changes(py::handle after, py::handle limit) {
    const std::uint64_t from = count_arg(after, "after");
    const std::uint64_t most = count_arg(limit, "limit");
    auto batch = call_unlocked(*guard_, [&](engine& e) {
      return e.changes(from, static_cast<std::size_t>(most));
    });
    return from_json_value(jobstate::to_json(batch));
  }

  std::uint64_t last_sequence() {
    return call_unlocked(*guard_, [&](engine& e) { return e.last_sequence(); });
  }

  // Blocks (without the GIL) until the wait completes; Ctrl-C (or any
  // signal handler that raises) cancels it.
  py::object wait(py::handle a, py::handle p, py::handle id,
                  py::handle condition, std::int64_t timeout_ms) {
    auto ref = job_ref_arg(a, p, id);
    auto c =
        unwrap(jobstate::wait_condition_from_json(request_value(condition)));
    auto op = std::make_shared<blocking_op<wait_result>>(guard_);
    auto answer = op->future();
    start_op(op, [&](engine& e) {
      jobstate::async_wait(e, ref, c, jobstate::timeout_from_ms(timeout_ms),
                           op->handler(e.get_executor()));
    });
    auto [ec, r] = await_blocking(*op, answer);
    if (ec) raise_error(error_of(ec));
    return py::make_tuple(job_object(r.job), r.timed_out);
  }

  op_handle wait_async(py::handle a, py::handle p, py::handle id,
                       py::handle condition, std::int64_t timeout_ms,
                       py::object loop, py::object settle) {
    auto ref = job_ref_arg(a, p, id);
    auto c =
        unwrap(jobstate::wait_condition_from_json(request_value(condition)));
    auto op = std::make_shared<loop_op<wait_result>>(guard_, std::move(loop),
                                                     std::move(settle));
    start_op(op, [&](engine& e) {
      jobstate::async_wait(e, ref, c, jobstate::timeout_from_ms(timeout_ms),
                           op->handler(e.get_executor()));
    });
    return op_handle(op);
  }

  py::object watch(py::handle request) {
    auto w = unwrap(jobstate::watch_request_from_json(request_value(request)));
    auto op = std::make_shared<blocking_op<change_batch>>(guard_);
    auto answer = op->future();
    start_op(op, [&](engine& e) {
      jobstate::async_watch(e, w, op->handler(e.get_executor()));
    });
    auto [ec, batch] = await_blocking(*op, answer);
    if (ec) raise_error(error_of(ec));
    return from_json_value(jobstate::to_json(batch));
  }

  op_handle watch_async(py::handle request, py::object loop,
                        py::object settle) {
    auto w = unwrap(jobstate::watch_request_from_json(request_value(request)));
    auto op = std::make_shared<loop_op<change_batch>>(guard_, std::move(loop),
                                                      std::move(settle));
    start_op(op, [&](engine& e) {
      jobstate::async_watch(e, w, op->handler(e.get_executor()));
    });
    return op_handle(op);
  }

 private:
  // Initiates an op inside the guard, holding its lock (async_op.hpp).
  template <class Op, class Initiate>
  void start_op(const std::shared_ptr<Op>& op, Initiate&& initiate) {
    result<void> started;
    {
      gil_released released;
      started = guard_->call([&](engine& e) -> result<void> {
        auto lock = op->lock();
        initiate(e);
        return {};
      });
    }
    if (!started) raise_error(started.error());
  }

  template <class T>
  std::pair<boost::system::error_code, T> await_blocking(
      blocking_op<T>& op,
      std::future<std::pair<boost::system::error_code, T>>& answer) {
    for (;;) {
      std::future_status status;
      {
        gil_released released;
        status = answer.wait_for(std::chrono::milliseconds(100));
      }
      if (status == std::future_status::ready) return answer.get();
      if (PyErr_CheckSignals() != 0) {
        op.cancel();
        throw py::error_already_set();
      }
    }
  }

  std::shared_ptr<engine_guard> guard_;
};

// clang-format 14 garbles the closing comment of a namespace with an
// attribute (and then reports its own output): keep it by hand.
// clang-format off
}  // namespace python
// clang-format on
}  // namespace jobstate

PYBIND11_MODULE(_jobstate, m) {
  using namespace jobstate::python;
  m.doc() =
      "Native half of the jobstate package. Private: use the `jobstate` "
      "package, whose Engine wraps this one.";

  m.def(
      "_at_exit", [] { close_gate(std::chrono::seconds(5)); },
      "Called by the package's atexit hook, on the thread that then "
      "finalizes the interpreter: from now on, other threads that would "
      "enter this module, or come back to Python from the engine, are parked "
      "for good; waits (at most 5 s) for those inside to leave.");

  m.def(
      "_set_error_factory",
      [](py::object factory) {
        if (!error_factory) error_factory = new py::object();
        *error_factory = std::move(factory);
      },
      py::arg("factory"),
      "Sets the callable (code, message, detail, current_status, "
      "current_revision) -> exception used for engine errors.");

  // Timestamps cross as microseconds since the Unix epoch: the package makes
  // datetimes of them, and jobstate's own code reads and writes the text.
  m.def(
      "_parse_timestamp",
      [](std::string_view text) -> std::int64_t {
        auto t = jobstate::parse_timestamp(text);
        if (!t) {
          throw py::value_error("not an RFC 3339 timestamp: " +
                                std::string(text.substr(0, 64)));
        }
        return t->time_since_epoch().count();
      },
      py::arg("text"),
      "Microseconds since the Unix epoch of RFC 3339 text; ValueError when "
      "malformed.");
  m.def(
      "_format_timestamp",
      [](std::int64_t micros) {
        return jobstate::format_timestamp(
            jobstate::timestamp(std::chrono::microseconds(micros)));
      },
      py::arg("micros"),
      "RFC 3339 text, as jobs carry it, of microseconds since the Unix "
      "epoch.");

  py::class_<op_handle>(m, "OpHandle", "A pending asynchronous wait or watch.")
      .def("cancel", in_section(&op_handle::cancel),
           "Asks the engine to cancel the operation; thread-safe, no effect "
           "once it has completed.");

  py::class_<outcome<jobstate::wait_result>,
             std::shared_ptr<outcome<jobstate::wait_result>>>(
      m, "WaitOutcome", "The outcome of an asynchronous wait.")
      .def("result", in_section(&outcome<jobstate::wait_result>::result),
           "(job dict, timed_out), or raises the mapped exception.");
  py::class_<outcome<jobstate::change_batch>,
             std::shared_ptr<outcome<jobstate::change_batch>>>(
      m, "WatchOutcome", "The outcome of an asynchronous watch.")
      .def("result", in_section(&outcome<jobstate::change_batch>::result),
           "The change batch dict, or raises the mapped exception.");

  py::class_<outcome<std::optional<jobstate::job>>,
             std::shared_ptr<outcome<std::optional<jobstate::job>>>>(
      m, "ClaimOutcome", "The outcome of an asynchronous claim.")
      .def("result", in_section(&outcome<std::optional<jobstate::job>>::result),
           "The claimed job dict or None, or raises the mapped exception.");

  py::class_<py_engine>(m, "Engine",
                        "An open job database (low level: dicts in, dicts "
                        "out). Thread-safe.")
      .def(py::init([](const std::string& path, py::handle options) {
             section in;
             return std::make_unique<py_engine>(path, options);
           }),
           py::arg("path"), py::arg("options"))
      .def("close", in_section(&py_engine::close))
      .def_property_readonly("closed", in_section(&py_engine::closed))
      .def("create", in_section(&py_engine::create), py::arg("request"))
      .def("create_batch", in_section(&py_engine::create_batch),
           py::arg("request"))
      .def("list_children", in_section(&py_engine::list_children),
           py::arg("account_id"), py::arg("project_id"), py::arg("job_id"),
           py::arg("query"))
      .def("get", in_section(&py_engine::get), py::arg("account_id"),
           py::arg("project_id"), py::arg("job_id"))
      .def("start", in_section(&py_engine::start), py::arg("account_id"),
           py::arg("project_id"), py::arg("job_id"), py::arg("options"))
      .def("report_progress", in_section(&py_engine::report_progress),
           py::arg("account_id"), py::arg("project_id"), py::arg("job_id"),
           py::arg("progress"), py::arg("options"))
      .def("complete", in_section(&py_engine::complete), py::arg("account_id"),
           py::arg("project_id"), py::arg("job_id"), py::arg("completion"),
           py::arg("options"))
      .def("cancel", in_section(&py_engine::cancel), py::arg("account_id"),
           py::arg("project_id"), py::arg("job_id"), py::arg("reason"),
           py::arg("options"))
      .def("rerun", in_section(&py_engine::rerun), py::arg("account_id"),
           py::arg("project_id"), py::arg("job_id"), py::arg("options"))
      .def("claim", in_section(&py_engine::claim), py::arg("request"))
      .def("claim_async", in_section(&py_engine::claim_async),
           py::arg("request"), py::arg("loop"), py::arg("settle"))
      .def("heartbeat", in_section(&py_engine::heartbeat),
           py::arg("account_id"), py::arg("project_id"), py::arg("id"),
           py::arg("progress"), py::arg("options"))
      .def("expire_leases", in_section(&py_engine::expire_leases))
      .def("list", in_section(&py_engine::list), py::arg("query"))
      .def("purge", in_section(&py_engine::purge), py::arg("request"))
      .def("changes", in_section(&py_engine::changes), py::arg("after"),
           py::arg("limit"))
      .def("last_sequence", in_section(&py_engine::last_sequence))
      .def("wait", in_section(&py_engine::wait), py::arg("account_id"),
           py::arg("project_id"), py::arg("job_id"), py::arg("condition"),
           py::arg("timeout_ms"))
      .def("wait_async", in_section(&py_engine::wait_async),
           py::arg("account_id"), py::arg("project_id"), py::arg("job_id"),
           py::arg("condition"), py::arg("timeout_ms"), py::arg("loop"),
           py::arg("settle"))
      .def("watch", in_section(&py_engine::watch), py::arg("request"))
      .def("watch_async", in_section(&py_engine::watch_async),
           py::arg("request"), py::arg("loop"), py::arg("settle"));
}
