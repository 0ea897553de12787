using Qat.MLNet.Inference;

namespace Qat.MLNet.Tests.Inference;

/// <summary>Layer arithmetic against plain reference loops, on every shape size that exercises the vector and tail paths.</summary>
[TestClass]
public sealed class QuantizedLayerTests
{
    [TestMethod]
    public void MaxPool2x2_EveryWidth_MatchesReference()
    {
        var random = new Random(3);
        for (int size = 2; size <= 41; size++)
        {
            var shape = new ActivationShape(3, size, size);
            var pool = new QuantizedMaxPool2d("pool", shape, 2, 2, 2, 2, 0, 0, 1, 1, ceilMode: false);
            var input = new byte[2 * shape.Size];
            random.NextBytes(input);
            var output = new byte[2 * pool.OutputShape.Size];
            pool.Run(input, output, 2, Span<byte>.Empty);
            int oh = pool.OutputShape.Height, ow = pool.OutputShape.Width;
            for (int plane = 0; plane < 6; plane++)
                for (int y = 0; y < oh; y++)
                    for (int x = 0; x < ow; x++)
                    {
                        int at(int yy, int xx) => input[plane * size * size + yy * size + xx];
                        int expected = Math.Max(Math.Max(at(2 * y, 2 * x), at(2 * y, 2 * x + 1)), Math.Max(at(2 * y + 1, 2 * x), at(2 * y + 1, 2 * x + 1)));
                        Assert.AreEqual(expected, output[plane * oh * ow + y * ow + x], $"size {size} plane {plane} ({y}, {x})");
                    }
        }
    }

    [TestMethod]
    public void MaxPool2x2_CeilModeOnOddSizes_TakesOnlyTheInputInTheLastWindow()
    {
        var random = new Random(4);
        foreach (int size in new[] { 7, 9, 17, 29 })
        {
            var shape = new ActivationShape(2, size, size);
            var pool = new QuantizedMaxPool2d("pool", shape, 2, 2, 2, 2, 0, 0, 1, 1, ceilMode: true);
            int o = (size + 1) / 2;
            Assert.AreEqual(new ActivationShape(2, o, o), pool.OutputShape, "torch: MaxPool2d(2, ceil_mode=True) on an odd size");
            // One extra plane of 255s after the input: a window that read past its row or plane would pick them up.
            var input = new byte[3 * size * size];
            random.NextBytes(input.AsSpan(0, shape.Size));
            input.AsSpan(shape.Size).Fill(255);
            for (int i = 0; i < shape.Size; i++)
                input[i] %= 200;
            var output = new byte[pool.OutputShape.Size];
            pool.Run(input, output, 1, Span<byte>.Empty);
            for (int plane = 0; plane < 2; plane++)
                for (int y = 0; y < o; y++)
                    for (int x = 0; x < o; x++)
                    {
                        int expected = 0;
                        for (int yy = 2 * y; yy < Math.Min(2 * y + 2, size); yy++)
                            for (int xx = 2 * x; xx < Math.Min(2 * x + 2, size); xx++)
                                expected = Math.Max(expected, input[plane * size * size + yy * size + xx]);
                        Assert.AreEqual(expected, output[plane * o * o + y * o + x], $"size {size} plane {plane} ({y}, {x})");
                    }
        }
    }

    [TestMethod]
    public void MaxPool_CeilModeAndPadding_FollowPyTorchSizes()
    {
        var pool = new QuantizedMaxPool2d("pool", new ActivationShape(1, 7, 7), 3, 3, 2, 2, 1, 1, 1, 1, ceilMode: true);
        Assert.AreEqual(new ActivationShape(1, 4, 4), pool.OutputShape); // torch: MaxPool2d(3, 2, 1, ceil_mode=True) on 7x7 -> 4x4
        var plain = new QuantizedMaxPool2d("pool", new ActivationShape(1, 7, 7), 3, 3, 2, 2, 0, 0, 1, 1, ceilMode: false);
        Assert.AreEqual(new ActivationShape(1, 3, 3), plain.OutputShape);
    }

    [TestMethod]
    public void AvgPool_CountIncludePad_DividesAsPyTorch()
    {
        var q = new QuantizationParameters(0.1f, 10, 0, 255);
        var input = Enumerable.Repeat((byte)20, 4).ToArray(); // 2x2 of value 1.0 (level 20, zero point 10)
        var withPad = new QuantizedAvgPool2d("avg", new ActivationShape(1, 2, 2), 2, 2, 2, 2, 1, 1, false, true, null, q);
        var output = new byte[withPad.OutputShape.Size];
        withPad.Run(input, output, 1, Span<byte>.Empty);
        CollectionAssert.AreEqual(new byte[] { 12, 12, 12, 12 }, output); // each window: one real value of 10 steps over 4 = 2.5 -> 2 (half to even)
        var withoutPad = new QuantizedAvgPool2d("avg", new ActivationShape(1, 2, 2), 2, 2, 2, 2, 1, 1, false, false, null, q);
        withoutPad.Run(input, output, 1, Span<byte>.Empty);
        CollectionAssert.AreEqual(new byte[] { 20, 20, 20, 20 }, output);
    }

    [TestMethod]
    public void QuantizeSpan_EveryLength_MatchesScalarQuantize()
    {
        var q = new QuantizationParameters(0.25f, 7, 0, 127);
        var random = new Random(9);
        for (int n = 0; n <= 100; n++)
        {
            var values = Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 80 - 30)).ToArray();
            if (n > 4)
            {
                values[0] = float.NaN;
                values[1] = float.PositiveInfinity;
                values[2] = float.NegativeInfinity;
                values[3] = 0.125f; // a tie
            }
            var levels = new byte[n];
            q.Quantize(values, levels);
            for (int i = 0; i < n; i++)
                Assert.AreEqual(q.Quantize(values[i]), levels[i], $"n={n} i={i} x={values[i]}");
        }
    }
}
