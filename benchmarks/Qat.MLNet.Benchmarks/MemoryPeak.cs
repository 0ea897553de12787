using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Qat.MLNet.Benchmarks;

/// <summary>
/// The <c>memory</c> command: the peak resident memory (VmHWM) of one default binary Fit on random data of
/// <c>--rows</c> x <c>--features</c>, in this fresh process. Usage: <c>dotnet run -c Release -- memory --rows 300 --features 200000 [--trace] [--cache] [--streaming]</c>
/// (<c>--trace</c>: resident and peak memory at each of the trainer's log lines; <c>--cache</c>: the rows behind ML.NET's
/// cache, which shuffles itself, instead of a streaming view, which goes through the shuffle pool; <c>--streaming</c>: rows
/// made anew on every pass instead of held in a list).
/// </summary>
internal static class MemoryPeak
{
    public static void Run(string[] args)
    {
        int rows = int.Parse(args.SkipWhile(a => a != "--rows").Skip(1).FirstOrDefault() ?? "300", CultureInfo.InvariantCulture);
        int features = int.Parse(args.SkipWhile(a => a != "--features").Skip(1).FirstOrDefault() ?? "200000", CultureInfo.InvariantCulture);
        var random = new Random(1);
        var ml = new MLContext(seed: 1);
        var schema = SchemaDefinition.Create(typeof(Row));
        schema[nameof(Row.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, features);
        // The rows are made once and held, as a user's in-memory data is: a lazy generator would make new arrays (and new
        // random values) on every pass, so the peak would measure garbage and the Fit would learn nothing.
        // --streaming: rows made on the fly on every pass, each from a seed of its own (the same values every pass), as a
        // file too large to hold is read: what the Fit holds beside the data.
        IEnumerable<Row> held = args.Contains("--streaming") ? Streamed(rows, features) : Enumerable.Range(0, rows).Select(_ => MakeRow(random, features)).ToList();
        var data = ml.Data.LoadFromEnumerable(held, schema);
        if (args.Contains("--cache"))
            data = ml.Data.Cache(data);
        // Resident and peak memory at each of the trainer's log lines: where in a Fit the memory goes.
        if (args.Contains("--trace"))
        {
            var trace = System.Diagnostics.Stopwatch.StartNew();
            ml.Log += (_, e) =>
            {
                if (e.RawMessage.StartsWith("Qat", StringComparison.Ordinal))
                    Console.WriteLine(FormattableString.Invariant($"  {trace.Elapsed.TotalSeconds,6:F1} s  RSS {Status("VmRSS:") / 1e6,6:F0} MB  peak {Peak() / 1e6,6:F0} MB  managed {GC.GetTotalMemory(false) / 1e6,5:F0} MB  {e.RawMessage[..Math.Min(90, e.RawMessage.Length)]}"));
            };
        }
        long before = Peak();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var model = ml.BinaryClassification.Trainers.Qat().Fit(data);
        Console.WriteLine(FormattableString.Invariant(
            $"{rows} x {features}{(args.Contains("--cache") ? " cached" : "")}{(args.Contains("--streaming") ? " streamed" : "")}: data {4L * rows * features / 1e6:F0} MB as floats; peak RSS before Fit {before / 1e6:F0} MB, after {Peak() / 1e6:F0} MB; Fit {clock.Elapsed.TotalSeconds:F1} s; network {model.TrainingReport!.Network}, float model {model.TrainingReport.FloatModelBytes / 1e6:F0} MB"));
    }

    private static Row MakeRow(Random random, int features)
    {
        var x = new float[features];
        for (int i = 0; i < features; i++)
            x[i] = (float)random.NextDouble();
        return new Row { Features = x, Label = x[0] + x[1] > 1 };
    }

    private static IEnumerable<Row> Streamed(int rows, int features)
    {
        for (int r = 0; r < rows; r++)
            yield return MakeRow(new Random(r), features);
    }

    private static long Peak() => Status("VmHWM:");

    private static long Status(string key) => File.ReadLines("/proc/self/status").Where(l => l.StartsWith(key, StringComparison.Ordinal))
        .Select(l => long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024).First();

    private sealed class Row
    {
        public float[] Features { get; set; } = [];

        public bool Label { get; set; }
    }
}
