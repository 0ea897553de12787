using Microsoft.ML;
using Microsoft.ML.Data;

namespace Qat.MLNet.Tests.MLNet;

/// <summary>A row of the synthetic classification data: 8 features, a text class name.</summary>
public sealed class BlobRow
{
    /// <summary>Features.</summary>
    [VectorType(SyntheticData.FeatureCount)]
    public float[] Features { get; set; } = Array.Empty<float>();

    /// <summary>Class name.</summary>
    public string Label { get; set; } = "";
}

/// <summary>A row for binary classification.</summary>
public sealed class BinaryRow
{
    /// <summary>Features.</summary>
    [VectorType(SyntheticData.FeatureCount)]
    public float[] Features { get; set; } = Array.Empty<float>();

    /// <summary>Label.</summary>
    public bool Label { get; set; }
}

/// <summary>A row for regression.</summary>
public sealed class RegressionRow
{
    /// <summary>Features.</summary>
    [VectorType(SyntheticData.FeatureCount)]
    public float[] Features { get; set; } = Array.Empty<float>();

    /// <summary>Label.</summary>
    public float Label { get; set; }
}

/// <summary>Small seeded data sets that a tiny network learns in a second.</summary>
public static class SyntheticData
{
    /// <summary>Features per row.</summary>
    public const int FeatureCount = 8;

    /// <summary>Class names of the blobs.</summary>
    public static readonly string[] ClassNames = { "circle", "square", "triangle" };

    /// <summary>Gaussian blobs around three centres, one per class; standard deviation 0.6.</summary>
    public static List<BlobRow> Blobs(int rows, int seed)
    {
        var random = new Random(seed);
        var centres = Enumerable.Range(0, ClassNames.Length)
            .Select(c => Enumerable.Range(0, FeatureCount).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray()).ToArray();
        return Enumerable.Range(0, rows).Select(i =>
        {
            int c = i % ClassNames.Length;
            return new BlobRow { Features = centres[c].Select(v => v + 0.6f * Normal(random)).ToArray(), Label = ClassNames[c] };
        }).ToList();
    }

    /// <summary>Label = w.x + noise > 0 for a fixed random w.</summary>
    public static List<BinaryRow> Binary(int rows, int seed)
    {
        var random = new Random(seed);
        var w = Enumerable.Range(0, FeatureCount).Select(_ => Normal(random)).ToArray();
        return Enumerable.Range(0, rows).Select(_ =>
        {
            var x = Enumerable.Range(0, FeatureCount).Select(_ => Normal(random)).ToArray();
            return new BinaryRow { Features = x, Label = Dot(w, x) + 0.1f * Normal(random) > 0 };
        }).ToList();
    }

    /// <summary>Label = w.x + 0.5 * x0^2 + noise.</summary>
    public static List<RegressionRow> Regression(int rows, int seed)
    {
        var random = new Random(seed);
        var w = Enumerable.Range(0, FeatureCount).Select(_ => Normal(random) * 0.5f).ToArray();
        return Enumerable.Range(0, rows).Select(_ =>
        {
            var x = Enumerable.Range(0, FeatureCount).Select(_ => Normal(random)).ToArray();
            return new RegressionRow { Features = x, Label = Dot(w, x) + 0.5f * x[0] * x[0] + 0.05f * Normal(random) };
        }).ToList();
    }

    /// <summary>The blobs as an IDataView with the label mapped to a key.</summary>
    public static IDataView KeyedBlobs(MLContext ml, int rows, int seed) =>
        ml.Transforms.Conversion.MapValueToKey("Label").Fit(ml.Data.LoadFromEnumerable(Blobs(rows, seed))).Transform(ml.Data.LoadFromEnumerable(Blobs(rows, seed)));

    private static float Dot(float[] a, float[] b) => a.Zip(b, (x, y) => x * y).Sum();

    private static float Normal(Random random) =>
        (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
}
