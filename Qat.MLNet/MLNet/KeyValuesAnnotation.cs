using Microsoft.ML;
using System.Globalization;
using Microsoft.ML.Data;

namespace Qat.MLNet;

/// <summary>
/// The KeyValues annotation of a training label (the class names behind the key's indices), kept by the multiclass
/// transformer so that its PredictedLabel carries the same annotation and <c>MapKeyToValue</c> turns predictions back
/// into the original labels. Holds text, boolean and primitive number values; saved and loaded with the model.
/// </summary>
internal sealed class KeyValuesAnnotation
{
    // Type codes of the persisted form; never renumber.
    private enum Code : byte { Text = 1, Boolean = 2, Single = 3, Double = 4, SByte = 5, Byte = 6, Int16 = 7, UInt16 = 8, Int32 = 9, UInt32 = 10, Int64 = 11, UInt64 = 12 }

    private readonly Code _code;
    private readonly Array _values;

    private KeyValuesAnnotation(Code code, Array values)
    {
        _code = code;
        _values = values;
    }

    /// <summary>The number of values (the key's cardinality).</summary>
    public int Count => _values.Length;

    /// <summary>The item type of the values.</summary>
    public PrimitiveDataViewType ItemType => TypeOf(_code);

    /// <summary>Reads the KeyValues annotation of <paramref name="column"/>; null when it has none or of a type not kept.</summary>
    public static KeyValuesAnnotation? From(DataViewSchema.Column column)
    {
        var annotation = column.Annotations.Schema.GetColumnOrNull(AnnotationUtils.Kinds.KeyValues);
        if (annotation is not { Type: VectorDataViewType { ItemType: var itemType } } || CodeOf(itemType.RawType) is not { } code)
            return null;
        return code switch
        {
            Code.Text => Read<ReadOnlyMemory<char>>(column, code),
            Code.Boolean => Read<bool>(column, code),
            Code.Single => Read<float>(column, code),
            Code.Double => Read<double>(column, code),
            Code.SByte => Read<sbyte>(column, code),
            Code.Byte => Read<byte>(column, code),
            Code.Int16 => Read<short>(column, code),
            Code.UInt16 => Read<ushort>(column, code),
            Code.Int32 => Read<int>(column, code),
            Code.UInt32 => Read<uint>(column, code),
            Code.Int64 => Read<long>(column, code),
            _ => Read<ulong>(column, code),
        };
    }

    /// <summary>Adds the values as the KeyValues annotation.</summary>
    public void AddTo(DataViewSchema.Annotations.Builder builder)
    {
        switch (_code)
        {
            case Code.Text: Add<ReadOnlyMemory<char>>(builder); break;
            case Code.Boolean: Add<bool>(builder); break;
            case Code.Single: Add<float>(builder); break;
            case Code.Double: Add<double>(builder); break;
            case Code.SByte: Add<sbyte>(builder); break;
            case Code.Byte: Add<byte>(builder); break;
            case Code.Int16: Add<short>(builder); break;
            case Code.UInt16: Add<ushort>(builder); break;
            case Code.Int32: Add<int>(builder); break;
            case Code.UInt32: Add<uint>(builder); break;
            case Code.Int64: Add<long>(builder); break;
            default: Add<ulong>(builder); break;
        }
    }

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
        writer.Write((byte)_code);
        writer.Write(_values.Length);
        foreach (object? value in _values)
        {
            switch (value)
            {
                case ReadOnlyMemory<char> text: writer.Write(text.ToString()); break;
                case bool b: writer.Write(b); break;
                case float f: writer.Write(f); break;
                case double d: writer.Write(d); break;
                case sbyte sb: writer.Write(sb); break;
                case byte by: writer.Write(by); break;
                case short s: writer.Write(s); break;
                case ushort us: writer.Write(us); break;
                case int i: writer.Write(i); break;
                case uint ui: writer.Write(ui); break;
                case long l: writer.Write(l); break;
                case ulong ul: writer.Write(ul); break;
            }
        }
    }

    /// <summary>Reads what <see cref="Save"/> wrote; <paramref name="expectedCount"/> is the key cardinality saved beside it.</summary>
    /// <exception cref="InvalidDataException">An unknown type code or a count that does not match.</exception>
    public static KeyValuesAnnotation Load(BinaryReader reader, int expectedCount)
    {
        byte raw = reader.ReadByte();
        if (raw < (byte)Code.Text || raw > (byte)Code.UInt64)
            throw new InvalidDataException($"The model's label names have an unknown type code {raw}: the file is corrupt or from a newer Qat.MLNet.");
        var code = (Code)raw;
        int count = reader.ReadInt32();
        if (count != expectedCount)
            throw new InvalidDataException($"The model stores {count} label names for {expectedCount} classes: the file is corrupt.");
        Array values = code switch
        {
            Code.Text => ReadAll(count, () => reader.ReadString().AsMemory()),
            Code.Boolean => ReadAll(count, reader.ReadBoolean),
            Code.Single => ReadAll(count, reader.ReadSingle),
            Code.Double => ReadAll(count, reader.ReadDouble),
            Code.SByte => ReadAll(count, reader.ReadSByte),
            Code.Byte => ReadAll(count, reader.ReadByte),
            Code.Int16 => ReadAll(count, reader.ReadInt16),
            Code.UInt16 => ReadAll(count, reader.ReadUInt16),
            Code.Int32 => ReadAll(count, reader.ReadInt32),
            Code.UInt32 => ReadAll(count, reader.ReadUInt32),
            Code.Int64 => ReadAll(count, reader.ReadInt64),
            _ => ReadAll(count, reader.ReadUInt64),
        };
        return new KeyValuesAnnotation(code, values);
    }

    private static T[] ReadAll<T>(int count, Func<T> read)
    {
        var values = new T[count];
        for (int i = 0; i < count; i++)
            values[i] = read();
        return values;
    }

    private static KeyValuesAnnotation Read<T>(DataViewSchema.Column column, Code code)
    {
        var buffer = default(VBuffer<T>);
        column.Annotations.GetValue(AnnotationUtils.Kinds.KeyValues, ref buffer);
        return new KeyValuesAnnotation(code, buffer.DenseValues().ToArray());
    }

    private void Add<T>(DataViewSchema.Annotations.Builder builder)
    {
        var values = (T[])_values;
        ValueGetter<VBuffer<T>> getter = (ref VBuffer<T> dst) => new VBuffer<T>(values.Length, (T[])values.Clone()).CopyTo(ref dst);
        builder.Add(AnnotationUtils.Kinds.KeyValues, new VectorDataViewType(ItemType, values.Length), getter);
    }

    private static Code? CodeOf(Type raw) =>
        raw == typeof(ReadOnlyMemory<char>) ? Code.Text :
        raw == typeof(bool) ? Code.Boolean :
        raw == typeof(float) ? Code.Single :
        raw == typeof(double) ? Code.Double :
        raw == typeof(sbyte) ? Code.SByte :
        raw == typeof(byte) ? Code.Byte :
        raw == typeof(short) ? Code.Int16 :
        raw == typeof(ushort) ? Code.UInt16 :
        raw == typeof(int) ? Code.Int32 :
        raw == typeof(uint) ? Code.UInt32 :
        raw == typeof(long) ? Code.Int64 :
        raw == typeof(ulong) ? Code.UInt64 : null;

    private static PrimitiveDataViewType TypeOf(Code code) => code switch
    {
        Code.Text => TextDataViewType.Instance,
        Code.Boolean => BooleanDataViewType.Instance,
        Code.Single => NumberDataViewType.Single,
        Code.Double => NumberDataViewType.Double,
        Code.SByte => NumberDataViewType.SByte,
        Code.Byte => NumberDataViewType.Byte,
        Code.Int16 => NumberDataViewType.Int16,
        Code.UInt16 => NumberDataViewType.UInt16,
        Code.Int32 => NumberDataViewType.Int32,
        Code.UInt32 => NumberDataViewType.UInt32,
        Code.Int64 => NumberDataViewType.Int64,
        _ => NumberDataViewType.UInt64,
    };
}
