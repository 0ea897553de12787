using Microsoft.ML.Runtime;

namespace Qat.MLNet.Scoring;

/// <summary>How a Qat transformer scores, beyond its model: where it logs and what a non-finite feature does. Saved with the model as one line of text.</summary>
/// <param name="Environment">The ML.NET environment warnings go to (MLContext.Log); null for none.</param>
/// <param name="ThrowOnNonFiniteFeatures">Throw on a NaN/infinite feature instead of scoring NaN for that row.</param>
/// <param name="NumberOfThreads">Threads a Transform cursor scores a block of rows on; null for every core (shared among the cursors of a cursor set).</param>
internal sealed record ScoringSettings(IHostEnvironment? Environment, bool ThrowOnNonFiniteFeatures, int? NumberOfThreads = null)
{
    private const string Key = "NonFiniteFeatures=";
    private const string ThreadsKey = "Threads=";

    /// <summary>Threads for all of a Transform's cursors together.</summary>
    public int Threads => NumberOfThreads ?? System.Environment.ProcessorCount;

    /// <summary>The policy object the scorers use.</summary>
    public NonFiniteFeatures NonFiniteFeatures() => new(Environment?.Register("QatScoring"), ThrowOnNonFiniteFeatures);

    /// <summary>The saved form: <c>NonFiniteFeatures=NaN|Throw</c>, then <c>Threads=auto|N</c>, one per line.</summary>
    public string ToText() => Key + (ThrowOnNonFiniteFeatures ? "Throw" : "NaN") + "\n" + ThreadsKey +
        (NumberOfThreads?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "auto");

    /// <summary>Reads <see cref="ToText"/>'s form (a line left out keeps its default).</summary>
    /// <exception cref="InvalidDataException">A line is not one of the forms.</exception>
    public static ScoringSettings FromText(IHostEnvironment? environment, string text)
    {
        bool throwOnNonFinite = false;
        int? threads = null;
        foreach (string raw in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (raw == Key + "NaN" || raw == Key + "Throw")
                throwOnNonFinite = raw == Key + "Throw";
            else if (raw == ThreadsKey + "auto")
                threads = null;
            else if (raw.StartsWith(ThreadsKey, StringComparison.Ordinal)
                && int.TryParse(raw.AsSpan(ThreadsKey.Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n) && n >= 1)
                threads = n;
            else
                throw new InvalidDataException(
                    $"The Qat transformer's scoring settings have the line '{(raw.Length > 80 ? raw[..80] + "..." : raw)}', not '{Key}NaN|Throw' or '{ThreadsKey}auto|N': the file is corrupt.");
        }
        return new(environment, throwOnNonFinite, threads);
    }
}
