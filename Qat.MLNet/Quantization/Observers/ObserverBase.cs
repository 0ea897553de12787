using Qat.MLNet.Internal;
using TorchSharp;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Qat.MLNet.Quantization.Observers;

/// <summary>
/// The contract of every observer (PyTorch: <c>torch.ao.quantization.observer._ObserverBase</c>): <c>forward</c> records
/// statistics of the tensors that flow through and returns its input unchanged; <see cref="CalculateQParams"/> turns the
/// statistics into a scale and zero point.
/// </summary>
/// <remarks>
/// The qparams follow PyTorch 1.13's <c>_calculate_qparams</c>, in float32:
/// <code>
/// minNeg = min(min_val, 0); maxPos = max(max_val, 0)
/// affine:    scale = max((maxPos - minNeg) / (quantMax - quantMin), eps)
///            zeroPoint = clamp(quantMin - round_half_even(minNeg / scale), quantMin, quantMax)
/// symmetric: scale = max(max(-minNeg, maxPos) / ((quantMax - quantMin) / 2), eps)
///            zeroPoint = 0 (qint8), 128 (quint8), or (quantMin + quantMax) / 2 (quint8 with a custom range)
/// </code>
/// An observer that has seen nothing answers scale 1 and zero point 0.
/// </remarks>
public abstract class ObserverBase : nn.Module<Tensor, Tensor>
{
    // PyTorch keeps eps as a buffer too, so it travels in the state dict under the same name.
    [ComponentName(Name = "eps")]
    private readonly Tensor _eps;

    /// <summary>PyTorch's default <c>eps</c>: <c>torch.finfo(torch.float32).eps</c> = 2^-23.</summary>
    public const float DefaultEps = 1.1920929e-07f;

    /// <summary>Validates the settings and computes the effective quantization range.</summary>
    /// <param name="name">The module name.</param>
    /// <param name="dtype">The quantized type.</param>
    /// <param name="qscheme">The scheme; per-tensor or per-channel as the observer requires.</param>
    /// <param name="reduceRange">Drop one bit of range (fbgemm activations); not allowed for symmetric quint8.</param>
    /// <param name="quantMin">Custom lower end, given together with <paramref name="quantMax"/>, or null.</param>
    /// <param name="quantMax">Custom upper end, or null.</param>
    /// <param name="eps">The smallest scale; positive and finite.</param>
    /// <exception cref="ArgumentException">A setting is invalid.</exception>
    protected ObserverBase(string name, QuantDType dtype, QScheme qscheme, bool reduceRange, int? quantMin, int? quantMax, float eps)
        : base(name)
    {
        Guard.Require(Enum.IsDefined(dtype), nameof(dtype), dtype, "is not a QuantDType.");
        Guard.Require(Enum.IsDefined(qscheme), nameof(qscheme), qscheme, "is not a QScheme.");
        Guard.Require(!(qscheme.IsSymmetric() && reduceRange && dtype == QuantDType.QUInt8), nameof(reduceRange), reduceRange,
            $"cannot be true for symmetric quantization to quint8 ({qscheme}): use QInt8, or reduceRange: false.");
        Guard.Require(float.IsFinite(eps) && eps > 0f, nameof(eps), eps, "must be a positive finite number.");
        Dtype = dtype;
        QScheme = qscheme;
        ReduceRange = reduceRange;
        _eps = ModuleBuffers.Create(new[] { eps }, 1);
        HasCustomizedQRange = quantMin.HasValue && quantMax.HasValue;
        (QuantMin, QuantMax) = QuantRange.Calculate(quantMin, quantMax, dtype, reduceRange);
    }

    /// <summary>The quantized type (PyTorch: <c>dtype</c>).</summary>
    public QuantDType Dtype { get; }

    /// <summary>The quantization scheme (PyTorch: <c>qscheme</c>).</summary>
    public QScheme QScheme { get; }

    /// <summary>Whether one bit of range is dropped (PyTorch: <c>reduce_range</c>).</summary>
    public bool ReduceRange { get; }

    /// <summary>The effective lower end of the integer range (PyTorch: <c>quant_min</c>).</summary>
    public int QuantMin { get; }

    /// <summary>The effective upper end of the integer range (PyTorch: <c>quant_max</c>).</summary>
    public int QuantMax { get; }

    /// <summary>The smallest scale returned (PyTorch buffer <c>eps</c>).</summary>
    public float Eps => ModuleBuffers.Read<float>(_eps);

    /// <summary>Whether a custom range was given (PyTorch: <c>has_customized_qrange</c>).</summary>
    public bool HasCustomizedQRange { get; }

    /// <summary>The running minimum: a scalar tensor, or one value per channel (PyTorch buffer <c>min_val</c>).</summary>
    public abstract Tensor MinVal { get; }

    /// <summary>The running maximum (PyTorch buffer <c>max_val</c>).</summary>
    public abstract Tensor MaxVal { get; }

    /// <summary>
    /// The scale (float32) and zero point (int32) from the statistics so far (PyTorch: <c>calculate_qparams</c>): one
    /// element for per-tensor observers, one per channel for per-channel observers.
    /// </summary>
    /// <exception cref="InvalidOperationException">The observer has seen NaN or infinite values.</exception>
    public (Tensor Scale, Tensor ZeroPoint) CalculateQParams()
    {
        var (scales, zeroPoints) = CalculateQParamsArrays();
        return (torch.tensor(scales, ScalarType.Float32), torch.tensor(zeroPoints, ScalarType.Int32));
    }

    /// <summary>The qparams as arrays, without tensors (the fast path FakeQuantize uses).</summary>
    internal (float[] Scales, int[] ZeroPoints) CalculateQParamsArrays()
        => CalculateQParamsFrom(TensorMemory.ToFloatArray(MinVal), TensorMemory.ToFloatArray(MaxVal), isUnobserved: IsUnobserved());

    /// <summary>Whether nothing has been observed yet (then the qparams are scale 1, zero point 0).</summary>
    protected abstract bool IsUnobserved();

    /// <summary>Whether the observer has seen data (Convert refuses an observer that has not: its scale would be a meaningless 1).</summary>
    internal bool HasObserved => !IsUnobserved();

    /// <summary>PyTorch's <c>_calculate_qparams</c> over per-element minima and maxima.</summary>
    internal (float[] Scales, int[] ZeroPoints) CalculateQParamsFrom(float[] minVals, float[] maxVals, bool isUnobserved)
    {
        if (isUnobserved || minVals.Length == 0)
            return (new[] { 1f }, new[] { 0 });

        int n = minVals.Length;
        float eps = Eps;
        var scales = new float[n];
        var zeroPoints = new int[n];
        for (int i = 0; i < n; i++)
        {
            float min = minVals[i], max = maxVals[i];
            if (!float.IsFinite(min) || !float.IsFinite(max))
                throw new InvalidOperationException(
                    $"{GetType().Name} has seen non-finite values (min {Guard.Format(min)}, max {Guard.Format(max)}{(n > 1 ? $" in channel {i}" : "")}): " +
                    "check the data for NaN or infinity, or lower the learning rate if training diverged.");
            if (min > max)
                throw new InvalidOperationException($"{GetType().Name}: min ({Guard.Format(min)}) should be <= max ({Guard.Format(max)}).");

            float minNeg = MathF.Min(min, 0f);
            float maxPos = MathF.Max(max, 0f);
            if (QScheme.IsSymmetric())
            {
                maxPos = MathF.Max(-minNeg, maxPos);
                float scale = maxPos / (float)((double)(QuantMax - QuantMin) / 2.0);
                scales[i] = MathF.Max(scale, eps);
                zeroPoints[i] = Dtype == QuantDType.QUInt8
                    ? (HasCustomizedQRange ? (int)Math.Floor(((long)QuantMin + QuantMax) / 2.0) : 128)
                    : 0;
            }
            else
            {
                float scale = (maxPos - minNeg) / (float)((long)QuantMax - QuantMin);
                scale = MathF.Max(scale, eps);
                scales[i] = scale;
                long zeroPoint = QuantMin - (long)MathF.Round(minNeg / scale);
                zeroPoints[i] = (int)Math.Clamp(zeroPoint, QuantMin, QuantMax);
            }
        }
        return (scales, zeroPoints);
    }

    /// <summary>Writes a float32 buffer of this module (see <see cref="ModuleBuffers.Write{T}"/>).</summary>
    private protected void WriteBuffer(ref Tensor field, string name, float[] values, long[] shape)
        => ModuleBuffers.Write(ref field, values, shape, t => ConditionallyRegisterBuffer(name, t));
}
