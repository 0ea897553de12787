using Qat.MLNet.Inference;
using Qat.MLNet.Inference.Kernels;

namespace Qat.MLNet.Tests.Inference;

/// <summary>
/// A Linear layer on every kernel path this CPU runs gives the scalar path's bytes, over the shapes that reach each block
/// of the kernels (AVX-VNNI's 4 x 24, 1 x 96 and 1 x 24 channel blocks, the overlapping last block, the narrow 8- and
/// 16-channel layers, sample remainders; AVX-512's batched and GEMM forms) with seven- and eight-bit activations.
/// </summary>
[TestClass]
public sealed class QuantizedLinearKernelTests
{
    public static IEnumerable<object[]> Paths() => Enum.GetValues<Int8KernelPath>().Where(Int8Kernels.IsSupported).Select(p => new object[] { p });

    [TestMethod]
    [DynamicData(nameof(Paths))]
    public void Run_EveryShape_GivesTheScalarBytes(Int8KernelPath path)
    {
        var random = new Random(5);
        foreach (int outputs in new[] { 1, 5, 8, 10, 16, 17, 24, 30, 95, 96, 100, 200 })
        {
            foreach (int k in new[] { 1, 3, 4, 5, 33, 130 })
            {
                foreach (bool sevenBit in new[] { false, true })
                {
                    int quantMax = sevenBit ? 127 : 255;
                    var weights = new sbyte[outputs * k];
                    for (int i = 0; i < weights.Length; i++)
                        weights[i] = (sbyte)random.Next(-128, 128);
                    weights[0] = -128;
                    var scales = Enumerable.Range(0, outputs).Select(_ => 0.001f + (float)random.NextDouble() * 0.01f).ToArray();
                    var bias = Enumerable.Range(0, outputs).Select(_ => random.Next(-5000, 5000)).ToArray();
                    var input = new QuantizationParameters(0.02f, random.Next(0, quantMax + 1), 0, quantMax);
                    var output = new QuantizationParameters(0.05f + (float)random.NextDouble(), random.Next(0, 256), 0, 255);
                    bool relu = random.Next(2) == 0;
                    var scalar = new QuantizedLinear("fc", k, outputs, weights, scales, bias, input, output, relu, Int8Kernels.For(Int8KernelPath.Scalar));
                    var layer = new QuantizedLinear("fc", k, outputs, weights, scales, bias, input, output, relu, Int8Kernels.For(path));
                    CollectionAssert.AreEqual(weights, layer.Weights, $"{path}: the weights rebuilt from the packed form");
                    foreach (int rows in new[] { 1, 3, 4, 7, 16, 21 })
                    {
                        var x = new byte[rows * k + Int8Gemm.Slack];
                        random.NextBytes(x);
                        for (int i = 0; i < rows * k; i++)
                            x[i] = (byte)(x[i] % (quantMax + 1));
                        // 16 guard bytes after the outputs: no kernel may write past the last channel of the last row.
                        var expected = new byte[rows * outputs + 16];
                        var actual = new byte[rows * outputs + 16];
                        Array.Fill(expected, (byte)0xAB);
                        Array.Fill(actual, (byte)0xAB);
                        scalar.Run(x, expected, rows, []);
                        layer.Run(x, actual, rows, []);
                        CollectionAssert.AreEqual(expected, actual, $"{path}: {rows} x {k} -> {outputs}, {(sevenBit ? 7 : 8)}-bit activations");
                        Assert.IsTrue(actual.AsSpan(rows * outputs).IndexOfAnyExcept((byte)0xAB) < 0, $"{path}: wrote past the outputs");
                    }
                }
            }
        }
    }
}
