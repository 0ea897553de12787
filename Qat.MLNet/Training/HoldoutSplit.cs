using Microsoft.ML.Data;

namespace Qat.MLNet.Training;

/// <summary>
/// Chooses, in one pass and in the data's own order, the rows held out for early stopping: per label value (per class for
/// classification, one group for regression) every row whose running count crosses a multiple of 1 / fraction, from a
/// seeded offset (systematic sampling). Each class gets its share to within one row, so the split is stratified; the same
/// seed and data give the same split. Rows are remembered by their ML.NET row id, which shuffling keeps.
/// </summary>
internal sealed class HoldoutSplit
{
    private readonly double _fraction;
    private readonly Random _random;
    private readonly Dictionary<float, (long Seen, double Offset)> _groups = new();
    private readonly HashSet<DataViewRowId> _held = new();

    /// <summary>Creates the split.</summary>
    /// <param name="fraction">The share of rows held out, in (0, 0.5].</param>
    /// <param name="seed">Seeds each group's offset.</param>
    public HoldoutSplit(double fraction, int seed)
    {
        _fraction = fraction;
        _random = new Random(seed);
    }

    /// <summary>Rows held out so far.</summary>
    public int HeldOutCount => _held.Count;

    /// <summary>Decides for the next row of group <paramref name="group"/>; true when it is held out.</summary>
    public bool Assign(DataViewRowId id, float group)
    {
        if (!_groups.TryGetValue(group, out var state))
            state = (0, _random.NextDouble());
        bool held = Math.Floor((state.Seen + 1) * _fraction + state.Offset) > Math.Floor(state.Seen * _fraction + state.Offset);
        _groups[group] = (state.Seen + 1, state.Offset);
        if (held)
            _held.Add(id);
        return held;
    }

    /// <summary>Whether the row with id <paramref name="id"/> is held out.</summary>
    public bool IsHeldOut(DataViewRowId id) => _held.Contains(id);
}
