using Qat.MLNet.Inference;
using Qat.MLNet.Modules;
using Qat.MLNet.Quantization;
using Qat.MLNet.Reports;
using static TorchSharp.torch;

namespace Qat.MLNet.Diagnostics;

/// <summary>
/// Why a model loses accuracy in int8, layer by layer (AIMET's QuantAnalyzer, PyTorch's numeric suite, plus what they
/// lack: the int8 engine's own parity): for each layer of the converted model the SQNR of its fake-quant output against
/// float, the engine's distance from the fake-quant model in output steps, float and grid ranges with the clipped
/// fraction, weight ranges and per-channel outliers; with a metric, the metric when that one layer is left float (on the
/// engine), and the fewest layers to keep float to meet a metric drop.
/// </summary>
/// <example>
/// <code>
/// var analysis = QuantizationAnalyzer.Analyze(qat, new ActivationShape(1, 28, 28), images, count,
///     QuantizationAnalyzer.Accuracy(labels), maximumMetricDrop: 0.005);
/// Console.WriteLine(analysis.ToMarkdown());
/// var mixed = Quantizer.Convert(qat, new ActivationShape(1, 28, 28), keepFloat: analysis.SuggestedFloatLayers);
/// </code>
/// </example>
public static class QuantizationAnalyzer
{
    /// <summary>A channel is an outlier when its largest absolute weight is over this many times the median channel's.</summary>
    public const double OutlierFactor = 4;

    /// <summary>
    /// Analyses <paramref name="prepared"/> (a trained QAT model, calibrated) and its conversion on <paramref name="inputs"/>.
    /// The model is left as it was (training mode and every fake-quantize switch restored).
    /// </summary>
    /// <param name="prepared">The QAT model (<see cref="Quantizer.PrepareQat"/>, trained or calibrated).</param>
    /// <param name="inputShape">Per-sample input shape (as for <see cref="Quantizer.Convert"/>).</param>
    /// <param name="inputs">Samples one after another, in the model's input space (standardized already if the model is).</param>
    /// <param name="sampleCount">Samples in <paramref name="inputs"/>.</param>
    /// <param name="metric">The metric of a model's outputs on these samples (all of them, one after another), higher is
    /// better (e.g. <see cref="Accuracy"/>); null skips the sensitivity and the suggestion.</param>
    /// <param name="maximumMetricDrop">The float-minus-int8 metric drop the suggestion must meet; null for no suggestion.</param>
    /// <returns>The analysis.</returns>
    /// <exception cref="ArgumentException">The inputs do not fit the shape, or a target without a metric.</exception>
    public static QuantizationAnalysis Analyze(nn.Module<Tensor, Tensor> prepared, ActivationShape inputShape, float[] inputs, int sampleCount,
        Func<float[], double>? metric = null, double? maximumMetricDrop = null)
    {
        ArgumentNullException.ThrowIfNull(prepared);
        ArgumentNullException.ThrowIfNull(inputs);
        if (sampleCount <= 0 || inputs.Length != (long)sampleCount * inputShape.Size)
            throw new ArgumentException($"inputs has {inputs.Length} values; {sampleCount} samples of {inputShape} need {(long)sampleCount * inputShape.Size}.", nameof(inputs));
        if (maximumMetricDrop is not null && metric is null)
            throw new ArgumentException("A maximum metric drop needs a metric to measure it with: pass one (e.g. QuantizationAnalyzer.Accuracy(labels)).", nameof(maximumMetricDrop));
        if (maximumMetricDrop is { } d && !(d >= 0))
            throw new ArgumentOutOfRangeException(nameof(maximumMetricDrop), d, "must be zero or positive.");

        bool wasTraining = prepared.training;
        prepared.eval();
        try
        {
            var int8 = Quantizer.Convert(prepared, inputShape);
            var weighted = Converter.Leaves(prepared).Where(l => ConversionAdapters.StandIn(l.Module) is Modules.Qat.QatModule).Select(l => l.Path).ToList();
            // Every weighted layer in float: its weights with BatchNorm folded, as the int8 layer quantizes them.
            var allFloat = weighted.Count == 0 ? int8 : Quantizer.Convert(prepared, inputShape, keepFloat: weighted);
            // Observers off while the data passes through (a fake-quantize observes in eval mode too): the analysis must not
            // move the qparams it describes.
            var (fakeQuantOutputs, floatOutputs) = WithObserversOff(prepared, () =>
                (LeafOutputs(prepared, inputShape, inputs, sampleCount), WithFakeQuantOff(prepared, () => LeafOutputs(prepared, inputShape, inputs, sampleCount))));
            var engine = int8.RunLayers(inputs, sampleCount);

            double? floatMetric = null, int8Metric = null;
            var sensitivity = new Dictionary<string, double>();
            if (metric is not null)
            {
                floatMetric = metric(floatOutputs.Final);
                int8Metric = metric(int8.Predict(inputs, sampleCount));
                foreach (var path in weighted)
                    sensitivity[path] = metric(WithFloatLayers(int8, allFloat, [path]).Predict(inputs, sampleCount));
            }

            var layers = new List<LayerQuantizationReport>();
            for (int i = 0; i < int8.Layers.Count; i++)
            {
                var layer = int8.Layers[i];
                var (levels, q) = engine[i + 1];
                var fq = fakeQuantOutputs.ByPath[layer.Name];
                var fl = floatOutputs.ByPath[layer.Name];
                var report = Describe(layer, levels, q, fq, fl, allFloat.Layers[i]);
                if (sensitivity.TryGetValue(layer.Name, out var m))
                    report = report with { MetricWithLayerFloat = m, MetricGainWhenFloat = m - int8Metric };
                layers.Add(report);
            }

            var analysis = new QuantizationAnalysis { Layers = layers, SampleCount = sampleCount, FloatMetric = floatMetric, Int8Metric = int8Metric, Model = int8 };
            return maximumMetricDrop is { } drop ? Suggest(analysis, drop, int8, allFloat, inputs, sampleCount, metric!) : analysis;
        }
        finally
        {
            prepared.train(wasTraining);
        }
    }

    /// <summary>Accuracy of class scores (one row of scores per sample, the arg-max against <paramref name="labels"/>; one logit per sample: positive means class 1).</summary>
    public static Func<float[], double> Accuracy(IReadOnlyList<int> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        return outputs => OutputMetrics.Accuracy(outputs, labels, outputs.Length / labels.Count);
    }

    /// <summary>Negative mean squared error of one output per sample against <paramref name="targets"/> (higher is better).</summary>
    public static Func<float[], double> NegativeMeanSquaredError(IReadOnlyList<float> targets)
    {
        ArgumentNullException.ThrowIfNull(targets);
        return outputs => -outputs.Select((y, i) => (double)(y - targets[i]) * (y - targets[i])).Average();
    }

    /// <summary>Adds layers to keep float, most sensitive first, until the drop is met or none is left.</summary>
    private static QuantizationAnalysis Suggest(QuantizationAnalysis analysis, double drop, QuantizedModel int8, QuantizedModel allFloat,
        float[] inputs, int n, Func<float[], double> metric)
    {
        double target = analysis.FloatMetric!.Value - drop;
        var chosen = new List<string>();
        double current = analysis.Int8Metric!.Value;
        foreach (var layer in analysis.BySensitivity)
        {
            if (current >= target)
                break;
            chosen.Add(layer.Name);
            current = metric(WithFloatLayers(int8, allFloat, chosen).Predict(inputs, n));
        }
        return analysis with
        {
            MaximumMetricDrop = drop, SuggestedFloatLayers = chosen, SuggestedMetric = current, MeetsTarget = current >= target,
            Model = chosen.Count == 0 ? int8 : WithFloatLayers(int8, allFloat, chosen),
        };
    }

    /// <summary>
    /// The int8 model with the layers at <paramref name="paths"/> taken from the all-float conversion: what
    /// <c>Quantizer.Convert(prepared, shape, keepFloat: paths)</c> builds (each layer's input and output qparams are its own,
    /// whichever layers around it are float), without converting, and copying, every layer's weights again.
    /// </summary>
    private static QuantizedModel WithFloatLayers(QuantizedModel int8, QuantizedModel allFloat, IReadOnlyCollection<string> paths) =>
        new(int8.InputShape, int8.Input, int8.Layers.Select((layer, i) => paths.Contains(layer.Name) ? allFloat.Layers[i] : layer).ToList(), int8.Output);

    private static LayerQuantizationReport Describe(QuantizedLayer layer, byte[] levels, QuantizationParameters q, float[] fakeQuant, float[] floats, QuantizedLayer floatTwin)
    {
        double signal = 0, noise = 0, stepSum = 0;
        int maxSteps = 0, clipped = 0;
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        float gridMin = (q.QuantMin - q.ZeroPoint) * q.Scale, gridMax = (q.QuantMax - q.ZeroPoint) * q.Scale;
        for (int i = 0; i < levels.Length; i++)
        {
            double f = floats[i], e = f - fakeQuant[i];
            signal += f * f;
            noise += e * e;
            int fakeQuantLevel = (int)MathF.Round(fakeQuant[i] / q.Scale) + q.ZeroPoint;
            int steps = Math.Abs(levels[i] - fakeQuantLevel);
            stepSum += steps;
            maxSteps = Math.Max(maxSteps, steps);
            min = Math.Min(min, floats[i]);
            max = Math.Max(max, floats[i]);
            if (floats[i] < gridMin || floats[i] > gridMax)
                clipped++;
        }
        var report = new LayerQuantizationReport
        {
            Name = layer.Name,
            Kind = layer.GetType().Name,
            IsFloat = layer is FloatWeightedLayer,
            SqnrDecibels = Sqnr(signal, noise),
            MaxStepsFromFakeQuant = maxSteps,
            MeanStepsFromFakeQuant = stepSum / levels.Length,
            OutputScale = q.Scale,
            FloatOutputMin = min,
            FloatOutputMax = max,
            GridMin = gridMin,
            GridMax = gridMax,
            ClippedFraction = (double)clipped / levels.Length,
        };
        return floatTwin is FloatWeightedLayer twin ? WithWeights(report, layer, twin) : report;
    }

    private static LayerQuantizationReport WithWeights(LayerQuantizationReport report, QuantizedLayer layer, FloatWeightedLayer twin)
    {
        var w = twin.Weights;
        int channels = twin.OutputShape.Channels, perChannel = w.Length / channels;
        var absMax = new float[channels];
        for (int c = 0; c < channels; c++)
            absMax[c] = MathF.Abs(System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(w.AsSpan(c * perChannel, perChannel)));
        var sorted = absMax.Order().ToArray();
        float median = sorted[sorted.Length / 2];
        var outliers = Enumerable.Range(0, channels).Where(c => absMax[c] > OutlierFactor * median).ToArray();
        double? weightSqnr = null;
        long[] levelCounts = [];
        if (layer is QuantizedWeightedLayer int8)
        {
            var q = int8.Weights;
            levelCounts = new long[256];
            double signal = 0, noise = 0;
            for (int i = 0; i < w.Length; i++)
            {
                float step = int8.WeightScales[int8.WeightScales.Length == 1 ? 0 : i / perChannel];
                double e = w[i] - q[i] * step;
                signal += (double)w[i] * w[i];
                noise += e * e;
                levelCounts[q[i] + 128]++;
            }
            weightSqnr = Sqnr(signal, noise);
        }
        return report with
        {
            WeightMin = w.Min(), WeightMax = w.Max(), WeightSqnrDecibels = weightSqnr, ChannelAbsMax = absMax, OutlierChannels = outliers, WeightLevelCounts = levelCounts,
        };
    }

    private static double Sqnr(double signal, double noise) => noise == 0 ? double.PositiveInfinity : 10 * Math.Log10(signal / noise);

    /// <summary>Each leaf's output (by path) and the model's final output, running the chain leaf by leaf as Convert reads it.</summary>
    private static (Dictionary<string, float[]> ByPath, float[] Final) LeafOutputs(nn.Module<Tensor, Tensor> prepared, ActivationShape shape, float[] inputs, int n)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var x = tensor(inputs, shape.Height == 1 && shape.Width == 1 ? [n, shape.Channels] : [n, shape.Channels, shape.Height, shape.Width]);
        var byPath = new Dictionary<string, float[]>();
        foreach (var (path, module) in Converter.Leaves(prepared))
        {
            x = ((nn.Module<Tensor, Tensor>)module).call(x);
            byPath[path] = x.contiguous().data<float>().ToArray();
        }
        return (byPath, x.reshape(n, -1).contiguous().data<float>().ToArray());
    }

    /// <summary>Runs <paramref name="action"/> with every observer off, then restores each switch as it was.</summary>
    private static T WithObserversOff<T>(nn.Module model, Func<T> action) =>
        WithSwitchOff(model, fq => fq.ObserverEnabled, (fq, on) => fq.ObserverEnabled = on, action);

    /// <summary>Runs <paramref name="action"/> with every fake-quantize off, then restores each switch as it was.</summary>
    private static T WithFakeQuantOff<T>(nn.Module model, Func<T> action) =>
        WithSwitchOff(model, fq => fq.FakeQuantEnabled, (fq, on) => fq.FakeQuantEnabled = on, action);

    private static T WithSwitchOff<T>(nn.Module model, Func<FakeQuantizeBase, bool> get, Action<FakeQuantizeBase, bool> set, Func<T> action)
    {
        var switches = model.modules().OfType<FakeQuantizeBase>().Select(fq => (fq, get(fq))).ToList();
        foreach (var (fq, _) in switches)
            set(fq, false);
        try
        {
            return action();
        }
        finally
        {
            foreach (var (fq, on) in switches)
                set(fq, on);
        }
    }
}
