using System.Runtime.CompilerServices;
using Microsoft.ML.OnnxRuntime;
using Qat.MLNet.Inference;
using Qat.MLNet.Onnx;
using Qat.MLNet.OnnxRuntime;

namespace Qat.MLNet.Testing;

/// <summary>Assertions on a model's ONNX export, run through ONNX Runtime.</summary>
public static class QatOnnxAssertExtensions
{
    /// <summary>
    /// The model's standalone ONNX export (opset 13), run in ONNX Runtime on one thread, gives the int8 engine's outputs on
    /// <paramref name="inputs"/>: exactly for the integer form (the default), within <paramref name="maxSteps"/> output
    /// quantization steps otherwise (QDQ, or a model with layers kept in float, whose float sums ONNX Runtime orders its own
    /// way: 1).
    /// </summary>
    /// <param name="assert">MSTest's <c>Assert.That</c>.</param>
    /// <param name="model">The int8 model.</param>
    /// <param name="inputs">Samples one after another.</param>
    /// <param name="form">The export's form.</param>
    /// <param name="maxSteps">Output steps allowed; null: 0 for the integer form of an all-int8 model, 1 otherwise.</param>
    /// <param name="message">Added to the failure message.</param>
    /// <param name="modelExpression">Filled by the compiler.</param>
    /// <exception cref="AssertFailedException">An output differs by more.</exception>
    public static void OnnxExportMatchesEngine(this Assert assert, QuantizedModel model, float[] inputs, QatOnnxForm form = QatOnnxForm.IntegerOperators, double? maxSteps = null,
        string? message = null, [CallerArgumentExpression(nameof(model))] string modelExpression = "")
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Length == 0 || inputs.Length % model.InputSize != 0)
            throw new ArgumentException($"{inputs.Length} input values are not whole samples of {model.InputSize}.", nameof(inputs));
        int batch = inputs.Length / model.InputSize;
        double steps = maxSteps ?? (form == QatOnnxForm.IntegerOperators && !model.Layers.Any(l => l is FloatWeightedLayer) ? 0 : 1);
        var expected = model.Predict(inputs, batch);
        var actual = new float[expected.Length];
        long exportBytes;
        using (var onnxRuntime = new OnnxRuntimeBlockScorer(model, intraOpThreads: 1, form))
        {
            onnxRuntime.Score(inputs, actual, batch, threads: 1);
            exportBytes = onnxRuntime.ExportBytes;
        }
        float step = model.Output.Scale;
        var c = Closeness.Of(expected, actual, rtol: 0, atol: steps * step * (1 + 1e-4)); // a whole step, plus the float rounding of two dequantized levels far from zero
        if (c.Mismatched == 0)
            return;
        throw new FailureMessage($"ONNX Runtime on the {form} export does not give the int8 engine's outputs{(steps > 0 ? $" within {steps} step(s)" : "")}.")
            .Line($"Mismatched elements: {c.Mismatched} / {c.Count} ({c.MismatchedPercent:F1} %)")
            .Line($"Greatest difference: {c.GreatestAbsolute:G6} = {c.GreatestAbsolute / step:F2} steps at index {c.AbsoluteIndex} (sample {c.AbsoluteIndex / model.OutputSize}, output {c.AbsoluteIndex % model.OutputSize}): engine {expected[c.AbsoluteIndex]:G6}, ONNX Runtime {actual[c.AbsoluteIndex]:G6}")
            .Line($"Export: {exportBytes:N0} bytes, opset 13, ONNX Runtime {OrtEnv.Instance().GetVersionString()}")
            .User(message)
            .Call("Assert.That.OnnxExportMatchesEngine", modelExpression);
    }
}
