using System.Diagnostics;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace Qat.MLNet.Experiments;

/// <summary>
/// An experiment over quantization-aware training settings, shaped like ML.NET AutoML's <c>AutoMLExperiment</c>: set the
/// data, the metric, the budget, the search space, a tuner and constraints, then <see cref="RunAsync"/>. Trials run one
/// after another; each is measured on its real int8 model (metric on the validation data, parameter bytes, batch-1
/// latency on this machine). Make one with <c>mlContext.CreateQatExperiment()</c>.
/// </summary>
public sealed class QatExperiment
{
    private readonly MLContext _ml;
    private IReadOnlyList<(IDataView Train, IDataView Validation)>? _splits;

    /// <summary>The data k-fold trials split (null for a train/validation pair): the rows a refit with the best settings trains on.</summary>
    private IDataView? _foldedData;

    /// <summary>The (train, validation) pairs trials run on, once SetDataset was called (for tests).</summary>
    internal IReadOnlyList<(IDataView Train, IDataView Validation)>? Splits => _splits;
    private QatExperimentTask? _task;
    private double _seconds = 600;
    private int _maxTrials = int.MaxValue;
    private int _seed;
    private IQatExperimentMonitor? _monitor;
    private IQatTuner? _tuner;
    private QatSearchSpace _space = new();
    private QatExperimentConstraints _constraints = new();
    private string? _checkpoint;
    private IQatTrialRunner? _runner;

    internal QatExperiment(MLContext ml, int seed)
    {
        _ml = ml;
        _seed = seed;
    }

    /// <summary>Trains on <paramref name="train"/>, early-stops on and measures with <paramref name="validation"/>.</summary>
    public QatExperiment SetDataset(IDataView train, IDataView validation)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(validation);
        _splits = [(train, validation)];
        _foldedData = null;
        return this;
    }

    /// <summary>
    /// k-fold cross-validation: each trial trains <paramref name="folds"/> times and is measured by the mean over the held-out
    /// folds. With <paramref name="samplingKeyColumnName"/> (as in ML.NET's <c>CrossValidationSplit</c> and AutoML's
    /// <c>SetDataset</c>), rows with the same value there (one person's rows, one session's) stay in one fold, so no trial is
    /// measured on people it trained on.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="folds"/> is below 2.</exception>
    /// <exception cref="ArgumentException"><paramref name="samplingKeyColumnName"/> is not a column of <paramref name="data"/>.</exception>
    public QatExperiment SetDataset(IDataView data, int folds, string? samplingKeyColumnName = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (folds < 2)
            throw new ArgumentOutOfRangeException(nameof(folds), folds, "Cross-validation needs at least 2 folds; for one split use SetDataset(train, validation).");
        if (samplingKeyColumnName is not null && data.Schema.GetColumnOrNull(samplingKeyColumnName) is null)
            throw new ArgumentException(
                $"The sampling key column '{samplingKeyColumnName}' is not in the data (columns: {string.Join(", ", data.Schema.Where(c => !c.IsHidden).Select(c => c.Name))}). " +
                "Name the column whose equal values must stay in one fold, or pass null to split rows independently.", nameof(samplingKeyColumnName));
        _splits = _ml.Data.CrossValidationSplit(data, folds, samplingKeyColumnName, seed: _seed).Select(s => (s.TrainSet, s.TestSet)).ToList();
        _foldedData = data;
        return this;
    }

    /// <summary>Multiclass classification (key label), optimizing <paramref name="metric"/>.</summary>
    public QatExperiment SetMulticlassMetric(QatMulticlassMetric metric = QatMulticlassMetric.MacroAccuracy, string labelColumn = "Label", string featureColumn = "Features")
    {
        _task = QatExperimentTask.Multiclass(metric, labelColumn, featureColumn);
        return this;
    }

    /// <summary>Binary classification (Boolean label), optimizing <paramref name="metric"/>.</summary>
    public QatExperiment SetBinaryMetric(QatBinaryMetric metric = QatBinaryMetric.Accuracy, string labelColumn = "Label", string featureColumn = "Features")
    {
        _task = QatExperimentTask.Binary(metric, labelColumn, featureColumn);
        return this;
    }

    /// <summary>Regression (Single label), optimizing <paramref name="metric"/>.</summary>
    public QatExperiment SetRegressionMetric(QatRegressionMetric metric = QatRegressionMetric.RSquared, string labelColumn = "Label", string featureColumn = "Features")
    {
        _task = QatExperimentTask.Regression(metric, labelColumn, featureColumn);
        return this;
    }

    /// <summary>Wall-clock budget: no trial starts after it, and the running one is cancelled at it. Default 600 s.</summary>
    public QatExperiment SetTrainingTimeInSeconds(uint seconds)
    {
        if (seconds == 0)
            throw new ArgumentOutOfRangeException(nameof(seconds), seconds, "The training time must be at least one second.");
        _seconds = seconds;
        return this;
    }

    /// <summary>The most trials to run. Default: as many as the time allows.</summary>
    public QatExperiment SetMaxModelToExplore(int count)
    {
        if (count < 1)
            throw new ArgumentOutOfRangeException(nameof(count), count, "At least one model must be explored.");
        _maxTrials = count;
        return this;
    }

    /// <summary>The seed of the tuner, the folds and every trial's training: the same seed gives the same table.</summary>
    public QatExperiment SetSeed(int seed)
    {
        _seed = seed;
        return this;
    }

    /// <summary>Where progress goes besides MLContext.Log.</summary>
    public QatExperiment SetMonitor(IQatExperimentMonitor monitor)
    {
        _monitor = monitor ?? throw new ArgumentNullException(nameof(monitor));
        return this;
    }

    /// <summary>
    /// Runs the trainer's own defaults (<see cref="QatTrialSettings.TrainerDefaults"/>: epochs chosen from the data, with
    /// early stopping) as the first trial, before the tuner's, as ML.NET AutoML starts from a default configuration, and
    /// keeps them as the best trial unless a tuner's trial beats them clearly: by more than
    /// <paramref name="requiredStandardErrors"/> standard errors of its per-split gains over the defaults (paired by fold;
    /// with a single validation split, by any margin). The best trial is then never worse than the defaults on the
    /// experiment's validation metric, and a gain within the noise of a few small folds does not replace them. Off by
    /// default (the budget is then the tuner's alone and the best mean wins); a resumed experiment keeps the defaults
    /// trial it already ran.
    /// </summary>
    /// <param name="enabled">Whether to run it.</param>
    /// <param name="requiredStandardErrors">How clearly a trial must beat the defaults: 1 (default) is about a one-sided
    /// 80 % confidence with 3 folds; 0 takes any better mean.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="requiredStandardErrors"/> is negative or not finite.</exception>
    public QatExperiment SetDefaultsFirst(bool enabled = true, double requiredStandardErrors = 1)
    {
        if (!double.IsFinite(requiredStandardErrors) || requiredStandardErrors < 0)
            throw new ArgumentOutOfRangeException(nameof(requiredStandardErrors), requiredStandardErrors,
                "The margin over the defaults is a count of standard errors: 0 (any better mean) or more, e.g. 1.");
        _defaultsFirst = enabled;
        _defaultsMargin = requiredStandardErrors;
        return this;
    }

    private bool _defaultsFirst;
    private double _defaultsMargin;

    /// <summary>How trials are chosen (<see cref="QatTuners"/>). Default: random.</summary>
    public QatExperiment SetTuner(IQatTuner tuner)
    {
        _tuner = tuner ?? throw new ArgumentNullException(nameof(tuner));
        return this;
    }

    /// <summary>What is searched. Default: <see cref="QatSearchSpace"/>'s ranges.</summary>
    public QatExperiment SetSearchSpace(QatSearchSpace space)
    {
        ArgumentNullException.ThrowIfNull(space);
        space.Validate();
        _space = space;
        return this;
    }

    /// <summary>Limits on the int8 model (size, latency, accuracy drop).</summary>
    public QatExperiment SetConstraints(QatExperimentConstraints constraints)
    {
        _constraints = constraints ?? throw new ArgumentNullException(nameof(constraints));
        return this;
    }

    /// <summary>
    /// Saves every finished trial to <c>trials.json</c> in <paramref name="folder"/> and, when that file exists, resumes
    /// from it: its trials are kept, not run again (it must come from an experiment with the same seed and search space).
    /// </summary>
    public QatExperiment SetCheckpoint(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        _checkpoint = folder;
        return this;
    }

    /// <summary>
    /// The space without the piecewise-linear bin counts this data has too many features for (features x (bins + 1) above
    /// the encoding's limit): every such trial would fail, so none is proposed; the log says which were dropped.
    /// </summary>
    private static QatSearchSpace WithinEncodingLimit(QatSearchSpace space, DataViewSchema schema, string featureColumnName, IHost host)
    {
        if (schema.GetColumnOrNull(featureColumnName)?.Type is not VectorDataViewType { Size: > 0 } vector)
            return space; // the trials' own checks name the column's problem
        var fits = space.PiecewiseLinearBins.Where(b => b == 0 || (long)vector.Size * (b + 1) <= Training.PiecewiseLinearEncoding.MaximumUnits).ToList();
        if (fits.Count == space.PiecewiseLinearBins.Count)
            return space;
        Log(host, FormattableString.Invariant(
            $"PiecewiseLinearBins {string.Join(", ", space.PiecewiseLinearBins.Except(fits))} left out of the search: {vector.Size} features would need more than {Training.PiecewiseLinearEncoding.MaximumUnits} encoding units"));
        var narrowed = space.Copy();
        narrowed.PiecewiseLinearBins = fits.Count > 0 ? fits : [0];
        return narrowed;
    }

    /// <summary>Runs the trials somewhere else than in this process (see <see cref="IQatTrialRunner"/>).</summary>
    public QatExperiment SetTrialRunner(IQatTrialRunner runner)
    {
        _runner = runner ?? throw new ArgumentNullException(nameof(runner));
        return this;
    }

    /// <summary>
    /// Runs trials until the budget, the trial count or the tuner ends, or <paramref name="cancellationToken"/> is
    /// cancelled; then returns every trial and the best one (cancellation returns what was found so far, it does not throw).
    /// </summary>
    /// <exception cref="InvalidOperationException">No dataset or metric was set, or the checkpoint belongs to another experiment.</exception>
    public async Task<QatExperimentResult> RunAsync(CancellationToken cancellationToken = default)
    {
        var task = _task ?? throw new InvalidOperationException("Set a metric first: SetMulticlassMetric, SetBinaryMetric or SetRegressionMetric.");
        var splits = _splits ?? throw new InvalidOperationException("Set the data first: SetDataset(train, validation) or SetDataset(data, folds).");
        var tuner = _tuner ?? QatTuners.Random(_seed);
        if (tuner is IRanksByMetric ranking)
            ranking.HigherIsBetter = task.HigherIsBetter;
        var runner = _runner ?? new LocalQatTrialRunner(task, splits, _ml, _foldedData is null ? null : RowCount(_foldedData));
        var host = ((IHostEnvironment)_ml).Register("QatExperiment");
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(_seconds));
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        var space = WithinEncodingLimit(_space, splits[0].Train.Schema, task.FeatureColumnName, host);
        var trials = Checkpoint.Load(_checkpoint, _seed, space);
        double margin = _defaultsFirst ? _defaultsMargin : 0;
        var best = TrialSelection.Best(trials, task.HigherIsBetter, margin);
        var clock = Stopwatch.StartNew();
        bool cancelled = false;
        while (trials.Count < _maxTrials)
        {
            if (linked.IsCancellationRequested)
            {
                cancelled = true;
                break;
            }
            bool defaults = _defaultsFirst && !trials.Any(t => t.IsDefaults);
            // The tuner sees its own trials only: the defaults are not a point it proposed.
            var proposal = defaults ? new QatTrialProposal(QatTrialSettings.TrainerDefaults) : tuner.Propose(space, trials.Where(t => !t.IsDefaults).ToList());
            if (proposal is null)
                break;
            int id = trials.Count;
            Log(host, $"trial {id} starts: {proposal.Settings}");
            _monitor?.ReportRunningTrial(id, proposal);
            var result = await RunTrial(runner, id, proposal, linked.Token).ConfigureAwait(false) with { IsDefaults = defaults };
            if (result.Status == QatTrialStatus.Cancelled)
            {
                cancelled = true;
                Log(host, $"trial {id} cancelled after {result.Seconds:F1} s");
                _monitor?.ReportCompletedTrial(result);
                break; // a cancelled trial is not kept: a resumed run tries it again
            }
            trials.Add(result);
            Checkpoint.Save(_checkpoint, _seed, space, trials);
            Log(host, $"trial {id} {result.Status}: {task.MetricName} {result.Metric:F4}, {result.ModelBytes} bytes, {result.LatencyMicroseconds:F1} us{(result.Violations.Count > 0 ? " (" + string.Join("; ", result.Violations) + ")" : "")}");
            _monitor?.ReportCompletedTrial(result);
            var newBest = TrialSelection.Best(trials, task.HigherIsBetter, margin);
            if (newBest is not null && newBest != best)
            {
                best = newBest;
                _monitor?.ReportBestTrial(newBest);
            }
        }
        var outcome = new QatExperimentResult(task.MetricName, task.HigherIsBetter, trials, cancelled, margin);
        Log(host, $"experiment done after {clock.Elapsed.TotalSeconds:F0} s: {trials.Count} trials, best {(outcome.BestTrial is { } b ? $"trial {b.Id} ({b.Metric:F4})" : "none")}");
        return outcome;
    }

    private async Task<QatTrialResult> RunTrial(IQatTrialRunner runner, int id, QatTrialProposal proposal, CancellationToken token)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            var measured = await runner.RunAsync(id, proposal, unchecked(_seed + 1 + id), token).ConfigureAwait(false);
            var violations = _constraints.Check(measured);
            return measured with { Id = id, Rung = proposal.Rung, Violations = violations, Status = violations.Count > 0 ? QatTrialStatus.ConstraintViolated : measured.Status };
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            return new QatTrialResult { Id = id, Settings = proposal.Settings, Rung = proposal.Rung, Status = QatTrialStatus.Cancelled, Seconds = clock.Elapsed.TotalSeconds };
        }
        catch (Exception e)
        {
            var failed = new QatTrialResult
            {
                Id = id, Settings = proposal.Settings, Rung = proposal.Rung, Status = QatTrialStatus.Failed, Seconds = clock.Elapsed.TotalSeconds,
                Error = $"{e.GetType().Name}: {e.Message}",
            };
            _monitor?.ReportFailTrial(failed, e);
            return failed;
        }
    }

    private static long RowCount(IDataView data)
    {
        if (data.GetRowCount() is { } known)
            return known;
        long rows = 0;
        using var cursor = data.GetRowCursor([]);
        while (cursor.MoveNext())
            rows++;
        return rows;
    }

    private static void Log(IHost host, string message)
    {
        using var channel = host.Start("Qat experiment");
        channel.Info(MessageSensitivity.None, message);
    }

    /// <summary>The checkpoint file: the experiment's seed and search space, then its finished trials.</summary>
    private static class Checkpoint
    {
        private sealed record File(int Seed, string Space, List<QatTrialResult> Trials);

        public static List<QatTrialResult> Load(string? folder, int seed, QatSearchSpace space)
        {
            string? path = folder is null ? null : Path.Combine(folder, "trials.json");
            if (path is null || !System.IO.File.Exists(path))
                return [];
            File? saved;
            try
            {
                saved = JsonSerializer.Deserialize<File>(System.IO.File.ReadAllText(path), QatExperimentResult.JsonOptions);
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"The experiment checkpoint {path} is not one this library wrote ({e.Message}): move it away or choose another folder.", e);
            }
            if (saved is null || saved.Seed != seed || saved.Space != space.Signature())
                throw new InvalidOperationException(
                    $"The experiment checkpoint {path} was written by another experiment (seed {saved?.Seed} and its search space): resume with the same seed and search space, or choose another folder.");
            return saved.Trials;
        }

        public static void Save(string? folder, int seed, QatSearchSpace space, List<QatTrialResult> trials)
        {
            if (folder is null)
                return;
            Directory.CreateDirectory(folder);
            string json = JsonSerializer.Serialize(new File(seed, space.Signature(), trials), QatExperimentResult.JsonOptions);
            Internal.AtomicFile.Write(Path.Combine(folder, "trials.json"), stream =>
            {
                using var writer = new StreamWriter(stream, leaveOpen: true);
                writer.Write(json);
            });
        }
    }
}
