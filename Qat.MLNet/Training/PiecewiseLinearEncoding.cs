using Qat.MLNet.Inference;
using static TorchSharp.torch;

namespace Qat.MLNet.Training;

/// <summary>
/// The piecewise-linear encoding of numerical features (Gorishniy et al. 2022, "On Embeddings for Numerical Features in
/// Tabular Deep Learning"), built from the layers the int8 engine already runs, so a model that uses it scores, saves,
/// loads and exports like any other. Each feature x with quantile edges e_0 &lt; ... &lt; e_K of the training rows becomes K
/// values, bin t being 0 below e_t, 1 above e_t+1 and linear between:
/// <c>clamp((x - e_t) / (e_t+1 - e_t), 0, 1) = (relu(x - e_t) - relu(x - e_t+1)) / (e_t+1 - e_t)</c>. So two fixed layers
/// compute it: <c>ple_ramps</c> (Linear + ReLU: the K + 1 ramps <c>relu(x - e_t)</c> of every feature) and <c>ple_bins</c>
/// (Linear + ReLU, the ReLU being the identity on [0, 1]: each bin the difference of two ramps over the bin's width). Both
/// are frozen (<c>requires_grad</c> false); the network's own layers follow.
/// </summary>
internal sealed class PiecewiseLinearEncoding
{
    /// <summary>The most ramp units the encoding may make (features x (bins + 1)): its second layer grows with their square.</summary>
    public const int MaximumUnits = 2048;

    /// <summary>The most training rows the quantiles are taken from (a seeded sample of larger data).</summary>
    public const int MaximumSampleRows = 20_000;

    private readonly float[][] _edges;

    /// <summary>Creates the encoding from each feature's distinct, ascending edges (in the network's input space).</summary>
    public PiecewiseLinearEncoding(float[][] edges, int bins)
    {
        _edges = edges;
        Bins = bins;
    }

    /// <summary>The bins asked for per feature (features with fewer distinct values get fewer).</summary>
    public int Bins { get; }

    /// <summary>Ramp units: every feature's edge count.</summary>
    public int RampCount => _edges.Sum(e => e.Length);

    /// <summary>Encoded values the network's own first layer reads: one per bin, one for a constant feature.</summary>
    public int OutputCount => _edges.Sum(e => Math.Max(1, e.Length - 1));

    /// <summary>
    /// The edges of <paramref name="bins"/> quantile bins of every feature: the values at ranks <c>i (n - 1) / bins</c> of the
    /// sorted sample, repeats removed (a feature with few distinct values gets fewer bins), and so are edges closer than a
    /// ten-thousandth of the feature's range to the one before: the bin over such a gap would divide by a width that float
    /// arithmetic cannot resolve (and the int8 ramps could not tell apart anyway).
    /// </summary>
    /// <param name="sample">The sampled rows' features, row-major.</param>
    /// <param name="featureCount">Features per row.</param>
    /// <param name="bins">Bins per feature, at least 2.</param>
    public static float[][] QuantileEdges(ReadOnlySpan<float> sample, int featureCount, int bins)
    {
        int rows = sample.Length / featureCount;
        var edges = new float[featureCount][];
        var values = new float[rows];
        for (int f = 0; f < featureCount; f++)
        {
            for (int r = 0; r < rows; r++)
                values[r] = sample[r * featureCount + f];
            Array.Sort(values);
            double minimumGap = ((double)values[^1] - values[0]) * 1e-4;
            var distinct = new List<float>(bins + 1);
            for (int i = 0; i <= bins; i++)
            {
                float v = values[(int)((long)i * (rows - 1) / bins)];
                if (distinct.Count == 0 || v - (double)distinct[^1] > minimumGap)
                    distinct.Add(v);
            }
            edges[f] = distinct.ToArray();
        }
        return edges;
    }

    /// <summary>
    /// The encoding on the network's input: raw <paramref name="rawEdges"/> moved into the standardized space when
    /// <paramref name="standardization"/> is given (the bins themselves do not change: each is a ratio of differences).
    /// </summary>
    public static PiecewiseLinearEncoding OnInput(float[][] rawEdges, int bins, FeatureStandardization? standardization)
    {
        if (standardization is null)
            return new PiecewiseLinearEncoding(rawEdges, bins);
        float[] mean = standardization.Mean, scale = standardization.Scale;
        return new PiecewiseLinearEncoding(rawEdges.Select((e, f) => e.Select(v => (v - mean[f]) * scale[f]).ToArray()).ToArray(), bins);
    }

    /// <summary>The two frozen encoding layers with their ReLUs, named <c>ple_ramps</c>, <c>ple_ramps_relu</c>, <c>ple_bins</c>, <c>ple_bins_relu</c>.</summary>
    public IEnumerable<(string Name, nn.Module<Tensor, Tensor> Module)> Layers()
    {
        int inputs = _edges.Length, ramps = RampCount, outputs = OutputCount;
        var w1 = new float[ramps * inputs];
        var b1 = new float[ramps];
        var w2 = new float[outputs * ramps];
        int r = 0, t = 0;
        for (int f = 0; f < inputs; f++)
        {
            var e = _edges[f];
            for (int k = 0; k < e.Length; k++)
            {
                w1[(r + k) * inputs + f] = 1;
                b1[r + k] = -e[k];
            }
            if (e.Length < 2)
                t++; // a constant feature: one slot whose weights stay 0
            for (int k = 0; k + 1 < e.Length; k++, t++)
            {
                float inverseWidth = 1 / (e[k + 1] - e[k]);
                w2[t * ramps + r + k] = inverseWidth;
                w2[t * ramps + r + k + 1] = -inverseWidth;
            }
            r += e.Length;
        }
        var rampLayer = Frozen(nn.Linear(inputs, ramps), w1, b1);
        var binLayer = Frozen(nn.Linear(ramps, outputs), w2, new float[outputs]);
        return [("ple_ramps", rampLayer), ("ple_ramps_relu", nn.ReLU()), ("ple_bins", binLayer), ("ple_bins_relu", nn.ReLU())];
    }

    private static TorchSharp.Modules.Linear Frozen(TorchSharp.Modules.Linear linear, float[] weight, float[] bias)
    {
        using (no_grad())
        {
            using var w = tensor(weight, [linear.weight!.shape[0], linear.weight.shape[1]]);
            using var b = tensor(bias, [bias.Length]);
            linear.weight.copy_(w);
            linear.bias!.copy_(b);
        }
        foreach (var p in linear.parameters())
            p.requires_grad = false;
        return linear;
    }
}
