using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Qat.MLNet.Inference;
using Qat.MLNet.Onnx;
using Qat.MLNet.Quantization;
using static TorchSharp.torch;

namespace Qat.MLNet.Benchmarks;

/// <summary>
/// The <c>onnx</c> command: one thread, batch 1 and 256, the MLP and CNN of torch_qat_fmnist.py, side by side in one
/// process: the int8 engine; ONNX Runtime on our export in QDQ form and in integer-operator form (Linear as a 1x1
/// QLinearConv, the form ConvertToOnnx writes, and as MatMulInteger); ONNX Runtime on PyTorch's own QDQ and float exports
/// of the same networks (<c>../shared/tools/export_onnx.py DIR</c> writes them; pass <c>--pytorch DIR</c>).
/// Each figure is the median per-call time of 15 rounds (every engine timed in every round) after 200 warm-up calls.
/// Usage: <c>dotnet run -c Release -- onnx [--pytorch DIR] [--model mlp|cnn] [--ops] [--backend fbgemm|qnnpack] [--save DIR]</c>
/// (<c>--ops</c> prints the operators ONNX Runtime fused each graph into; <c>--save</c> writes our exports there).
/// </summary>
internal static class OnnxRuntimeComparison
{
    private const int WarmUp = 200;
    private const int Rounds = 15;

    public static void Run(string[] args)
    {
        string? pytorch = args.SkipWhile(a => a != "--pytorch").Skip(1).FirstOrDefault();
        string? only = args.SkipWhile(a => a != "--model").Skip(1).FirstOrDefault();
        var backend = args.SkipWhile(a => a != "--backend").Skip(1).FirstOrDefault() == "qnnpack" ? QuantBackend.Qnnpack : QuantBackend.Fbgemm;
        set_num_threads(1);
        Console.WriteLine($"CPU: {CpuModel()}; ONNX Runtime {OrtEnv.Instance().GetVersionString()}; int8 kernel path {QuantizedModel.BestKernelPath}; qconfig {backend}; 1 thread; median of {Rounds} rounds after {WarmUp} warm-up calls");
        Console.WriteLine("| network | batch | engine | time per call | vs int8 engine |");
        Console.WriteLine("| --- | --- | --- | --- | --- |");
        foreach (string kind in new[] { "mlp", "cnn" }.Where(k => only is null || k == only))
        {
            manual_seed(7);
            var dims = kind == "cnn" ? new long[] { 1, 28, 28 } : new long[] { 784 };
            using var qat = BenchmarkModels.PrepareAndCalibrate(kind == "cnn" ? BenchmarkModels.Cnn() : BenchmarkModels.Mlp(), backend,
                rand(new long[] { 512 }.Concat(dims).ToArray()));
            var int8 = Modules.Quantizer.Convert(qat, BenchmarkModels.InputShape(kind));
            var candidates = new List<(string Name, byte[] Model, string Input)>
            {
                ("ORT, our QDQ export", Export(int8, QatOnnxForm.Qdq, OnnxLinearForm.Conv1x1), "input"),
                ("ORT, our integer export (Linear as 1x1 QLinearConv)", Export(int8, QatOnnxForm.IntegerOperators, OnnxLinearForm.Conv1x1), "input"),
                ("ORT, our integer export (Linear as MatMulInteger; ConvertToOnnx's form)", Export(int8, QatOnnxForm.IntegerOperators, OnnxLinearForm.MatMulInteger), "input"),
            };
            if (pytorch is not null)
            {
                candidates.Add(("ORT, PyTorch's QDQ export", File.ReadAllBytes(Path.Combine(pytorch, $"{kind}_qdq.onnx")), "x"));
                candidates.Add(("ORT, PyTorch's float export", File.ReadAllBytes(Path.Combine(pytorch, $"{kind}_float.onnx")), "x"));
            }
            if (args.SkipWhile(a => a != "--save").Skip(1).FirstOrDefault() is { } saveTo)
            {
                Directory.CreateDirectory(saveTo);
                for (int i = 0; i < candidates.Count; i++)
                    File.WriteAllBytes(Path.Combine(saveTo, $"{kind}_candidate{i}.onnx"), candidates[i].Model);
            }
            if (args.Contains("--ops"))
            {
                foreach (var (name, model, _) in candidates)
                    Console.WriteLine($"// {kind}, {name}: {string.Join(" ", OptimizedOperators(model))}");
            }
            foreach (int batch in new[] { 1, 256 })
            {
                var input = new float[batch * 784];
                var random = new Random(1);
                for (int i = 0; i < input.Length; i++)
                    input[i] = (float)random.NextDouble();
                var output = new float[batch * int8.OutputSize];
                int calls = batch == 1 ? 2000 : (kind == "cnn" ? 20 : 100);
                var runners = new List<(string Name, Action Call, IDisposable? Session)> { ("int8 engine (managed)", () => int8.Predict(input, output, batch), null) };
                foreach (var (name, model, inputName) in candidates)
                {
                    var session = new OrtRunner(model, inputName, input, batch);
                    runners.Add((name, session.Run, session));
                }
                // Round-robin: every engine is timed in every round, so drift (clock, caches) favours none of them.
                var times = Medians(runners.Select(r => r.Call).ToArray(), calls);
                for (int i = 0; i < runners.Count; i++)
                {
                    Console.WriteLine(FormattableString.Invariant($"| {kind} | {batch} | {runners[i].Name} | {Format(times[i])} | {times[i] / times[0]:F2}x |"));
                    runners[i].Session?.Dispose();
                }
            }
        }
    }

    private static byte[] Export(QuantizedModel model, QatOnnxForm form, OnnxLinearForm linear)
    {
        using var stream = new MemoryStream();
        model.ExportToOnnx(stream, new QatOnnxExportOptions { Form = form, LinearForm = linear });
        return stream.ToArray();
    }

    /// <summary>One ONNX Runtime session with its input and output bound once (no allocation per call).</summary>
    private sealed class OrtRunner : IDisposable
    {
        private readonly InferenceSession _session;
        private readonly OrtValue _input;
        private readonly OrtValue _output;
        private readonly RunOptions _run = new();
        private readonly string[] _inputNames;
        private readonly string[] _outputNames;

        public OrtRunner(byte[] model, string inputName, float[] input, int batch)
        {
            using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL };
            _session = new InferenceSession(model, options);
            string outputName = _session.OutputMetadata.Keys.First();
            int outputs = (int)_session.OutputMetadata[outputName].Dimensions[^1];
            _input = OrtValue.CreateTensorValueFromMemory(input, new long[] { batch, 784 });
            _output = OrtValue.CreateTensorValueFromMemory(new float[batch * outputs], new long[] { batch, outputs });
            (_inputNames, _outputNames) = ([inputName], [outputName]);
        }

        public void Run() => _session.Run(_run, _inputNames, [_input], _outputNames, [_output]);

        public void Dispose()
        {
            _session.Dispose();
            _input.Dispose();
            _output.Dispose();
            _run.Dispose();
        }
    }

    /// <summary>The operators ONNX Runtime runs after its optimizations (what it fused the graph into).</summary>
    private static IEnumerable<string> OptimizedOperators(byte[] model)
    {
        string path = Path.Combine(Path.GetTempPath(), $"qat-bench-optimized-{Guid.NewGuid():N}.onnx");
        try
        {
            using (var options = new SessionOptions { IntraOpNumThreads = 1, OptimizedModelFilePath = path, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_EXTENDED })
            using (new InferenceSession(model, options))
            {
            }
            return global::Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(path)).Graph.Node.Select(n => n.OpType).ToList();
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Per engine, the median over rounds of the mean time per call in microseconds, after the warm-up calls.</summary>
    internal static double[] Medians(Action[] engines, int calls)
    {
        foreach (var call in engines)
        {
            for (int i = 0; i < WarmUp; i++)
                call();
        }
        var times = engines.Select(_ => new double[Rounds]).ToArray();
        for (int r = 0; r < Rounds; r++)
        {
            for (int e = 0; e < engines.Length; e++)
            {
                var clock = Stopwatch.StartNew();
                for (int i = 0; i < calls; i++)
                    engines[e]();
                times[e][r] = clock.Elapsed.TotalMicroseconds / calls;
            }
        }
        return times.Select(t => t.Order().ElementAt(Rounds / 2)).ToArray();
    }

    internal static string Format(double microseconds) => microseconds >= 1000
        ? FormattableString.Invariant($"{microseconds / 1000:F2} ms")
        : FormattableString.Invariant($"{microseconds:F1} us");

    internal static string CpuModel() =>
        File.Exists("/proc/cpuinfo") ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown" : "unknown";
}
