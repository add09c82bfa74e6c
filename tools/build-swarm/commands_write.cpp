#include <fstream>
#include <sstream>

#include "build-swarm/cli.hpp"
#include "build-swarm/commands.hpp"
#include "build-swarm/render.hpp"
#include "build-swarm/submission.hpp"
#include "common/http_types.hpp"

namespace swarm::cli {

using nlohmann::json;

namespace {

Result<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorKind::io, "cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return make_error(ErrorKind::io, "cannot read " + path);
  return ss.str();
}

std::string plural(int64_t n, const std::string& word) { return std::to_string(n) + " " + word + (n == 1 ? "" : "s"); }

// Reads the packages from the one source given; errors name the file.
Result<std::vector<PackageSpec>> load_packages(const SubmitArgs& args, EmergeSummary* summary) {
  if (!args.atoms.empty()) return packages_from_atoms(args.atoms);
  const std::string& path = !args.file.empty() ? args.file : !args.graph.empty() ? args.graph : args.from_emerge;
  auto text = read_text(path);
  if (!text) return text.error();
  Result<std::vector<PackageSpec>> packages = make_error(ErrorKind::internal, "no source");
  if (!args.file.empty())
    packages = packages_from_list(*text);
  else if (!args.graph.empty())
    packages = packages_from_graph(*text);
  else
    packages = packages_from_emerge(*text, summary);
  if (!packages) return make_error(ErrorKind::invalid, path + ": " + packages.error().message);
  return packages;
}

void render_submit_answer(const CommandContext& ctx, const SubmitArgs& args, size_t sent, const EmergeSummary& summary,
                          const json& a) {
  ctx.out << "Submitted " << plural(static_cast<int64_t>(sent), "package");
  if (!args.from_emerge.empty()) ctx.out << " and " << plural(static_cast<int64_t>(summary.edges), "dependency edge");
  if (summary.rebuilds || summary.blockers_skipped)
    ctx.out << " (" << summary.rebuilds << " to rebuild, "
            << plural(static_cast<int64_t>(summary.blockers_skipped), "blocker") << " skipped)";
  ctx.out << " as run " << cell(member(a, "run")) << ": " << count_of(a, "added") << " added, "
          << count_of(a, "skipped") << " skipped\n";
  const json& rejected = member(a, "rejected");
  if (rejected.is_array())
    for (const auto& r : rejected)
      ctx.out << "  rejected " << cell(member(r, "atom")) << ": " << cell(member(r, "reason")) << "\n";
  const json& cycles = member(a, "cycles_broken");
  if (cycles.is_array())
    for (const auto& c : cycles) {
      if (c.is_object()) {
        ctx.out << "  cycle broken: " << cell(member(c, "from")) << " no longer waits for " << cell(member(c, "to"))
                << "\n";
      } else {
        ctx.out << "  cycle broken: " << cell(c) << "\n";
      }
    }
}

}  // namespace

int cmd_submit(const CommandContext& ctx, const SubmitArgs& args) {
  int sources = (!args.atoms.empty()) + (!args.file.empty()) + (!args.graph.empty()) + (!args.from_emerge.empty());
  if (sources != 1) return usage(ctx.err, "submit: give atoms, or exactly one of --file, --graph, --from-emerge");
  EmergeSummary summary;
  auto packages = load_packages(args, &summary);
  if (!packages) {
    // Atoms typed on the command line are usage errors; files that do not hold what they should are failures.
    if (!args.atoms.empty()) return usage(ctx.err, "submit: " + packages.error().message);
    return fail(ctx, "submit: " + packages.error().message);
  }
  QueueSubmit submission;
  submission.packages = std::move(*packages);
  if (args.priority != 0)
    for (auto& p : submission.packages)
      if (p.priority == 0) p.priority = args.priority;
  if (args.fingerprint) {
    auto fp = local_fingerprint(ctx.runner, args.fingerprint_source);
    if (!fp) return fail(ctx, "submit --fingerprint: " + fp.error().message);
    submission.fingerprint = fp->to_json();
  }
  submission.repo_revision = args.repo_revision;
  if (!args.orchestrator.empty()) submission.orchestrator = args.orchestrator;
  if (!args.from_emerge.empty() && !summary.tree)
    ctx.err << "build-swarm: warning: no dependency edges in " << args.from_emerge
            << ": run emerge with --tree to let the swarm schedule by dependencies; submitting in merge order\n";
  auto a = ctx.api.post("/api/v1/queue", submission.to_json());
  if (!a) return fail(ctx, a.error().message);
  if (ctx.json && !args.from_emerge.empty() && a->json.is_object()) {
    // The gateway's answer, plus what was read from the emerge output.
    json answer = a->json;
    answer["from_emerge"] = {{"packages", submission.packages.size()},
                             {"edges", summary.edges},
                             {"rebuilds", summary.rebuilds},
                             {"blockers_skipped", summary.blockers_skipped},
                             {"tree", summary.tree}};
    ctx.out << answer.dump() << "\n";
  } else if (ctx.json) {
    print_raw(ctx, a->body);
  } else {
    render_submit_answer(ctx, args, submission.packages.size(), summary, a->json);
  }
  return kExitOk;
}

int cmd_queue_action(const CommandContext& ctx, const std::string& action, const QueueAction& target) {
  auto a = ctx.api.post("/api/v1/queue/" + action, target.to_json());
  if (!a) return fail(ctx, a.error().message);
  if (ctx.json) {
    print_raw(ctx, a->body);
    return kExitOk;
  }
  std::string what = target.atom ? *target.atom : target.run ? "run " + std::to_string(*target.run) : "all runs";
  ctx.out << action << " " << what << ": ok";
  for (const char* k : {"changed", "count", "affected", "updated"})
    if (member(a->json, k).is_number()) {
      ctx.out << " (" << count_of(a->json, k) << " changed)";
      break;
    }
  ctx.out << "\n";
  return kExitOk;
}

int cmd_drone_admin(const CommandContext& ctx, const std::string& action, const std::string& name) {
  auto a = ctx.api.post("/api/v1/drones/" + url_encode(name) + "/" + action, json::object());
  if (!a) return fail(ctx, a.error().message);
  if (ctx.json) {
    print_raw(ctx, a->body);
  } else {
    ctx.out << name << ": " << (action == "approve" ? "approved" : "revoked") << "\n";
  }
  return kExitOk;
}

int cmd_token_create(const CommandContext& ctx, const std::string& name) {
  auto a = ctx.api.post("/api/v1/tokens", json{{"name", name}});
  if (!a) return fail(ctx, a.error().message);
  if (ctx.json) {
    print_raw(ctx, a->body);
    return kExitOk;
  }
  const json& token = member(a->json, "token");
  if (!token.is_string()) return fail(ctx, "the gateway's answer holds no token");
  // The token alone on stdout, so `build-swarm token create x > file` stores just the token.
  ctx.out << token.get<std::string>() << "\n";
  ctx.err << "Token for drone '" << name << "': shown once, the gateway keeps only its hash. Put it in the drone's "
          << "configuration.\n";
  return kExitOk;
}

int cmd_binhost_rollback(const CommandContext& ctx, const std::string& orchestrator, const std::string& snapshot) {
  json body = json::object();
  if (!orchestrator.empty()) body["orchestrator"] = orchestrator;
  if (!snapshot.empty()) {
    bool numeric = snapshot.size() < 18 && snapshot.find_first_not_of("0123456789") == std::string::npos;
    body["snapshot"] = numeric ? json(std::stoll(snapshot)) : json(snapshot);
  }
  auto a = ctx.api.post("/api/v1/binhost/rollback", body);
  if (!a) return fail(ctx, a.error().message);
  if (ctx.json) {
    print_raw(ctx, a->body);
  } else {
    ctx.out << "Rolled back" << (snapshot.empty() ? "" : " to snapshot " + snapshot) << "\n";
    if (a->json.is_object() && !a->json.empty()) render_object(a->json, ctx.out, "  ");
  }
  return kExitOk;
}

}  // namespace swarm::cli
