using System.Diagnostics;
using Qat.MLNet.Quantization;
using static TorchSharp.torch;

namespace Qat.MLNet.Benchmarks;

/// <summary>
/// The <c>coldstart</c> command: in a fresh process, the first 1,000 batch-1 calls of the int8 engine and of TorchSharp
/// float on the same network, then the same 1,000 calls again after 20,000 more (steady state, tiered JIT done).
/// Usage: <c>dotnet run -c Release -- coldstart --model mlp|cnn [--save-model FILE]</c>; run it once per process (it measures a
/// cold process). <c>--save-model</c> only writes the int8 model, for the serving-only cold start (benchmarks/README.md).
/// </summary>
internal static class ColdStart
{
    public static void Run(string[] args)
    {
        string kind = args.SkipWhile(a => a != "--model").Skip(1).FirstOrDefault() ?? "mlp";
        set_num_threads(1);
        manual_seed(7);
        var shape = BenchmarkModels.InputShape(kind);
        var dims = kind == "cnn" ? new long[] { 1, 28, 28 } : new long[] { 784 };
        var network = kind == "cnn" ? BenchmarkModels.Cnn() : BenchmarkModels.Mlp();
        using var qat = BenchmarkModels.PrepareAndCalibrate(network, QuantBackend.Fbgemm, rand(new long[] { 256 }.Concat(dims).ToArray()));
        var int8 = Modules.Quantizer.Convert(qat, shape);
        if (args.SkipWhile(a => a != "--save-model").Skip(1).FirstOrDefault() is { } modelPath)
        {
            // For cold starts in a process without TorchSharp (a service that only scores): benchmarks/README.md.
            int8.Save(modelPath);
            Console.WriteLine($"saved {modelPath}");
            return;
        }
        network.eval();
        var one = rand(new long[] { 1 }.Concat(dims).ToArray());
        var input = one.data<float>().ToArray();
        var output = new float[int8.OutputSize];

        double Int8(int calls)
        {
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < calls; i++)
                int8.Predict(input, output, 1);
            return clock.Elapsed.TotalMicroseconds / calls;
        }

        double Float(int calls)
        {
            var clock = Stopwatch.StartNew();
            using var noGrad = no_grad();
            for (int i = 0; i < calls; i++)
            {
                using var scope = NewDisposeScope();
                network.forward(one);
            }
            return clock.Elapsed.TotalMicroseconds / calls;
        }

        // The first call (which JIT-compiles the kernels), then calls 2-200 and 201-1000 (the 200-call warm-up).
        double int8First = Int8(1), int8Next = Int8(199), int8After200 = Int8(800);
        double int8Cold = (int8First + 199 * int8Next + 800 * int8After200) / 1000;
        double floatCold = Float(1000);
        Int8(20_000);
        Float(5_000);
        double int8Warm = Int8(1000), floatWarm = Float(1000);
        Console.WriteLine(FormattableString.Invariant(
            $"{kind} batch 1, kernel path {int8.KernelPath}: first 1000 calls int8 {int8Cold:F1} us, TorchSharp float {floatCold:F1} us; ") +
            FormattableString.Invariant($"steady state int8 {int8Warm:F1} us, float {floatWarm:F1} us; int8 cold / warm {int8Cold / int8Warm:F2}x; ") +
            FormattableString.Invariant($"int8 first call {int8First:F0} us, calls 2-200 {int8Next:F1} us, calls 201-1000 {int8After200:F1} us ({int8After200 / int8Warm:F2}x steady)"));
    }
}
