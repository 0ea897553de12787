using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Qat.MLNet.Reports;

namespace Qat.MLNet.Diagnostics;

/// <summary>
/// The per-layer diagnosis of a QAT model and its int8 conversion on given data (<see cref="QuantizationAnalyzer.Analyze"/>):
/// one <see cref="LayerQuantizationReport"/> per engine layer, the metric in float and int8, and the fewest layers to keep
/// float to meet a metric drop.
/// </summary>
public sealed record QuantizationAnalysis
{
    /// <summary>The layers in order.</summary>
    public required IReadOnlyList<LayerQuantizationReport> Layers { get; init; }

    /// <summary>
    /// The converted model the analysis measured, with <see cref="SuggestedFloatLayers"/> in float: what
    /// <c>Quantizer.Convert(prepared, shape, keepFloat: SuggestedFloatLayers)</c> returns, kept so the trainer does not
    /// convert (and copy every weight) once more. Not part of the report.
    /// </summary>
    [JsonIgnore]
    internal Inference.QuantizedModel? Model { get; init; }

    /// <summary>Samples the figures cover.</summary>
    public int SampleCount { get; init; }

    /// <summary>The metric of the float model (fake quantization off); null without a metric.</summary>
    public double? FloatMetric { get; init; }

    /// <summary>The metric of the int8 engine model; null without a metric.</summary>
    public double? Int8Metric { get; init; }

    /// <summary>The metric drop (float minus int8) the suggestion aims at; null when none was asked for.</summary>
    public double? MaximumMetricDrop { get; init; }

    /// <summary>The fewest layers to keep float, found greedily from the most sensitive, to meet <see cref="MaximumMetricDrop"/>; empty when int8 meets it already.</summary>
    public IReadOnlyList<string> SuggestedFloatLayers { get; init; } = [];

    /// <summary>The metric with <see cref="SuggestedFloatLayers"/> in float; null without a target.</summary>
    public double? SuggestedMetric { get; init; }

    /// <summary>Whether the suggestion meets <see cref="MaximumMetricDrop"/> (false when even every weighted layer in float does not); null without a target.</summary>
    public bool? MeetsTarget { get; init; }

    /// <summary>The layers sorted by what keeping each one float buys, most first (those measured).</summary>
    public IReadOnlyList<LayerQuantizationReport> BySensitivity =>
        Layers.Where(l => l.MetricGainWhenFloat is not null).OrderByDescending(l => l.MetricGainWhenFloat).ToList();

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>The analysis as indented JSON (infinite SQNR written as "Infinity").</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads what <see cref="ToJson"/> wrote.</summary>
    /// <exception cref="JsonException">The text is not such JSON.</exception>
    public static QuantizationAnalysis FromJson(string json) =>
        JsonSerializer.Deserialize<QuantizationAnalysis>(json, Json) ?? throw new JsonException("The JSON holds no analysis.");

    /// <summary>The analysis as Markdown: the metric summary, the per-layer table and the sensitivity ranking.</summary>
    public string ToMarkdown()
    {
        var c = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine(c, $"Per-layer analysis on {SampleCount} samples.").AppendLine();
        if (FloatMetric is { } f && Int8Metric is { } q)
            md.AppendLine(c, $"Metric: float {f:F4}, int8 {q:F4} (drop {f - q:F4}).").AppendLine();
        LayerTable.AppendMarkdown(md, Layers);
        if (MaximumMetricDrop is { } drop)
        {
            md.AppendLine();
            string suggestion = SuggestedFloatLayers.Count == 0
                ? string.Create(c, $"int8 meets the drop of {drop:F4} as it is: no layer needs to stay float.")
                : string.Create(c, $"Keep float: {string.Join(", ", SuggestedFloatLayers)} -> metric {SuggestedMetric:F4} ({(MeetsTarget == true ? "meets" : "does not meet")} a drop of at most {drop:F4}).");
            md.AppendLine(suggestion);
        }
        return md.ToString();
    }

}
