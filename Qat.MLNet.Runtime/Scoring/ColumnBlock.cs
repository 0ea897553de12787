using Microsoft.ML;
using Microsoft.ML.Data;

namespace Qat.MLNet.Scoring;

/// <summary>
/// One input column's values for a block of rows read ahead by <see cref="BlockScoredCursor"/>, served back in order.
/// Each slot keeps its own storage (reused block after block); a vector is copied out to the caller, never lent.
/// </summary>
internal abstract class ColumnBlock
{
    /// <summary>A block for <paramref name="column"/> of <paramref name="input"/>, holding up to <paramref name="rows"/> rows.</summary>
    public static ColumnBlock Create(DataViewRowCursor input, DataViewSchema.Column column, int rows)
    {
        var raw = column.Type.RawType;
        var type = raw.IsGenericType && raw.GetGenericTypeDefinition() == typeof(VBuffer<>)
            ? typeof(VectorColumnBlock<>).MakeGenericType(raw.GetGenericArguments()[0])
            : typeof(ScalarColumnBlock<>).MakeGenericType(raw);
        return (ColumnBlock)Activator.CreateInstance(type, input, column, rows)!;
    }

    /// <summary>Reads the input cursor's current row into slot <paramref name="slot"/>.</summary>
    public abstract void Read(int slot);

    /// <summary>A getter of the slot <paramref name="current"/> returns.</summary>
    public abstract Delegate Getter(Func<int> current);
}

/// <summary>A column of scalars (numbers, text, keys, bools): copied by value.</summary>
internal sealed class ScalarColumnBlock<T> : ColumnBlock
{
    private readonly ValueGetter<T> _source;
    private readonly T[] _values;

    public ScalarColumnBlock(DataViewRowCursor input, DataViewSchema.Column column, int rows)
    {
        _source = input.GetGetter<T>(column);
        _values = new T[rows];
    }

    public override void Read(int slot) => _source(ref _values[slot]);

    public override Delegate Getter(Func<int> current) => (ValueGetter<T>)((ref T dst) => dst = _values[current()]);
}

/// <summary>A vector column: each slot's VBuffer owns its arrays; the caller gets a copy.</summary>
internal sealed class VectorColumnBlock<T> : ColumnBlock
{
    private readonly ValueGetter<VBuffer<T>> _source;
    private readonly VBuffer<T>[] _values;

    public VectorColumnBlock(DataViewRowCursor input, DataViewSchema.Column column, int rows)
    {
        _source = input.GetGetter<VBuffer<T>>(column);
        _values = new VBuffer<T>[rows];
    }

    public override void Read(int slot) => _source(ref _values[slot]);

    public override Delegate Getter(Func<int> current) => (ValueGetter<VBuffer<T>>)((ref VBuffer<T> dst) => _values[current()].CopyTo(ref dst));
}
