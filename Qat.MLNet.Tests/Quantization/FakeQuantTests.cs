using Qat.MLNet.Quantization;
using Qat.MLNet.Quantization.Kernels;
using static TorchSharp.torch;

namespace Qat.MLNet.Tests.Quantization;

[TestClass]
public sealed class FakeQuantTests
{
    /// <summary>The scalar reference of the documented formula, in float32.</summary>
    private static (float Y, float Grad) Reference(float x, float scale, int zp, int qmin, int qmax)
    {
        float q = MathF.Round(x * (1f / scale)) + zp;
        float c = q > qmin ? q : qmin;
        c = c < qmax ? c : qmax;
        return ((c - zp) * scale, c == q ? 1f : 0f);
    }

    private static float[] RandomValues(Random random, int n)
    {
        var values = Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 16 - 8)).ToArray();
        if (n > 5)
        {
            values[0] = float.NaN;
            values[1] = float.PositiveInfinity;
            values[2] = float.NegativeInfinity;
            values[3] = 0.125f; // a tie at scale 0.25
            values[4] = -0.375f;
        }
        return values;
    }

    [TestMethod]
    [DataRow(512)]
    [DataRow(256)]
    [DataRow(0)]
    public unsafe void Kernel_EveryLengthAndVectorPath_MatchesScalarReference(int vectorBits)
    {
        var random = new Random(7);
        for (int n = 0; n <= 300; n++)
        {
            var values = RandomValues(random, n);
            var grad = Enumerable.Range(0, n).Select(i => 1f + i).ToArray();
            var y = new float[n];
            var mask = new byte[n];
            var dx = new float[n];
            fixed (float* px = values, py = y, pg = grad, pdx = dx)
            fixed (byte* pm = mask)
            {
                FakeQuantKernel.Forward(vectorBits, px, py, pm, n, 0.25f, 3, -10, 20);
                FakeQuantKernel.Backward(vectorBits, pg, pm, pdx, n);
            }
            for (int i = 0; i < n; i++)
            {
                var (ey, eg) = Reference(values[i], 0.25f, 3, -10, 20);
                Assert.AreEqual(BitConverter.SingleToInt32Bits(ey), BitConverter.SingleToInt32Bits(y[i]), $"{vectorBits} bits n={n} i={i} x={values[i]} y");
                Assert.AreEqual(eg, (float)mask[i], $"{vectorBits} bits n={n} i={i} mask");
                Assert.AreEqual(grad[i] * eg, dx[i], $"{vectorBits} bits n={n} i={i} dx");
            }
        }
    }

    [TestMethod]
    public void PerTensorAffine_EveryLength_MatchesScalarReferenceThroughAutograd()
    {
        var random = new Random(7);
        for (int n = 0; n <= 300; n++)
        {
            using var scope = NewDisposeScope();
            var values = RandomValues(random, n);
            var x = tensor(values).requires_grad_(true);
            var y = FakeQuant.PerTensorAffine(x, 0.25f, 3, -10, 20);
            if (n > 0)
                y.backward(new List<Tensor> { ones_like(y) });
            var ys = y.detach().data<float>().ToArray();
            var gs = n > 0 ? x.grad!.data<float>().ToArray() : Array.Empty<float>();
            for (int i = 0; i < n; i++)
            {
                var (ey, eg) = Reference(values[i], 0.25f, 3, -10, 20);
                Assert.AreEqual(BitConverter.SingleToInt32Bits(ey), BitConverter.SingleToInt32Bits(ys[i]), $"n={n} i={i} x={values[i]} y");
                Assert.AreEqual(eg, gs[i], $"n={n} i={i} grad");
            }
        }
    }

    [TestMethod]
    public void PerTensorAffine_NaNInput_GivesQuantMinAndZeroGradient()
    {
        using var scope = NewDisposeScope();
        var x = tensor(new[] { float.NaN }).requires_grad_(true);
        var y = FakeQuant.PerTensorAffine(x, 0.5f, 2, 0, 10);
        y.backward(new List<Tensor> { ones_like(y) });
        Assert.AreEqual(-1f, y.item<float>());
        Assert.AreEqual(0f, x.grad!.item<float>());
    }

    [TestMethod]
    public void PerChannelAffine_AxisOne_EachColumnUsesItsScale()
    {
        using var scope = NewDisposeScope();
        var x = tensor(new float[] { 1.0f, 1.0f, 1.0f, -3.0f, 0.3f, 7.9f }, new long[] { 2, 3 });
        var y = FakeQuant.PerChannelAffine(x, new[] { 1f, 0.5f, 0.25f }, new[] { 0, 1, 2 }, 1, -4, 4);
        CollectionAssert.AreEqual(new[] { 1f, 1f, 0.5f, -3f, 0.5f, 0.5f }, y.data<float>().ToArray());
    }

    [TestMethod]
    public void PerTensorAffine_NonContiguousInput_MatchesContiguous()
    {
        using var scope = NewDisposeScope();
        var x = randn(8, 5).t();
        Assert.IsFalse(x.is_contiguous());
        var a = FakeQuant.PerTensorAffine(x, 0.1f, 0, -128, 127);
        var b = FakeQuant.PerTensorAffine(x.contiguous(), 0.1f, 0, -128, 127);
        CollectionAssert.AreEqual(b.data<float>().ToArray(), a.contiguous().data<float>().ToArray());
        CollectionAssert.AreEqual(x.shape, a.shape);
    }

    [TestMethod]
    public void PerTensorAffine_InputWithoutGrad_RecordsNoGraph()
    {
        using var scope = NewDisposeScope();
        var y = FakeQuant.PerTensorAffine(randn(4), 0.1f, 0, -128, 127);
        Assert.IsFalse(y.requires_grad);
    }

    [TestMethod]
    [DataRow(0f, 0, 0, 255, "scale")]
    [DataRow(-1f, 0, 0, 255, "scale")]
    [DataRow(float.NaN, 0, 0, 255, "scale")]
    [DataRow(float.PositiveInfinity, 0, 0, 255, "scale")]
    [DataRow(0.1f, 256, 0, 255, "zeroPoint")]
    [DataRow(0.1f, -1, 0, 255, "zeroPoint")]
    [DataRow(0.1f, 0, 10, 5, "quantMin")]
    public void PerTensorAffine_BadArgument_ThrowsNamingIt(float scale, int zp, int qmin, int qmax, string param)
    {
        using var x = randn(3);
        var e = Assert.ThrowsExactly<ArgumentException>(() => FakeQuant.PerTensorAffine(x, scale, zp, qmin, qmax));
        Assert.AreEqual(param, e.ParamName);
    }

    [TestMethod]
    public void PerTensorAffine_Float64Input_ThrowsSayingHowToFix()
    {
        using var x = randn(3, dtype: ScalarType.Float64);
        var e = Assert.ThrowsExactly<ArgumentException>(() => FakeQuant.PerTensorAffine(x, 0.1f, 0, 0, 255));
        StringAssert.Contains(e.Message, "x.to(ScalarType.Float32)");
    }

    [TestMethod]
    public void PerTensorAffine_TensorQParamsOfTwoElements_Throws()
    {
        using var x = randn(3);
        using var scale = tensor(new[] { 0.1f, 0.2f });
        using var zp = tensor(new[] { 0 });
        Assert.ThrowsExactly<ArgumentException>(() => FakeQuant.PerTensorAffine(x, scale, zp, 0, 255));
    }

    [TestMethod]
    public void PerChannelAffine_BadArguments_ThrowNamingThem()
    {
        using var x = randn(3, 4);
        var s3 = new[] { 0.1f, 0.1f, 0.1f };
        var z3 = new[] { 0, 0, 0 };
        Assert.AreEqual("axis", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => FakeQuant.PerChannelAffine(x, s3, z3, 2, -128, 127)).ParamName);
        Assert.AreEqual("axis", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => FakeQuant.PerChannelAffine(x, s3, z3, -1, -128, 127)).ParamName);
        Assert.AreEqual("scales", Assert.ThrowsExactly<ArgumentException>(() => FakeQuant.PerChannelAffine(x, new[] { 0.1f }, z3, 0, -128, 127)).ParamName);
        Assert.AreEqual("zeroPoints", Assert.ThrowsExactly<ArgumentException>(() => FakeQuant.PerChannelAffine(x, s3, new[] { 0 }, 0, -128, 127)).ParamName);
        Assert.AreEqual("scales[1]", Assert.ThrowsExactly<ArgumentException>(() => FakeQuant.PerChannelAffine(x, new[] { 0.1f, 0f, 0.1f }, z3, 0, -128, 127)).ParamName);
        Assert.AreEqual("zeroPoints[2]", Assert.ThrowsExactly<ArgumentException>(() => FakeQuant.PerChannelAffine(x, s3, new[] { 0, 0, 200 }, 0, -128, 127)).ParamName);
    }
}
