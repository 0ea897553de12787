using System.Text.Json;
using Qat.MLNet.Quantization;
using Qat.MLNet.Quantization.Observers;
using Qat.MLNet.Tests.Golden;
using static TorchSharp.torch;

namespace Qat.MLNet.Tests.Quantization;

/// <summary>
/// Learnable fake quantization (LSQ) against PyTorch 1.13's <c>_fake_quantize_learnable_per_*_affine</c> and
/// <c>_LearnableFakeQuantize</c> (learnable_fake_quantize.json): outputs and input gradients bit for bit, the summed
/// scale and zero-point gradients to float rounding (PyTorch sums them in its own order), the static estimate's qparams
/// bit for bit, and calculate_qparams.
/// </summary>
[TestClass]
[TestCategory("Golden")]
public sealed class LearnableFakeQuantizeGoldenTests
{
    public static IEnumerable<object[]> Functional() => Cases("functional");

    public static IEnumerable<object[]> Modules() => Cases("module");

    private static IEnumerable<object[]> Cases(string kind) => GoldenData.Cases("learnable_fake_quantize")
        .Where(c => c.GetProperty("kind").GetString() == kind).Select(c => new object[] { c.GetProperty("name").GetString()!, c });

    /// <summary>Sums of many float terms: equal within a relative 1e-4 of the sum of their sizes (PyTorch's order is its own).</summary>
    private static void AssertSumsClose(float[] expected, float[] actual, string what)
    {
        Assert.HasCount(expected.Length, actual, what);
        for (int i = 0; i < expected.Length; i++)
            Assert.AreEqual(expected[i], actual[i], 1e-4 * Math.Max(1, Math.Abs(expected[i])), $"{what}[{i}]");
    }

    [TestMethod]
    [DynamicData(nameof(Functional), DynamicDataDisplayName = nameof(GoldenData.DisplayName), DynamicDataDisplayNameDeclaringType = typeof(GoldenData))]
    public void LearnableFakeQuant_GoldenCase_MatchesPyTorchOutputAndGradients(string name, JsonElement c)
    {
        using var scope = NewDisposeScope();
        var x = GoldenData.ToTensor(c.GetProperty("x")).requires_grad_(true);
        var scaleValues = GoldenData.Floats(c.GetProperty("scale"));
        var scale = tensor(scaleValues, [scaleValues.Length]).requires_grad_(true);
        var zeroPointValues = GoldenData.Floats(c.GetProperty("zero_point"));
        var zeroPoint = tensor(zeroPointValues, [zeroPointValues.Length]).requires_grad_(true);
        int qmin = c.GetProperty("quant_min").GetInt32(), qmax = c.GetProperty("quant_max").GetInt32();
        float gradFactor = (float)c.GetProperty("grad_factor").GetDouble();
        var axis = c.GetProperty("axis");

        var y = axis.ValueKind == JsonValueKind.Null
            ? FakeQuant.LearnablePerTensorAffine(x, scale, zeroPoint, qmin, qmax, gradFactor)
            : FakeQuant.LearnablePerChannelAffine(x, scale, zeroPoint, axis.GetInt64(), qmin, qmax, gradFactor);
        y.backward([GoldenData.ToTensor(c.GetProperty("dy"))]);

        GoldenData.AssertBitEqual(GoldenData.Floats(c.GetProperty("y")), y.detach().data<float>().ToArray(), name + " y");
        GoldenData.AssertBitEqual(GoldenData.Floats(c.GetProperty("dx")), x.grad!.data<float>().ToArray(), name + " dx");
        AssertSumsClose(GoldenData.Floats(c.GetProperty("dscale")), scale.grad!.data<float>().ToArray(), name + " dscale");
        AssertSumsClose(GoldenData.Floats(c.GetProperty("dzero_point")), zeroPoint.grad!.data<float>().ToArray(), name + " dzero_point");
    }

    [TestMethod]
    [DynamicData(nameof(Modules), DynamicDataDisplayName = nameof(GoldenData.DisplayName), DynamicDataDisplayNameDeclaringType = typeof(GoldenData))]
    public void LearnableFakeQuantize_GoldenSteps_StaticEstimateThenLearning_MatchPyTorch(string name, JsonElement c)
    {
        using var fq = name.Contains("weight", StringComparison.Ordinal)
            ? new LearnableFakeQuantize(MovingAveragePerChannelMinMaxObserver.WithArgs(dtype: QuantDType.QInt8, qscheme: QScheme.PerChannelSymmetric, chAxis: 0),
                -128, 127, channelLength: 6, useGradScaling: true)
            : new LearnableFakeQuantize(MovingAverageMinMaxObserver.WithArgs(dtype: QuantDType.QUInt8, qscheme: QScheme.PerTensorAffine, reduceRange: false),
                0, 255, useGradScaling: true);
        int learnFrom = c.GetProperty("learn_from").GetInt32(), step = 0;
        foreach (var s in c.GetProperty("steps").EnumerateArray())
        {
            using var scope = NewDisposeScope();
            string at = $"{name} step {step}";
            if (step == learnFrom)
                fq.EnableParamLearning();
            if (step >= learnFrom)
            {
                // PyTorch's scale after its SGD step, so this step's forward starts where PyTorch's did.
                using (no_grad())
                {
                    fq.Scale.copy_(tensor(GoldenData.Floats(s.GetProperty("scale"))));
                    fq.ZeroPoint.copy_(tensor(GoldenData.Floats(s.GetProperty("zero_point"))));
                }
            }
            fq.Scale.grad?.zero_();
            fq.ZeroPoint.grad?.zero_();
            var x = GoldenData.ToTensor(s.GetProperty("x")).requires_grad_(true);
            var y = fq.forward(x);
            y.backward([GoldenData.ToTensor(s.GetProperty("dy"))]);

            GoldenData.AssertBitEqual(GoldenData.Floats(s.GetProperty("scale")), fq.Scale.detach().data<float>().ToArray(), at + " scale");
            GoldenData.AssertBitEqual(GoldenData.Floats(s.GetProperty("zero_point")), fq.ZeroPoint.detach().data<float>().ToArray(), at + " zero_point");
            GoldenData.AssertBitEqual(GoldenData.Floats(s.GetProperty("y")), y.detach().data<float>().ToArray(), at + " y");
            GoldenData.AssertBitEqual(GoldenData.Floats(s.GetProperty("dx")), x.grad!.data<float>().ToArray(), at + " dx");
            // PyTorch's parameters take gradients in the static phase too (requires_grad from the start); the next static
            // forward overwrites what the step did with them.
            AssertSumsClose(GoldenData.Floats(s.GetProperty("dscale")), fq.Scale.grad!.data<float>().ToArray(), at + " dscale");
            AssertSumsClose(GoldenData.Floats(s.GetProperty("dzero_point")), fq.ZeroPoint.grad!.data<float>().ToArray(), at + " dzero_point");
            using (no_grad())
            {
                fq.Scale.sub_(fq.Scale.grad! * 0.01f);
                fq.ZeroPoint.sub_(fq.ZeroPoint.grad! * 0.5f);
            }
            step++;
        }
        var (scales, zeroPoints) = fq.CalculateQParams();
        var expected = c.GetProperty("calculate_qparams");
        AssertSumsClose(GoldenData.Floats(expected.GetProperty("scale")), scales.data<float>().ToArray(), name + " calculate_qparams scale");
        CollectionAssert.AreEqual(GoldenData.Ints(expected.GetProperty("zero_point")), zeroPoints.data<long>().Select(z => (int)z).ToArray(), name + " calculate_qparams zero_point");
    }
}
