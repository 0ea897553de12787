using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Qat.MLNet.Inference;
using Qat.MLNet.OnnxRuntime;
using Qat.MLNet.Quantization;
using Qat.MLNet.Scoring;
using static TorchSharp.torch;

namespace Qat.MLNet.Benchmarks;

/// <summary>
/// The <c>scoring</c> command: the MLP and CNN of torch_qat_fmnist.py over 20,000 rows, side by side in one process:
/// the engine in batches of 256 on 1 and 2 threads; ML.NET <c>Transform</c> (block cursor) reading Score on 1 and 2
/// threads; the same Transform with ONNX Runtime scoring its blocks (Qat.MLNet.OnnxRuntime); one row per call through a PredictionEngine (the former Transform path's cost); and the model's resident
/// bytes per weight. Median of 5 rounds. Usage: <c>dotnet run -c Release -- scoring [--model mlp|cnn]</c>.
/// </summary>
internal static class ScoringAtScale
{
    private const int Rows = 20_000;
    private const int Rounds = 5;

    public static void Run(string[] args)
    {
        string? only = args.SkipWhile(a => a != "--model").Skip(1).FirstOrDefault();
        set_num_threads(1);
        Console.WriteLine($"CPU: {OnnxRuntimeComparison.CpuModel()}; {Environment.ProcessorCount} cores; kernel path {QuantizedModel.BestKernelPath}; {Rows} rows; median of {Rounds} rounds");
        foreach (string kind in new[] { "mlp", "cnn" }.Where(k => only is null || k == only))
        {
            manual_seed(7);
            var dims = kind == "cnn" ? new long[] { 1, 28, 28 } : new long[] { 784 };
            using var qat = BenchmarkModels.PrepareAndCalibrate(kind == "cnn" ? BenchmarkModels.Cnn() : BenchmarkModels.Mlp(), QuantBackend.Fbgemm,
                rand(new long[] { 512 }.Concat(dims).ToArray()));
            var model = Modules.Quantizer.Convert(qat, BenchmarkModels.InputShape(kind));
            long weights = model.Layers.OfType<QuantizedWeightedLayer>().Sum(l => l.WeightCount);
            Console.WriteLine(FormattableString.Invariant(
                $"{kind}: {weights} weights; parameters {model.ParameterBytes} bytes ({(double)model.ParameterBytes / weights:F2} per weight); resident {model.ResidentBytes} bytes ({(double)model.ResidentBytes / weights:F2} per weight)"));

            var random = new Random(1);
            var features = new float[Rows * 784];
            for (int i = 0; i < features.Length; i++)
                features[i] = (float)random.NextDouble();
            var output = new float[Rows * model.OutputSize];
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(Enumerable.Range(0, Rows).Select(r => new ImageRow { Features = features.AsSpan(r * 784, 784).ToArray() }));
            var cached = ml.Data.Cache(data);
            Count(cached); // fill the cache: the timings read from memory

            double Engine(int threads) => Median(() =>
            {
                for (int start = 0; start < Rows; start += 256)
                {
                    int n = Math.Min(256, Rows - start);
                    model.Predict(features.AsSpan(start * 784, n * 784), output.AsSpan(start * model.OutputSize, n * model.OutputSize), n, threads);
                }
            });
            double Transform(int threads)
            {
                var transformer = Transformer(ml, model, threads);
                return Median(() => ReadScores(transformer.Transform(cached)));
            }
            double OrtTransform(int threads)
            {
                using var transformer = Transformer(ml, model, threads).WithOnnxRuntime(threads);
                return Median(() => ReadScores(transformer.Transform(cached)));
            }
            double engine1 = Engine(1), engine2 = Engine(2), transform1 = Transform(1), transform2 = Transform(2), ort1 = OrtTransform(1), ort2 = OrtTransform(2);
            var engineApi = ml.Model.CreatePredictionEngine<ImageRow, Prediction>(Transformer(ml, model, 1));
            var rows = Enumerable.Range(0, 2000).Select(r => new ImageRow { Features = features.AsSpan(r * 784, 784).ToArray() }).ToArray();
            double perRow = Median(() =>
            {
                foreach (var row in rows)
                    engineApi.Predict(row);
            }) * Rows / rows.Length;
            Console.WriteLine(FormattableString.Invariant($"| {kind} | engine b256, 1 thread | {engine1:F1} ms | 1.00x |"));
            Console.WriteLine(FormattableString.Invariant($"| {kind} | engine b256, 2 threads | {engine2:F1} ms | throughput {engine1 / engine2:F2}x |"));
            Console.WriteLine(FormattableString.Invariant($"| {kind} | Transform (blocks of {BlockScoredCursor.BlockRows}), 1 thread | {transform1:F1} ms | {transform1 / engine1:F2}x engine |"));
            Console.WriteLine(FormattableString.Invariant($"| {kind} | Transform, 2 threads | {transform2:F1} ms | {transform2 / engine2:F2}x engine on 2 threads |"));
            Console.WriteLine(FormattableString.Invariant($"| {kind} | Transform through ONNX Runtime (WithOnnxRuntime), 1 thread | {ort1:F1} ms | {ort1 / engine1:F2}x engine |"));
            Console.WriteLine(FormattableString.Invariant($"| {kind} | Transform through ONNX Runtime, 2 threads | {ort2:F1} ms | {ort2 / engine2:F2}x engine on 2 threads |"));
            Console.WriteLine(FormattableString.Invariant($"| {kind} | one row per call (PredictionEngine), 1 thread | {perRow:F1} ms | {perRow / engine1:F2}x engine |"));
        }
    }

    private static QatMulticlassTransformer Transformer(MLContext ml, QuantizedModel model, int threads)
    {
        // Ten classes without names, as a trainer would make for a key label of ten values.
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(10);
            writer.Write(false);
        }
        stream.Position = 0;
        using var reader = new BinaryReader(stream);
        return new QatMulticlassTransformer(model, "Features", MulticlassScoringTask.Load(reader), null, new ScoringSettings(ml, false, threads));
    }

    private static void ReadScores(IDataView scored)
    {
        using var cursor = scored.GetRowCursor(new[] { scored.Schema["Score"] });
        var getter = cursor.GetGetter<VBuffer<float>>(scored.Schema["Score"]);
        VBuffer<float> score = default;
        while (cursor.MoveNext())
            getter(ref score);
    }

    private static void Count(IDataView data)
    {
        using var cursor = data.GetRowCursor(data.Schema);
        var getter = cursor.GetGetter<VBuffer<float>>(data.Schema["Features"]);
        VBuffer<float> v = default;
        while (cursor.MoveNext())
            getter(ref v);
    }

    private static double Median(Action run)
    {
        run(); // warm-up
        var times = new double[Rounds];
        for (int r = 0; r < Rounds; r++)
        {
            var clock = Stopwatch.StartNew();
            run();
            times[r] = clock.Elapsed.TotalMilliseconds;
        }
        Array.Sort(times);
        return times[Rounds / 2];
    }

    private sealed class ImageRow
    {
        [VectorType(784)]
        public float[] Features { get; set; } = [];
    }

    private sealed class Prediction
    {
        public float[] Score { get; set; } = [];
    }
}
