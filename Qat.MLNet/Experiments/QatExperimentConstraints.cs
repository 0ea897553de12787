using System.Globalization;

namespace Qat.MLNet.Experiments;

/// <summary>Limits checked on each trial's real int8 model; a trial that breaks one is recorded and never returned as best.</summary>
public sealed record QatExperimentConstraints
{
    /// <summary>Most bytes the int8 model's parameters may take; null for no limit.</summary>
    public long? MaximumModelBytes { get; init; }

    /// <summary>Most microseconds a batch-1 call of the int8 engine may take on this machine (median); null for no limit.</summary>
    public double? MaximumLatencyMicroseconds { get; init; }

    /// <summary>Most accuracy the int8 model may lose against the float model (classification; a fraction); null for no limit.</summary>
    public double? MaximumMetricDrop { get; init; }

    /// <summary>The constraints <paramref name="result"/> breaks, described.</summary>
    internal IReadOnlyList<string> Check(QatTrialResult result)
    {
        var broken = new List<string>();
        if (MaximumModelBytes is { } bytes && result.ModelBytes > bytes)
            broken.Add(string.Create(CultureInfo.InvariantCulture, $"model {result.ModelBytes} bytes > {bytes}"));
        if (MaximumLatencyMicroseconds is { } latency && !(result.LatencyMicroseconds <= latency))
            broken.Add(string.Create(CultureInfo.InvariantCulture, $"latency {result.LatencyMicroseconds:F1} us > {latency:F1}"));
        if (MaximumMetricDrop is { } drop && result.MetricDrop > drop)
            broken.Add(string.Create(CultureInfo.InvariantCulture, $"int8 accuracy {result.MetricDrop:F4} below float > {drop:F4}"));
        return broken;
    }
}
