#include "welcome.hpp"

namespace jobstated {

std::string welcome_text(const std::string& key, const std::string& base_url,
                         const std::string& project) {
  const std::string jobs =
      base_url + "/v1/native/projects/" + project + "/jobs";
  std::string t;
  t += "First start: created the account \"default\" and this API key.\n";
  t += "It is shown only now (only its hash is stored); make more with\n";
  t += "`jobstated keys create`.\n\n";
  t += "  export JOBSTATE_KEY=" + key + "\n\n";
  t += "Try it:\n\n";
  t += "  # create a job\n";
  t += "  curl -s -X POST " + jobs +
       " -H \"Authorization: Bearer $JOBSTATE_KEY\" -H 'Content-Type: "
       "application/json' -d '{\"kind\": \"parse\", \"input\": {\"file\": "
       "\"a.pdf\"}}'\n";
  t += "  # list jobs\n";
  t += "  curl -s " + jobs + " -H \"Authorization: Bearer $JOBSTATE_KEY\"\n";
  t += "  # wait up to 30 s for a job to finish (replace JOB_ID)\n";
  t += "  curl -s '" + base_url +
       "/api/external/v1/jobs/JOB_ID?wait=30' -H \"Authorization: "
       "$JOBSTATE_KEY\"\n";
  t += "  # start and complete it as a worker would\n";
  t += "  curl -s -X POST " + jobs +
       "/JOB_ID/start -H \"Authorization: Bearer $JOBSTATE_KEY\"\n";
  t += "  curl -s -X POST " + jobs +
       "/JOB_ID/complete -H \"Authorization: Bearer $JOBSTATE_KEY\" -d "
       "'{\"result\": {\"pages\": 3}}'\n\n";
  t += "More: docs/http-api.md\n\n";
  return t;
}

}  // namespace jobstated
