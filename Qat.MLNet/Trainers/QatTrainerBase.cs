using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Qat.MLNet.Inference;
using Qat.MLNet.Native;
using Qat.MLNet.Reports;
using Qat.MLNet.Scoring;
using Qat.MLNet.Tasks;
using Qat.MLNet.Training;
using TorchSharp;

namespace Qat.MLNet.Trainers;

/// <summary>
/// What the Qat trainers share. <see cref="Fit"/> checks the schema and scans the data once (bad rows are reported with
/// their row number before any training), trains the network with float then fake-quantized epochs on TorchSharp, streams
/// the data in mini-batches every epoch, converts the result to int8 and returns a transformer that scores with the int8
/// engine. Progress goes to <c>MLContext.Log</c> once per epoch; <c>MLContext.CancelExecution()</c> stops training
/// between mini-batches with an <see cref="OperationCanceledException"/>.
/// </summary>
/// <typeparam name="TTransformer">The transformer <see cref="Fit"/> returns.</typeparam>
public abstract class QatTrainerBase<TTransformer> : IEstimator<TTransformer> where TTransformer : QatTransformerBase
{
    private readonly QatTrainerOptions _options;

    private protected QatTrainerBase(IHostEnvironment env, QatTrainerOptions options, string registrationName)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(options);
        Host = env.Register(registrationName);
        // A copy: changing the caller's options object later does not change this trainer.
        _options = options.Copy();
        _options.Validate();
    }

    private protected IHost Host { get; }

    /// <summary>The trainer's own copy of its options.</summary>
    private protected QatTrainerOptions TrainerOptions => _options;

    /// <summary>Trains on <paramref name="input"/> and returns the int8 transformer.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or of the wrong type (schema mismatch).</exception>
    /// <exception cref="InvalidOperationException">No rows, a bad row (NaN/Inf feature, wrong vector size, missing label; the message names the row), one class only.</exception>
    /// <exception cref="NotSupportedException">The network has a layer the int8 engine cannot run.</exception>
    /// <exception cref="OperationCanceledException">The MLContext was cancelled.</exception>
    /// <exception cref="DllNotFoundException">TorchSharp's native library or libtorch cannot be loaded (see <see cref="LibTorchSharpLoader"/>).</exception>
    public TTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        LibTorchSharpLoader.EnsureLoaded();
        using var channel = Host.Start("Training");
        if (_options.ReportFolder is { } reportFolder)
            QatReportFolder.EnsureWritable(reportFolder, nameof(QatTrainerOptions.ReportFolder)); // before training, not after it
        int seed = _options.Seed ?? Host.Rand.Next();
        var data = TrainingData.Check(Host, input, _options, CreateTask, seed);
        int previousThreads = torch.get_num_threads();
        if (_options.ResolveTrainingThreads() is { } threads)
            torch.set_num_threads(threads);
        try
        {
            int members = _options.ResolveEnsembleSize(data.RowCount + data.HeldOutCount);
            channel.Info(MessageSensitivity.None, FormattableString.Invariant($"Qat {data.Task.Name}: {data.RowCount} training rows x {data.FeatureCount} features, validation: {data.ValidationDescription}, ") +
                FormattableString.Invariant($"features {(data.Standardization is null ? "as given" : "standardized")}{(data.Encoding is { } encoding ? $", piecewise-linear encoding: {data.FeatureCount} features -> {encoding.OutputCount} bins" : "")}, network {_options.Network}{(members > 1 ? $" x {members} (an ensemble, merged into one network)" : "")}, ") +
                FormattableString.Invariant($"batch {_options.BatchSize}, {_options.Optimizer} lr {_options.LearningRate}, weight decay {_options.WeightDecay}, seed {seed}{data.Task.LossWeighting}."));
            var (model, report) = members > 1
                ? EnsembleTraining.Run(Host, channel, _options, input, data, CreateTask, seed, members)
                : new QatTrainingSession(Host, channel, _options, data.Task, data, seed).Run();
            if (_options.ReportFolder is { } folder)
            {
                try
                {
                    var files = QatReportFolder.Write(folder, report);
                    channel.Info(MessageSensitivity.None, $"Qat: wrote the training report to {Path.GetFullPath(folder)} ({files.Count} files).");
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // The trained model is worth more than its report: keep it, say what was not written.
                    channel.Warning(MessageSensitivity.None, $"Qat: the training report could not be written to {folder} ({e.Message}); the model is returned without it (TrainingReport holds the same figures).");
                }
            }
            return CreateTransformer(model, _options.FeatureColumnName, data.Task, report, new ScoringSettings(Host, _options.ThrowOnNonFiniteFeatures, _options.NumberOfScoringThreads));
        }
        finally
        {
            torch.set_num_threads(previousThreads);
        }
    }

    /// <summary>The schema the trained transformer will produce, checked from the input's shape.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or of the wrong type.</exception>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        if (!inputSchema.TryFindColumn(_options.FeatureColumnName, out var feature))
            throw new ArgumentOutOfRangeException(_options.FeatureColumnName, $"Feature column '{_options.FeatureColumnName}' not found.");
        if (feature.Kind != SchemaShape.Column.VectorKind.Vector || feature.ItemType != NumberDataViewType.Single)
            throw new ArgumentOutOfRangeException(_options.FeatureColumnName,
                $"Schema mismatch for feature column '{_options.FeatureColumnName}': expected a known-size Vector<Single>, got {feature.GetTypeString()}.");
        if (!inputSchema.TryFindColumn(_options.LabelColumnName, out var label))
            throw new ArgumentOutOfRangeException(_options.LabelColumnName, $"Label column '{_options.LabelColumnName}' not found.");
        var columns = inputSchema.ToDictionary(c => c.Name);
        foreach (var column in OutputShape(label))
            columns[column.Name] = column;
        return new SchemaShape(columns.Values);
    }

    /// <summary>Checks the label column's type and makes the task from it.</summary>
    private protected abstract TrainingTask CreateTask(DataViewSchema.Column label);

    /// <summary>Checks the label's shape and returns the output columns.</summary>
    private protected abstract IEnumerable<SchemaShape.Column> OutputShape(SchemaShape.Column label);

    private protected abstract TTransformer CreateTransformer(QuantizedModel model, string featureColumnName, TrainingTask task, QatTrainingReport report, ScoringSettings settings);
}
