#pragma once
// Phase markers: a debug hook for the crash harness (scripts/chaos).
//
// When the environment variable QTW_PHASE_MARKERS is "1" at the first call,
// mark_phase("claim") writes one line, "QTW_PHASE claim\n", to stderr with a
// single write(2): unbuffered (a kill -9 right after it loses nothing) and
// never interleaved with another thread's line. The harness reads these
// lines to know what the daemon was doing when it killed it (start-up, a
// claim, a signature, a send, a confirmation). Otherwise it does nothing
// beyond one relaxed atomic load. Never logs anything but the phase name.
//
// Thread safety: safe from any thread.
namespace qtw {

void mark_phase(const char* phase) noexcept;

}  // namespace qtw
