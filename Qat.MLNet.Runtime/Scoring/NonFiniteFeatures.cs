using System.Globalization;
using Microsoft.ML.Runtime;

namespace Qat.MLNet.Scoring;

/// <summary>
/// What scoring does with a row whose features hold NaN or infinity. By default it follows ML.NET's own predictors: that
/// row's scores are NaN (and its PredictedLabel missing), a warning goes to <c>MLContext.Log</c>, the other rows are scored;
/// with <see cref="Throw"/> it throws, naming the row and the slot. (The int8 engine would otherwise quantize the value to
/// a finite level and return scores that look valid.)
/// </summary>
internal sealed class NonFiniteFeatures
{
    /// <summary>Warnings logged per cursor or engine before the rest are only counted.</summary>
    internal const int MaxWarnings = 10;

    private readonly IHost? _host;
    private int _reported;

    public NonFiniteFeatures(IHost? host, bool @throw)
    {
        _host = host;
        Throw = @throw;
    }

    /// <summary>Whether such a row throws instead of scoring NaN.</summary>
    public bool Throw { get; }

    /// <summary>A fresh copy for one cursor or engine (its own warning count).</summary>
    public NonFiniteFeatures ForCursor() => new(_host, Throw);

    /// <summary>Reports row <paramref name="row"/>: throws under <see cref="Throw"/>, else logs (the first few) and returns.</summary>
    /// <exception cref="InvalidOperationException">The policy is to throw.</exception>
    public void Report(string column, long row, int slot, float value)
    {
        if (Throw)
            throw FeatureColumn.NonFinite(column, row, slot, value);
        int count = Interlocked.Increment(ref _reported);
        if (_host is null || count > MaxWarnings)
            return;
        using var channel = _host.Start("Qat scoring");
        channel.Warning(
            $"Row {row}: feature column '{column}' has {value.ToString(CultureInfo.InvariantCulture)} in slot {slot}; its scores are NaN and its PredictedLabel missing, as ML.NET's predictors do." +
            (count == MaxWarnings ? $" Further such rows of this cursor are not logged." : ""));
    }
}
