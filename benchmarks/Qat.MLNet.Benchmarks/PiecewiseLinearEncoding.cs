using Microsoft.ML;
using Microsoft.ML.Data;

namespace Qat.MLNet.Benchmarks;

/// <summary>
/// A probe for the defaults issue (<c>tabular --ple K</c>): each feature becomes K values, its piecewise-linear encoding
/// over K quantile bins of the training rows (Gorishniy et al. 2022, "On Embeddings for Numerical Features in Tabular
/// Deep Learning"): bin t is 0 below its lower edge, 1 above its upper edge, linear between; optionally after the value
/// itself (<c>--ple-raw K</c>). Tells whether the MLP's gap
/// to trees on some data is about how numbers are presented to it. Benchmark only: the mapping is not saveable.
/// </summary>
internal sealed class PiecewiseLinearEncoding : IEstimator<ITransformer>
{
    private readonly MLContext _ml;
    private readonly int _bins;
    private readonly bool _keepRaw;

    /// <param name="ml">The context.</param>
    /// <param name="bins">K, the quantile bins per feature.</param>
    /// <param name="keepRaw">Whether each feature's own value comes first, before its K encodings.</param>
    public PiecewiseLinearEncoding(MLContext ml, int bins, bool keepRaw)
    {
        _ml = ml;
        _bins = bins;
        _keepRaw = keepRaw;
    }

    private sealed class Row
    {
        [VectorType]
        public float[] Features { get; set; } = [];
    }

    private sealed class Encoded
    {
        [VectorType]
        public float[] Encoding { get; set; } = [];
    }

    public ITransformer Fit(IDataView input)
    {
        var rows = input.GetColumn<float[]>("Features").ToList();
        int features = rows[0].Length;
        // The trainer's own edges (K + 1 quantiles; repeated or nearly equal edges collapse to fewer bins).
        var edges = Training.PiecewiseLinearEncoding.QuantileEdges(rows.SelectMany(r => r).ToArray(), features, _bins);
        int width = edges.Sum(e => Math.Max(1, e.Length - 1)) + (_keepRaw ? features : 0);
        var inputSchema = SchemaDefinition.Create(typeof(Row));
        inputSchema[0].ColumnType = new VectorDataViewType(NumberDataViewType.Single, features);
        var outputSchema = SchemaDefinition.Create(typeof(Encoded));
        outputSchema[0].ColumnType = new VectorDataViewType(NumberDataViewType.Single, width);
        var mapping = _ml.Transforms.CustomMapping<Row, Encoded>((row, encoded) =>
        {
            var output = new float[width];
            int k = 0;
            for (int f = 0; f < features; f++)
            {
                if (_keepRaw)
                    output[k++] = row.Features[f];
                var e = edges[f];
                if (e.Length < 2)
                {
                    output[k++] = 0; // a constant feature: one slot, always 0
                    continue;
                }
                for (int t = 0; t + 1 < e.Length; t++)
                    output[k++] = Math.Clamp((row.Features[f] - e[t]) / (e[t + 1] - e[t]), 0f, 1f);
            }
            encoded.Encoding = output;
        }, contractName: null, inputSchema, outputSchema);
        var chain = mapping.Append(_ml.Transforms.CopyColumns("Features", "Encoding"));
        return chain.Fit(input);
    }

    public SchemaShape GetOutputSchema(SchemaShape inputSchema) => inputSchema;
}
