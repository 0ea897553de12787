using Qat.MLNet.Inference;
using Qat.MLNet.Inference.Kernels;

namespace Qat.MLNet.Tests.Inference;

/// <summary>Every kernel path gives the scalar reference's integers, including full-range uint8 x int8 products.</summary>
[TestClass]
[DoNotParallelize] // switches Int8Gemm.Path, a process-wide setting
public sealed class Int8GemmTests
{
    public static IEnumerable<object[]> Paths() => Enum.GetValues<Int8KernelPath>().Where(Int8Gemm.IsSupported).Select(p => new object[] { p });

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
        var saved = Int8Gemm.Path;
        try
        {
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
                Int8Gemm.Path = path;
                fixed (byte* px = x)
                fixed (sbyte* pw = padded)
                fixed (int* pa = actual)
                    Int8Gemm.Multiply(px, k, rows, pw, outputs, k, pa, outputs, sevenBit);
                CollectionAssert.AreEqual(expected, actual, $"k={k} path={path} sevenBit={sevenBit}");
            }
        }
        finally
        {
            Int8Gemm.Path = saved;
        }
    }
}
