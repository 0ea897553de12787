using System.Text.Json;
using Qat.MLNet.Quantization;
using Qat.MLNet.Quantization.Observers;
using Qat.MLNet.Tests.Golden;
using static TorchSharp.torch;

namespace Qat.MLNet.Tests.Quantization;

/// <summary>The four observers against PyTorch's on every golden case: statistics and qparams after every batch.</summary>
[TestClass]
[TestCategory("Golden")]
public sealed class ObserverGoldenTests
{
    public static IEnumerable<object[]> Cases() => GoldenData.Cases("observers")
        .Select((c, i) => new object[] { $"{i}:{c.GetProperty("observer").GetString()}:{c.GetProperty("dtype").GetString()}:{c.GetProperty("qscheme").GetString()}", c });

    [TestMethod]
    [DynamicData(nameof(Cases), DynamicDataDisplayName = nameof(GoldenData.DisplayName), DynamicDataDisplayNameDeclaringType = typeof(GoldenData))]
    public void Observer_GoldenCase_MatchesPyTorchStatisticsAndQParams(string name, JsonElement c)
    {
        using var observer = CreateObserver(c);
        Assert.AreEqual(c.GetProperty("effective_quant_min").GetInt32(), observer.QuantMin, name + " quant_min");
        Assert.AreEqual(c.GetProperty("effective_quant_max").GetInt32(), observer.QuantMax, name + " quant_max");
        Assert.AreEqual((float)c.GetProperty("eps").GetDouble(), observer.Eps, name + " eps");

        if (c.TryGetProperty("unobserved", out var unobserved))
            AssertQParams(observer, unobserved, name + " unobserved");

        int b = 0;
        foreach (var batch in c.GetProperty("batches").EnumerateArray())
        {
            using var scope = NewDisposeScope();
            var x = GoldenData.ToTensor(batch.GetProperty("x"));
            var returned = observer.forward(x);
            Assert.AreNotSame(x, returned, "a new handle, so that a Sequential can dispose it");
            CollectionAssert.AreEqual(x.data<float>().ToArray(), returned.data<float>().ToArray(), "an observer returns its input's values");
            string what = $"{name} batch {b++}";
            GoldenData.AssertBitEqual(GoldenData.Floats(batch.GetProperty("min_val")), Flat(observer.MinVal), what + " min_val");
            GoldenData.AssertBitEqual(GoldenData.Floats(batch.GetProperty("max_val")), Flat(observer.MaxVal), what + " max_val");
            AssertQParams(observer, batch, what);
        }
    }

    private static void AssertQParams(ObserverBase observer, JsonElement expected, string what)
    {
        var (scale, zeroPoint) = observer.CalculateQParams();
        using (scale)
        using (zeroPoint)
        {
            GoldenData.AssertBitEqual(GoldenData.Floats(expected.GetProperty("scale")), scale.data<float>().ToArray(), what + " scale");
            CollectionAssert.AreEqual(GoldenData.Ints(expected.GetProperty("zero_point")), zeroPoint.data<int>().ToArray(), what + " zero_point");
        }
    }

    private static float[] Flat(Tensor t) => t.reshape(-1).data<float>().ToArray();

    private static ObserverBase CreateObserver(JsonElement c)
    {
        var dtype = c.GetProperty("dtype").GetString() == "qint8" ? QuantDType.QInt8 : QuantDType.QUInt8;
        var qscheme = c.GetProperty("qscheme").GetString() switch
        {
            "per_tensor_affine" => QScheme.PerTensorAffine,
            "per_tensor_symmetric" => QScheme.PerTensorSymmetric,
            "per_channel_affine" => QScheme.PerChannelAffine,
            "per_channel_symmetric" => QScheme.PerChannelSymmetric,
            var s => throw new AssertFailedException("unknown qscheme " + s),
        };
        bool reduce = c.GetProperty("reduce_range").GetBoolean();
        int? qmin = c.GetProperty("quant_min_arg").ValueKind == JsonValueKind.Null ? null : c.GetProperty("quant_min_arg").GetInt32();
        int? qmax = c.GetProperty("quant_max_arg").ValueKind == JsonValueKind.Null ? null : c.GetProperty("quant_max_arg").GetInt32();
        float averaging = (float)c.GetProperty("averaging_constant").GetDouble();
        int axis = c.GetProperty("ch_axis").ValueKind == JsonValueKind.Null ? 0 : c.GetProperty("ch_axis").GetInt32();
        float eps = (float)c.GetProperty("eps").GetDouble();
        return c.GetProperty("observer").GetString() switch
        {
            "MinMaxObserver" => new MinMaxObserver(dtype, qscheme, reduce, qmin, qmax, eps),
            "MovingAverageMinMaxObserver" => new MovingAverageMinMaxObserver(averaging, dtype, qscheme, reduce, qmin, qmax, eps),
            "PerChannelMinMaxObserver" => new PerChannelMinMaxObserver(axis, dtype, qscheme, reduce, qmin, qmax, eps),
            "MovingAveragePerChannelMinMaxObserver" => new MovingAveragePerChannelMinMaxObserver(averaging, axis, dtype, qscheme, reduce, qmin, qmax, eps),
            var s => throw new AssertFailedException("unknown observer " + s),
        };
    }
}
