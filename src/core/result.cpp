#include "core/result.h"

namespace ws {

const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::InvalidArgument: return "InvalidArgument";
    case ErrorKind::Io: return "Io";
    case ErrorKind::Http: return "Http";
    case ErrorKind::InvalidHeader: return "InvalidHeader";
    case ErrorKind::InvalidIndex: return "InvalidIndex";
    case ErrorKind::InvalidConfig: return "InvalidConfig";
    case ErrorKind::Truncated: return "Truncated";
    case ErrorKind::ShapeMismatch: return "ShapeMismatch";
    case ErrorKind::MissingTensor: return "MissingTensor";
    case ErrorKind::UnexpectedTensor: return "UnexpectedTensor";
    case ErrorKind::Unsupported: return "Unsupported";
    case ErrorKind::OutOfBudget: return "OutOfBudget";
    case ErrorKind::Cancelled: return "Cancelled";
    case ErrorKind::NotFound: return "NotFound";
    case ErrorKind::Device: return "Device";
    case ErrorKind::Timeout: return "Timeout";
    case ErrorKind::Template: return "Template";
  }
  return "Unknown";
}

}  // namespace ws
