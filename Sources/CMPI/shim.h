// The MPI C interface (Debian: libopenmpi-dev), and the few handles Swift cannot import because MPI defines them
// as macros over implementation globals (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, …): PruneMPI calls these wrappers.
#include <mpi.h>

static inline MPI_Comm prunekit_mpi_comm_world(void) { return MPI_COMM_WORLD; }

/// Sums `count` floats in place over every rank of MPI_COMM_WORLD; returns an MPI error code.
static inline int prunekit_mpi_allreduce_sum_float(float *values, int count) {
    return MPI_Allreduce(MPI_IN_PLACE, values, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
}

/// Sums `count` doubles in place over every rank of MPI_COMM_WORLD; returns an MPI error code.
static inline int prunekit_mpi_allreduce_sum_double(double *values, int count) {
    return MPI_Allreduce(MPI_IN_PLACE, values, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}

/// Makes MPI calls on MPI_COMM_WORLD return error codes instead of aborting inside the library.
static inline int prunekit_mpi_errors_return(void) {
    return MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}

static inline int prunekit_mpi_rank(int *rank) { return MPI_Comm_rank(MPI_COMM_WORLD, rank); }
static inline int prunekit_mpi_size(int *size) { return MPI_Comm_size(MPI_COMM_WORLD, size); }
static inline int prunekit_mpi_abort(int code) { return MPI_Abort(MPI_COMM_WORLD, code); }
static inline int prunekit_mpi_success(void) { return MPI_SUCCESS; }
