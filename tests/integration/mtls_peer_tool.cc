// mtls_peer_tool: a workload on the SDK Agent, for tests that need two
// workloads of different organisations talking mutual TLS over loopback.
//
//   mtls_peer_tool serve --server URL --bundle FILE --id ID --port-file F
//   mtls_peer_tool call  --server URL --bundle FILE --id ID --connect PORT
//                        --expect SERVER_ID
//
// The API key for the bootstrap comes from $AZTP_API_KEY (never argv).
// `serve` answers each connection with "ok <peer ID>" when
// Agent::AuthenticatePeer accepts the client, "denied <reason>" otherwise,
// and prints one JSON line per connection. Its agent refreshes the bundle
// set every second. `call` verifies the server with Agent::VerifyPeer,
// prints {"server": ..., "answer": ...} and exits 0 only on "ok".
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <string>

#include "aztp/base/file.h"
#include "aztp/client/agent.h"
#include "aztp/client/client.h"
#include "aztp/encoding/json.h"

namespace {

using aztp::Json;

[[noreturn]] void Die(const std::string& message) {
  std::cerr << "mtls_peer_tool: " << message << "\n";
  std::exit(2);
}

template <typename T>
T Must(aztp::Result<T> r, const char* what) {
  if (!r) Die(std::string(what) + ": " + r.error().message());
  return std::move(*r);
}

std::unique_ptr<aztp::Agent> MakeAgent(std::map<std::string, std::string>& f) {
  aztp::AgentOptions o;
  o.base_url = f["--server"];
  auto text = Must(aztp::ReadFile(f["--bundle"]), "bundle");
  o.trust_bundle = std::make_shared<const aztp::Bundle>(
      Must(aztp::ParseBundleDocument(text), "bundle"));
  o.id = Must(aztp::SpiffeId::Parse(f["--id"]), "id");
  const char* key = std::getenv("AZTP_API_KEY");
  if (key == nullptr) Die("AZTP_API_KEY is not set");
  o.api_key = aztp::SecretBytes(std::string_view(key));
  o.bundle_refresh_seconds = 1;
  o.revocation_refresh_seconds = 1;
  o.retry_seconds = 1;
  return Must(aztp::Agent::Create(std::move(o)), "agent");
}

int Serve(std::map<std::string, std::string>& f) {
  auto agent = MakeAgent(f);
  if (auto started = agent->Start(); !started) Die("agent start");
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(fd, 16) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    Die("cannot listen");
  }
  std::ofstream(f["--port-file"]) << ntohs(addr.sin_port) << "\n";
  for (;;) {
    int conn = accept(fd, nullptr, nullptr);
    if (conn < 0) continue;
    auto ctx = agent->MakeServerContext();
    if (!ctx) {
      std::cout << aztp::DumpJson(
                       Json{{"ok", false}, {"error", ctx.error().reason()}})
                << std::endl;
      close(conn);
      continue;
    }
    SSL* ssl = SSL_new(ctx->get());
    SSL_set_fd(ssl, conn);
    Json line;
    if (SSL_accept(ssl) == 1) {
      auto peer = agent->AuthenticatePeer(ssl);
      std::string answer = peer
                               ? "ok " + peer->id().str()
                               : "denied " + std::string(peer.error().reason());
      answer += "\n";
      SSL_write(ssl, answer.data(), static_cast<int>(answer.size()));
      line = peer ? Json{{"ok", true}, {"peer", peer->id().str()}}
                  : Json{{"ok", false}, {"error", peer.error().reason()}};
      SSL_shutdown(ssl);
    } else {
      line = Json{{"ok", false}, {"error", "handshake"}};
    }
    std::cout << aztp::DumpJson(line) << std::endl;
    SSL_free(ssl);
    close(conn);
  }
}

int Call(std::map<std::string, std::string>& f) {
  auto agent = MakeAgent(f);
  auto expect = Must(aztp::SpiffeId::Parse(f["--expect"]), "expect");
  auto ctx = Must(agent->MakeClientContext(), "client context");
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(std::stoi(f["--connect"])));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    Die("cannot connect");
  }
  SSL* ssl = SSL_new(ctx.get());
  SSL_set_fd(ssl, fd);
  Json out;
  int code = 1;
  if (SSL_connect(ssl) != 1) {
    out = Json{{"server", "handshake failed"}};
  } else if (auto server = agent->VerifyPeer(ssl, expect); !server) {
    out = Json{{"server", std::string(server.error().reason())}};
  } else {
    char buf[512];
    int n = SSL_read(ssl, buf, sizeof(buf) - 1);
    std::string answer = n > 0 ? std::string(buf, n) : "";
    while (!answer.empty() && answer.back() == '\n') answer.pop_back();
    out = Json{{"server", server->id().str()}, {"answer", answer}};
    code = answer.rfind("ok ", 0) == 0 ? 0 : 1;
  }
  std::cout << aztp::DumpJson(out) << std::endl;
  SSL_free(ssl);
  close(fd);
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) Die("usage: mtls_peer_tool serve|call --flag value ...");
  std::string mode = argv[1];
  std::map<std::string, std::string> flags;
  for (int i = 2; i + 1 < argc; i += 2) flags[argv[i]] = argv[i + 1];
  if (mode == "serve") return Serve(flags);
  if (mode == "call") return Call(flags);
  Die("unknown mode " + mode);
}
