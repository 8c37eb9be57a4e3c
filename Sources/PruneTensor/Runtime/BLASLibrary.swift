import CBLAS

/// What the linked OpenBLAS is and which kernels it runs, for benchmark headers and reports.
///
/// A `DYNAMIC_ARCH` OpenBLAS picks its kernel set for the CPU when it loads, unless `OPENBLAS_CORETYPE`
/// names one; the configuration string names only the build's baseline target. On an AVX-512 CPU the
/// difference matters: on the 2-core development machine `sgemm` runs at about 230 GFLOP/s on the AVX2
/// `Haswell` kernels and about 400 GFLOP/s on the AVX-512 `Cooperlake` kernels OpenBLAS picks itself.
public enum BLASLibrary {
    /// The kernel set OpenBLAS runs, as `openblas_get_corename()` names it (for example `Cooperlake`).
    public static var kernelSet: String { String(cString: openblas_get_corename()) }

    /// The build configuration (`openblas_get_config()`), for example
    /// `OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64`.
    public static var configuration: String { String(cString: openblas_get_config()) }

    /// Both, for one header line: `<configuration>; kernels <kernel set>`.
    public static var summary: String { "\(configuration); kernels \(kernelSet)" }
}
