using Qat.MLNet.Inference;
using Qat.MLNet.Training;
using static TorchSharp.torch;

namespace Qat.MLNet.Tests.Training;

/// <summary>The encoding's two frozen layers compute the piecewise-linear encoding exactly; its edges and row sample.</summary>
[TestClass]
public sealed class PiecewiseLinearEncodingTests
{
    private static float Clamp01(float v) => Math.Clamp(v, 0f, 1f);

    [TestMethod]
    public void Layers_ComputeEveryBinsClampedRatio_AndAreFrozen()
    {
        float[][] edges = [[-1f, 0f, 0.5f, 2f], [3f], [0f, 1f]]; // three bins, a constant feature, one bin
        var encoding = new PiecewiseLinearEncoding(edges, 3);
        Assert.AreEqual(7, encoding.RampCount);
        Assert.AreEqual(5, encoding.OutputCount);
        using var network = nn.Sequential(encoding.Layers().ToList());
        float[][] rows = [[-2f, 3f, -1f], [-0.5f, 5f, 0.25f], [0.25f, 3f, 1f], [1f, -4f, 2f], [9f, 3f, 0.5f], [0f, 3f, 0f]];
        using var x = tensor(rows.SelectMany(r => r).ToArray(), [rows.Length, 3]);
        using var noGrad = no_grad();
        float[] y = network.call(x).data<float>().ToArray();
        for (int r = 0; r < rows.Length; r++)
        {
            float x0 = rows[r][0], x2 = rows[r][2];
            float[] expected = [Clamp01(x0 + 1), Clamp01(x0 / 0.5f), Clamp01((x0 - 0.5f) / 1.5f), 0f, Clamp01(x2)];
            for (int t = 0; t < expected.Length; t++)
                Assert.AreEqual(expected[t], y[r * 5 + t], 1e-5f, $"row {r}, bin {t}");
        }
        Assert.IsTrue(network.parameters().All(p => !p.requires_grad), "the encoding is fixed: training must not move it");
    }

    [TestMethod]
    public void QuantileEdges_AreTheSortedSamplesQuantiles_AndFewValuesGiveFewerBins()
    {
        // Feature 0: 100 ... 0 (descending, so the sort matters); feature 1: two values; feature 2: constant.
        var sample = Enumerable.Range(0, 101).SelectMany(i => new[] { 100f - i, i % 2, 7f }).ToArray();
        var edges = PiecewiseLinearEncoding.QuantileEdges(sample, 3, 4);
        CollectionAssert.AreEqual(new[] { 0f, 25f, 50f, 75f, 100f }, edges[0]);
        CollectionAssert.AreEqual(new[] { 0f, 1f }, edges[1]);
        CollectionAssert.AreEqual(new[] { 7f }, edges[2]);

        // Quantiles a float's rounding apart are one edge, not a bin of width 1e-7.
        var close = Enumerable.Range(0, 100).Select(i => i < 50 ? 1f : i < 75 ? 1.0000001f : 2f).ToArray();
        CollectionAssert.AreEqual(new[] { 1f, 2f }, PiecewiseLinearEncoding.QuantileEdges(close, 1, 4)[0]);
    }

    [TestMethod]
    public void OnInput_MovesTheEdgesIntoTheStandardizedSpace_TheBinsStayTheSame()
    {
        float[][] raw = [[10f, 20f, 40f]];
        var standardization = FeatureStandardization.FromMoments([20.0], [5.0]);
        var onInput = PiecewiseLinearEncoding.OnInput(raw, 2, standardization);
        var plain = PiecewiseLinearEncoding.OnInput(raw, 2, null);
        using var scaled = nn.Sequential(onInput.Layers().ToList());
        using var unscaled = nn.Sequential(plain.Layers().ToList());
        using var noGrad = no_grad();
        float[] xs = [5f, 15f, 25f, 50f];
        using var z = tensor(xs.Select(v => (v - 20f) / 5f).ToArray(), [xs.Length, 1]);
        using var x = tensor(xs, [xs.Length, 1]);
        CollectionAssert.AreEqual(unscaled.call(x).data<float>().ToArray().Select(v => MathF.Round(v, 5)).ToArray(),
            scaled.call(z).data<float>().ToArray().Select(v => MathF.Round(v, 5)).ToArray());
    }

    [TestMethod]
    public void RowSample_KeepsSmallDataWhole_AndLargeDataAtItsCapacity_TheSameForOneSeed()
    {
        var small = new RowSample(10, 2, seed: 1);
        for (int i = 0; i < 7; i++)
            small.Add([i, -i]);
        CollectionAssert.AreEqual(Enumerable.Range(0, 7).SelectMany(i => new float[] { i, -i }).ToArray(), small.Rows.ToArray());

        float[] Large(int seed)
        {
            var sample = new RowSample(50, 1, seed);
            for (int i = 0; i < 10_000; i++)
                sample.Add([i]);
            return sample.Rows.ToArray();
        }
        var a = Large(3);
        Assert.HasCount(50, a);
        Assert.AreEqual(50, a.Distinct().Count(), "each row is sampled at most once");
        CollectionAssert.AreEqual(a, Large(3));
        Assert.IsGreaterThan(2_000f, a.Max(), "rows past the capacity get sampled");
    }
}
