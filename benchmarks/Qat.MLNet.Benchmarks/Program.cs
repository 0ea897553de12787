using BenchmarkDotNet.Running;

namespace Qat.MLNet.Benchmarks;

/// <summary>Runs the benchmarks: <c>dotnet run -c Release -- --filter '*'</c>, or the training benchmark with <c>-- train</c> (see benchmarks/README.md).</summary>
public static class Program
{
    /// <summary>Entry point: BenchmarkDotNet's switcher over every benchmark class in this assembly.</summary>
    public static void Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "train")
        {
            TrainingBenchmark.Run(args);
            return;
        }
        if (args.Length > 0 && args[0] == "coldstart")
        {
            ColdStart.Run(args);
            return;
        }
        if (args.Length > 0 && args[0] == "tabular")
        {
            TabularBenchmark.Run(args);
            return;
        }
        if (args.Length > 0 && args[0] == "mixture")
        {
            MixtureProbe.Run(args);
            return;
        }
        if (args.Length > 0 && args[0] == "memory")
        {
            MemoryPeak.Run(args);
            return;
        }
        if (args.Length > 0 && args[0] == "experiment")
        {
            ExperimentBenchmark.Run(args);
            return;
        }
        if (args.Length > 0 && args[0] == "scoring")
        {
            ScoringAtScale.Run(args);
            return;
        }
        if (args.Length > 0 && args[0] == "onnx")
        {
            OnnxRuntimeComparison.Run(args);
            return;
        }
        if (args.Length > 0 && args[0] == "int8-accuracy")
        {
            Int8AccuracyBenchmark.Run(args);
            return;
        }
        if (args.Length > 0 && args[0] == "kernels")
        {
            KernelPathComparison.Run(args);
            return;
        }
        if (args.Length > 0 && args[0] == "layers")
        {
            LayerProfile.Run(args);
            return;
        }
        Console.WriteLine($"Allocator: {(Environment.GetEnvironmentVariable("LD_PRELOAD") is { Length: > 0 } preload ? preload : "glibc malloc (no LD_PRELOAD)")}");
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, BenchmarkConfig.Create());
    }
}
