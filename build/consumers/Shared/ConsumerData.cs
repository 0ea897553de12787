// Shared by the consumer projects: the same seeded rows for training, for the trainer's scores and for the server's.
using Microsoft.ML.Data;

namespace Qat.MLNet.Consumers;

/// <summary>One row: three Gaussian blobs in 8 dimensions.</summary>
public sealed class BlobRow
{
    /// <summary>The class, "a", "b" or "c".</summary>
    public string Label { get; set; } = "";

    /// <summary>The features.</summary>
    [VectorType(8)]
    public float[] Features { get; set; } = [];
}

/// <summary>Seeded data, identical in every process.</summary>
public static class ConsumerData
{
    /// <summary><paramref name="rows"/> rows from the seed <paramref name="seed"/>.</summary>
    public static List<BlobRow> Blobs(int rows, int seed)
    {
        var random = new Random(seed);
        var list = new List<BlobRow>(rows);
        for (int i = 0; i < rows; i++)
        {
            int c = i % 3;
            var f = new float[8];
            for (int k = 0; k < 8; k++)
                f[k] = (k % 3 == c ? 2.5f : 0f) + (float)(random.NextDouble() * 2 - 1);
            list.Add(new BlobRow { Label = "abc"[c].ToString(), Features = f });
        }
        return list;
    }

    /// <summary>Every Score value of <paramref name="scored"/>, row after row, as round-trip text.</summary>
    public static string ScoresText(Microsoft.ML.IDataView scored)
    {
        var lines = new List<string>();
        foreach (var score in scored.GetColumn<float[]>("Score"))
            lines.Add(string.Join(' ', score.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture))));
        return string.Join('\n', lines) + "\n";
    }
}
