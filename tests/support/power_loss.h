#pragma once
// Simulated power loss for crash tests: what a machine's disk holds after the power goes out, as
// opposed to SIGKILL (after which the page cache still writes everything back).
//
// A process started with PowerLossEnvironment() runs with the power_loss_shim library preloaded
// (the model is leveldb's FaultInjectionTestEnv, moved below the process so that every library in
// it — loch's WAL and object store, SQLite, DuckDB — is observed unchanged). The shim keeps a
// "shadow" of the tree under ROOT as a disk would hold it:
//   - a regular file's content is what it held at its last fsync/fdatasync (writes since then are
//     lost; an fsync copies the ranges written since the previous one, or the whole file when it
//     changed in a way the shim did not see);
//   - a directory's entries are what they were at its last fsync (files or folders created,
//     renamed or removed since then are not, or still are, there);
//   - the tree as it was when the process started counts as synced.
// After the process is killed, RestoreAfterPowerLoss() replaces ROOT with that shadow; the next
// process then finds what it would find after a reboot. What a sync makes durable is read before
// the real fsync runs, so writes racing with it (other threads') count as unsynced. sync() and
// syncfs() shadow the whole tree. Not seen: data written through shared mmap (not durable anyway
// for what loch maps) and writes libc makes internally (stdio's fwrite; an fsync after them copies
// the whole file when its mtime moved).
//
// Shadow layout (SHADOW is a folder of the test's):
//   SHADOW/root                 "<identity>\n" of ROOT's directory
//   SHADOW/dirs/<identity>      a directory's synced entries: "<d|f> <identity> <mode> <name>\n"
//   SHADOW/files/<identity>     a regular file's synced content (absent: never synced, empty)
// where an identity is "<inode>-<birth time ns>": unique even when the file system reuses inodes.

#include <string>
#include <vector>

namespace loch::testing_support {

// "NAME=value" words that make a child process run under the shim, shadowing ROOT into SHADOW
// (created empty; ROOT's current tree is its starting point). The shim is active only in the
// process that was started with them, not in processes it starts.
std::vector<std::string> PowerLossEnvironment(const std::string& root, const std::string& shadow);

// Which of the two extremes a power loss leaves (a real disk can leave anything in between).
enum class PowerLoss {
  // Names as of their folders' last fsync, contents as of their files' last fsync.
  kSyncedNamesAndContents,
  // Every name as it is now (each create and rename reached the disk), contents as of their
  // files' last fsync: catches a rename published before the file's data was synced.
  kCurrentNamesSyncedContents,
};

// Replaces what is under `root` by what the shadow says survives `loss` (the process that kept the
// shadow must be dead). False, with the reason in `error`, if the shadow is unreadable.
bool RestoreAfterPowerLoss(const std::string& shadow, const std::string& root, std::string* error,
                           PowerLoss loss = PowerLoss::kSyncedNamesAndContents);

}  // namespace loch::testing_support
