// Evidence for the libpqxx suppression in lsan.supp: no qtw code, only
// libpqxx + libpq as Debian 12 ships them. One connection runs a query; a
// second terminates its backend mid-call; exec_params throws
// broken_connection. Built with -fsanitize=address, LeakSanitizer then
// reports the error PGresult allocated under PQexecParams <-
// pqxx::connection_base::exec_params, which nothing can free (see lsan.supp).
// Usage: pqxx_exec_params_leak <postgresql-uri>; exit 0 after the break.
#include <pqxx/pqxx>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s postgresql://...\n", argv[0]);
    return 2;
  }
  pqxx::connection victim(argv[1]);
  const int pid = victim.backendpid();
  std::thread killer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    pqxx::connection admin(argv[1]);
    pqxx::nontransaction tx(admin);
    tx.exec_params("SELECT pg_terminate_backend($1)", pid);
  });
  int code = 1;
  try {
    pqxx::nontransaction tx(victim);
    tx.exec_params("SELECT pg_sleep($1)", 10);
    std::fprintf(stderr, "the query was not interrupted\n");
  } catch (const pqxx::broken_connection& e) {
    std::fprintf(stderr, "broken_connection: %s\n", e.what());
    code = 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "other error: %s\n", e.what());
    code = 0;  // some libpq versions report the termination as a query error
  }
  killer.join();
  return code;
}
