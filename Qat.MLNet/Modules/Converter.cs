using Qat.MLNet.Inference;
using Qat.MLNet.Inference.Kernels;
using Qat.MLNet.Quantization;
using Qat.MLNet.Quantization.Observers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Qat.MLNet.Modules;

/// <summary>
/// Turns a QAT model into a <see cref="QuantizedModel"/> (PyTorch: <c>convert</c> with the quantized modules'
/// <c>from_float</c>): BatchNorm folded as <c>fuse_conv_bn_weights</c>, weights quantized with the weight observer's
/// qparams (<c>_quantize_weight</c>), biases to int32 with scale inputScale x weightScale, activations with each
/// activation observer's qparams. The QAT model is not changed.
/// </summary>
internal static class Converter
{
    public static QuantizedModel Convert(nn.Module prepared, ActivationShape? inputShape, IReadOnlyCollection<string>? keepFloat = null)
    {
        // Folded weights and other temporaries are tensors; the result holds only managed arrays.
        using var scope = NewDisposeScope();
        var leaves = Leaves(prepared);
        if (leaves.Count < 2 || leaves[0].Module is not QuantStub stub || leaves[^1].Module is not DeQuantStub)
            throw new ArgumentException(
                "Convert needs a chain that starts with a QuantStub and ends with a DeQuantStub (Sequential(QuantStub, ..., DeQuantStub)); " +
                $"this one runs [{string.Join(", ", leaves.Select(l => $"{l.Path}: {l.Module.GetType().Name}"))}].", nameof(prepared));
        if (stub.ActivationPostProcess is not FakeQuantizeBase inputFq)
            throw new ArgumentException($"The QuantStub '{leaves[0].Path}' has no FakeQuantize: prepare the model with Quantizer.PrepareQat first.", nameof(prepared));

        var keep = new HashSet<string>(keepFloat ?? [], StringComparer.Ordinal);
        CheckKeepFloat(keep, leaves);

        // What the model is made of is checked before what it learned: an unsupported layer is the first thing to hear about.
        var steps = leaves.Skip(1).SkipLast(1).Select(leaf =>
        {
            var module = ConversionAdapters.StandIn(leaf.Module);
            var convert = FloatConversion(leaf.Path, leaf.Module, module, keep)
                ?? SupportedOperations.FindConversion(module.GetType())?.Convert
                ?? (SupportedOperations.Find(leaf.Module) is { Role: OperationRole.Converted } operation ? operation.Convert : null)
                ?? throw new NotSupportedException(Unsupported(leaf.Path, leaf.Module));
            return (leaf.Path, Module: module, Convert: convert);
        }).ToList();
        var modelShape = inputShape ?? InferInputShape(leaves);
        var current = ActivationQParams(leaves[0].Path, inputFq);
        var input = current;
        var shape = modelShape;
        var layers = new List<QuantizedLayer>();
        foreach (var (path, module, convert) in steps)
        {
            var layer = convert(new ConversionInput(path, module, shape, current));
            if (layer is QuantizedWeightedLayer weighted)
                current = weighted.Output;
            else if (layer is FloatWeightedLayer floatLayer)
                current = floatLayer.Output;
            shape = layer.OutputShape;
            layers.Add(layer);
        }
        return new QuantizedModel(modelShape, input, layers, current);
    }

    /// <summary>
    /// The float conversion of a leaf kept in float: a <see cref="FloatFallback"/> (qconfig null at PrepareQat), or a QAT
    /// layer named in <paramref name="keep"/>; null for every other leaf.
    /// </summary>
    private static Func<ConversionInput, QuantizedLayer>? FloatConversion(string path, nn.Module leaf, nn.Module standIn, HashSet<string> keep)
    {
        if (leaf is FloatFallback fallback)
        {
            if (fallback.ActivationPostProcess is not FakeQuantizeBase fq)
                throw new ArgumentException($"The float layer '{path}' has no output FakeQuantize: prepare the model with Quantizer.PrepareQat.");
            return step => FloatLayerConverter.Convert(path, fallback.Module, step.Shape, step.Input, ActivationQParams(path, fq));
        }
        if (keep.Contains(path) && standIn is Qat.QatModule qat)
            return step => FloatLayerConverter.Convert(path, qat, step.Shape, step.Input, OutputQParams(path, qat));
        return null;
    }

    /// <summary>Refuses a keep-float path that names no weighted QAT layer of the chain, listing those there are.</summary>
    private static void CheckKeepFloat(HashSet<string> keep, List<(string Path, nn.Module Module)> leaves)
    {
        var weighted = leaves.Where(l => ConversionAdapters.StandIn(l.Module) is Qat.QatModule).Select(l => l.Path).ToList();
        var unknown = keep.Where(p => !weighted.Contains(p)).ToList();
        if (unknown.Count > 0)
            throw new ArgumentException(
                $"Cannot keep [{string.Join(", ", unknown)}] in float: only quantized weighted layers can be, and this model's are [{string.Join(", ", weighted)}].", "keepFloat");
    }

    private static string Unsupported(string path, nn.Module module) => SupportedOperations.Find(module)?.Role switch
    {
        OperationRole.Weighted or OperationRole.Fused => $"Layer '{path}' ({module.GetType().Name}) is still float without an output quantization: it had no qconfig and PrepareQat had no qconfig to quantize its output with. " +
            "Prepare the model with a qconfig (Quantizer.PrepareQat(model, qconfig)); layers assigned a null qconfig then stay float inside a FloatFallback that Convert runs in float.",
        OperationRole.BatchNorm => $"Layer '{path}' (BatchNorm2d) stands alone: fuse it with the convolution before it (Quantizer.FuseModules) so Convert can fold it.",
        _ => $"Layer '{path}' ({module.GetType().FullName}) is not supported by the int8 engine; supported: the QAT modules of {SupportedOperations.SupportedLayersText}.",
    };

    /// <summary>The int8 ReLU: a clamp at the zero point.</summary>
    internal static QuantizedLayer ConvertReLU(ConversionInput step) => new QuantizedReLU(step.Path, step.Shape, step.Input.ZeroPoint);

    /// <summary>The int8 Flatten: a change of shape only.</summary>
    internal static QuantizedLayer ConvertFlatten(ConversionInput step) => new QuantizedFlatten(step.Path, step.Shape);

    /// <summary>The int8 Linear (and LinearReLU) of a QAT Linear.</summary>
    internal static QuantizedLayer ConvertLinear(ConversionInput step) => ConvertLinear(step.Path, (Qat.Linear)step.Module, step.Shape, step.Input);

    /// <summary>The int8 convolution of a QAT Conv2d (and ConvReLU2d).</summary>
    internal static QuantizedLayer ConvertConv(ConversionInput step)
    {
        var conv = (Qat.Conv2d)step.Module;
        return ConvertConv(step.Path, conv, conv.Geometry, step.Shape, step.Input, (conv.Weight, conv.Bias), conv is Qat.ConvReLU2d);
    }

    /// <summary>The int8 convolution of a QAT ConvBn2d (and ConvBnReLU2d), batch norm folded.</summary>
    internal static QuantizedLayer ConvertConvBn(ConversionInput step)
    {
        var convBn = (Qat.ConvBn2d)step.Module;
        return ConvertConv(step.Path, convBn, convBn.Geometry, step.Shape, step.Input, FoldBatchNorm(convBn.Weight, convBn.Bias, convBn.BatchNorm), convBn is Qat.ConvBnReLU2d);
    }

    /// <summary>A pooling setting as (height, width); TorchSharp leaves unset ones null (stride = kernel, padding 0, dilation 1).</summary>
    private static (int H, int W) Pair(long[]? values, (int H, int W) fallback)
        => values is null || values.Length == 0 ? fallback : ((int)values[0], (int)values[^1]);

    /// <summary>The int8 max pooling.</summary>
    internal static QuantizedLayer ConvertMaxPool(ConversionInput step)
    {
        var (path, pool, shape) = (step.Path, (MaxPool2d)step.Module, step.Shape);
        var k = Pair(pool.kernel_size, (0, 0));
        var s = Pair(pool.stride, k);
        var p = Pair(pool.padding, (0, 0));
        var d = Pair(pool.dilation, (1, 1));
        return new QuantizedMaxPool2d(path, shape, k.H, k.W, s.H, s.W, p.H, p.W, d.H, d.W, pool.ceil_mode);
    }

    /// <summary>The int8 average pooling (re-quantized to the input's qparams, as PyTorch's quantized avg_pool2d).</summary>
    internal static QuantizedLayer ConvertAvgPool(ConversionInput step)
    {
        var (path, pool, shape, current) = (step.Path, (AvgPool2d)step.Module, step.Shape, step.Input);
        var k = Pair(pool.kernel_size, (0, 0));
        var s = Pair(pool.stride, k);
        var p = Pair(pool.padding, (0, 0));
        return new QuantizedAvgPool2d(path, shape, k.H, k.W, s.H, s.W, p.H, p.W, pool.ceil_mode, pool.count_include_pad,
            pool.divisor_override is long d ? (int)d : null, current);
    }

    /// <summary>The modules Convert converts, in the order the chain runs them (Dropout and Identity left out), with their paths.</summary>
    internal static List<(string Path, nn.Module Module)> Leaves(nn.Module prepared)
    {
        var leaves = new List<(string Path, nn.Module Module)>();
        Flatten(prepared, "", leaves);
        leaves.RemoveAll(l => SupportedOperations.Find(l.Module)?.Role == OperationRole.Skipped);
        return leaves;
    }

    /// <summary>The modules in the order a chain of Sequentials runs them.</summary>
    private static void Flatten(nn.Module module, string path, List<(string, nn.Module)> leaves)
    {
        if (module is Sequential && !SupportedOperations.IsFused(module))
        {
            foreach (var (name, child) in module.named_children())
                Flatten(child, path.Length == 0 ? name : path + "." + name, leaves);
            return;
        }
        bool leaf = module is Qat.QatModule or FloatFallback || ConversionAdapters.Has(module) || SupportedOperations.Find(module) is not null;
        if (!leaf)
            throw new NotSupportedException(
                $"'{(path.Length == 0 ? "(root)" : path)}' ({module.GetType().FullName}) has its own forward, which Convert cannot follow: " +
                "build the network as a Sequential chain (nested Sequentials are fine) to convert it.");
        leaves.Add((path, module));
    }

    private static ActivationShape InferInputShape(List<(string Path, nn.Module Module)> leaves)
    {
        foreach (var (path, leaf) in leaves.Skip(1))
        {
            var module = ConversionAdapters.StandIn(leaf);
            if (module is Qat.Linear linear)
                return ActivationShape.Vector((int)linear.InFeatures);
            if (module is Qat.QatModule)
                throw new ArgumentException($"The first weighted layer '{path}' is a convolution: pass the input shape (channels, height, width) to Convert.");
        }
        throw new ArgumentException("The model has no weighted layer to infer the input shape from: pass it to Convert.");
    }

    private static QuantizationParameters ActivationQParams(string path, FakeQuantizeBase fq)
    {
        if (!fq.HasQParams)
            throw new InvalidOperationException(
                $"The activation observer of '{path}' ({fq.ActivationPostProcess.GetType().Name}) has seen no data, so its scale would be PyTorch's placeholder 1.0 " +
                "and the int8 model would be garbage. Run the prepared model forward on training or calibration batches (in training mode, observers enabled) before Convert.");
        var (scales, zeroPoints) = fq.CalculateQParamsArrays();
        if (fq.Dtype != QuantDType.QUInt8 || fq.IsPerChannel)
            throw new NotSupportedException($"Activations must be per-tensor quint8 for the int8 engine, not {fq.Dtype.TorchName()} {fq.QScheme.TorchName()}.");
        var q = new QuantizationParameters(scales[0], zeroPoints[0], fq.QuantMin, fq.QuantMax);
        q.Validate("activation");
        return q;
    }

    private static QuantizationParameters OutputQParams(string path, Qat.QatModule module)
        => module.ActivationPostProcess is FakeQuantizeBase fq
            ? ActivationQParams(path, fq)
            : throw new ArgumentException($"Layer '{path}' has no output FakeQuantize: prepare the model with Quantizer.PrepareQat.");

    private static QuantizedLinear ConvertLinear(string path, Qat.Linear linear, ActivationShape shape, QuantizationParameters input)
    {
        if (shape.Size != linear.InFeatures)
            throw new ArgumentException($"Layer '{path}' takes {linear.InFeatures} features but receives {shape} = {shape.Size}.");
        var (weights, scales) = QuantizeWeights(path, linear, linear.Weight);
        var bias = QuantizeBias(linear.Bias, scales, input.Scale, (int)linear.OutFeatures);
        return new QuantizedLinear(path, (int)linear.InFeatures, (int)linear.OutFeatures, weights, scales, bias, input,
            OutputQParams(path, linear), linear is Qat.LinearReLU);
    }

    private static QuantizedConv2d ConvertConv(string path, Qat.QatModule module, Qat.ConvGeometry g, ActivationShape shape,
        QuantizationParameters input, (Tensor Weight, Tensor? Bias) parameters, bool relu)
    {
        if (shape.Channels != g.InChannels)
            throw new ArgumentException($"Layer '{path}' takes {g.InChannels} channels but receives {shape}.");
        var (weights, scales) = QuantizeWeights(path, module, parameters.Weight);
        var bias = QuantizeBias(parameters.Bias, scales, input.Scale, (int)g.OutChannels);
        return new QuantizedConv2d(path, shape, (int)g.OutChannels, (int)g.KernelSize[0], (int)g.KernelSize[1], (int)g.Stride[0], (int)g.Stride[1],
            (int)g.Padding[0], (int)g.Padding[1], (int)g.Dilation[0], (int)g.Dilation[1], (int)g.Groups, weights, scales, bias, input,
            OutputQParams(path, module), relu);
    }

    /// <summary>PyTorch's <c>fuse_conv_bn_weights</c> (W * (gamma * rsqrt(var + eps)), (b - mean) * rsqrt(var + eps) * gamma + beta) of a convolution's weight and bias with <paramref name="bn"/>'s running statistics (gamma 1 and beta 0 without affine).</summary>
    internal static (Tensor Weight, Tensor? Bias) FoldBatchNorm(Tensor convWeight, Tensor? convBias, BatchNorm2d bn)
    {
        using var noGrad = no_grad();
        // Explicit Scalars held by `using`: TorchSharp's implicit ones can be finalized during the native call.
        using Scalar eps = bn.eps.ToScalar(), one = 1.ToScalar();
        var rsqrtVar = bn.running_var!.add(eps, one).rsqrt();
        var gamma = bn.weight is null ? ones_like(rsqrtVar) : (Tensor)bn.weight;
        var weight = convWeight * (gamma * rsqrtVar).reshape(-1, 1, 1, 1);
        var bias = convBias is null ? zeros_like(bn.running_mean!) : convBias;
        bias = (bias - bn.running_mean!) * rsqrtVar * gamma;
        if (bn.bias is not null)
            bias = bias.add(bn.bias, one);
        return (weight, bias);
    }

    /// <summary>
    /// PyTorch's weight conversion: the weight observer sees the (folded) weight once more, unless it is disabled (done on a
    /// copy here, so the QAT model does not change), then <c>_quantize_weight</c> with its qparams.
    /// </summary>
    private static (sbyte[] Weights, float[] Scales) QuantizeWeights(string path, Qat.QatModule module, Tensor weight)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var w = WeightQParamsAfterLastLook(module, weight);
        if (w.Dtype != QuantDType.QInt8 || !w.QScheme.IsSymmetric())
            throw new NotSupportedException($"Layer '{path}': weights must be symmetric qint8 for the int8 engine (zero point 0), not {w.Dtype.TorchName()} {w.QScheme.TorchName()}.");
        var (scales, zeroPoints) = (w.Scales, w.ZeroPoints);
        if (zeroPoints.Any(z => z != 0))
            throw new NotSupportedException($"Layer '{path}': weight zero points must be 0.");
        int channels = (int)weight.shape[0];
        if (w.QScheme.IsPerChannel() && (scales.Length != channels || w.ChAxis != 0))
            throw new NotSupportedException($"Layer '{path}': per-channel weight scales must be along axis 0, one per output channel.");
        var values = weight.detach().contiguous().data<float>().ToArray();
        int perChannel = values.Length / channels;
        var q = new sbyte[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            float inv = 1f / scales[scales.Length == 1 ? 0 : i / perChannel];
            q[i] = (sbyte)RoundAddClamp.Apply(values[i] * inv, 0f, -128f, 127f); // PyTorch's _quantize_weight, zero point 0
        }
        return (q, scales);
    }

    /// <summary>The weight qparams Convert quantizes with, and the scheme they are in.</summary>
    private readonly record struct WeightQParams(float[] Scales, int[] ZeroPoints, QuantDType Dtype, QScheme QScheme, int ChAxis);

    /// <summary>
    /// PyTorch's convert runs the weight post-process on the weight once more (observing it, unless observation is off)
    /// and takes its <c>calculate_qparams()</c>: an observer's, or a learnable fake-quantize's learned ones. The look is
    /// taken on a copy, so the QAT model does not change.
    /// </summary>
    private static WeightQParams WeightQParamsAfterLastLook(Qat.QatModule module, Tensor weight)
    {
        switch (module.WeightFakeQuant)
        {
            case FakeQuantizeBase fq when !fq.ObserverEnabled:
                if (!fq.HasQParams)
                    throw new InvalidOperationException(
                        $"The weight observer of a {module.GetType().Name} is disabled and has seen no weights: its scale would be the placeholder 1.0. " +
                        "Enable it (Quantizer.EnableObserver) or run the model forward once before disabling observers.");
                return Of(fq);
            case FakeQuantizeBase fq:
            {
                using var copy = (FakeQuantizeBase)module.QConfig.Weight.Create();
                QuantizationState.LoadStateDict(copy, fq.state_dict());
                copy.forward(weight);
                return Of(copy);
            }
            case ObserverBase observer:
            {
                using var copy = (ObserverBase)module.QConfig.Weight.Create();
                QuantizationState.LoadStateDict(copy, observer.state_dict());
                copy.forward(weight);
                var (scales, zeroPoints) = copy.CalculateQParamsArrays();
                return new WeightQParams(scales, zeroPoints, copy.Dtype, copy.QScheme, copy is PerChannelMinMaxObserver p ? p.ChAxis : -1);
            }
            default:
                throw new NotSupportedException($"The weight post-process {module.WeightFakeQuant.GetType().Name} is neither a fake-quantize nor an observer.");
        }

        static WeightQParams Of(FakeQuantizeBase fq)
        {
            var (scales, zeroPoints) = fq.CalculateQParamsArrays();
            return new WeightQParams(scales, zeroPoints, fq.Dtype, fq.QScheme, fq.ChAxis);
        }
    }

    /// <summary>int32 bias as PyTorch's <c>quantize_per_channel(bias, weightScale * inputScale, 0, qint32)</c>; zeros without bias.</summary>
    private static int[] QuantizeBias(Tensor? bias, float[] weightScales, float inputScale, int channels)
    {
        var result = new int[channels];
        if (bias is null)
            return result;
        var values = bias.detach().contiguous().data<float>().ToArray();
        for (int c = 0; c < channels; c++)
        {
            double scale = (double)weightScales[weightScales.Length == 1 ? 0 : c] * inputScale;
            float inv = 1f / (float)scale;
            float r = MathF.Round(values[c] * inv);
            result[c] = (int)Math.Clamp(r, (float)int.MinValue, (float)int.MaxValue);
        }
        return result;
    }
}
