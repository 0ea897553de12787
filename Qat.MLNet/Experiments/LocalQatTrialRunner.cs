using System.Diagnostics;
using Microsoft.ML;
using Qat.MLNet.Inference;
using Microsoft.ML.Runtime;
using Qat.MLNet.Scoring;

namespace Qat.MLNet.Experiments;

/// <summary>
/// Runs trials in this process: trains on the experiment's data (a validation split or k folds) and measures the int8 model.
/// With k folds, a trial whose settings leave the ensemble size to the trainer trains as many networks as a Fit on all the
/// folded rows would (a fold's training rows are fewer, and could fall under <see cref="Trainers.QatDefaults.MaximumRowsForEnsemble"/>
/// where the refit does not): each trial measures the model its settings give when refit.
/// </summary>
internal sealed class LocalQatTrialRunner : IQatTrialRunner
{
    private readonly QatExperimentTask _task;
    private readonly IReadOnlyList<(IDataView Train, IDataView Validation)> _splits;
    private readonly MLContext _log;
    private readonly long? _refitRows;

    /// <param name="task">What to train and how to score it.</param>
    /// <param name="splits">The (train, validation) pairs.</param>
    /// <param name="log">The experiment's context, where trials' warnings go.</param>
    /// <param name="refitRows">With k folds, the rows of all the folded data (see the class docs); null for a train/validation pair.</param>
    public LocalQatTrialRunner(QatExperimentTask task, IReadOnlyList<(IDataView Train, IDataView Validation)> splits, MLContext log, long? refitRows = null)
    {
        _task = task;
        _splits = splits;
        _log = log;
        _refitRows = refitRows;
    }

    // A thread of its own (LongRunning), not a thread-pool thread: a trial trains for seconds to minutes, and holding a
    // pool thread that long on 2 cores starves the pool, which runs timers' callbacks, so a CancelAfter (the
    // experiment's own time budget, a user's) fired seconds late, after the trial had ended.
    public Task<QatTrialResult> RunAsync(int id, QatTrialProposal proposal, int seed, CancellationToken cancellationToken) =>
        Task.Factory.StartNew(() => Run(id, proposal, seed, cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private QatTrialResult Run(int id, QatTrialProposal proposal, int seed, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        double drop = 0;
        var folds = new List<double>(_splits.Count);
        QatTransformerBase? model = null;
        foreach (var (train, validation) in _splits)
        {
            var ml = new MLContext(seed);
            ml.Log += (_, e) => ForwardLog(e);
            using var registration = cancellationToken.Register(ml.CancelExecution);
            cancellationToken.ThrowIfCancellationRequested();
            model = (QatTransformerBase)_task.Trainer(ml, proposal.Settings, validation, seed, _refitRows).Fit(train);
            folds.Add(_task.Evaluate(ml, model.Transform(validation)));
            var report = model.TrainingReport;
            drop += report?.Float.Accuracy is { } f && report.Int8.Accuracy is { } q ? f - q : double.NaN;
        }
        return new QatTrialResult
        {
            Id = id,
            Settings = proposal.Settings,
            Rung = proposal.Rung,
            Status = QatTrialStatus.Completed,
            Metric = folds.Average(),
            FoldMetrics = folds,
            MetricDrop = drop / _splits.Count,
            ModelBytes = model!.Model.ParameterBytes,
            LatencyMicroseconds = MedianLatency(model.Model),
            Seconds = clock.Elapsed.TotalSeconds,
        };
    }

    private void ForwardLog(Microsoft.ML.LoggingEventArgs e)
    {
        // The trial's own context: pass its warnings and errors on to the experiment's log.
        if (e.Kind is Microsoft.ML.Runtime.ChannelMessageKind.Warning or Microsoft.ML.Runtime.ChannelMessageKind.Error)
        {
            using var channel = ((Microsoft.ML.Runtime.IHostEnvironment)_log).Start("Qat experiment");
            channel.Warning(MessageSensitivity.None, e.RawMessage);
        }
    }

    /// <summary>Median time of a batch-1 call of the int8 engine on this machine (15 rounds of 40 calls, after 200).</summary>
    internal static double MedianLatency(QuantizedModel model)
    {
        var input = new float[model.InputSize];
        var output = new float[model.OutputSize];
        for (int i = 0; i < 200; i++)
            model.Predict(input, output);
        var rounds = new double[15];
        for (int r = 0; r < rounds.Length; r++)
        {
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < 40; i++)
                model.Predict(input, output);
            rounds[r] = clock.Elapsed.TotalMicroseconds / 40;
        }
        Array.Sort(rounds);
        return rounds[rounds.Length / 2];
    }
}
