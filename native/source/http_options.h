// How the HTTP transport behaves: retries, deadlines, credentials, TLS trust.
// Its own header so that ModelSource::open can take it without the transports.
#pragma once

#include <string>
#include <vector>

#include "core/result.h"

namespace ws {

struct HttpTransportOptions {
  int max_retries = 5;          // consecutive failures without progress
  // Failures of one read or shard stream in all, progress or not: a server
  // that drips a byte per attempt cannot keep a load alive forever.
  int max_total_retries = 20;
  long connect_timeout_s = 20;
  long response_timeout_s = 30;  // from the request to the response's status line
  long low_speed_timeout_s = 60; // abort a transfer stalled this long (< 1 KB/s)
  // The whole of one read or shard stream, retries included; 0: no limit
  // (a 20 GB shard on a slow link may rightly take hours).
  long deadline_s = 0;
  // The whole load, from opening the model (the transport's creation) to its
  // last byte: every request, retry and backoff of every file. 0: no limit.
  // A server that trickles just above the stall limit ends here (Timeout).
  long load_deadline_s = 0;

  // Sent as "Authorization: Bearer <token>" (a Hugging Face token for a gated
  // repository) to the model URL's own host only: libcurl's CURLAUTH_BEARER is
  // never sent to another host a redirect leads to (the Hub's resolve/ URLs
  // redirect to a CDN).
  std::string bearer_token;
  // Extra request headers, "Name: value". "Authorization: Bearer T" becomes
  // bearer_token; another Authorization header is, like it, kept from other
  // hosts after a redirect (libcurl >= 7.58 drops a custom Authorization on a
  // host change unless CURLOPT_UNRESTRICTED_AUTH, which we never set).
  std::vector<std::string> headers;
  // PEM file of the CAs trusted for https. Empty: $CURL_CA_BUNDLE, then
  // $SSL_CERT_FILE, then the system's store.
  std::string ca_bundle;
};

// InvalidArgument for a header that is not "Name: value" on one line (CR/LF
// would inject headers). Needs no transport, so the CLI checks --header
// while it reads the command line.
inline Status check_header_line(const std::string& header) {
  const size_t colon = header.find(':');
  const bool one_line = header.find_first_of("\r\n") == std::string::npos && header.find('\0') == std::string::npos;
  if (colon == 0 || colon == std::string::npos || !one_line || header.find_first_of(" \t") < colon) {
    return make_error(ErrorKind::InvalidArgument, "HTTP header must be \"Name: value\" on one line (got \"" +
                                                      header.substr(0, header.find_first_of("\r\n")) + "\")");
  }
  return Status::ok();
}

// check_header_line for every header, and InvalidArgument for a CA bundle
// (given or from the environment) that cannot be read.
Status check_http_options(const HttpTransportOptions& options);

}  // namespace ws
