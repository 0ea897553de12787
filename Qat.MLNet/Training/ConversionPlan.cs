using Microsoft.ML.Runtime;
using Qat.MLNet.Diagnostics;
using Qat.MLNet.Tasks;
using Qat.MLNet.Trainers;
using static TorchSharp.torch;

namespace Qat.MLNet.Training;

/// <summary>
/// The trainer's mixed-precision decisions: which layers of the built network stay float from the start
/// (<see cref="QatTrainerOptions.KeepFloatLayers"/>), and after QAT the per-layer analysis on the evaluation data and the
/// layers to keep float to meet <see cref="QatTrainerOptions.MaximumInt8MetricDrop"/>.
/// </summary>
internal static class ConversionPlan
{
    /// <summary>The prefix of the user's network inside the trainer's wrapper (QuantStub, net, DeQuantStub).</summary>
    private const string NetworkPrefix = "net.";

    /// <summary>
    /// The weighted float modules of <paramref name="model"/> that <paramref name="names"/> name (a network name, or an
    /// engine name with the <c>net.</c> prefix).
    /// </summary>
    /// <exception cref="ArgumentException">A name is not a Linear or Conv2d of the network; the message lists those there are.</exception>
    public static IReadOnlyList<nn.Module> Resolve(nn.Module model, IReadOnlyList<string>? names)
    {
        if (names is null || names.Count == 0)
            return [];
        var weighted = model.named_modules()
            .Where(m => m.module is TorchSharp.Modules.Linear or TorchSharp.Modules.Conv2d && m.name.StartsWith(NetworkPrefix, StringComparison.Ordinal))
            .ToDictionary(m => m.name[NetworkPrefix.Length..], m => m.module);
        var unknown = names.Select(n => n.StartsWith(NetworkPrefix, StringComparison.Ordinal) ? n[NetworkPrefix.Length..] : n).Where(n => !weighted.ContainsKey(n)).ToList();
        if (unknown.Count > 0)
            throw new ArgumentException(
                $"KeepFloatLayers names [{string.Join(", ", unknown)}], which are not Linear or Conv2d layers of the network; its weighted layers are [{string.Join(", ", weighted.Keys)}].",
                nameof(QatTrainerOptions.KeepFloatLayers));
        return names.Select(n => weighted[n.StartsWith(NetworkPrefix, StringComparison.Ordinal) ? n[NetworkPrefix.Length..] : n]).ToList();
    }

    /// <summary>The first <paramref name="maxRows"/> rows of <paramref name="data"/>: features (as the network reads them) and labels.</summary>
    public static (float[] Features, float[] Labels, int Count) Sample(BatchReader data, int maxRows, Action? checkAlive)
    {
        var features = new List<float>();
        var labels = new List<float>();
        foreach (int n in data.Batches(null, checkAlive))
        {
            int take = Math.Min(n, maxRows - labels.Count);
            features.AddRange(data.Features.AsSpan(0, take * data.FeatureCount));
            labels.AddRange(data.Labels.AsSpan(0, take));
            if (labels.Count >= maxRows)
                break;
        }
        return (features.ToArray(), labels.ToArray(), labels.Count);
    }

    /// <summary>The task's metric of a model's outputs on the sampled rows: accuracy for classification, the negative loss for regression.</summary>
    public static Func<float[], double> Metric(TrainingTask task, float[] labels)
    {
        return outputs =>
        {
            var sums = new MetricsAccumulator();
            int width = outputs.Length / labels.Length;
            for (int i = 0; i < labels.Length; i++)
                task.Accumulate(outputs.AsSpan(i * width, width), labels[i], ref sums);
            var metrics = sums.ToMetrics(task.HasAccuracy);
            return metrics.Accuracy ?? -metrics.Loss;
        };
    }

    /// <summary>The per-layer analysis (and suggestion, with a drop) of the trained QAT model on the sampled rows, or null when neither was asked for or there are no rows.</summary>
    public static QuantizationAnalysis? Analyze(nn.Module<Tensor, Tensor> model, Inference.ActivationShape shape, QatTrainerOptions options, TrainingTask task,
        BatchReader evaluation, Action? checkAlive, IChannel? channel = null)
    {
        if (!options.AnalyzeLayers && options.MaximumInt8MetricDrop is null)
            return null;
        var (features, labels, count) = Sample(evaluation, QatDefaults.AnalysisRows, checkAlive);
        if (count == 0)
            return null;
        try
        {
            return QuantizationAnalyzer.Analyze(model, shape, features, count, Metric(task, labels), options.MaximumInt8MetricDrop);
        }
        catch (Exception e) when (options.MaximumInt8MetricDrop is null && e is not OperationCanceledException && channel is not null)
        {
            // The analysis only describes the model: a failure in it must not throw away a finished training.
            channel.Warning(MessageSensitivity.None, $"Qat: the per-layer analysis failed and is left out of the report ({e.GetType().Name}: {e.Message}).");
            return null;
        }
    }
}
