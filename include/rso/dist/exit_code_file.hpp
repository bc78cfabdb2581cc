// The job's exit code where the launcher does not pass it on.
//
// Open MPI's mpirun, sent SIGTERM (scancel, preemption), forwards the signal,
// waits for the ranks (which checkpoint and exit 75) and then exits 1 itself,
// so a job script that requeues on 75 never sees it. With RSO_EXIT_CODE_FILE
// set, rank 0 writes its exit code there (one line, atomically) as it ends;
// the job scripts read it when the launcher reports a failure. Rank 0 exits
// 75 only after a checkpoint every rank took part in, so "75" in the file
// means the whole job stopped cleanly.
#pragma once

namespace rso {

inline constexpr const char* exit_code_file_variable = "RSO_EXIT_CODE_FILE";

// On rank 0 with the variable set: writes `code`. Never throws; a file that
// cannot be written is reported on stderr.
void write_exit_code_file(int rank, int code);

}  // namespace rso
