namespace Qat.MLNet.Training;

/// <summary>
/// A seeded uniform sample of up to a fixed number of feature rows, taken in one pass (reservoir sampling, Vitter's
/// algorithm R): data with fewer rows is kept whole, in its order, so the same data gives the same sample for any seed.
/// </summary>
internal sealed class RowSample
{
    private readonly int _capacity;
    private readonly int _width;
    private float[] _rows = [];
    private readonly Random _random;
    private long _seen;

    /// <summary>Creates an empty sample of at most <paramref name="capacity"/> rows of <paramref name="width"/> values.</summary>
    public RowSample(int capacity, int width, int seed)
    {
        _capacity = capacity;
        _width = width;
        if ((long)capacity * width > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, FormattableString.Invariant($"{capacity} rows of {width} values do not fit one array."));
        _random = new Random(seed);
    }

    /// <summary>The sampled rows, row-major.</summary>
    public ReadOnlySpan<float> Rows => _rows.AsSpan(0, (int)Math.Min(_seen, _capacity) * _width);

    /// <summary>Offers one row.</summary>
    public void Add(ReadOnlySpan<float> row)
    {
        long slot = _seen < _capacity ? _seen : _random.NextInt64(_seen + 1);
        _seen++;
        if (slot >= _capacity)
            return;
        if ((slot + 1) * _width > _rows.Length) // grows by doubling: small data never allocates the whole capacity
            Array.Resize(ref _rows, (int)Math.Min((long)_capacity * _width, Math.Max(16L * _width, 2L * _rows.Length)));
        row.CopyTo(_rows.AsSpan((int)slot * _width, _width));
    }
}
