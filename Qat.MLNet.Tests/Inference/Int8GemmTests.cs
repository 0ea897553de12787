using Qat.MLNet.Inference;
using Qat.MLNet.Inference.Kernels;

namespace Qat.MLNet.Tests.Inference;

/// <summary>Every kernel path gives the scalar reference's integers, including full-range uint8 x int8 products.</summary>
[TestClass]
public sealed class Int8GemmTests
{
    public static IEnumerable<object[]> Paths() => Enum.GetValues<Int8KernelPath>().Where(Int8Kernels.IsSupported).Select(p => new object[] { p });

    [TestMethod]
    [DynamicData(nameof(Paths))]
    public void Multiply_EveryLength_MatchesScalarReference(Int8KernelPath path)
    {
        Check(path, sevenBit: false);
        Check(path, sevenBit: true);
    }

    private static unsafe void Check(Int8KernelPath path, bool sevenBit)
    {
        var random = new Random(17);
        var kernels = Int8Kernels.For(path);
        foreach (int k in Enumerable.Range(1, 130).Concat(new[] { 255, 256, 257, 784, 1568 }))
        {
            const int rows = 5, outputs = 7;
            var x = new byte[rows * k + Int8Gemm.Slack];
            random.NextBytes(x);
            if (k > 4)
            {
                x[0] = 255;
                x[1] = 255; // the products that would saturate vpmaddubsw
            }
            if (sevenBit)
            {
                for (int i = 0; i < x.Length; i++)
                    x[i] &= 0x7f;
            }
            var w = new sbyte[outputs * k];
            for (int i = 0; i < w.Length; i++)
                w[i] = (sbyte)random.Next(-128, 128);
            if (k > 4)
            {
                w[0] = -128;
                w[1] = -128;
            }
            var padded = WeightPacking.PadRows(w, outputs, k);
            var expected = new int[rows * outputs];
            for (int r = 0; r < rows; r++)
                for (int o = 0; o < outputs; o++)
                    for (int i = 0; i < k; i++)
                        expected[r * outputs + o] += x[r * k + i] * w[o * k + i];

            var actual = new int[rows * outputs];
            fixed (byte* px = x)
            fixed (sbyte* pw = padded)
            fixed (int* pa = actual)
                kernels.Multiply(px, k, rows, pw, outputs, k, pa, outputs, sevenBit);
            CollectionAssert.AreEqual(expected, actual, $"k={k} path={path} sevenBit={sevenBit}");
        }
    }

    [TestMethod]
    public void For_APathTheCpuLacks_ThrowsNamingWhatItHas()
    {
        foreach (var path in Enum.GetValues<Int8KernelPath>().Where(p => !Int8Kernels.IsSupported(p)))
        {
            var e = Assert.ThrowsExactly<NotSupportedException>(() => Int8Kernels.For(path));
            StringAssert.Contains(e.Message, path.ToString());
            StringAssert.Contains(e.Message, "Scalar");
        }
        Assert.AreEqual(Int8Kernels.Best, Int8Kernels.ForThisCpu.Path);
        Assert.AreSame(Int8Kernels.ForThisCpu, Int8Kernels.For(Int8Kernels.Best), "one dispatch per path");
    }
}
