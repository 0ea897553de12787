using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Qat.MLNet.Inference;
using Qat.MLNet.Reports;

namespace Qat.MLNet.Scoring;

/// <summary>
/// What the Qat transformers share: the int8 model, the feature column it reads, the training report, the lazy
/// <see cref="Transform"/>, the row-to-row mapper behind prediction engines, and persistence in ML.NET model files.
/// </summary>
public abstract class QatTransformerBase : ITransformer
{
    private const string ModelStreamName = "QuantizedModel.bin";
    private const string ReportStreamName = "TrainingReport.json";
    private const string SettingsStreamName = "Scoring.txt";

    /// <summary>A training report is a few kilobytes per hundred epochs; anything past 16 M characters is not one.</summary>
    private const int MaxReportChars = 16 << 20;

    private protected QatTransformerBase(QuantizedModel model, string featureColumnName, QatTrainingReport? report, ScoringSettings settings)
    {
        Settings = settings;
        Model = model;
        FeatureColumnName = featureColumnName;
        TrainingReport = report;
    }

    /// <summary>The int8 model the transformer runs (Qat.MLNet's inference engine; no TorchSharp at scoring time).</summary>
    public QuantizedModel Model { get; }

    /// <summary>The feature column the model reads: Vector&lt;Single, <see cref="QuantizedModel.InputSize"/>&gt;.</summary>
    public string FeatureColumnName { get; }

    /// <summary>Per-epoch metrics, float vs fake-quant vs int8 comparison and sizes; null only for models saved without one.</summary>
    public QatTrainingReport? TrainingReport { get; }

    /// <summary>Always true: each row is scored on its own, so prediction engines work.</summary>
    public bool IsRowToRowMapper => true;

    private protected abstract ScoringTask Task { get; }

    /// <summary>
    /// Whether a row whose features hold NaN or infinity makes scoring throw (naming the row and the slot) instead of
    /// scoring NaN for that row and logging a warning, ML.NET's behaviour and the default. Set by the trainer's option
    /// <c>ThrowOnNonFiniteFeatures</c>; saved with the model.
    /// </summary>
    public bool ThrowOnNonFiniteFeatures => Settings.ThrowOnNonFiniteFeatures;

    /// <summary>
    /// Threads a Transform scores each block of rows on (shared among the cursors of a cursor set); null, the default,
    /// for every core. Set by the trainer's option <c>NumberOfScoringThreads</c>; saved with the model. Prediction
    /// engines score one row on the calling thread.
    /// </summary>
    public int? NumberOfScoringThreads => Settings.NumberOfThreads;

    private protected ScoringSettings Settings { get; }

    /// <summary>The task that turns the model's outputs into columns (for the standalone ONNX export, Qat.MLNet.Onnx).</summary>
    internal ScoringTask ScoringTask => Task;

    private protected abstract VersionInfo VersionInfo { get; }

    /// <summary>The schema <see cref="Transform"/> produces: the input columns plus the task's score columns.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The feature column is missing, not Vector&lt;Single&gt; or of another size.</exception>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => Bind(inputSchema).OutputSchema;

    /// <summary>A mapper that scores single rows (used by <c>CreatePredictionEngine</c>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The feature column is missing, not Vector&lt;Single&gt; or of another size.</exception>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => new QatRowToRowMapper(Bind(inputSchema));

    /// <summary>
    /// Scores <paramref name="input"/> lazily: nothing runs until a cursor reads the rows. A row whose features hold NaN or
    /// infinity makes the cursor throw, naming the row and the slot.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The feature column is missing, not Vector&lt;Single&gt; or of another size.</exception>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new ScoredDataView(input, Bind(input.Schema), this);
    }

    /// <summary>The binding to <paramref name="inputSchema"/>, Transform's blocks scored by <paramref name="blockScorer"/> (null: the int8 engine).</summary>
    internal ScoringBinding Bind(DataViewSchema inputSchema, IBlockScorer? blockScorer = null)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        return new ScoringBinding(inputSchema, FeatureColumnName, Model, Task, Settings.NonFiniteFeatures(), Settings.Threads, blockScorer);
    }

    // Model file layout (inside the ML.NET zip, in this transformer's directory):
    //   Model.key (ML.NET header, then):
    //     string id     feature column name (ML.NET string table)
    //     task block    multiclass: int32 class count, bool has-names, names (KeyValuesAnnotation.Save); binary/regression: nothing
    //   QuantizedModel.bin   the int8 model in Qat.MLNet's own format (QuantizedModel.Save: magic "QATMLQM1", version,
    //                        payload length, SHA-256, payload)
    //   TrainingReport.json  the training report as JSON (optional)
    void ICanSaveModel.Save(ModelSaveContext ctx)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ctx.CheckAtModel();
        ctx.SetVersionInfo(VersionInfo);
        ctx.SaveNonEmptyString(FeatureColumnName);
        Task.Save(ctx.Writer);
        ctx.SaveBinaryStream(ModelStreamName, writer => Model.Save(writer.BaseStream));
        if (TrainingReport is { } report)
            ctx.SaveTextStream(ReportStreamName, writer => writer.Write(report.ToJson()));
        ctx.SaveTextStream(SettingsStreamName, writer => writer.Write(Settings.ToText()));
    }

    /// <summary>The reader's text, refusing more than <paramref name="maxChars"/> characters before allocating them.</summary>
    private static string ReadBounded(TextReader reader, int maxChars)
    {
        var text = new System.Text.StringBuilder();
        var buffer = new char[81920];
        int read;
        while ((read = reader.Read(buffer, 0, buffer.Length)) > 0)
        {
            if (text.Length + read > maxChars)
                throw new InvalidDataException($"The training report stored with the model is larger than {maxChars} characters: the file is corrupt or not a Qat model.");
            text.Append(buffer, 0, read);
        }
        return text.ToString();
    }

    /// <summary>Reads what <see cref="ICanSaveModel.Save"/> wrote, after the version check.</summary>
    private protected static (string FeatureColumnName, TTask Task, QuantizedModel Model, QatTrainingReport? Report, ScoringSettings Settings) LoadCommon<TTask>(
        IHostEnvironment env, ModelLoadContext ctx, VersionInfo versionInfo, Func<BinaryReader, TTask> loadTask) where TTask : ScoringTask
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ctx.CheckAtModel(versionInfo);
        string feature = ctx.LoadNonEmptyString();
        var task = loadTask(ctx.Reader);
        QuantizedModel? model = null;
        if (!ctx.TryLoadBinaryStream(ModelStreamName, reader => model = QuantizedModel.Load(reader.BaseStream)) || model is null)
            throw new InvalidDataException($"The Qat transformer in this model file has no '{ModelStreamName}' entry: the file is incomplete or corrupt.");
        if (model.OutputSize != task.OutputCount)
            throw new InvalidDataException($"The stored int8 model has {model.OutputSize} outputs but the {task.Name} transformer needs {task.OutputCount}: the file is corrupt.");
        QatTrainingReport? report = null;
        ctx.TryLoadTextStream(ReportStreamName, reader => report = QatTrainingReport.FromJson(ReadBounded(reader, MaxReportChars)));
        // Models saved before the scoring settings existed have none: the defaults.
        var settings = new ScoringSettings(env, ThrowOnNonFiniteFeatures: false);
        ctx.TryLoadTextStream(SettingsStreamName, reader => settings = ScoringSettings.FromText(env, ReadBounded(reader, 4096)));
        return (feature, task, model, report, settings);
    }
}
