namespace Qat.MLNet.Reports;

/// <summary>
/// What quantization does to one layer of a converted model, measured on given data by the training side's
/// <c>Qat.MLNet.Diagnostics.QuantizationAnalyzer</c> (and kept in <see cref="QatTrainingReport.Layers"/>).
/// </summary>
public sealed record LayerQuantizationReport
{
    /// <summary>The layer's path in the model (the engine layer's name), e.g. <c>net.fc1</c>.</summary>
    public required string Name { get; init; }

    /// <summary>The engine layer's type, e.g. <c>QuantizedConv2d</c> or <c>FloatLinear</c> (kept in float).</summary>
    public required string Kind { get; init; }

    /// <summary>Whether the layer runs in float in the analysed model.</summary>
    public bool IsFloat { get; init; }

    /// <summary>
    /// Signal-to-quantization-noise ratio of this layer's output in the fake-quant model against the float model, in dB
    /// (10 log10 of sum f² over sum (f - q)²), cumulative: the noise of every layer before it included, as PyTorch's numeric
    /// suite compares outputs. Infinity when they are equal.
    /// </summary>
    public double SqnrDecibels { get; init; }

    /// <summary>Largest difference between the int8 engine's output levels and the fake-quant model's, in output steps.</summary>
    public int MaxStepsFromFakeQuant { get; init; }

    /// <summary>Mean difference between the int8 engine's output levels and the fake-quant model's, in output steps.</summary>
    public double MeanStepsFromFakeQuant { get; init; }

    /// <summary>The output's quantization step.</summary>
    public float OutputScale { get; init; }

    /// <summary>Smallest float output seen on the data (the float model).</summary>
    public float FloatOutputMin { get; init; }

    /// <summary>Largest float output seen on the data (the float model).</summary>
    public float FloatOutputMax { get; init; }

    /// <summary>Lowest value the output grid represents: (quant_min - zero_point) x scale.</summary>
    public float GridMin { get; init; }

    /// <summary>Highest value the output grid represents: (quant_max - zero_point) x scale.</summary>
    public float GridMax { get; init; }

    /// <summary>Fraction of the float outputs outside [<see cref="GridMin"/>, <see cref="GridMax"/>]: clipped by the quantization.</summary>
    public double ClippedFraction { get; init; }

    /// <summary>Smallest float weight (BatchNorm folded); null for layers without weights.</summary>
    public float? WeightMin { get; init; }

    /// <summary>Largest float weight (BatchNorm folded); null for layers without weights.</summary>
    public float? WeightMax { get; init; }

    /// <summary>SQNR of the int8 weights (dequantized) against the float weights, in dB; null for layers without weights or kept float.</summary>
    public double? WeightSqnrDecibels { get; init; }

    /// <summary>Largest absolute float weight of each output channel; empty for layers without weights.</summary>
    public IReadOnlyList<float> ChannelAbsMax { get; init; } = [];

    /// <summary>
    /// Output channels whose largest absolute weight is over 4 times the median channel's: with one per-tensor scale they
    /// squeeze every other channel onto few levels.
    /// </summary>
    public IReadOnlyList<int> OutlierChannels { get; init; } = [];

    /// <summary>
    /// How many float weights (BatchNorm folded) fall on each int8 level -128 to 127 of their channel's step (index 0 is
    /// level -128): the weight histogram on the quantization grid. Empty for layers without weights or kept float.
    /// </summary>
    public IReadOnlyList<long> WeightLevelCounts { get; init; } = [];

    /// <summary>The metric with only this layer in float (the rest int8, on the engine); null when not measured.</summary>
    public double? MetricWithLayerFloat { get; init; }

    /// <summary><see cref="MetricWithLayerFloat"/> minus the all-int8 metric: what keeping this layer float buys; null when not measured.</summary>
    public double? MetricGainWhenFloat { get; init; }
}
