namespace Qat.MLNet.Onnx;

/// <summary>Options of <see cref="QatOnnxExporter"/>.</summary>
public sealed class QatOnnxExportOptions
{
    /// <summary>The lowest opset the export writes: 13 (per-axis DequantizeLinear).</summary>
    public const int MinimumOpsetVersion = 13;

    /// <summary>The highest opset the export writes: 21.</summary>
    public const int MaximumOpsetVersion = 21;

    /// <summary>Opset of the standard domain, from <see cref="MinimumOpsetVersion"/> to <see cref="MaximumOpsetVersion"/>; default 13.</summary>
    public int OpsetVersion { get; set; } = MinimumOpsetVersion;

    /// <summary>The graph's form; default <see cref="QatOnnxForm.Qdq"/>.</summary>
    public QatOnnxForm Form { get; set; } = QatOnnxForm.Qdq;

    /// <summary>
    /// Name of the float input [batch, features] when a <c>QuantizedModel</c> is exported; default "input". (A
    /// transformer's input is named after its feature column.)
    /// </summary>
    public string InputName { get; set; } = "input";

    /// <summary>Name of the float output [batch, outputs] when a <c>QuantizedModel</c> is exported; default "output".</summary>
    public string OutputName { get; set; } = "output";

    /// <summary>How Linear layers are written in the integer-operator form (benchmarks compare the two).</summary>
    internal OnnxLinearForm LinearForm { get; set; } = Scoring.ScoringBinding.ConvertToOnnxLinearForm;

    /// <summary>Checks every value, naming the option and the allowed range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    /// <exception cref="ArgumentException">A name is empty, or the input and output names are equal.</exception>
    internal void Validate()
    {
        if (OpsetVersion is < MinimumOpsetVersion or > MaximumOpsetVersion)
            throw new ArgumentOutOfRangeException(nameof(OpsetVersion), OpsetVersion,
                $"{nameof(OpsetVersion)} must be from {MinimumOpsetVersion} to {MaximumOpsetVersion}. For opset 12, use mlContext.Model.ConvertToOnnx (Microsoft.ML.OnnxConverter).");
        if (!Enum.IsDefined(Form))
            throw new ArgumentOutOfRangeException(nameof(Form), Form, $"{nameof(Form)} must be {QatOnnxForm.Qdq} or {QatOnnxForm.IntegerOperators}.");
        if (string.IsNullOrWhiteSpace(InputName))
            throw new ArgumentException($"{nameof(InputName)} must not be empty.", nameof(InputName));
        if (string.IsNullOrWhiteSpace(OutputName))
            throw new ArgumentException($"{nameof(OutputName)} must not be empty.", nameof(OutputName));
        if (InputName == OutputName)
            throw new ArgumentException($"{nameof(InputName)} and {nameof(OutputName)} are both '{InputName}': ONNX needs two names.", nameof(OutputName));
    }
}
