using Microsoft.ML;
using Microsoft.ML.Data;
using Qat.MLNet.Trainers;
using static TorchSharp.torch;

namespace Qat.MLNet.Benchmarks;

/// <summary>
/// A probe for the defaults issue (<c>tabular --ramps K</c>): the piecewise-linear encoding of <see cref="PiecewiseLinearEncoding"/>
/// built inside the network from the layers the int8 engine already runs, so nothing new is needed to score, save or export
/// it. On the standardized feature z with quantile edges q_0 &lt; ... &lt; q_K, bin t is
/// <c>clamp((z - q_t) / (q_t+1 - q_t), 0, 1) = (relu(z - q_t) - relu(z - q_t+1)) / (q_t+1 - q_t)</c>: a fixed Linear + ReLU makes the
/// K + 1 ramps, a fixed Linear (+ ReLU, the identity on values in [0, 1]) their differences, then the default MLP. The
/// two encoding layers are frozen (requires_grad false). Tells whether the encoding's gain survives int8 when it is
/// computed by quantized layers (the ramps share one per-tensor activation scale).
/// </summary>
internal sealed class RampEncodedQat : IEstimator<ITransformer>
{
    private readonly Func<QatNetwork, IEstimator<ITransformer>> _trainer;
    private readonly int _bins;

    /// <param name="bins">K, the quantile bins per feature.</param>
    /// <param name="trainer">Makes the Qat trainer for a network.</param>
    public RampEncodedQat(int bins, Func<QatNetwork, IEstimator<ITransformer>> trainer)
    {
        _bins = bins;
        _trainer = trainer;
    }

    public ITransformer Fit(IDataView input)
    {
        var rows = input.GetColumn<float[]>("Features").ToList();
        int features = rows[0].Length;
        var edges = new double[features][];
        for (int f = 0; f < features; f++)
        {
            double mean = rows.Average(r => (double)r[f]);
            double sd = Math.Sqrt(rows.Average(r => (r[f] - mean) * (r[f] - mean)));
            if (sd == 0)
                sd = 1;
            var values = rows.Select(r => r[f]).Order().ToArray();
            edges[f] = Enumerable.Range(0, _bins + 1).Select(i => values[(int)((long)i * (values.Length - 1) / _bins)]).Distinct()
                .Select(v => (v - mean) / sd).ToArray();
        }
        int ramps = edges.Sum(e => e.Length);
        int bins = edges.Sum(e => Math.Max(1, e.Length - 1));
        var network = QatNetwork.Custom((inputs, outputs) =>
        {
            var enc1 = nn.Linear(inputs, ramps);
            var enc2 = nn.Linear(ramps, bins);
            var w1 = new float[ramps * inputs];
            var b1 = new float[ramps];
            var w2 = new float[bins * ramps];
            var b2 = new float[bins];
            int r = 0, t = 0;
            for (int f = 0; f < features; f++)
            {
                var e = edges[f];
                for (int k = 0; k < e.Length; k++)
                {
                    w1[(r + k) * inputs + f] = 1;
                    b1[r + k] = (float)-e[k];
                }
                if (e.Length < 2)
                    t++; // a constant feature: one bin slot, always 0
                for (int k = 0; k + 1 < e.Length; k++, t++)
                {
                    float inverseWidth = (float)(1 / (e[k + 1] - e[k]));
                    w2[t * ramps + r + k] = inverseWidth;
                    w2[t * ramps + r + k + 1] = -inverseWidth;
                }
                r += e.Length;
            }
            using (no_grad())
            {
                enc1.weight!.copy_(tensor(w1, [ramps, inputs]));
                enc1.bias!.copy_(tensor(b1, [ramps]));
                enc2.weight!.copy_(tensor(w2, [bins, ramps]));
                enc2.bias!.copy_(tensor(b2, [bins]));
            }
            foreach (var p in enc1.parameters().Concat(enc2.parameters()))
                p.requires_grad = false;
            return nn.Sequential(
                ("enc1", enc1), ("enc1_relu", nn.ReLU()), ("enc2", enc2), ("enc2_relu", nn.ReLU()),
                ("fc1", nn.Linear(bins, 128)), ("relu1", nn.ReLU()), ("fc2", nn.Linear(128, 64)), ("relu2", nn.ReLU()),
                ("fc3", nn.Linear(64, outputs)));
        }, description: $"ramp PLE-{_bins} + MLP 128-64");
        return _trainer(network).Fit(input);
    }

    public SchemaShape GetOutputSchema(SchemaShape inputSchema) => _trainer(QatNetwork.Mlp(1)).GetOutputSchema(inputSchema);
}
