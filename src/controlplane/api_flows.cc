// Identity flow routes: answered once flows land (the store holds them
// already); until then every /v1/flows route is 404.
#include "api.h"

namespace aztp {

Result<Json> ControlPlane::FlowsApi(const http::Request&, const Principal&,
                                    UnixTime, Reply& reply) {
  reply.route = "/v1/flows";
  return Error(Code::kNotFound, "no such route");
}

}  // namespace aztp
