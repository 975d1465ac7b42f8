// The handlers of every route, by surface. Each answers through the
// exchange exactly once (or streams, for Server-Sent Events).
#ifndef JOBSTATE_HTTP_HANDLERS_HPP
#define JOBSTATE_HTTP_HANDLERS_HPP

#include "http/router.hpp"

namespace jobstate::http {

namespace ops {  // ops_routes.cpp
void healthz(server_context&, const exchange_ptr&, call&);
void metrics(server_context&, const exchange_ptr&, call&);
}  // namespace ops

namespace scale_gp {  // compat_surfaces.cpp
void get_job(server_context&, const exchange_ptr&, call&);
}

namespace jobs_api {  // compat_surfaces.cpp
void get_job(server_context&, const exchange_ptr&, call&);
void rerun(server_context&, const exchange_ptr&, call&);
}  // namespace jobs_api

namespace gc_ai {  // compat_surfaces.cpp
void get_job(server_context&, const exchange_ptr&, call&);
}

namespace native {  // native_jobs.cpp, native_batches.cpp, native_feed.cpp,
                    // native_workers.cpp
void create(server_context&, const exchange_ptr&, call&);
void list(server_context&, const exchange_ptr&, call&);
void get(server_context&, const exchange_ptr&, call&);
void start(server_context&, const exchange_ptr&, call&);
void progress(server_context&, const exchange_ptr&, call&);
void complete(server_context&, const exchange_ptr&, call&);
void fail(server_context&, const exchange_ptr&, call&);
void cancel(server_context&, const exchange_ptr&, call&);
void rerun(server_context&, const exchange_ptr&, call&);
void create_batch(server_context&, const exchange_ptr&, call&);
void batch_children(server_context&, const exchange_ptr&, call&);
void changes(server_context&, const exchange_ptr&, call&);
void change_stream(server_context&, const exchange_ptr&, call&);
void claim(server_context&, const exchange_ptr&, call&);
void heartbeat(server_context&, const exchange_ptr&, call&);
}  // namespace native

}  // namespace jobstate::http

#endif  // JOBSTATE_HTTP_HANDLERS_HPP
