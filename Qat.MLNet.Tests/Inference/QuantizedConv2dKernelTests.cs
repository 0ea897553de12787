using Qat.MLNet.Inference;
using Qat.MLNet.Inference.Kernels;

namespace Qat.MLNet.Tests.Inference;

/// <summary>
/// A Conv2d layer on every kernel path this CPU runs gives the scalar path's bytes, over the shapes that reach each block
/// of the position kernels (AVX2's 4-channel blocks and the overlapping last one, layers of fewer than 4 or 6 channels,
/// grouped and depthwise convolutions, stride, padding, dilation, position counts that are not a multiple of the
/// vectors) with seven- and eight-bit activations.
/// </summary>
[TestClass]
public sealed class QuantizedConv2dKernelTests
{
    public static IEnumerable<object[]> Paths() => Enum.GetValues<Int8KernelPath>().Where(Int8Kernels.IsSupported).Select(p => new object[] { p });

    // (in channels, out channels, groups, kernel, stride, padding, dilation, height, width)
    private static readonly (int In, int Out, int Groups, int Kernel, int Stride, int Pad, int Dilation, int H, int W)[] Shapes =
    [
        (1, 16, 1, 3, 1, 1, 1, 28, 28),  // the benchmark CNN's first layer
        (3, 1, 1, 3, 1, 0, 1, 7, 9),     // one channel
        (3, 3, 1, 1, 1, 0, 1, 5, 5),     // fewer channels than a block
        (5, 7, 1, 3, 2, 1, 1, 11, 6),    // the last block overlaps the one before; stride 2
        (4, 10, 2, 3, 1, 2, 2, 9, 8),    // grouped, dilated, wide padding
        (6, 6, 6, 3, 1, 1, 1, 6, 13),    // depthwise
        (16, 32, 1, 3, 1, 1, 1, 14, 14), // the benchmark CNN's second layer
        (9, 13, 1, 2, 3, 0, 1, 10, 17),  // even kernel, stride 3
    ];

    [TestMethod]
    [DynamicData(nameof(Paths))]
    public void Run_EveryShape_GivesTheScalarBytes(Int8KernelPath path)
    {
        var random = new Random(11);
        foreach (var s in Shapes)
        {
            foreach (bool sevenBit in new[] { false, true })
            {
                int quantMax = sevenBit ? 127 : 255;
                int reduction = s.In / s.Groups * s.Kernel * s.Kernel;
                var weights = new sbyte[s.Out * reduction];
                for (int i = 0; i < weights.Length; i++)
                    weights[i] = (sbyte)random.Next(-128, 128);
                weights[0] = -128;
                var scales = Enumerable.Range(0, s.Out).Select(_ => 0.001f + (float)random.NextDouble() * 0.01f).ToArray();
                var bias = Enumerable.Range(0, s.Out).Select(_ => random.Next(-5000, 5000)).ToArray();
                var input = new QuantizationParameters(0.02f, random.Next(0, quantMax + 1), 0, quantMax);
                var output = new QuantizationParameters(0.05f + (float)random.NextDouble(), random.Next(0, 256), 0, 255);
                bool relu = random.Next(2) == 0;
                var shape = new ActivationShape(s.In, s.H, s.W);
                QuantizedConv2d Layer(Int8KernelPath p) => new("conv", shape, s.Out, s.Kernel, s.Kernel, s.Stride, s.Stride, s.Pad, s.Pad,
                    s.Dilation, s.Dilation, s.Groups, weights, scales, bias, input, output, relu, Int8Kernels.For(p));
                var scalar = Layer(Int8KernelPath.Scalar);
                var layer = Layer(path);
                CollectionAssert.AreEqual(weights, layer.Weights, $"{path}: the weights rebuilt from the packed form");
                string what = $"{path}: {s}, {(sevenBit ? 7 : 8)}-bit activations";
                foreach (int batch in new[] { 1, 3 })
                {
                    var x = new byte[batch * shape.Size];
                    random.NextBytes(x);
                    for (int i = 0; i < x.Length; i++)
                        x[i] = (byte)(x[i] % (quantMax + 1));
                    // 16 guard bytes after the outputs: no kernel may write past the last position of the last channel.
                    int size = batch * layer.OutputShape.Size;
                    var expected = new byte[size + 16];
                    var actual = new byte[size + 16];
                    Array.Fill(expected, (byte)0xAB);
                    Array.Fill(actual, (byte)0xAB);
                    scalar.Run(x, expected, batch, new byte[scalar.ScratchBytesPerSample + Int8Gemm.Slack]);
                    layer.Run(x, actual, batch, new byte[layer.ScratchBytesPerSample + Int8Gemm.Slack]);
                    CollectionAssert.AreEqual(expected, actual, $"{what}, batch {batch}");
                    Assert.IsLessThan(0, actual.AsSpan(size).IndexOfAnyExcept((byte)0xAB), $"{what}: wrote past the outputs");
                }
            }
        }
    }
}
