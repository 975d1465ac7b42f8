// What jobstated prints on its first start: the new key and commands that a
// newcomer can paste at once.
#ifndef JOBSTATE_TOOLS_JOBSTATED_WELCOME_HPP
#define JOBSTATE_TOOLS_JOBSTATED_WELCOME_HPP

#include <string>

namespace jobstated {

/// The first-start message for `key` on the server at `base_url`
/// (e.g. "http://127.0.0.1:8080").
std::string welcome_text(const std::string& key, const std::string& base_url,
                         const std::string& default_project);

}  // namespace jobstated

#endif  // JOBSTATE_TOOLS_JOBSTATED_WELCOME_HPP
