#include "app_setup.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <functional>
#include <iostream>
#include <set>
#include <utility>
#include <vector>

#include "cli_util.h"

#ifndef QTW_VERSION
#define QTW_VERSION "unknown"
#endif
#ifndef QTW_GIT_DESCRIBE
#define QTW_GIT_DESCRIBE ""
#endif

namespace qtw::cli {
namespace {

// Named subcommands only: CLI11 keeps option groups as nameless subcommands.
std::vector<CLI::App*> commands_of(CLI::App& app) {
  return app.get_subcommands([](CLI::App* s) { return !s->get_name().empty(); });
}

// Every option of `app` and of its option groups.
std::vector<const CLI::Option*> options_of(CLI::App& app) {
  std::vector<const CLI::Option*> out = std::as_const(app).get_options();
  for (auto* group : app.get_subcommands([](CLI::App* s) { return s->get_name().empty(); })) {
    for (const auto* o : std::as_const(*group).get_options()) out.push_back(o);
  }
  return out;
}

// "--json -o --output ..." for completion.
std::vector<std::string> option_words(CLI::App& app) {
  std::vector<std::string> words;
  for (const auto* o : options_of(app)) {
    for (const auto& l : o->get_lnames()) words.push_back("--" + l);
    for (const auto& s : o->get_snames()) words.push_back("-" + s);
  }
  return words;
}

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

// Drops the names `app` already uses itself from a "--a,-b" option spec.
std::string free_names(CLI::App& app, const std::string& spec) {
  std::string out;
  std::size_t start = 0;
  while (start <= spec.size()) {
    const auto comma = spec.find(',', start);
    const std::string name = spec.substr(start, comma == std::string::npos ? std::string::npos
                                                                           : comma - start);
    if (!name.empty() && app.get_option_no_throw(name) == nullptr) {
      out += (out.empty() ? "" : ",") + name;
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

void add_globals(CLI::App& app, GlobalOptions& global) {
  auto* group = app.add_option_group("Global options",
                                     "Accepted before or after any command name");
  if (auto n = free_names(app, "--config"); !n.empty()) {
    group->add_option(n, global.config_path,
                      "TOML config file (must exist). Default: QTW_CONFIG, else the first of "
                      "./qtw.toml, $XDG_CONFIG_HOME/qtw/qtw.toml (~/.config/qtw/qtw.toml), "
                      "/etc/qtw/qtw.toml");
  }
  if (auto n = free_names(app, "--store"); !n.empty()) {
    group->add_option(n, global.store,
                      "Store: a SQLite file path or postgresql://... URI (default QTW_STORE, "
                      "else [store] path, else ./qtw.db)");
  }
  if (auto n = free_names(app, "--rpc-url,--url,-u"); !n.empty()) {
    group
        ->add_option(n, global.rpc_url,
                     "Solana JSON-RPC URL or l (localhost), d (devnet), t (testnet), m "
                     "(mainnet-beta). Default QTW_RPC_URL, else [rpc] url, else "
                     "http://127.0.0.1:8899")
        ->transform(CLI::Validator(
            [](std::string& value) -> std::string {
              auto url = resolve_cluster_url(value);
              if (!url) return url.error().message;
              value = *url;
              return {};
            },
            "URL|l|d|t|m"));
  }
  if (auto n = free_names(app, "--json"); !n.empty()) {
    group->add_flag(n, global.json, "Machine-readable JSON output (errors too, on stderr)");
  }
  if (auto n = free_names(app, "--output,-o"); !n.empty()) {
    group->add_option(n)
        ->description("Output format: json, json-compact or display (default display)")
        ->check(CLI::IsMember({"json", "json-compact", "display"}))
        ->each([&global](const std::string& v) { global.json = v != "display"; });
  }
}

void add_globals_recursively(CLI::App& app, GlobalOptions& global) {
  add_globals(app, global);
  for (auto* sub : commands_of(app)) add_globals_recursively(*sub, global);
}

// Every command path ("", "keys", "keys list", ...) with its app.
void walk(CLI::App& app, const std::string& path,
          const std::function<void(const std::string&, CLI::App&)>& visit) {
  visit(path, app);
  for (auto* sub : commands_of(app)) {
    walk(*sub, path.empty() ? sub->get_name() : path + " " + sub->get_name(), visit);
  }
}

std::string bash_script(CLI::App& app) {
  std::string paths;
  std::string cases;
  walk(app, "", [&](const std::string& path, CLI::App& a) {
    std::vector<std::string> words;
    for (auto* sub : commands_of(a)) words.push_back(sub->get_name());
    for (const auto& w : option_words(a)) words.push_back(w);
    if (!path.empty()) paths += "      \" " + path + "\") path=\"$path $w\" ;;\n";
    cases += "    \"" + (path.empty() ? "" : " " + path) + "\") words=\"" + join(words) +
             "\" ;;\n";
  });
  // Replace the "$path $w" case patterns: the loop matches the candidate path.
  std::string script =
      "# bash completion for qtw (generated by `qtw completion bash`)\n"
      "_qtw() {\n"
      "  local cur=\"${COMP_WORDS[COMP_CWORD]}\" path=\"\" w i words\n"
      "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      "    w=\"${COMP_WORDS[i]}\"\n"
      "    case \"$path $w\" in\n" +
      paths +
      "    esac\n"
      "  done\n"
      "  case \"$path\" in\n" +
      cases +
      "    *) words=\"\" ;;\n"
      "  esac\n"
      "  COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
      "}\n"
      "complete -o default -F _qtw qtw\n";
  return script;
}

std::string fish_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\n') {
      out += ' ';
      continue;
    }
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

std::string fish_script(CLI::App& app) {
  std::string out = "# fish completion for qtw (generated by `qtw completion fish`)\n";
  out += "complete -c qtw -f\n";
  walk(app, "", [&](const std::string& path, CLI::App& a) {
    // Condition: the words of `path` were seen (top level: no command yet).
    std::string cond = "__fish_use_subcommand";
    if (!path.empty()) {
      cond = "";
      std::size_t start = 0;
      while (true) {
        const auto sp = path.find(' ', start);
        cond += (cond.empty() ? "" : "; and ") + std::string("__fish_seen_subcommand_from ") +
                path.substr(start, sp == std::string::npos ? std::string::npos : sp - start);
        if (sp == std::string::npos) break;
        start = sp + 1;
      }
    }
    for (auto* sub : commands_of(a)) {
      out += "complete -c qtw -n " + fish_quote(cond) + " -a " + sub->get_name() + " -d " +
             fish_quote(first_line(sub->get_description())) + "\n";
    }
    for (const auto* o : options_of(a)) {
      std::string names;
      for (const auto& l : o->get_lnames()) names += " -l " + l;
      for (const auto& s : o->get_snames()) names += " -s " + s;
      if (names.empty()) continue;
      out += "complete -c qtw -n " + fish_quote(cond) + names +
             (o->get_items_expected_min() > 0 ? " -r" : "") + " -d " +
             fish_quote(first_line(o->get_description())) + "\n";
    }
  });
  return out;
}

}  // namespace

std::string version_string() {
  std::string v = std::string("qtw ") + QTW_VERSION;
  if (std::string(QTW_GIT_DESCRIBE).size() > 0) v += std::string(" (git ") + QTW_GIT_DESCRIBE + ")";
  return v;
}

void add_global_options_everywhere(CLI::App& app, GlobalOptions& global) {
  add_globals_recursively(app, global);
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::optional<std::string> check_command_names(CLI::App& app, int argc, char** argv) {
  CLI::App* current = &app;
  std::string path = "qtw";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") return std::nullopt;
    if (arg.size() > 1 && arg[0] == '-') {
      if (arg.find('=') != std::string::npos) continue;
      const auto* opt = current->get_option_no_throw(arg);
      // Short options may carry their value attached (-ul): skip only a
      // separate value.
      if (opt != nullptr && opt->get_items_expected_min() > 0 &&
          !(arg[1] != '-' && arg.size() > 2)) {
        ++i;
      }
      continue;
    }
    auto subs = commands_of(*current);
    if (subs.empty()) return std::nullopt;  // positional arguments from here on
    auto found = std::find_if(subs.begin(), subs.end(),
                              [&](CLI::App* s) { return s->check_name(arg); });
    if (found != subs.end()) {
      current = *found;
      path += " " + (*found)->get_name();
      continue;
    }
    std::string best;
    std::size_t best_distance = SIZE_MAX;
    for (auto* s : subs) {
      const std::size_t d = edit_distance(arg, s->get_name());
      if (d < best_distance) {
        best_distance = d;
        best = s->get_name();
      }
    }
    std::string msg = "unknown command '" + arg + "'";
    if (current != &app) msg += " for `" + path + "`";
    if (best_distance <= std::max<std::size_t>(2, best.size() / 3)) {
      msg += "; did you mean `" + path + " " + best + "`?";
    } else {
      msg += "; run `" + path + " --help` for the list";
    }
    return msg;
  }
  return std::nullopt;
}

bool json_requested(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--json" || a == "--output=json" || a == "-ojson" || a == "--output=json-compact") {
      return true;
    }
    if ((a == "-o" || a == "--output") && i + 1 < argc) {
      const std::string v = argv[i + 1];
      if (v == "json" || v == "json-compact") return true;
    }
  }
  return false;
}

void register_completion_command(CLI::App& app, GlobalOptions& global) {
  auto shell = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "completion",
      "Print a shell completion script: bash (source <(qtw completion bash)), zsh or fish");
  cmd->add_option("shell", *shell, "bash, zsh or fish")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh", "fish"}));
  cmd->callback([shell, &app, &global] {
    if (*shell == "bash") {
      std::cout << bash_script(app);
    } else if (*shell == "zsh") {
      std::cout << "#compdef qtw\n# zsh completion for qtw (generated by `qtw completion zsh`)\n"
                   "autoload -U +X bashcompinit && bashcompinit\n"
                << bash_script(app);
    } else {
      std::cout << fish_script(app);
    }
    global.exit_code = 0;
  });
}

}  // namespace qtw::cli
