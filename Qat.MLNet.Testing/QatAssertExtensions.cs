using System.Runtime.CompilerServices;
using Microsoft.ML;
using Microsoft.ML.Data;
using Qat.MLNet.Inference;
using Qat.MLNet.Scoring;
using static TorchSharp.torch;

namespace Qat.MLNet.Testing;

/// <summary>
/// Assertions for quantized models, as extension methods on MSTest's <c>Assert.That</c> (C# and VB):
/// <c>Assert.That.Int8MatchesFakeQuant(int8, qat, inputs)</c>. Each failure throws <see cref="AssertFailedException"/>
/// with the numbers and the call as written.
/// </summary>
public static class QatAssertExtensions
{
    /// <summary>
    /// The int8 model's outputs are within <paramref name="maxSteps"/> output quantization steps
    /// (<c>int8.Output.Scale</c>) of the fake-quant model's on <paramref name="inputs"/>: what PyTorch's convert promises.
    /// </summary>
    /// <param name="assert">MSTest's <c>Assert.That</c>.</param>
    /// <param name="int8">The converted model (<c>Quantizer.Convert</c>, or a transformer's <c>Model</c>).</param>
    /// <param name="fakeQuant">The prepared QAT model it was converted from, in eval mode with fake quantization on; it
    /// reads inputs already standardized when <paramref name="int8"/> has a standardization step.</param>
    /// <param name="inputs">Samples one after another, <c>int8.InputSize</c> values each.</param>
    /// <param name="maxSteps">Steps allowed; default 1.</param>
    /// <param name="message">Added to the failure message.</param>
    /// <param name="int8Expression">Filled by the compiler.</param>
    /// <param name="fakeQuantExpression">Filled by the compiler.</param>
    /// <exception cref="AssertFailedException">An output is further away.</exception>
    public static void Int8MatchesFakeQuant(this Assert assert, QuantizedModel int8, nn.Module<Tensor, Tensor> fakeQuant, float[] inputs, double maxSteps = 1, string? message = null,
        [CallerArgumentExpression(nameof(int8))] string int8Expression = "", [CallerArgumentExpression(nameof(fakeQuant))] string fakeQuantExpression = "")
    {
        ArgumentNullException.ThrowIfNull(int8);
        ArgumentNullException.ThrowIfNull(fakeQuant);
        int batch = Samples(int8, inputs);
        var expected = ModelOutputs.FakeQuant(int8, fakeQuant, inputs, batch);
        var actual = int8.Predict(inputs, batch);
        float step = int8.Output.Scale;
        var c = Closeness.Of(expected, actual, rtol: 0, atol: maxSteps * step * (1 + 1e-4)); // a whole step, plus the float rounding of two dequantized levels far from zero
        if (c.Mismatched == 0)
            return;
        throw new FailureMessage($"The int8 outputs are not within {maxSteps} output quantization step(s) of the fake-quant model's.")
            .Line($"Mismatched elements: {c.Mismatched} / {c.Count} ({c.MismatchedPercent:F1} %)")
            .Line($"Greatest difference: {c.GreatestAbsolute:G6} = {c.GreatestAbsolute / step:F2} steps at index {c.AbsoluteIndex} (sample {c.AbsoluteIndex / int8.OutputSize}, output {c.AbsoluteIndex % int8.OutputSize}): int8 {actual[c.AbsoluteIndex]:G6}, fake-quant {expected[c.AbsoluteIndex]:G6}")
            .Line($"Allowed: {maxSteps} step(s) of {step:G6}")
            .User(message)
            .Call("Assert.That.Int8MatchesFakeQuant", int8Expression, fakeQuantExpression);
    }

    /// <summary>
    /// The int8 model loses at most <paramref name="maxDrop"/> accuracy (a fraction: 0.005 is half a point) against the
    /// float model on the given labelled samples. Classification: <paramref name="labels"/> are 0-based class indices
    /// (binary: 0 or 1, the model's one output a logit).
    /// </summary>
    /// <param name="assert">MSTest's <c>Assert.That</c>.</param>
    /// <param name="int8">The converted model.</param>
    /// <param name="qat">The QAT model it came from (eval mode); its float outputs are taken with fake quantization off, which is restored after.</param>
    /// <param name="inputs">Samples one after another.</param>
    /// <param name="labels">One class index per sample.</param>
    /// <param name="maxDrop">Accuracy the int8 model may lose, in [0, 1].</param>
    /// <param name="message">Added to the failure message.</param>
    /// <param name="int8Expression">Filled by the compiler.</param>
    /// <exception cref="AssertFailedException">The int8 accuracy is lower by more.</exception>
    public static void AccuracyDropAtMost(this Assert assert, QuantizedModel int8, nn.Module<Tensor, Tensor> qat, float[] inputs, int[] labels, double maxDrop, string? message = null,
        [CallerArgumentExpression(nameof(int8))] string int8Expression = "")
    {
        ArgumentNullException.ThrowIfNull(int8);
        ArgumentNullException.ThrowIfNull(qat);
        ArgumentNullException.ThrowIfNull(labels);
        int batch = Samples(int8, inputs);
        if (labels.Length != batch)
            throw new ArgumentException($"{labels.Length} labels for {batch} samples.", nameof(labels));
        double floatAccuracy = Metrics.Accuracy(ModelOutputs.Float(int8, qat, inputs, batch), labels, int8.OutputSize);
        double int8Accuracy = Metrics.Accuracy(int8.Predict(inputs, batch), labels, int8.OutputSize);
        CheckDrop("accuracy", floatAccuracy, int8Accuracy, maxDrop, batch, message, "Assert.That.AccuracyDropAtMost", int8Expression);
    }

    /// <summary>
    /// Regression: the int8 model's R² is lower than the float model's by at most <paramref name="maxDrop"/> on the given
    /// samples (labels in the network's output units).
    /// </summary>
    /// <param name="assert">MSTest's <c>Assert.That</c>.</param>
    /// <param name="int8">The converted model (one output).</param>
    /// <param name="qat">The QAT model it came from (eval mode).</param>
    /// <param name="inputs">Samples one after another.</param>
    /// <param name="labels">One target per sample.</param>
    /// <param name="maxDrop">R² the int8 model may lose.</param>
    /// <param name="message">Added to the failure message.</param>
    /// <param name="int8Expression">Filled by the compiler.</param>
    /// <exception cref="AssertFailedException">The int8 R² is lower by more.</exception>
    public static void AccuracyDropAtMost(this Assert assert, QuantizedModel int8, nn.Module<Tensor, Tensor> qat, float[] inputs, float[] labels, double maxDrop, string? message = null,
        [CallerArgumentExpression(nameof(int8))] string int8Expression = "")
    {
        ArgumentNullException.ThrowIfNull(int8);
        ArgumentNullException.ThrowIfNull(qat);
        ArgumentNullException.ThrowIfNull(labels);
        int batch = Samples(int8, inputs);
        if (labels.Length != batch || int8.OutputSize != 1)
            throw new ArgumentException($"{labels.Length} labels for {batch} samples of a model with {int8.OutputSize} outputs: regression needs one label per sample and one output.", nameof(labels));
        double floatR2 = Metrics.RSquared(ModelOutputs.Float(int8, qat, inputs, batch), labels);
        double int8R2 = Metrics.RSquared(int8.Predict(inputs, batch), labels);
        CheckDrop("R²", floatR2, int8R2, maxDrop, batch, message, "Assert.That.AccuracyDropAtMost", int8Expression);
    }

    /// <summary>
    /// A trained classifier's int8 accuracy is lower than its float accuracy by at most <paramref name="maxDrop"/> on the
    /// data its training report was evaluated on (the held-out rows or the validation set).
    /// </summary>
    /// <param name="assert">MSTest's <c>Assert.That</c>.</param>
    /// <param name="model">A Qat multiclass or binary transformer with its training report.</param>
    /// <param name="maxDrop">Accuracy the int8 model may lose, in [0, 1].</param>
    /// <param name="message">Added to the failure message.</param>
    /// <param name="modelExpression">Filled by the compiler.</param>
    /// <exception cref="ArgumentException">The model has no report, or is a regression (its report has no accuracy: use the data overload).</exception>
    /// <exception cref="AssertFailedException">The int8 accuracy is lower by more.</exception>
    public static void AccuracyDropAtMost(this Assert assert, QatTransformerBase model, double maxDrop, string? message = null,
        [CallerArgumentExpression(nameof(model))] string modelExpression = "")
    {
        ArgumentNullException.ThrowIfNull(model);
        var report = model.TrainingReport ?? throw new ArgumentException("The model has no training report (saved without one): use the overload that takes data.", nameof(model));
        if (report.Float.Accuracy is not { } floatAccuracy || report.Int8.Accuracy is not { } int8Accuracy)
            throw new ArgumentException($"The {report.Task} report has no accuracy: use the overload that takes data and labels.", nameof(model));
        CheckDrop("accuracy", floatAccuracy, int8Accuracy, maxDrop, report.Int8.RowCount, message, "Assert.That.AccuracyDropAtMost", modelExpression, report.EvaluatedOn);
    }

    /// <summary>
    /// The model takes at most <paramref name="maxFileBytes"/> saved and, when given, <paramref name="maxResidentBytes"/>
    /// in memory (<c>ResidentBytes</c>: weights and the packed forms of its kernel path).
    /// </summary>
    /// <param name="assert">MSTest's <c>Assert.That</c>.</param>
    /// <param name="model">The int8 model.</param>
    /// <param name="maxFileBytes">Bytes its saved file may take.</param>
    /// <param name="maxResidentBytes">Bytes it may hold in memory; null to not check.</param>
    /// <param name="message">Added to the failure message.</param>
    /// <param name="modelExpression">Filled by the compiler.</param>
    /// <exception cref="AssertFailedException">Either size is larger.</exception>
    public static void ModelSizeAtMost(this Assert assert, QuantizedModel model, long maxFileBytes, long? maxResidentBytes = null, string? message = null,
        [CallerArgumentExpression(nameof(model))] string modelExpression = "")
    {
        ArgumentNullException.ThrowIfNull(model);
        using var file = new MemoryStream();
        model.Save(file);
        long resident = model.ResidentBytes;
        if (file.Length <= maxFileBytes && (maxResidentBytes is null || resident <= maxResidentBytes))
            return;
        long weights = model.Layers.OfType<QuantizedWeightedLayer>().Sum(l => l.WeightCount);
        throw new FailureMessage("The model is larger than allowed.")
            .Line($"File: {file.Length:N0} bytes (at most {maxFileBytes:N0}){(file.Length > maxFileBytes ? ": too large" : "")}")
            .Line($"Resident: {resident:N0} bytes{(maxResidentBytes is { } r ? $" (at most {r:N0}){(resident > r ? ": too large" : "")}" : "")}, {(double)resident / Math.Max(1, weights):F2} bytes per weight, kernel path {model.KernelPath}")
            .Line($"Weights: {weights:N0}; layers: {string.Join(", ", model.Layers.Select(l => l.Name))}")
            .User(message)
            .Call("Assert.That.ModelSizeAtMost", modelExpression, maxFileBytes.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// Saved with <c>mlContext.Model.Save</c> and loaded in a fresh MLContext, the model scores <paramref name="data"/>
    /// exactly as before: every column the model adds (Score, Probability, PredictedLabel, ...), bit for bit.
    /// </summary>
    /// <param name="assert">MSTest's <c>Assert.That</c>.</param>
    /// <param name="model">A fitted pipeline or transformer.</param>
    /// <param name="data">Data to score, with the pipeline's input columns.</param>
    /// <param name="message">Added to the failure message.</param>
    /// <param name="modelExpression">Filled by the compiler.</param>
    /// <exception cref="AssertFailedException">A value differs, or the reloaded model has other columns.</exception>
    public static void ScoresEqualAfterReload(this Assert assert, ITransformer model, IDataView data, string? message = null,
        [CallerArgumentExpression(nameof(model))] string modelExpression = "")
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        string folder = Path.Combine(Path.GetTempPath(), $"qat-testing-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        try
        {
            string path = Path.Combine(folder, "model.zip");
            var ml = new MLContext(seed: 0);
            ml.Model.Save(model, data.Schema, path);
            var reloaded = new MLContext(seed: 1).Model.Load(path, out _);
            if (ScoredColumns.FirstDifference(model.Transform(data), reloaded.Transform(data), data.Schema) is { } difference)
            {
                throw new FailureMessage("The reloaded model scores differently.")
                    .Line($"{difference}")
                    .Line($"Saved to and loaded from {new FileInfo(path).Length:N0} bytes")
                    .User(message)
                    .Call("Assert.That.ScoresEqualAfterReload", modelExpression);
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>
    /// torch.testing's <c>assert_close</c> for float spans: every <c>|actual - expected| &lt;= atol + rtol x |expected|</c>
    /// (NaN matches NaN). The defaults are torch's for float32. (Arrays take the array overload; spans of a buffer this one.)
    /// </summary>
    /// <param name="assert">MSTest's <c>Assert.That</c>.</param>
    /// <param name="expected">Expected values.</param>
    /// <param name="actual">Actual values.</param>
    /// <param name="rtol">Relative tolerance; default 1.3e-6.</param>
    /// <param name="atol">Absolute tolerance; default 1e-5.</param>
    /// <param name="message">Added to the failure message.</param>
    /// <param name="expectedExpression">Filled by the compiler.</param>
    /// <param name="actualExpression">Filled by the compiler.</param>
    /// <exception cref="AssertFailedException">Lengths differ or an element is further away.</exception>
    public static void AreClose(this Assert assert, ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double rtol = 1.3e-6, double atol = 1e-5, string? message = null,
        [CallerArgumentExpression(nameof(expected))] string expectedExpression = "", [CallerArgumentExpression(nameof(actual))] string actualExpression = "") =>
        Close.Check(expected, actual, rtol, atol, message, "Assert.That.AreClose", expectedExpression, actualExpression);

    /// <summary>
    /// torch.testing's <c>assert_close</c> for float arrays: every <c>|actual - expected| &lt;= atol + rtol x |expected|</c>
    /// (NaN matches NaN). The defaults are torch's for float32.
    /// </summary>
    /// <param name="assert">MSTest's <c>Assert.That</c>.</param>
    /// <param name="expected">Expected values.</param>
    /// <param name="actual">Actual values.</param>
    /// <param name="rtol">Relative tolerance; default 1.3e-6.</param>
    /// <param name="atol">Absolute tolerance; default 1e-5.</param>
    /// <param name="message">Added to the failure message.</param>
    /// <param name="expectedExpression">Filled by the compiler.</param>
    /// <param name="actualExpression">Filled by the compiler.</param>
    /// <exception cref="AssertFailedException">Lengths differ or an element is further away.</exception>
    public static void AreClose(this Assert assert, float[] expected, float[] actual, double rtol = 1.3e-6, double atol = 1e-5, string? message = null,
        [CallerArgumentExpression(nameof(expected))] string expectedExpression = "", [CallerArgumentExpression(nameof(actual))] string actualExpression = "")
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(actual);
        Close.Check(expected, actual, rtol, atol, message, "Assert.That.AreClose", expectedExpression, actualExpression);
    }

    /// <summary><see cref="AreClose(Assert, float[], float[], double, double, string?, string, string)"/> for ML.NET vectors (sparse ones compared densely).</summary>
    /// <param name="assert">MSTest's <c>Assert.That</c>.</param>
    /// <param name="expected">Expected values.</param>
    /// <param name="actual">Actual values.</param>
    /// <param name="rtol">Relative tolerance; default 1.3e-6.</param>
    /// <param name="atol">Absolute tolerance; default 1e-5.</param>
    /// <param name="message">Added to the failure message.</param>
    /// <param name="expectedExpression">Filled by the compiler.</param>
    /// <param name="actualExpression">Filled by the compiler.</param>
    /// <exception cref="AssertFailedException">Lengths differ or an element is further away.</exception>
    public static void AreClose(this Assert assert, VBuffer<float> expected, VBuffer<float> actual, double rtol = 1.3e-6, double atol = 1e-5, string? message = null,
        [CallerArgumentExpression(nameof(expected))] string expectedExpression = "", [CallerArgumentExpression(nameof(actual))] string actualExpression = "") =>
        Close.Check(expected.DenseValues().ToArray(), actual.DenseValues().ToArray(), rtol, atol, message, "Assert.That.AreClose", expectedExpression, actualExpression);

    private static int Samples(QuantizedModel model, float[] inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Length == 0 || inputs.Length % model.InputSize != 0)
            throw new ArgumentException($"{inputs.Length} input values are not whole samples of {model.InputSize}.", nameof(inputs));
        return inputs.Length / model.InputSize;
    }

    private static void CheckDrop(string metric, double floatValue, double int8Value, double maxDrop, long rows, string? message, string method, string expression, string? on = null)
    {
        if (floatValue - int8Value <= maxDrop + 1e-12)
            return;
        throw new FailureMessage($"The int8 model's {metric} is {floatValue - int8Value:F4} below the float model's; at most {maxDrop:F4} is allowed.")
            .Line($"Float {metric}: {floatValue:F4}; int8 {metric}: {int8Value:F4}; on {rows} rows{(on is null ? "" : " of the " + on)}")
            .User(message)
            .Call(method, expression, maxDrop.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}
