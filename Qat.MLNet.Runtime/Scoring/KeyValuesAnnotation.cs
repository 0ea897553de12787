using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Qat.MLNet.Scoring;

/// <summary>
/// The KeyValues annotation of a training label (the class names behind the key's indices), kept by the multiclass
/// transformer so that its PredictedLabel carries the same annotation and <c>MapKeyToValue</c> turns predictions back
/// into the original labels. Holds text, boolean and primitive number values; saved and loaded with the model.
/// </summary>
internal sealed class KeyValuesAnnotation
{
    // Item kinds by their persisted type code (the index + 1); append only, never reorder.
    private static readonly ItemKind[] Kinds =
    {
        new ItemKind<ReadOnlyMemory<char>>(TextDataViewType.Instance, r => r.ReadString().AsMemory(), (w, v) => w.Write(v.ToString())),
        new ItemKind<bool>(BooleanDataViewType.Instance, r => r.ReadBoolean(), (w, v) => w.Write(v)),
        new ItemKind<float>(NumberDataViewType.Single, r => r.ReadSingle(), (w, v) => w.Write(v)),
        new ItemKind<double>(NumberDataViewType.Double, r => r.ReadDouble(), (w, v) => w.Write(v)),
        new ItemKind<sbyte>(NumberDataViewType.SByte, r => r.ReadSByte(), (w, v) => w.Write(v)),
        new ItemKind<byte>(NumberDataViewType.Byte, r => r.ReadByte(), (w, v) => w.Write(v)),
        new ItemKind<short>(NumberDataViewType.Int16, r => r.ReadInt16(), (w, v) => w.Write(v)),
        new ItemKind<ushort>(NumberDataViewType.UInt16, r => r.ReadUInt16(), (w, v) => w.Write(v)),
        new ItemKind<int>(NumberDataViewType.Int32, r => r.ReadInt32(), (w, v) => w.Write(v)),
        new ItemKind<uint>(NumberDataViewType.UInt32, r => r.ReadUInt32(), (w, v) => w.Write(v)),
        new ItemKind<long>(NumberDataViewType.Int64, r => r.ReadInt64(), (w, v) => w.Write(v)),
        new ItemKind<ulong>(NumberDataViewType.UInt64, r => r.ReadUInt64(), (w, v) => w.Write(v)),
    };

    private readonly int _kind;
    private readonly Array _values;

    private KeyValuesAnnotation(int kind, Array values)
    {
        _kind = kind;
        _values = values;
    }

    /// <summary>The number of values (the key's cardinality).</summary>
    public int Count => _values.Length;

    /// <summary>The item type of the values.</summary>
    public PrimitiveDataViewType ItemType => Kinds[_kind].Type;

    /// <summary>Reads the KeyValues annotation of <paramref name="column"/>; null when it has none or of a type not kept.</summary>
    public static KeyValuesAnnotation? From(DataViewSchema.Column column)
    {
        var annotation = column.Annotations.Schema.GetColumnOrNull(AnnotationUtils.Kinds.KeyValues);
        if (annotation is not { Type: VectorDataViewType { ItemType: var itemType } })
            return null;
        int kind = Array.FindIndex(Kinds, k => k.Type.RawType == itemType.RawType);
        return kind < 0 ? null : new KeyValuesAnnotation(kind, Kinds[kind].Read(column));
    }

    /// <summary>Adds the values as the KeyValues annotation.</summary>
    public void AddTo(DataViewSchema.Annotations.Builder builder) => Kinds[_kind].AddTo(builder, _values);

    /// <summary>The values as text, for slot names of the Score vector.</summary>
    public ReadOnlyMemory<char>[] AsText()
    {
        var names = new ReadOnlyMemory<char>[_values.Length];
        for (int i = 0; i < names.Length; i++)
        {
            object? value = _values.GetValue(i);
            names[i] = (value switch
            {
                ReadOnlyMemory<char> text => text.ToString(),
                IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                _ => value?.ToString() ?? "",
            }).AsMemory();
        }
        return names;
    }

    /// <summary>Writes: type code (byte), count (int32), then each value (text as a .NET string, numbers in little endian).</summary>
    public void Save(BinaryWriter writer)
    {
        writer.Write((byte)(_kind + 1));
        writer.Write(_values.Length);
        Kinds[_kind].Save(writer, _values);
    }

    /// <summary>Reads what <see cref="Save"/> wrote; <paramref name="expectedCount"/> is the key cardinality saved beside it.</summary>
    /// <exception cref="InvalidDataException">An unknown type code or a count that does not match.</exception>
    public static KeyValuesAnnotation Load(BinaryReader reader, int expectedCount)
    {
        int kind = reader.ReadByte() - 1;
        if (kind < 0 || kind >= Kinds.Length)
            throw new InvalidDataException($"The model's label names have an unknown type code {kind + 1}: the file is corrupt or from a newer Qat.MLNet.");
        int count = reader.ReadInt32();
        if (count != expectedCount)
            throw new InvalidDataException($"The model stores {count} label names for {expectedCount} classes: the file is corrupt.");
        return new KeyValuesAnnotation(kind, Kinds[kind].Load(reader, count));
    }

    /// <summary>How values of one item type are read from a column, annotated, saved and loaded.</summary>
    private abstract class ItemKind
    {
        protected ItemKind(PrimitiveDataViewType type) => Type = type;

        public PrimitiveDataViewType Type { get; }

        public abstract Array Read(DataViewSchema.Column column);

        public abstract void AddTo(DataViewSchema.Annotations.Builder builder, Array values);

        public abstract void Save(BinaryWriter writer, Array values);

        public abstract Array Load(BinaryReader reader, int count);
    }

    private sealed class ItemKind<T> : ItemKind
    {
        private readonly Func<BinaryReader, T> _read;
        private readonly Action<BinaryWriter, T> _write;

        public ItemKind(PrimitiveDataViewType type, Func<BinaryReader, T> read, Action<BinaryWriter, T> write) : base(type)
        {
            _read = read;
            _write = write;
        }

        public override Array Read(DataViewSchema.Column column)
        {
            var buffer = default(VBuffer<T>);
            column.Annotations.GetValue(AnnotationUtils.Kinds.KeyValues, ref buffer);
            return buffer.DenseValues().ToArray();
        }

        public override void AddTo(DataViewSchema.Annotations.Builder builder, Array values)
        {
            var typed = (T[])values;
            ValueGetter<VBuffer<T>> getter = (ref VBuffer<T> dst) => new VBuffer<T>(typed.Length, (T[])typed.Clone()).CopyTo(ref dst);
            builder.Add(AnnotationUtils.Kinds.KeyValues, new VectorDataViewType(Type, typed.Length), getter);
        }

        public override void Save(BinaryWriter writer, Array values)
        {
            foreach (T value in (T[])values)
                _write(writer, value);
        }

        public override Array Load(BinaryReader reader, int count)
        {
            var values = new T[count];
            for (int i = 0; i < count; i++)
                values[i] = _read(reader);
            return values;
        }
    }
}
