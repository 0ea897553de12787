using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace Qat.MLNet.Benchmarks;

/// <summary>
/// The benchmark configuration: BenchmarkDotNet's defaults, run in process. A TorchSharp project copies ~1 GB of native
/// libraries into every build output, so BenchmarkDotNet's usual separate project per run is avoided.
/// </summary>
public static class BenchmarkConfig
{
    /// <summary>Creates the configuration.</summary>
    public static IConfig Create() => DefaultConfig.Instance
        .AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithWarmupCount(3).WithIterationCount(15))
        .AddDiagnoser(MemoryDiagnoser.Default)
        .WithOptions(ConfigOptions.DisableOptimizationsValidator);
}
