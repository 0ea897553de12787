using Microsoft.ML;
using Microsoft.ML.Data;
using Qat.MLNet.Onnx;

namespace Qat.MLNet.Scoring;

/// <summary>
/// Multiclass classification at scoring time: C logits from a key-typed label with C values. The transformer adds
/// <c>Score</c> (softmax probabilities, Vector&lt;Single, C&gt; with SlotNames) and <c>PredictedLabel</c> (the key of the
/// largest score, with the label's KeyValues so that <c>MapKeyToValue</c> restores the original labels).
/// </summary>
internal sealed class MulticlassScoringTask : ScoringTask
{
    private readonly int _classes;
    private readonly KeyValuesAnnotation? _keyValues;

    private MulticlassScoringTask(int classes, KeyValuesAnnotation? keyValues)
    {
        _classes = classes;
        _keyValues = keyValues;
    }

    public override string Name => "multiclass classification";

    public override int OutputCount => _classes;

    /// <summary>Checks the label column and takes its class count and names.</summary>
    public static MulticlassScoringTask FromLabel(DataViewSchema.Column label)
    {
        CheckLabelType(label.Name, label.Type);
        return new MulticlassScoringTask(checked((int)label.Type.GetKeyCount()), KeyValuesAnnotation.From(label));
    }

    /// <summary>Checks a label column's type: a key with 2 or more values.</summary>
    public static void CheckLabelType(string name, DataViewType type)
    {
        if (type is not KeyDataViewType key)
            throw LabelMismatch(name, "Key (e.g. Key<UInt32>)", type,
                "Multiclass labels must be keys: add mlContext.Transforms.Conversion.MapValueToKey(\"" + name + "\") before the trainer.");
        if (key.Count < 2 || key.Count > int.MaxValue)
            throw LabelMismatch(name, "a key with at least 2 values", type, $"The label has {key.Count} possible value(s): a classifier needs at least two classes.");
    }

    public static MulticlassScoringTask Load(BinaryReader reader)
    {
        int classes = reader.ReadInt32();
        if (classes < 2)
            throw new InvalidDataException($"The model stores {classes} classes: the file is corrupt.");
        var keyValues = reader.ReadBoolean() ? KeyValuesAnnotation.Load(reader, classes) : null;
        return new MulticlassScoringTask(classes, keyValues);
    }

    /// <summary>Writes: class count (int32), has-names (bool), then the names (<see cref="KeyValuesAnnotation.Save"/>).</summary>
    public override void Save(BinaryWriter writer)
    {
        writer.Write(_classes);
        writer.Write(_keyValues is not null);
        _keyValues?.Save(writer);
    }

    /// <summary>The class's name in messages: its label value when the label had KeyValues, else its key.</summary>
    public string DescribeClass(int classIndex) =>
        _keyValues is null ? $"key {classIndex + 1}" : $"'{_keyValues.AsText()[classIndex]}'";

    public override void AddOutputColumns(DataViewSchema.Builder builder)
    {
        var score = new DataViewSchema.Annotations.Builder();
        var names = SlotNames();
        score.AddSlotNames(_classes, (ref VBuffer<ReadOnlyMemory<char>> dst) => new VBuffer<ReadOnlyMemory<char>>(names.Length, (ReadOnlyMemory<char>[])names.Clone()).CopyTo(ref dst));
        AddScoreKinds(score, AnnotationUtils.Const.ScoreColumnKind.MulticlassClassification, AnnotationUtils.Const.ScoreValueKind.Score);
        builder.AddColumn(DefaultColumnNames.Score, new VectorDataViewType(NumberDataViewType.Single, _classes), score.ToAnnotations());

        var predicted = new DataViewSchema.Annotations.Builder();
        _keyValues?.AddTo(predicted);
        AddScoreKinds(predicted, AnnotationUtils.Const.ScoreColumnKind.MulticlassClassification, AnnotationUtils.Const.ScoreValueKind.PredictedLabel);
        builder.AddColumn(DefaultColumnNames.PredictedLabel, new KeyDataViewType(typeof(uint), _classes), predicted.ToAnnotations());
    }

    /// <summary>Checks the label's shape (a key) and returns the output columns as a SchemaShape (the trainer's GetOutputSchema).</summary>
    public static IEnumerable<SchemaShape.Column> OutputShape(SchemaShape.Column label)
    {
        if (!label.IsKey || label.Kind != SchemaShape.Column.VectorKind.Scalar)
            throw new ArgumentOutOfRangeException(label.Name,
                $"Schema mismatch for label column '{label.Name}': expected Key, got {label.GetTypeString()}. Add mlContext.Transforms.Conversion.MapValueToKey(\"{label.Name}\") before the trainer.");
        var slotNames = new SchemaShape.Column(AnnotationUtils.Kinds.SlotNames, SchemaShape.Column.VectorKind.Vector, TextDataViewType.Instance, false);
        var keyValues = label.Annotations.TryFindColumn(AnnotationUtils.Kinds.KeyValues, out var names) ? new[] { names } : Array.Empty<SchemaShape.Column>();
        return new[]
        {
            new SchemaShape.Column(DefaultColumnNames.Score, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false, ScoreKindsShape(slotNames)),
            new SchemaShape.Column(DefaultColumnNames.PredictedLabel, SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.UInt32, true, ScoreKindsShape(keyValues)),
        };
    }

    public override Delegate[] CreateGetters(IScoredOutputs scorer)
    {
        ValueGetter<VBuffer<float>> score = (ref VBuffer<float> dst) =>
        {
            var outputs = scorer.Outputs();
            var editor = VBufferEditor.Create(ref dst, outputs.Length);
            Softmax(outputs, editor.Values);
            dst = editor.Commit();
        };
        // A row scored NaN (non-finite features) has no class: the missing key, 0.
        ValueGetter<uint> predicted = (ref uint dst) =>
        {
            var outputs = scorer.Outputs();
            dst = float.IsNaN(outputs[0]) ? 0 : (uint)ArgMax(outputs) + 1;
        };
        return new Delegate[] { score, predicted };
    }

    /// <inheritdoc/>
    public override void WriteOnnx(IOnnxGraph graph, string outputs, IOnnxOutputColumns columns)
    {
        string score = columns.Declare(DefaultColumnNames.Score, new VectorDataViewType(NumberDataViewType.Single, _classes));
        graph.Node("Softmax", [outputs], [score], OnnxAttribute.Of("axis", 1L));
        // The first of equal maxima, as ArgMax above; keys are 1-based.
        string index = graph.NewName("ArgMax");
        graph.Node("ArgMax", [outputs], [index], OnnxAttribute.Of("axis", 1L), OnnxAttribute.Of("keepdims", 1L));
        string key = graph.NewName("Key");
        graph.Node("Add", [index, graph.Constant("one", OnnxTensor.Int64s([1]))], [key]);
        string predicted = columns.Declare(DefaultColumnNames.PredictedLabel, new KeyDataViewType(typeof(uint), _classes));
        graph.Node("Cast", [key], [predicted], OnnxAttribute.Of("to", (long)OnnxElementType.UInt32));
    }

    private ReadOnlyMemory<char>[] SlotNames() =>
        _keyValues?.AsText() ?? Enumerable.Range(0, _classes).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture).AsMemory()).ToArray();

    /// <summary>The index of the largest value (the first one on ties).</summary>
    public static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
            if (values[i] > values[best])
                best = i;
        return best;
    }

    private static void Softmax(ReadOnlySpan<float> logits, Span<float> probabilities)
    {
        float max = logits[ArgMax(logits)], sum = 0;
        for (int i = 0; i < logits.Length; i++)
            sum += probabilities[i] = MathF.Exp(logits[i] - max);
        float inverse = 1 / sum;
        for (int i = 0; i < logits.Length; i++)
            probabilities[i] *= inverse;
    }
}
