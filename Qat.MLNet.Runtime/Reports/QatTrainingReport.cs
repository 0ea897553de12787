using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Qat.MLNet.Reports;

/// <summary>
/// What a Qat trainer did and what it produced: per-epoch loss and accuracy, the same network measured in float, in fake
/// quantization and as the converted int8 model, and the model sizes. Available as <c>TrainingReport</c> on the transformer
/// (also after <c>mlContext.Model.Load</c>).
/// </summary>
public sealed class QatTrainingReport
{
    // Named literals: a layer whose fake-quant output equals float has an infinite SQNR.
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>The task, e.g. "multiclass classification".</summary>
    public required string Task { get; init; }

    /// <summary>The network's description.</summary>
    public required string Network { get; init; }

    /// <summary>
    /// How many networks were trained and merged into the one the int8 model runs (1: a single network). An ensemble's
    /// epochs carry their member's number (<see cref="QatEpochReport.Member"/>).
    /// </summary>
    public int EnsembleSize { get; init; } = 1;

    /// <summary>The quantization configuration, e.g. "fbgemm".</summary>
    public required string QConfig { get; init; }

    /// <summary>Training rows per epoch.</summary>
    public required long TrainingRows { get; init; }

    /// <summary>The epochs in order.</summary>
    public required IReadOnlyList<QatEpochReport> Epochs { get; init; }

    /// <summary>Where the three final metrics were measured: "validation set", the held-out rows, or "training data" (when there was no validation data).</summary>
    public required string EvaluatedOn { get; init; }

    /// <summary>Rows held out of the training data for validation and early stopping (0 with a validation set or none).</summary>
    public long HeldOutRows { get; init; }

    /// <summary>
    /// How each phase ended and which epoch's state it kept, e.g. "float: 84 epochs chosen for 1500 steps; stopped after
    /// epoch 41 (validation loss not better for 20 epochs); kept epoch 21 (best validation loss 0.0712)".
    /// </summary>
    public IReadOnlyList<string> Phases { get; init; } = [];

    /// <summary>The (1-based) epoch whose float state went on to QAT; null when the last float epoch's did.</summary>
    public int? KeptFloatEpoch { get; init; }

    /// <summary>The (1-based) epoch whose QAT state was converted; null when the last epoch's was.</summary>
    public int? KeptQatEpoch { get; init; }

    /// <summary>The trained network with fake quantization switched off: float weights and activations.</summary>
    public required QatMetrics Float { get; init; }

    /// <summary>The trained network in fake quantization (eval mode): what QAT optimised.</summary>
    public required QatMetrics FakeQuantized { get; init; }

    /// <summary>The converted int8 model, which the transformer runs.</summary>
    public required QatMetrics Int8 { get; init; }

    /// <summary>Bytes of the float network's parameters (float32 weights, biases and batch-norm parameters).</summary>
    public required long FloatModelBytes { get; init; }

    /// <summary>Bytes of the int8 model's parameters (int8 weights, int32 biases, per-channel scales and requantization constants).</summary>
    public required long Int8ModelBytes { get; init; }

    /// <summary>
    /// Microseconds per row of the trained network in TorchSharp with fake quantization off (float, batch 1, one thread
    /// as set for training; the best of three passes over up to 64 rows).
    /// </summary>
    public required double FloatMicrosecondsPerRow { get; init; }

    /// <summary>Microseconds per row of the int8 model (batch 1, measured like <see cref="FloatMicrosecondsPerRow"/>).</summary>
    public required double Int8MicrosecondsPerRow { get; init; }

    /// <summary>Wall time of the whole training, conversion and evaluation.</summary>
    public required double TotalSeconds { get; init; }

    /// <summary>The layers the int8 model runs in float (mixed precision: the trainer's keep-float list or its suggestion); empty when all are int8.</summary>
    public IReadOnlyList<string> FloatLayers { get; init; } = [];

    /// <summary>Why those layers are float (the list given, or the suggestion and the metric it aimed at); null when all are int8.</summary>
    public string? FloatLayersReason { get; init; }

    /// <summary>The per-layer analysis of the converted model on the evaluation data (empty when the trainer's <c>AnalyzeLayers</c> was off).</summary>
    public IReadOnlyList<LayerQuantizationReport> Layers { get; init; } = [];

    /// <summary>Wall time of the per-layer analysis (and keep-float suggestion), part of <see cref="TotalSeconds"/>; 0 when none ran.</summary>
    public double AnalysisSeconds { get; init; }

    /// <summary><see cref="FloatModelBytes"/> / <see cref="Int8ModelBytes"/>.</summary>
    [JsonIgnore]
    public double CompressionRatio => Int8ModelBytes == 0 ? double.NaN : (double)FloatModelBytes / Int8ModelBytes;

    /// <summary>The report as indented JSON (what is saved inside the ML.NET model file).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads a report written by <see cref="ToJson"/>.</summary>
    /// <exception cref="InvalidDataException">The text is not such a report.</exception>
    public static QatTrainingReport FromJson(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<QatTrainingReport>(json, Json) ?? throw new InvalidDataException("The training report is empty.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"The training report stored with the model is not valid: {e.Message}", e);
        }
    }

    /// <summary>A readable table: one line per epoch, then float vs fake-quant vs int8 and the sizes.</summary>
    public override string ToString()
    {
        var inv = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.AppendLine(inv, $"{Task}, {Network}, qconfig {QConfig}, {TrainingRows} training rows, {TotalSeconds:F1} s");
        text.AppendLine((EnsembleSize > 1 ? "member  " : "") + "epoch  phase  lr        train loss  train acc  valid loss  valid acc  seconds");
        foreach (var e in Epochs)
        {
            text.AppendLine(inv,
                $"{(EnsembleSize > 1 ? $"{e.Member,6}  " : "")}{e.Epoch,5}  {(e.Phase == QatTrainingPhase.Float ? "float" : "qat"),-5}  {e.LearningRate,-8:G4}  {e.Training.Loss,10:F4}  {Percent(e.Training.Accuracy),9}  " +
                $"{(e.Validation is null ? "-" : e.Validation.Loss.ToString("F4", inv)),10}  {Percent(e.Validation?.Accuracy),9}  {e.Seconds,7:F1}");
        }
        foreach (string phase in Phases)
            text.AppendLine(phase);
        text.AppendLine(inv, $"on the {EvaluatedOn}: float {Float}; fake-quant {FakeQuantized}; int8 {Int8}");
        text.AppendLine(inv, $"parameters: float {FloatModelBytes:N0} bytes, int8 {Int8ModelBytes:N0} bytes ({CompressionRatio:F2}x smaller)");
        if (FloatLayers.Count > 0)
            text.AppendLine(inv, $"kept in float: {string.Join(", ", FloatLayers)} ({FloatLayersReason})");
        if (Layers.Count > 0)
            text.AppendLine(inv, $"per-layer analysis ({AnalysisSeconds:F2} s):");
        foreach (var layer in Layers)
        {
            string gain = layer.MetricGainWhenFloat is { } g ? string.Create(inv, $"  float gains {g:+0.0000;-0.0000;0}") : "";
            text.AppendLine(inv,
                $"layer {layer.Name,-12} {layer.Kind,-16} SQNR {layer.SqnrDecibels,6:F1} dB  engine vs fake-quant max {layer.MaxStepsFromFakeQuant} step(s)  clipped {layer.ClippedFraction,7:P2}{gain}");
        }
        text.Append(inv, $"latency per row (batch 1): float {FloatMicrosecondsPerRow:F1} us, int8 {Int8MicrosecondsPerRow:F1} us ({FloatMicrosecondsPerRow / Int8MicrosecondsPerRow:F1}x faster)");
        return text.ToString();
    }

    private static string Percent(double? value) => value is { } v ? v.ToString("P2", CultureInfo.InvariantCulture) : "-";
}
