/* The C API, exercised from C (compiled as C11): every function of
 * include/jobstate/jobstate.h, its status codes, messages and ownership
 * rules, blocking and asynchronous waits, cancellation and closing.
 *
 * Usage: jobstate_capi_test DIR (a directory for scratch databases). */
#define _POSIX_C_SOURCE 200809L

#include <jobstate/jobstate.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int failures = 0;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                              \
    }                                                                          \
  } while (0)

/* Checks a status code, printing the thread's message when it differs. */
#define CHECK_RC(expected, call)                                       \
  do {                                                                 \
    int rc_ = (call);                                                  \
    if (rc_ != (expected)) {                                           \
      fprintf(stderr, "%s:%d: %s returned %d (%s), expected %d: %s\n", \
              __FILE__, __LINE__, #call, rc_, jobstate_strerror(rc_),  \
              (expected), jobstate_error_message());                   \
      ++failures;                                                      \
    }                                                                  \
  } while (0)

#define CONTAINS(text, needle) \
  ((text) != NULL && strstr((text), (needle)) != NULL)

/* Copies the job id out of a job's JSON ("id":"<36 chars>"). */
static void id_of(const char* job_json, char id[37]) {
  const char* p = job_json ? strstr(job_json, "\"id\":\"") : NULL;
  id[0] = '\0';
  if (p) {
    memcpy(id, p + 6, 36);
    id[36] = '\0';
  }
}

static char base_dir[4096];
static int db_counter = 0;

static void db_path(char* out, size_t size) {
  snprintf(out, size, "%s/db-%d", base_dir, ++db_counter);
}

static jobstate_engine* open_engine(void) {
  char path[4200];
  jobstate_engine* e = NULL;
  db_path(path, sizeof path);
  CHECK_RC(JOBSTATE_OK,
           jobstate_engine_open(
               path, "{\"durability\":\"no_sync\",\"map_size\":8388608}", &e));
  CHECK(e != NULL);
  return e;
}

/* Creates a job in acme/alpha; returns its JSON (to free) and id. */
static char* create_job(jobstate_engine* e, const char* kind, char id[37]) {
  char request[512];
  char* job = NULL;
  int created = -1;
  snprintf(request, sizeof request,
           "{\"account_id\":\"acme\",\"project_id\":\"alpha\",\"kind\":\"%s\","
           "\"input\":{\"n\":1}}",
           kind);
  CHECK_RC(JOBSTATE_OK, jobstate_job_create(e, request, &job, &created));
  CHECK(created == 1);
  id_of(job, id);
  return job;
}

/* ------------------------------------------------ async wait recording */

struct outcome {
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  int calls;
  int status;
  int timed_out;
  char job[8192];
  char message[512];
  pthread_t thread;
  jobstate_wait* destroy_in_callback; /* destroyed by the callback */
};

static void outcome_init(struct outcome* o) {
  memset(o, 0, sizeof *o);
  pthread_mutex_init(&o->mutex, NULL);
  pthread_cond_init(&o->cond, NULL);
  o->status = -1;
}

static void outcome_free(struct outcome* o) {
  pthread_mutex_destroy(&o->mutex);
  pthread_cond_destroy(&o->cond);
}

static void on_wait(void* user, int status, const char* job_json,
                    int timed_out) {
  struct outcome* o = (struct outcome*)user;
  jobstate_wait* doomed;
  pthread_mutex_lock(&o->mutex);
  doomed = o->destroy_in_callback;
  o->destroy_in_callback = NULL;
  pthread_mutex_unlock(&o->mutex);
  if (doomed) jobstate_wait_destroy(doomed);
  pthread_mutex_lock(&o->mutex);
  o->calls++;
  o->status = status;
  o->timed_out = timed_out;
  o->thread = pthread_self();
  snprintf(o->job, sizeof o->job, "%s", job_json ? job_json : "");
  snprintf(o->message, sizeof o->message, "%s", jobstate_error_message());
  pthread_cond_broadcast(&o->cond);
  pthread_mutex_unlock(&o->mutex);
}

/* The number of calls so far. */
static int calls_of(struct outcome* o) {
  int calls;
  pthread_mutex_lock(&o->mutex);
  calls = o->calls;
  pthread_mutex_unlock(&o->mutex);
  return calls;
}

/* Waits up to 10 s for the callback; returns its number of calls. */
static int await_outcome(struct outcome* o) {
  struct timespec deadline;
  int calls;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 10;
  pthread_mutex_lock(&o->mutex);
  while (o->calls == 0) {
    if (pthread_cond_timedwait(&o->cond, &o->mutex, &deadline) != 0) break;
  }
  calls = o->calls;
  pthread_mutex_unlock(&o->mutex);
  return calls;
}

static void sleep_ms(long ms) {
  struct timespec t;
  t.tv_sec = ms / 1000;
  t.tv_nsec = (ms % 1000) * 1000000L;
  nanosleep(&t, NULL);
}

/* ---------------------------------------------------------------- tests */

static void test_errors_and_strings(void) {
  jobstate_engine* e = NULL;
  CHECK(strncmp(jobstate_strerror(JOBSTATE_NOT_FOUND), "not_found", 9) == 0);
  CHECK(strncmp(jobstate_strerror(JOBSTATE_CANCELLED), "cancelled", 9) == 0);
  CHECK(strcmp(jobstate_strerror(12345), "unknown jobstate status code") == 0);
  CHECK(strcmp(jobstate_error_message(), "") == 0);
  jobstate_free(NULL);

  CHECK_RC(JOBSTATE_INVALID_ARGUMENT, jobstate_engine_open(NULL, NULL, &e));
  CHECK(e == NULL);
  CHECK(strlen(jobstate_error_message()) > 0);
  {
    char path[4200];
    db_path(path, sizeof path);
    CHECK_RC(JOBSTATE_INVALID_ARGUMENT,
             jobstate_engine_open(path, "{\"durability\":\"sometimes\"}", &e));
    CHECK(CONTAINS(jobstate_error_message(), "durability"));
    CHECK_RC(JOBSTATE_INVALID_ARGUMENT,
             jobstate_engine_open(path, "{\"map_sise\":1}", &e));
    CHECK(CONTAINS(jobstate_error_message(), "map_sise"));
    CHECK_RC(JOBSTATE_INVALID_ARGUMENT, jobstate_engine_open(path, "{", &e));
    CHECK(e == NULL);
  }
  CHECK_RC(JOBSTATE_OK, jobstate_engine_close(NULL));
}

/* One engine per database directory per process: a second open of the same
 * directory is refused until the first handle is closed. */
static void test_open_twice(void) {
  char path[4200], slash[4210];
  jobstate_engine* first = NULL;
  jobstate_engine* second = NULL;
  char id[37];
  char* got = NULL;
  db_path(path, sizeof path);
  snprintf(slash, sizeof slash, "%s/", path);
  CHECK(strncmp(jobstate_strerror(JOBSTATE_ALREADY_OPEN), "already_open", 12) ==
        0);
  CHECK_RC(JOBSTATE_OK, jobstate_engine_open(path, NULL, &first));
  second = first;
  CHECK_RC(JOBSTATE_ALREADY_OPEN, jobstate_engine_open(path, NULL, &second));
  CHECK(second == NULL);
  CHECK(CONTAINS(jobstate_error_message(), "open in this process"));
  CHECK_RC(JOBSTATE_ALREADY_OPEN, jobstate_engine_open(slash, NULL, &second));
  CHECK(second == NULL);
  /* The first handle is unharmed. */
  jobstate_free(create_job(first, "twice", id));
  CHECK(id[0] != '\0');
  CHECK_RC(JOBSTATE_OK, jobstate_engine_close(first));
  /* Closed: it may be opened again, by either spelling. */
  CHECK_RC(JOBSTATE_OK, jobstate_engine_open(slash, NULL, &second));
  CHECK(second != NULL);
  CHECK_RC(JOBSTATE_OK, jobstate_job_get(second, "acme", "alpha", id, &got));
  CHECK(CONTAINS(got, id));
  jobstate_free(got);
  CHECK_RC(JOBSTATE_OK, jobstate_engine_close(second));
}

static void test_lifecycle(void) {
  jobstate_engine* e = open_engine();
  char id[37];
  char* job = create_job(e, "parse", id);
  char* again = NULL;
  char* out = NULL;
  const char* status = NULL;
  uint64_t revision = 0;
  int created = -1;

  CHECK(strlen(id) == 36);
  CHECK(CONTAINS(job, "\"status\":\"pending\""));
  CHECK(CONTAINS(job, "\"input\":{\"n\":1}"));
  CHECK(CONTAINS(job, "\"revision\":1"));
  jobstate_free(job);

  /* Idempotency: the same key returns the same job. */
  {
    const char* req =
        "{\"account_id\":\"acme\",\"project_id\":\"alpha\",\"kind\":\"k\","
        "\"idempotency_key\":\"once\",\"source_id\":\"doc-1\"}";
    char first[37], second[37];
    CHECK_RC(JOBSTATE_OK, jobstate_job_create(e, req, &job, &created));
    CHECK(created == 1);
    id_of(job, first);
    CHECK(CONTAINS(job, "\"source_id\":\"doc-1\""));
    jobstate_free(job);
    CHECK_RC(JOBSTATE_OK, jobstate_job_create(e, req, &again, &created));
    CHECK(created == 0);
    id_of(again, second);
    CHECK(strcmp(first, second) == 0);
    jobstate_free(again);
    /* Outputs may be NULL. */
    CHECK_RC(JOBSTATE_OK, jobstate_job_create(e, req, NULL, NULL));
  }

  /* Bad requests are rejected with a message naming the member. */
  CHECK_RC(JOBSTATE_INVALID_ARGUMENT,
           jobstate_job_create(e, "{\"account_id\":\"acme\"}", &out, NULL));
  CHECK(out == NULL);
  CHECK(CONTAINS(jobstate_error_message(), "project_id"));
  CHECK_RC(JOBSTATE_INVALID_ARGUMENT,
           jobstate_job_create(e,
                               "{\"account_id\":\"a\",\"project_id\":\"p\","
                               "\"kind\":\"k\",\"kindd\":1}",
                               &out, NULL));
  CHECK(CONTAINS(jobstate_error_message(), "kindd"));
  CHECK_RC(JOBSTATE_INVALID_ARGUMENT,
           jobstate_job_create(e, "[1,", &out, NULL));
  CHECK_RC(JOBSTATE_INVALID_ARGUMENT, jobstate_job_create(e, NULL, &out, NULL));
  CHECK_RC(JOBSTATE_INVALID_ARGUMENT,
           jobstate_job_get(e, "acme", "alpha", "not-a-uuid", &out));
  CHECK_RC(JOBSTATE_INVALID_ARGUMENT,
           jobstate_job_get(NULL, "acme", "alpha", id, &out));
  CHECK_RC(JOBSTATE_NOT_FOUND, jobstate_job_get(e, "acme", "beta", id, &out));
  CHECK(out == NULL);
  CHECK(CONTAINS(jobstate_error_message(), "not_found") ||
        strlen(jobstate_error_message()) > 0);
  CHECK_RC(JOBSTATE_NOT_FOUND, jobstate_error_job_state(&status, &revision));

  /* start → progress → complete. */
  CHECK_RC(JOBSTATE_OK, jobstate_job_get(e, "acme", "alpha", id, &out));
  CHECK(CONTAINS(out, "\"kind\":\"parse\""));
  jobstate_free(out);
  CHECK_RC(JOBSTATE_OK,
           jobstate_job_start(e, "acme", "alpha", id,
                              "{\"details\":{\"worker\":7}}", &out));
  CHECK(CONTAINS(out, "\"status\":\"running\""));
  CHECK(CONTAINS(out, "\"worker\":7"));
  jobstate_free(out);
  CHECK_RC(JOBSTATE_ILLEGAL_TRANSITION,
           jobstate_job_start(e, "acme", "alpha", id, NULL, &out));
  CHECK(out == NULL);
  CHECK_RC(JOBSTATE_OK, jobstate_error_job_state(&status, &revision));
  CHECK(status != NULL && strcmp(status, "running") == 0);
  CHECK(revision == 2);

  CHECK_RC(JOBSTATE_OK,
           jobstate_job_progress(
               e, "acme", "alpha", id,
               "{\"percent\":50,\"counts\":{\"total\":4,\"succeeded\":2,"
               "\"failed\":0,\"cancelled\":0,\"pending\":2}}",
               NULL, &out));
  CHECK(CONTAINS(out, "\"percent\":50"));
  jobstate_free(out);
  CHECK_RC(JOBSTATE_INVALID_ARGUMENT,
           jobstate_job_progress(e, "acme", "alpha", id, "{\"percent\":150}",
                                 NULL, &out));
  /* Compare-and-set. */
  CHECK_RC(JOBSTATE_CONFLICT,
           jobstate_job_complete(e, "acme", "alpha", id, "{\"result\":1}",
                                 "{\"expected_revision\":1}", &out));
  CHECK_RC(JOBSTATE_OK, jobstate_error_job_state(NULL, &revision));
  CHECK(revision == 3);
  CHECK_RC(JOBSTATE_OK,
           jobstate_job_complete(e, "acme", "alpha", id,
                                 "{\"result\":{\"pages\":12,\"score\":0.25}}",
                                 "{\"expected_revision\":3}", &out));
  CHECK(CONTAINS(out, "\"status\":\"succeeded\""));
  CHECK(CONTAINS(out, "\"pages\":12"));
  CHECK(CONTAINS(out, "\"score\":2.5E-1") || CONTAINS(out, "\"score\":0.25"));
  jobstate_free(out);

  /* rerun makes a new pending job, attempt 2. */
  CHECK_RC(JOBSTATE_OK,
           jobstate_job_rerun(e, "acme", "alpha", id,
                              "{\"correlation_id\":\"retry-1\"}", &out));
  CHECK(CONTAINS(out, "\"status\":\"pending\""));
  CHECK(CONTAINS(out, "\"attempt\":2"));
  CHECK(CONTAINS(out, id)); /* original_job_id */
  {
    char rerun_id[37];
    id_of(out, rerun_id);
    jobstate_free(out);
    /* A pending job cannot be rerun; cancel it, with a reason. */
    CHECK_RC(JOBSTATE_ILLEGAL_TRANSITION,
             jobstate_job_rerun(e, "acme", "alpha", rerun_id, NULL, &out));
    CHECK_RC(JOBSTATE_OK, jobstate_job_cancel(e, "acme", "alpha", rerun_id,
                                              "no longer needed", NULL, &out));
    CHECK(CONTAINS(out, "\"status\":\"cancelled\""));
    CHECK(CONTAINS(out, "no longer needed"));
    jobstate_free(out);
    CHECK_RC(
        JOBSTATE_ILLEGAL_TRANSITION,
        jobstate_job_cancel(e, "acme", "alpha", rerun_id, NULL, NULL, NULL));
  }

  /* A failed completion needs an error. */
  {
    char fid[37];
    jobstate_free(create_job(e, "fails", fid));
    CHECK_RC(JOBSTATE_OK,
             jobstate_job_start(e, "acme", "alpha", fid, NULL, NULL));
    CHECK_RC(JOBSTATE_INVALID_ARGUMENT,
             jobstate_job_complete(e, "acme", "alpha", fid,
                                   "{\"status\":\"bogus\"}", NULL, &out));
    CHECK(CONTAINS(jobstate_error_message(), "status"));
    CHECK_RC(JOBSTATE_OK,
             jobstate_job_complete(
                 e, "acme", "alpha", fid,
                 "{\"status\":\"failed\",\"error\":{\"code\":\"E1\","
                 "\"message\":\"broke\"}}",
                 NULL, &out));
    CHECK(CONTAINS(out, "\"code\":\"E1\""));
    jobstate_free(out);
  }
  CHECK_RC(JOBSTATE_OK, jobstate_engine_close(e));
}

static void test_list_purge_changes(void) {
  jobstate_engine* e = open_engine();
  char ids[5][37];
  char* page = NULL;
  char* out = NULL;
  uint64_t seq = 99;
  int i;

  CHECK_RC(JOBSTATE_OK, jobstate_engine_last_sequence(e, &seq));
  CHECK(seq == 0);
  for (i = 0; i < 5; ++i) jobstate_free(create_job(e, "list", ids[i]));
  CHECK_RC(JOBSTATE_OK, jobstate_engine_last_sequence(e, &seq));
  CHECK(seq == 5);

  CHECK_RC(JOBSTATE_OK, jobstate_job_list(
                            e,
                            "{\"account_id\":\"acme\",\"project_id\":\"alpha\","
                            "\"limit\":3}",
                            &page));
  /* Newest first; a cursor for the rest. */
  CHECK(CONTAINS(page, ids[4]));
  CHECK(CONTAINS(page, ids[2]));
  CHECK(!CONTAINS(page, ids[1]));
  {
    const char* c = strstr(page, "\"next_cursor\":\"");
    char query[1024];
    CHECK(c != NULL);
    if (c) {
      const char* end = strchr(c + 15, '"');
      snprintf(query, sizeof query,
               "{\"account_id\":\"acme\",\"project_id\":\"alpha\",\"limit\":3,"
               "\"cursor\":\"%.*s\"}",
               (int)(end - (c + 15)), c + 15);
      jobstate_free(page);
      CHECK_RC(JOBSTATE_OK, jobstate_job_list(e, query, &page));
      CHECK(CONTAINS(page, ids[0]));
      CHECK(CONTAINS(page, ids[1]));
      CHECK(CONTAINS(page, "\"next_cursor\":null"));
    }
  }
  jobstate_free(page);
  CHECK_RC(JOBSTATE_INVALID_ARGUMENT,
           jobstate_job_list(e, "{\"account_id\":\"acme\"}", &page));
  CHECK_RC(
      JOBSTATE_INVALID_ARGUMENT,
      jobstate_job_list(e,
                        "{\"account_id\":\"acme\",\"project_id\":\"alpha\","
                        "\"status\":\"done\"}",
                        &page));
  CHECK_RC(JOBSTATE_OK, jobstate_job_list(
                            e,
                            "{\"account_id\":\"acme\",\"project_id\":\"alpha\","
                            "\"status\":\"running\"}",
                            &page));
  CHECK(CONTAINS(page, "\"jobs\":[]"));
  jobstate_free(page);

  /* The change feed. */
  CHECK_RC(JOBSTATE_OK, jobstate_engine_changes(e, 3, 10, &out));
  CHECK(CONTAINS(out, "\"sequence\":4"));
  CHECK(CONTAINS(out, "\"sequence\":5"));
  CHECK(!CONTAINS(out, "\"sequence\":3"));
  CHECK(CONTAINS(out, "\"step\":\"created\""));
  CHECK(CONTAINS(out, "\"last_sequence\":5"));
  CHECK(CONTAINS(out, "Z\""));
  jobstate_free(out);
  CHECK_RC(JOBSTATE_INVALID_ARGUMENT, jobstate_engine_changes(e, 0, 0, &out));

  /* Purge: cancel one, purge everything terminal. */
  CHECK_RC(JOBSTATE_OK,
           jobstate_job_cancel(e, "acme", "alpha", ids[0], NULL, NULL, NULL));
  CHECK_RC(JOBSTATE_OK,
           jobstate_engine_purge(e, "{\"older_than_seconds\":0}", &out));
  CHECK(CONTAINS(out, "\"purged\":1"));
  CHECK(CONTAINS(out, "\"more\":false"));
  jobstate_free(out);
  CHECK_RC(JOBSTATE_GONE, jobstate_job_get(e, "acme", "alpha", ids[0], &out));
  CHECK_RC(JOBSTATE_INVALID_ARGUMENT,
           jobstate_engine_purge(e, "{\"older_than\":1}", &out));
  CHECK_RC(JOBSTATE_OK, jobstate_engine_close(e));
}

struct finisher_args {
  jobstate_engine* e;
  const char* id;
};

static void* finish_later(void* p) {
  struct finisher_args* a = (struct finisher_args*)p;
  sleep_ms(50);
  jobstate_job_start(a->e, "acme", "alpha", a->id, NULL, NULL);
  jobstate_job_complete(a->e, "acme", "alpha", a->id, "{}", NULL, NULL);
  return NULL;
}

static void test_blocking_wait(void) {
  jobstate_engine* e = open_engine();
  char id[37];
  char* out = NULL;
  int timed_out = -1;
  pthread_t t;
  struct finisher_args args;

  jobstate_free(create_job(e, "wait", id));
  /* Timeout: not an error. */
  CHECK_RC(JOBSTATE_OK, jobstate_job_wait(e, "acme", "alpha", id, NULL, 30,
                                          &out, &timed_out));
  CHECK(timed_out == 1);
  CHECK(CONTAINS(out, "\"status\":\"pending\""));
  jobstate_free(out);
  /* Already holds: at once. */
  CHECK_RC(JOBSTATE_OK,
           jobstate_job_wait(e, "acme", "alpha", id,
                             "{\"status_in\":[\"pending\",\"running\"]}", 0,
                             &out, &timed_out));
  CHECK(timed_out == 0);
  jobstate_free(out);
  CHECK_RC(JOBSTATE_INVALID_ARGUMENT,
           jobstate_job_wait(e, "acme", "alpha", id,
                             "{\"changed_after\":1,\"terminal\":true}", 0, &out,
                             &timed_out));
  CHECK_RC(
      JOBSTATE_INVALID_ARGUMENT,
      jobstate_job_wait(e, "acme", "alpha", id,
                        "{\"status_in\":[\"finished\"]}", 0, &out, &timed_out));
  CHECK_RC(JOBSTATE_NOT_FOUND,
           jobstate_job_wait(e, "acme", "zeta", id, NULL, 0, &out, &timed_out));

  /* Satisfied by another thread's commits. */
  args.e = e;
  args.id = id;
  pthread_create(&t, NULL, finish_later, &args);
  CHECK_RC(JOBSTATE_OK,
           jobstate_job_wait(e, "acme", "alpha", id, NULL,
                             JOBSTATE_WAIT_FOREVER, &out, &timed_out));
  CHECK(timed_out == 0);
  CHECK(CONTAINS(out, "\"status\":\"succeeded\""));
  jobstate_free(out);
  pthread_join(t, NULL);
  CHECK_RC(JOBSTATE_OK, jobstate_engine_close(e));
}

struct closer_args {
  jobstate_engine* e;
};

static void* close_later(void* p) {
  struct closer_args* a = (struct closer_args*)p;
  sleep_ms(50);
  CHECK_RC(JOBSTATE_OK, jobstate_engine_close(a->e));
  return NULL;
}

static void test_close_wakes_blocked_wait(void) {
  jobstate_engine* e = open_engine();
  char id[37];
  char* out = NULL;
  pthread_t t;
  struct closer_args args;

  jobstate_free(create_job(e, "wait", id));
  args.e = e;
  pthread_create(&t, NULL, close_later, &args);
  CHECK_RC(JOBSTATE_ENGINE_CLOSED,
           jobstate_job_wait(e, "acme", "alpha", id, NULL,
                             JOBSTATE_WAIT_FOREVER, &out, NULL));
  CHECK(out == NULL);
  pthread_join(t, NULL);
}

static void test_async_wait(void) {
  jobstate_engine* e = open_engine();
  char id[37];
  struct outcome done, timeout, cancelled, missing, fire_and_forget,
      self_destroyed;
  jobstate_wait* w = NULL;

  jobstate_free(create_job(e, "async", id));

  /* Completed by a commit, on an engine thread. */
  outcome_init(&done);
  CHECK_RC(JOBSTATE_OK,
           jobstate_wait_create(e, "acme", "alpha", id,
                                "{\"status_in\":[\"running\"]}",
                                JOBSTATE_WAIT_FOREVER, on_wait, &done, &w));
  CHECK(w != NULL);
  CHECK(calls_of(&done) == 0); /* never from within wait_create */
  CHECK_RC(JOBSTATE_OK, jobstate_job_start(e, "acme", "alpha", id, NULL, NULL));
  CHECK(await_outcome(&done) == 1);
  CHECK(done.status == JOBSTATE_OK);
  CHECK(done.timed_out == 0);
  CHECK(CONTAINS(done.job, "\"status\":\"running\""));
  CHECK(!pthread_equal(done.thread, pthread_self()));
  /* Cancelling after completion changes nothing. */
  CHECK_RC(JOBSTATE_OK, jobstate_wait_cancel(w));
  sleep_ms(20);
  CHECK(calls_of(&done) == 1);
  jobstate_wait_destroy(w);

  /* A timeout. */
  outcome_init(&timeout);
  CHECK_RC(JOBSTATE_OK, jobstate_wait_create(e, "acme", "alpha", id, NULL, 20,
                                             on_wait, &timeout, &w));
  CHECK(await_outcome(&timeout) == 1);
  CHECK(timeout.status == JOBSTATE_OK);
  CHECK(timeout.timed_out == 1);
  CHECK(CONTAINS(timeout.job, "\"status\":\"running\""));
  jobstate_wait_destroy(w);

  /* Cancelled: the callback runs once, with JOBSTATE_CANCELLED. */
  outcome_init(&cancelled);
  CHECK_RC(JOBSTATE_OK, jobstate_wait_create(e, "acme", "alpha", id, NULL,
                                             JOBSTATE_WAIT_FOREVER, on_wait,
                                             &cancelled, &w));
  CHECK_RC(JOBSTATE_OK, jobstate_wait_cancel(w));
  CHECK_RC(JOBSTATE_OK, jobstate_wait_cancel(w));
  CHECK(await_outcome(&cancelled) == 1);
  CHECK(cancelled.status == JOBSTATE_CANCELLED);
  CHECK(cancelled.job[0] == '\0');
  CHECK(CONTAINS(cancelled.message, "cancel"));
  sleep_ms(20);
  CHECK(calls_of(&cancelled) == 1);
  jobstate_wait_destroy(w);

  /* Errors found later go to the callback. */
  outcome_init(&missing);
  CHECK_RC(JOBSTATE_OK, jobstate_wait_create(e, "acme", "nowhere", id, NULL,
                                             1000, on_wait, &missing, NULL));
  CHECK(await_outcome(&missing) == 1);
  CHECK(missing.status == JOBSTATE_NOT_FOUND);
  CHECK(strlen(missing.message) > 0);

  /* Errors found at once are returned, and there is no callback. */
  CHECK_RC(JOBSTATE_INVALID_ARGUMENT,
           jobstate_wait_create(e, "acme", "alpha", "nope", NULL, 0, on_wait,
                                &missing, &w));
  CHECK(w == NULL);
  CHECK_RC(
      JOBSTATE_INVALID_ARGUMENT,
      jobstate_wait_create(e, "acme", "alpha", id, NULL, 0, NULL, NULL, &w));
  CHECK_RC(JOBSTATE_INVALID_ARGUMENT, jobstate_wait_cancel(NULL));
  jobstate_wait_destroy(NULL);

  /* Destroying the handle before the callback does not cancel. */
  outcome_init(&fire_and_forget);
  CHECK_RC(JOBSTATE_OK, jobstate_wait_create(e, "acme", "alpha", id, NULL, -1,
                                             on_wait, &fire_and_forget, &w));
  jobstate_wait_destroy(w);
  /* ... and a handle may be destroyed from its own callback. */
  outcome_init(&self_destroyed);
  CHECK_RC(JOBSTATE_OK, jobstate_wait_create(e, "acme", "alpha", id, NULL, -1,
                                             on_wait, &self_destroyed, &w));
  pthread_mutex_lock(&self_destroyed.mutex);
  self_destroyed.destroy_in_callback = w;
  pthread_mutex_unlock(&self_destroyed.mutex);
  CHECK_RC(JOBSTATE_OK,
           jobstate_job_complete(e, "acme", "alpha", id, "{}", NULL, NULL));
  CHECK(await_outcome(&fire_and_forget) == 1);
  CHECK(fire_and_forget.status == JOBSTATE_OK);
  CHECK(CONTAINS(fire_and_forget.job, "\"status\":\"succeeded\""));
  CHECK(await_outcome(&self_destroyed) == 1);
  pthread_mutex_lock(&self_destroyed.mutex);
  CHECK(self_destroyed.destroy_in_callback == NULL);
  pthread_mutex_unlock(&self_destroyed.mutex);

  CHECK_RC(JOBSTATE_OK, jobstate_engine_close(e));
  outcome_free(&done);
  outcome_free(&timeout);
  outcome_free(&cancelled);
  outcome_free(&missing);
  outcome_free(&fire_and_forget);
  outcome_free(&self_destroyed);
}

/* What a callback may and may not call: callbacks run on the engine's
 * callback thread, never the committer, so blocking calls are allowed; only
 * closing its own engine (which joins that thread) is refused. */
struct reentry {
  struct outcome o;
  jobstate_engine* e;
  char id[37];
  int start_rc;
  int batch_rc;
  int get_rc;
  int wait_rc;
  int wait_timed_out;
  int close_rc;
};

static void on_wait_reenter(void* user, int status, const char* job_json,
                            int timed_out) {
  struct reentry* r = (struct reentry*)user;
  char* out = NULL;
  r->start_rc = jobstate_job_start(r->e, "acme", "alpha", r->id, NULL, &out);
  jobstate_free(out);
  out = NULL;
  r->batch_rc = jobstate_job_create_batch(
      r->e,
      "{\"account_id\":\"acme\",\"project_id\":\"alpha\",\"kind\":\"b\","
      "\"children\":[{\"kind\":\"p\"}]}",
      &out, NULL);
  jobstate_free(out);
  out = NULL;
  r->get_rc = jobstate_job_get(r->e, "acme", "alpha", r->id, &out);
  jobstate_free(out);
  out = NULL;
  /* A blocking wait from a callback is answered without this thread. */
  r->wait_rc = jobstate_job_wait(r->e, "acme", "alpha", r->id, NULL, 20, &out,
                                 &r->wait_timed_out);
  jobstate_free(out);
  r->close_rc = jobstate_engine_close(r->e);
  on_wait(&r->o, status, job_json, timed_out);
}

static void test_callback_reentry(void) {
  struct reentry r;
  outcome_init(&r.o);
  r.e = open_engine();
  jobstate_free(create_job(r.e, "reenter", r.id));
  CHECK_RC(JOBSTATE_OK, jobstate_wait_create(r.e, "acme", "alpha", r.id, NULL,
                                             10, on_wait_reenter, &r, NULL));
  CHECK(await_outcome(&r.o) == 1);
  CHECK(r.o.timed_out == 1);
  CHECK(r.start_rc == JOBSTATE_OK);
  CHECK(r.batch_rc == JOBSTATE_OK);
  CHECK(r.get_rc == JOBSTATE_OK);
  CHECK(r.wait_rc == JOBSTATE_OK);
  CHECK(r.wait_timed_out == 1);
  CHECK(r.close_rc == JOBSTATE_INVALID_ARGUMENT);
  CHECK_RC(JOBSTATE_OK, jobstate_engine_close(r.e));
  outcome_free(&r.o);
}

/* ------------------------------------------------------------- batches */

/* Copies the i-th id of a batch's "child_ids" (ids are 36 characters,
 * separated by `","`). */
static void child_id_of(const char* batch_json, int i, char id[37]) {
  const char* p = batch_json ? strstr(batch_json, "\"child_ids\":[\"") : NULL;
  id[0] = '\0';
  if (p) {
    memcpy(id, p + 14 + (size_t)i * 39, 36);
    id[36] = '\0';
  }
}

/* Copies a page's next_cursor (empty when null). */
static void cursor_of(const char* page_json, char* out, size_t size) {
  const char* c = page_json ? strstr(page_json, "\"next_cursor\":\"") : NULL;
  out[0] = '\0';
  if (c) {
    const char* end = strchr(c + 15, '"');
    snprintf(out, size, "%.*s", (int)(end - (c + 15)), c + 15);
  }
}

/* Counts the jobs of a page (their "kind" members). */
static int jobs_in(const char* page_json) {
  int n = 0;
  const char* p = page_json;
  while (p && (p = strstr(p, "\"kind\":")) != NULL) {
    ++n;
    ++p;
  }
  return n;
}

#define BATCH_REQUEST(key, extra)                                          \
  "{\"account_id\":\"acme\",\"project_id\":\"alpha\",\"kind\":\"batch_"    \
  "parse\","                                                               \
  "\"input\":{\"files\":3},\"idempotency_key\":\"" key                     \
  "\","                                                                    \
  "\"children\":[{\"kind\":\"parse\",\"input\":{\"file\":\"a\"},"          \
  "\"source_id\":\"doc-a\"},{\"kind\":\"parse\",\"source_id\":\"doc-b\"}," \
  "{\"kind\":\"parse\",\"source_id\":\"doc-c\"" extra "}]}"

static void test_batches(void) {
  jobstate_engine* e = open_engine();
  char* batch = NULL;
  char* out = NULL;
  char* page = NULL;
  char parent[37], child[3][37], other[37], id[37];
  char cursor[256];
  char query[512];
  int created = -1;
  int i;
  uint64_t revision = 0;
  struct outcome o;

  /* Create: the parent and its children in one call. */
  CHECK_RC(JOBSTATE_OK, jobstate_job_create_batch(e, BATCH_REQUEST("b1", ""),
                                                  &batch, &created));
  CHECK(created == 1);
  CHECK(CONTAINS(batch, "\"parent\":{"));
  CHECK(CONTAINS(batch, "\"is_batch\":true"));
  CHECK(CONTAINS(batch, "\"status\":\"pending\""));
  CHECK(CONTAINS(batch, "\"total\":3"));
  CHECK(CONTAINS(batch, "\"pending\":3"));
  CHECK(CONTAINS(batch, "\"created\":true"));
  id_of(batch, parent);
  for (i = 0; i < 3; ++i) {
    child_id_of(batch, i, child[i]);
    CHECK(strlen(child[i]) == 36);
    CHECK(strcmp(child[i], parent) != 0);
  }
  CHECK(strcmp(child[0], child[1]) != 0 && strcmp(child[1], child[2]) != 0);
  jobstate_free(batch);
  /* Children are ordinary jobs, in the order given, naming their parent. */
  CHECK_RC(JOBSTATE_OK, jobstate_job_get(e, "acme", "alpha", child[0], &out));
  CHECK(CONTAINS(out, parent));
  CHECK(CONTAINS(out, "\"source_id\":\"doc-a\""));
  CHECK(CONTAINS(out, "\"input\":{\"file\":\"a\"}"));
  CHECK(CONTAINS(out, "\"is_batch\":false"));
  jobstate_free(out);

  /* The same request again (the parent's idempotency key): the same batch,
   * unchanged; the key stands for the whole batch, children included. */
  CHECK_RC(JOBSTATE_OK, jobstate_job_create_batch(e, BATCH_REQUEST("b1", ""),
                                                  &batch, &created));
  CHECK(created == 0);
  CHECK(CONTAINS(batch, parent));
  CHECK(CONTAINS(batch, child[0]) && CONTAINS(batch, child[2]));
  CHECK(CONTAINS(batch, "\"created\":false"));
  jobstate_free(batch);
  CHECK_RC(JOBSTATE_OK, jobstate_job_create_batch(
                            e, BATCH_REQUEST("b1", ",\"input\":{\"other\":1}"),
                            NULL, &created));
  CHECK(created == 0);
  /* The key used for a different parent: already_exists, nothing out. */
  batch = (char*)"untouched";
  CHECK_RC(JOBSTATE_ALREADY_EXISTS,
           jobstate_job_create_batch(
               e,
               "{\"account_id\":\"acme\",\"project_id\":\"alpha\",\"kind\":"
               "\"batch_parse\",\"input\":{\"files\":4},\"idempotency_key\":"
               "\"b1\",\"children\":[{\"kind\":\"parse\"}]}",
               &batch, NULL));
  CHECK(batch == NULL);
  CHECK(CONTAINS(jobstate_error_message(), "idempotency key \"b1\""));

  /* The parent follows its children and cannot be driven by hand. */
  CHECK_RC(JOBSTATE_ILLEGAL_TRANSITION,
           jobstate_job_start(e, "acme", "alpha", parent, NULL, NULL));
  CHECK_RC(JOBSTATE_OK,
           jobstate_job_start(e, "acme", "alpha", child[0], NULL, NULL));
  CHECK_RC(JOBSTATE_OK, jobstate_job_get(e, "acme", "alpha", parent, &out));
  CHECK(CONTAINS(out, "\"status\":\"running\""));
  CHECK(CONTAINS(out, "\"running\":1"));
  jobstate_free(out);
  CHECK_RC(JOBSTATE_OK, jobstate_job_complete(e, "acme", "alpha", child[0],
                                              "{}", NULL, NULL));
  CHECK_RC(JOBSTATE_OK,
           jobstate_job_start(e, "acme", "alpha", child[1], NULL, NULL));
  CHECK_RC(JOBSTATE_OK,
           jobstate_job_complete(
               e, "acme", "alpha", child[1],
               "{\"status\":\"failed\",\"error\":{\"code\":\"bad_pdf\","
               "\"message\":\"no pages\"}}",
               NULL, NULL));
  CHECK_RC(JOBSTATE_OK, jobstate_job_get(e, "acme", "alpha", parent, &out));
  CHECK(CONTAINS(out, "\"succeeded\":1"));
  CHECK(CONTAINS(out, "\"failed\":1"));
  CHECK(CONTAINS(out, "\"pending\":1"));
  {
    const char* r = strstr(out, "\"revision\":");
    CHECK(r != NULL);
    if (r) revision = strtoull(r + 11, NULL, 10);
  }
  jobstate_free(out);

  /* A wait on the parent wakes when a child changes. */
  outcome_init(&o);
  snprintf(query, sizeof query, "{\"changed_after\":%llu}",
           (unsigned long long)revision);
  CHECK_RC(JOBSTATE_OK, jobstate_wait_create(e, "acme", "alpha", parent, query,
                                             10000, on_wait, &o, NULL));
  sleep_ms(20);
  CHECK(calls_of(&o) == 0);
  CHECK_RC(JOBSTATE_OK, jobstate_job_cancel(e, "acme", "alpha", child[2],
                                            "not needed", NULL, NULL));
  CHECK(await_outcome(&o) == 1);
  CHECK(o.status == JOBSTATE_OK);
  CHECK(o.timed_out == 0);
  CHECK(CONTAINS(o.job, parent));
  CHECK(CONTAINS(o.job, "\"status\":\"partially_succeeded\""));
  CHECK(CONTAINS(o.job, "\"cancelled\":1"));
  outcome_free(&o);

  /* Paging through the children, and by status. */
  CHECK_RC(JOBSTATE_OK, jobstate_job_list_children(e, "acme", "alpha", parent,
                                                   "{\"limit\":2}", &page));
  CHECK(jobs_in(page) == 2);
  CHECK(!CONTAINS(page, "\"is_batch\":true"));
  cursor_of(page, cursor, sizeof cursor);
  CHECK(cursor[0] != '\0');
  snprintf(query, sizeof query, "{\"limit\":2,\"cursor\":\"%s\"}", cursor);
  jobstate_free(page);
  CHECK_RC(JOBSTATE_OK, jobstate_job_list_children(e, "acme", "alpha", parent,
                                                   query, &page));
  CHECK(jobs_in(page) == 1);
  CHECK(CONTAINS(page, "\"next_cursor\":null"));
  jobstate_free(page);
  CHECK_RC(JOBSTATE_OK,
           jobstate_job_list_children(e, "acme", "alpha", parent,
                                      "{\"status\":\"failed\"}", &page));
  CHECK(jobs_in(page) == 1);
  CHECK(CONTAINS(page, child[1]));
  jobstate_free(page);
  /* The same through jobstate_job_list and "parent_id". */
  snprintf(query, sizeof query,
           "{\"account_id\":\"acme\",\"project_id\":\"alpha\","
           "\"parent_id\":\"%s\",\"status\":\"succeeded\"}",
           parent);
  CHECK_RC(JOBSTATE_OK, jobstate_job_list(e, query, &page));
  CHECK(jobs_in(page) == 1);
  CHECK(CONTAINS(page, child[0]));
  jobstate_free(page);

  /* Paging errors. */
  page = (char*)"untouched";
  CHECK_RC(JOBSTATE_NOT_FOUND,
           jobstate_job_list_children(e, "acme", "alpha",
                                      "01932c07-8a1b-7c3d-9e4f-0123456789ab",
                                      NULL, &page));
  CHECK(page == NULL);
  CHECK_RC(JOBSTATE_NOT_FOUND,
           jobstate_job_list_children(e, "acme", "beta", parent, NULL, &page));
  CHECK_RC(
      JOBSTATE_INVALID_ARGUMENT,
      jobstate_job_list_children(e, "acme", "alpha", child[0], NULL, &page));
  CHECK(CONTAINS(jobstate_error_message(), "not a batch"));
  CHECK_RC(JOBSTATE_INVALID_ARGUMENT,
           jobstate_job_list_children(e, "acme", "alpha", "nope", NULL, &page));
  CHECK_RC(JOBSTATE_INVALID_ARGUMENT,
           jobstate_job_list_children(e, "acme", "alpha", parent,
                                      "{\"limt\":2}", &page));
  CHECK(CONTAINS(jobstate_error_message(), "limt"));
  CHECK_RC(JOBSTATE_INVALID_ARGUMENT,
           jobstate_job_list_children(e, "acme", "alpha", parent,
                                      "{\"status\":\"done\"}", &page));
  CHECK_RC(JOBSTATE_INVALID_ARGUMENT,
           jobstate_job_list_children(e, "acme", "alpha", parent,
                                      "{\"limit\":0}", &page));
  CHECK_RC(JOBSTATE_INVALID_ARGUMENT,
           jobstate_job_list_children(e, "acme", "alpha", parent, NULL, NULL));
  CHECK_RC(
      JOBSTATE_INVALID_ARGUMENT,
      jobstate_job_list_children(NULL, "acme", "alpha", parent, NULL, &page));

  /* Rerun: a new batch of the children that did not succeed. */
  CHECK_RC(JOBSTATE_OK,
           jobstate_job_rerun(e, "acme", "alpha", parent, NULL, &out));
  CHECK(CONTAINS(out, "\"is_batch\":true"));
  CHECK(CONTAINS(out, "\"total\":2"));
  CHECK(CONTAINS(out, "\"attempt\":2"));
  CHECK(CONTAINS(out, parent)); /* original_job_id */
  id_of(out, other);
  jobstate_free(out);
  CHECK_RC(JOBSTATE_OK,
           jobstate_job_list_children(e, "acme", "alpha", other, NULL, &page));
  CHECK(jobs_in(page) == 2);
  CHECK(CONTAINS(page, child[1]) && CONTAINS(page, child[2]));
  CHECK(!CONTAINS(page, child[0]));
  jobstate_free(page);

  /* Cancelling a parent cancels its unfinished children, atomically. */
  CHECK_RC(JOBSTATE_OK,
           jobstate_job_cancel(e, "acme", "alpha", other, "stop", NULL, &out));
  CHECK(CONTAINS(out, "\"status\":\"cancelled\""));
  jobstate_free(out);
  CHECK_RC(JOBSTATE_OK,
           jobstate_job_list_children(e, "acme", "alpha", other,
                                      "{\"status\":\"cancelled\"}", &page));
  CHECK(jobs_in(page) == 2);
  jobstate_free(page);
  CHECK_RC(JOBSTATE_ILLEGAL_TRANSITION,
           jobstate_job_cancel(e, "acme", "alpha", other, NULL, NULL, NULL));

  /* Malformed requests: nothing written, the message names the member. */
  CHECK_RC(JOBSTATE_INVALID_ARGUMENT,
           jobstate_job_create_batch(e, "{\"account_id\":", &batch, NULL));
  CHECK(CONTAINS(jobstate_error_message(), "not valid JSON"));
  CHECK_RC(JOBSTATE_INVALID_ARGUMENT,
           jobstate_job_create_batch(e, NULL, &batch, NULL));
  CHECK_RC(
      JOBSTATE_INVALID_ARGUMENT,
      jobstate_job_create_batch(NULL, BATCH_REQUEST("b2", ""), &batch, NULL));
  CHECK_RC(JOBSTATE_INVALID_ARGUMENT,
           jobstate_job_create_batch(
               e,
               "{\"account_id\":\"acme\",\"project_id\":\"alpha\",\"kind\":"
               "\"b\"}",
               &batch, NULL));
  CHECK(CONTAINS(jobstate_error_message(),
                 "batch request.children: required member is missing"));
  CHECK_RC(JOBSTATE_INVALID_ARGUMENT,
           jobstate_job_create_batch(
               e,
               "{\"account_id\":\"acme\",\"project_id\":\"alpha\",\"kind\":"
               "\"b\",\"children\":{}}",
               &batch, NULL));
  CHECK(CONTAINS(jobstate_error_message(),
                 "children: expected a non-empty array of children, got an "
                 "object"));
  CHECK_RC(JOBSTATE_INVALID_ARGUMENT,
           jobstate_job_create_batch(
               e,
               "{\"account_id\":\"acme\",\"project_id\":\"alpha\",\"kind\":"
               "\"b\",\"children\":[]}",
               &batch, NULL));
  CHECK_RC(JOBSTATE_INVALID_ARGUMENT,
           jobstate_job_create_batch(
               e,
               "{\"account_id\":\"acme\",\"project_id\":\"alpha\",\"kind\":"
               "\"b\",\"children\":[{\"kind\":\"p\"},{\"input\":1}]}",
               &batch, NULL));
  CHECK(CONTAINS(jobstate_error_message(),
                 "children[1].kind: required member is missing"));
  CHECK_RC(JOBSTATE_INVALID_ARGUMENT,
           jobstate_job_create_batch(
               e,
               "{\"account_id\":\"acme\",\"project_id\":\"alpha\",\"kind\":"
               "\"b\",\"children\":[{\"kind\":\"p\",\"idempotency_key\":"
               "\"k\"}]}",
               &batch, NULL));
  CHECK(CONTAINS(jobstate_error_message(),
                 "children[0].idempotency_key: unknown member"));
  CHECK_RC(JOBSTATE_INVALID_ARGUMENT,
           jobstate_job_create_batch(
               e,
               "{\"account_id\":\"acme\",\"project_id\":\"alpha\",\"kind\":"
               "\"b\",\"children\":[\"p\"]}",
               &batch, NULL));
  CHECK_RC(JOBSTATE_INVALID_ARGUMENT,
           jobstate_job_create_batch(
               e,
               "{\"project_id\":\"alpha\",\"kind\":\"b\",\"children\":[{"
               "\"kind\":\"p\"}]}",
               &batch, NULL));
  CHECK(CONTAINS(jobstate_error_message(), "account_id"));
  CHECK(batch == NULL);
  CHECK_RC(JOBSTATE_OK, jobstate_engine_close(e));

  /* Too many children: more than the limit is too_large. */
  {
    char path[4200];
    jobstate_engine* small = NULL;
    db_path(path, sizeof path);
    CHECK_RC(JOBSTATE_OK,
             jobstate_engine_open(path,
                                  "{\"durability\":\"no_sync\",\"limits\":{"
                                  "\"max_batch_children\":2}}",
                                  &small));
    CHECK_RC(JOBSTATE_TOO_LARGE,
             jobstate_job_create_batch(small, BATCH_REQUEST("b3", ""), &batch,
                                       &created));
    CHECK(batch == NULL);
    CHECK(CONTAINS(jobstate_error_message(), "max_batch_children"));
    CHECK_RC(JOBSTATE_OK, jobstate_engine_last_sequence(small, &revision));
    CHECK(revision == 0); /* nothing written */
    CHECK_RC(JOBSTATE_OK,
             jobstate_job_create_batch(
                 small,
                 "{\"account_id\":\"acme\",\"project_id\":\"alpha\",\"kind\":"
                 "\"b\",\"children\":[{\"kind\":\"p\"},{\"kind\":\"p\"}]}",
                 &batch, NULL));
    child_id_of(batch, 1, id);
    CHECK(strlen(id) == 36);
    jobstate_free(batch);
    CHECK_RC(JOBSTATE_OK, jobstate_engine_close(small));
  }
}

/* Workers: claim under a lease, heartbeat (with and without progress),
 * fenced writes, lease_lost, a claim that waits for work, expiry. */
static void test_workers(void) {
  jobstate_engine* e = open_engine();
  char id[37];
  char claimed_id[37];
  char* out = NULL;
  int claimed = -1;
  int cancelled = -1;
  uint64_t expired = 99;
  const char* request =
      "{\"account_id\":\"acme\",\"project_id\":\"alpha\",\"kinds\":[\"parse\"],"
      "\"worker_id\":\"w1\",\"lease_ttl_ms\":60000}";

  /* Nothing to claim: no job, no error. */
  CHECK_RC(JOBSTATE_OK, jobstate_job_claim(e, request, &out, &claimed));
  CHECK(out == NULL);
  CHECK(claimed == 0);
  jobstate_free(create_job(e, "parse", id));
  CHECK_RC(JOBSTATE_OK, jobstate_job_claim(e, request, &out, &claimed));
  CHECK(claimed == 1);
  id_of(out, claimed_id);
  CHECK(strcmp(id, claimed_id) == 0);
  CHECK(CONTAINS(out, "\"status\":\"running\""));
  CHECK(CONTAINS(out, "\"lease\":{\"worker_id\":\"w1\",\"epoch\":1"));
  jobstate_free(out);
  out = NULL;

  CHECK_RC(JOBSTATE_OK,
           jobstate_job_heartbeat(e, "acme", "alpha", id, NULL,
                                  "{\"lease_epoch\":1}", &out, &cancelled));
  CHECK(cancelled == 0);
  CHECK(CONTAINS(out, "\"revision\":3"));
  jobstate_free(out);
  out = NULL;
  CHECK_RC(JOBSTATE_OK,
           jobstate_job_heartbeat(e, "acme", "alpha", id, "{\"percent\":50}",
                                  "{\"lease_epoch\":1}", &out, NULL));
  CHECK(CONTAINS(out, "\"percent\":5"));
  jobstate_free(out);
  out = NULL;
  /* No epoch, or a stale one. */
  CHECK_RC(
      JOBSTATE_INVALID_ARGUMENT,
      jobstate_job_heartbeat(e, "acme", "alpha", id, NULL, NULL, &out, NULL));
  CHECK(out == NULL);
  CHECK_RC(JOBSTATE_LEASE_LOST,
           jobstate_job_complete(e, "acme", "alpha", id, "{}",
                                 "{\"lease_epoch\":2}", &out));
  CHECK(out == NULL);
  CHECK(strcmp(jobstate_strerror(JOBSTATE_LEASE_LOST),
               "lease_lost: this worker no longer holds the job's lease") == 0);
  CHECK_RC(JOBSTATE_OK, jobstate_job_complete(e, "acme", "alpha", id, "{}",
                                              "{\"lease_epoch\":1}", &out));
  CHECK(CONTAINS(out, "\"status\":\"succeeded\""));
  jobstate_free(out);
  out = NULL;

  /* A claim that waits passes with nothing; bad requests are refused. */
  CHECK_RC(JOBSTATE_OK,
           jobstate_job_claim(
               e,
               "{\"account_id\":\"acme\",\"project_id\":\"alpha\",\"kinds\":"
               "[\"parse\"],\"worker_id\":\"w1\",\"wait_ms\":30}",
               &out, &claimed));
  CHECK(claimed == 0);
  CHECK_RC(JOBSTATE_INVALID_ARGUMENT,
           jobstate_job_claim(e,
                              "{\"account_id\":\"acme\",\"project_id\":"
                              "\"alpha\",\"kinds\":[],\"worker_id\":\"w1\"}",
                              &out, &claimed));
  CHECK_RC(JOBSTATE_INVALID_ARGUMENT, jobstate_job_claim(e, NULL, &out, NULL));
  /* Without job_json the taker could not finish the job: refused, and
   * nothing is claimed. */
  jobstate_free(create_job(e, "parse", id));
  CHECK_RC(JOBSTATE_INVALID_ARGUMENT,
           jobstate_job_claim(e, request, NULL, &claimed));
  CHECK(claimed == 0);

  /* A lease of 1 ms lapses: expiry (the engine's timer, or this call)
   * fails the job. */
  CHECK_RC(JOBSTATE_OK,
           jobstate_job_claim(
               e,
               "{\"account_id\":\"acme\",\"project_id\":\"alpha\",\"kinds\":"
               "[\"parse\"],\"worker_id\":\"w2\",\"lease_ttl_ms\":1}",
               &out, &claimed));
  CHECK(claimed == 1);
  jobstate_free(out);
  out = NULL;
  sleep_ms(20);
  CHECK_RC(JOBSTATE_OK, jobstate_engine_expire_leases(e, &expired));
  CHECK(expired <= 1);
  CHECK_RC(JOBSTATE_OK,
           jobstate_job_wait(e, "acme", "alpha", id, NULL, 10000, &out, NULL));
  CHECK(CONTAINS(out, "\"code\":\"lease_expired\""));
  jobstate_free(out);
  CHECK_RC(JOBSTATE_INVALID_ARGUMENT,
           jobstate_engine_expire_leases(NULL, &expired));
  CHECK_RC(JOBSTATE_OK, jobstate_engine_close(e));
}

static void* close_claim_later(void* p) {
  struct closer_args* a = (struct closer_args*)p;
  sleep_ms(50);
  CHECK_RC(JOBSTATE_OK, jobstate_engine_close(a->e));
  return NULL;
}

/* Schedules, time limits and retries go through the create request's JSON
 * and come back in the job's. */
static void test_schedules_and_retries(void) {
  jobstate_engine* e = open_engine();
  char* out = NULL;
  int created = -1;
  int claimed = -1;
  char id[37];
  uint64_t expired = 99;
  CHECK_RC(JOBSTATE_OK,
           jobstate_job_create(
               e,
               "{\"account_id\":\"acme\",\"project_id\":\"alpha\","
               "\"kind\":\"parse\",\"pending_ttl_ms\":60000,"
               "\"run_timeout_ms\":5000,\"retry\":{\"max_attempts\":3,"
               "\"retry_on\":[\"flaky\"]}}",
               &out, &created));
  CHECK(created == 1);
  CHECK(CONTAINS(out, "\"run_timeout_ms\":5000,\"pending_ttl_ms\":60000"));
  CHECK(CONTAINS(out, "\"retry\":{\"max_attempts\":3"));
  CHECK(CONTAINS(out, "\"retry_on\":[\"flaky\"]"));
  id_of(out, id);
  jobstate_free(out);
  out = NULL;
  /* Bad values: a typed error, nothing written. */
  CHECK_RC(
      JOBSTATE_INVALID_ARGUMENT,
      jobstate_job_create(e,
                          "{\"account_id\":\"acme\",\"project_id\":\"alpha\","
                          "\"kind\":\"parse\",\"run_timeout_ms\":0}",
                          &out, NULL));
  CHECK(out == NULL);
  /* Nothing has run out of time yet. */
  CHECK_RC(JOBSTATE_OK, jobstate_engine_expire_leases(e, &expired));
  CHECK(expired == 0);
  CHECK_RC(JOBSTATE_OK, jobstate_job_claim(
                            e,
                            "{\"account_id\":\"acme\",\"project_id\":\"alpha\","
                            "\"kinds\":[\"parse\"],\"worker_id\":\"w1\"}",
                            &out, &claimed));
  CHECK(claimed == 1);
  CHECK(CONTAINS(out, id));
  jobstate_free(out);
  jobstate_engine_close(e);
}

static void test_close_wakes_waiting_claim(void) {
  jobstate_engine* e = open_engine();
  char* out = NULL;
  int claimed = -1;
  pthread_t t;
  struct closer_args args;
  args.e = e;
  pthread_create(&t, NULL, close_claim_later, &args);
  CHECK_RC(JOBSTATE_ENGINE_CLOSED,
           jobstate_job_claim(
               e,
               "{\"account_id\":\"acme\",\"project_id\":\"alpha\",\"kinds\":"
               "[\"parse\"],\"worker_id\":\"w1\",\"wait_ms\":600000}",
               &out, &claimed));
  CHECK(out == NULL);
  CHECK(claimed == 0);
  pthread_join(t, NULL);
}

#define MANY 200

static void test_close_aborts_pending_waits(void) {
  jobstate_engine* e = open_engine();
  char id[37];
  static struct outcome outcomes[MANY];
  jobstate_wait* waits[MANY];
  int i;
  jobstate_free(create_job(e, "closing", id));
  for (i = 0; i < MANY; ++i) {
    outcome_init(&outcomes[i]);
    CHECK_RC(JOBSTATE_OK, jobstate_wait_create(e, "acme", "alpha", id, NULL,
                                               JOBSTATE_WAIT_FOREVER, on_wait,
                                               &outcomes[i], &waits[i]));
  }
  /* Cancel half of them, racing with the close. */
  for (i = 0; i < MANY; i += 2) jobstate_wait_cancel(waits[i]);
  CHECK_RC(JOBSTATE_OK, jobstate_engine_close(e));
  for (i = 0; i < MANY; ++i) {
    CHECK(await_outcome(&outcomes[i]) == 1);
    if (i % 2 == 0) {
      CHECK(outcomes[i].status == JOBSTATE_CANCELLED);
    } else {
      CHECK(outcomes[i].status == JOBSTATE_ENGINE_CLOSED);
    }
    /* Handles outlive the engine; cancelling them now does nothing. */
    CHECK_RC(JOBSTATE_OK, jobstate_wait_cancel(waits[i]));
    jobstate_wait_destroy(waits[i]);
    outcome_free(&outcomes[i]);
  }
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s SCRATCH_DIR\n", argv[0]);
    return 2;
  }
  snprintf(base_dir, sizeof base_dir, "%s/capi-XXXXXX", argv[1]);
  if (!mkdtemp(base_dir)) {
    perror("mkdtemp");
    return 2;
  }
  test_errors_and_strings();
  test_open_twice();
  test_lifecycle();
  test_list_purge_changes();
  test_blocking_wait();
  test_close_wakes_blocked_wait();
  test_async_wait();
  test_callback_reentry();
  test_batches();
  test_close_aborts_pending_waits();
  test_workers();
  test_schedules_and_retries();
  test_close_wakes_waiting_claim();
  if (failures) {
    fprintf(stderr, "capi_test: %d check(s) failed (databases kept in %s)\n",
            failures, base_dir);
    return 1;
  }
  {
    char command[4200];
    snprintf(command, sizeof command, "rm -rf '%s'", base_dir);
    if (system(command) != 0)
      fprintf(stderr, "capi_test: cannot remove %s\n", base_dir);
  }
  printf("capi_test: all checks passed\n");
  return 0;
}
