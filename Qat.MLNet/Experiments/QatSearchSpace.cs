using Qat.MLNet.Quantization;

namespace Qat.MLNet.Experiments;

/// <summary>The activation observer a trial's qconfig uses.</summary>
public enum QatObserverKind
{
    /// <summary>MovingAverageMinMaxObserver (PyTorch's QAT default), with the trial's averaging constant.</summary>
    MovingAverageMinMax,

    /// <summary>MinMaxObserver: the running minimum and maximum.</summary>
    MinMax,
}

/// <summary>How an experiment searches a trial's training length.</summary>
public enum QatSearchBudget
{
    /// <summary>Fixed epochs, run exactly: <see cref="QatSearchSpace.FloatEpochs"/> and <see cref="QatSearchSpace.QatEpochs"/>.</summary>
    Epochs,

    /// <summary>
    /// Optimizer steps, as the trainer's defaults budget them: <see cref="QatSearchSpace.FloatOptimizerSteps"/> and
    /// <see cref="QatSearchSpace.QatOptimizerSteps"/> become epochs from the data's size (capped), with early stopping on
    /// the trial's validation data and the best epoch kept. The same range suits 150 rows and 60,000.
    /// </summary>
    OptimizerSteps,
}

/// <summary>
/// What an experiment searches: the settings that matter for quantization-aware training. Every range is inclusive;
/// narrow, widen or fix any of them (a range of one value, a list of one choice). Learning rate and weight decay are
/// searched on a log scale.
/// </summary>
public sealed class QatSearchSpace
{
    /// <summary>Quantization backends (qconfigs) to try. Default: fbgemm and qnnpack.</summary>
    public IReadOnlyList<QuantBackend> Backends { get; set; } = [QuantBackend.Fbgemm, QuantBackend.Qnnpack];

    /// <summary>Activation observers to try. Default: moving-average min/max (PyTorch's QAT default) and plain min/max.</summary>
    public IReadOnlyList<QatObserverKind> Observers { get; set; } = [QatObserverKind.MovingAverageMinMax, QatObserverKind.MinMax];

    /// <summary>The moving-average observer's averaging constant, log-uniform. Default 0.001 to 0.1 (PyTorch's default: 0.01).</summary>
    public (double Min, double Max) AveragingConstant { get; set; } = (1e-3, 0.1);

    /// <summary>Adam learning rate, log-uniform. Default 3e-4 to 3e-2.</summary>
    public (double Min, double Max) LearningRate { get; set; } = (3e-4, 3e-2);

    /// <summary>Float epochs before PrepareQat. Default 5 to 60.</summary>
    public (int Min, int Max) FloatEpochs { get; set; } = (5, 60);

    /// <summary>Quantization-aware epochs. Default 2 to 20.</summary>
    public (int Min, int Max) QatEpochs { get; set; } = (2, 20);

    /// <summary>Whether training length is searched in fixed epochs or in optimizer steps (the trainer's own rule). Default: epochs.</summary>
    public QatSearchBudget Budget { get; set; } = QatSearchBudget.Epochs;

    /// <summary>Optimizer steps of the float phase with <see cref="QatSearchBudget.OptimizerSteps"/>, log-uniform. Default 300 to 3,000 (the trainer's default: 1,500).</summary>
    public (int Min, int Max) FloatOptimizerSteps { get; set; } = (300, 3000);

    /// <summary>Optimizer steps of the QAT phase with <see cref="QatSearchBudget.OptimizerSteps"/>, log-uniform. Default 150 to 1,200 (the trainer's default: 600).</summary>
    public (int Min, int Max) QatOptimizerSteps { get; set; } = (150, 1200);

    /// <summary>QAT epoch after which observers freeze. Default 1 to 5.</summary>
    public (int Min, int Max) FreezeObserversAfterEpoch { get; set; } = (1, 5);

    /// <summary>QAT epoch after which batch-norm statistics freeze. Default 1 to 5.</summary>
    public (int Min, int Max) FreezeBatchNormAfterEpoch { get; set; } = (1, 5);

    /// <summary>Mini-batch sizes. Default 16, 32, 64.</summary>
    public IReadOnlyList<int> BatchSizes { get; set; } = [16, 32, 64];

    /// <summary>Hidden layer sizes of the built-in MLP. Default [32], [64], [128, 64], [256, 128].</summary>
    public IReadOnlyList<int[]> HiddenSizes { get; set; } = [[32], [64], [128, 64], [256, 128]];

    /// <summary>Weight decay, log-uniform (0 is not on a log scale: fix it with a list-free range such as (1e-8, 1e-8)). Default 1e-5 to 1e-2.</summary>
    public (double Min, double Max) WeightDecay { get; set; } = (1e-5, 1e-2);

    /// <summary>
    /// Bins of the piecewise-linear feature encoding to try (<see cref="Trainers.QatTrainerOptions.PiecewiseLinearBins"/>), 0 for none.
    /// Default [0] (no encoding, as the trainer's default, and the search spaces of earlier versions, whose checkpoints still
    /// resume). Widen it to [0, 16] for data where trees beat the MLP: the encoding helps there and costs smooth data
    /// (benchmarks/README.md, "The piecewise-linear encoding"), so the experiment should try both. Bin counts the data has
    /// too many features for (features x (bins + 1) above 2,048 units) are left out of the run, and the log says so.
    /// </summary>
    public IReadOnlyList<int> PiecewiseLinearBins { get; set; } = [0];

    /// <summary>
    /// A space of one point, the trainer's defaults (<see cref="QatTrialSettings.TrainerDefaults"/>, with the training length
    /// in optimizer steps as the trainer budgets it): widen the dimensions you want the experiment to choose and leave the
    /// rest as the trainer has them. With a short budget on small data, where a trial trains an ensemble and a minute holds
    /// a few trials, a few chosen alternatives beat a wide random search: for example
    /// <c>space.PiecewiseLinearBins = [8, 16]</c> with the grid tuner and <c>SetDefaultsFirst()</c> compares the defaults
    /// with and without the piecewise-linear encoding (benchmarks/README.md, "An experiment that chooses the encoding").
    /// </summary>
    public static QatSearchSpace AtTrainerDefaults()
    {
        var d = QatTrialSettings.TrainerDefaults;
        return new QatSearchSpace
        {
            Budget = QatSearchBudget.OptimizerSteps,
            Backends = [d.Backend],
            Observers = [d.Observer],
            AveragingConstant = (d.AveragingConstant, d.AveragingConstant),
            LearningRate = (d.LearningRate, d.LearningRate),
            FloatOptimizerSteps = (Trainers.QatDefaults.FloatOptimizerSteps, Trainers.QatDefaults.FloatOptimizerSteps),
            QatOptimizerSteps = (Trainers.QatDefaults.QatOptimizerSteps, Trainers.QatDefaults.QatOptimizerSteps),
            FreezeObserversAfterEpoch = (d.FreezeObserversAfterEpoch, d.FreezeObserversAfterEpoch),
            FreezeBatchNormAfterEpoch = (d.FreezeBatchNormAfterEpoch, d.FreezeBatchNormAfterEpoch),
            BatchSizes = [d.BatchSize],
            HiddenSizes = [d.HiddenSizes],
            WeightDecay = (d.WeightDecay, d.WeightDecay),
            PiecewiseLinearBins = [d.PiecewiseLinearBins],
        };
    }

    /// <summary>Checks every range, naming the one that is wrong.</summary>
    /// <exception cref="ArgumentException">An empty list, a reversed range, or a non-positive log-range bound.</exception>
    public void Validate()
    {
        static void Check(bool ok, string name, string what)
        {
            if (!ok)
                throw new ArgumentException($"Search space: {name} {what}.", name);
        }
        Check(Backends is { Count: > 0 }, nameof(Backends), "needs at least one backend");
        Check(Observers is { Count: > 0 }, nameof(Observers), "needs at least one observer kind");
        Check(AveragingConstant.Min > 0 && AveragingConstant.Min <= AveragingConstant.Max && AveragingConstant.Max <= 1, nameof(AveragingConstant),
            $"must be a range in (0, 1] with Min <= Max, got ({AveragingConstant.Min}, {AveragingConstant.Max})");
        Check(BatchSizes is { Count: > 0 } && BatchSizes.All(b => b > 0), nameof(BatchSizes), "needs at least one positive batch size");
        Check(HiddenSizes is { Count: > 0 } && HiddenSizes.All(h => h is { Length: > 0 } && h.All(v => v > 0)), nameof(HiddenSizes), "needs at least one list of positive sizes");
        Check(PiecewiseLinearBins is { Count: > 0 } && PiecewiseLinearBins.All(b => b == 0 || (b >= 2 && b <= Trainers.QatTrainerOptions.MaximumPiecewiseLinearBins)) && PiecewiseLinearBins.Distinct().Count() == PiecewiseLinearBins.Count,
            nameof(PiecewiseLinearBins), $"needs at least one bin count, each 0 (no encoding) or 2 to {Trainers.QatTrainerOptions.MaximumPiecewiseLinearBins}, none twice");
        Check(LearningRate.Min > 0 && LearningRate.Min <= LearningRate.Max, nameof(LearningRate), $"must be a positive range with Min <= Max, got ({LearningRate.Min}, {LearningRate.Max})");
        Check(WeightDecay.Min > 0 && WeightDecay.Min <= WeightDecay.Max, nameof(WeightDecay), $"must be a positive range with Min <= Max (log scale), got ({WeightDecay.Min}, {WeightDecay.Max})");
        Check(FloatEpochs.Min >= 0 && FloatEpochs.Min <= FloatEpochs.Max, nameof(FloatEpochs), $"must be a range of non-negative epochs, got ({FloatEpochs.Min}, {FloatEpochs.Max})");
        Check(QatEpochs.Min >= 1 && QatEpochs.Min <= QatEpochs.Max, nameof(QatEpochs), $"must be a range of at least one epoch, got ({QatEpochs.Min}, {QatEpochs.Max})");
        Check(Enum.IsDefined(Budget), nameof(Budget), $"must be Epochs or OptimizerSteps, got {Budget}");
        Check(FloatOptimizerSteps.Min >= 1 && FloatOptimizerSteps.Min <= FloatOptimizerSteps.Max, nameof(FloatOptimizerSteps), $"must be a range of at least one step, got ({FloatOptimizerSteps.Min}, {FloatOptimizerSteps.Max})");
        Check(QatOptimizerSteps.Min >= 1 && QatOptimizerSteps.Min <= QatOptimizerSteps.Max, nameof(QatOptimizerSteps), $"must be a range of at least one step, got ({QatOptimizerSteps.Min}, {QatOptimizerSteps.Max})");
        Check(FreezeObserversAfterEpoch.Min >= 0 && FreezeObserversAfterEpoch.Min <= FreezeObserversAfterEpoch.Max, nameof(FreezeObserversAfterEpoch), "must be a non-negative range");
        Check(FreezeBatchNormAfterEpoch.Min >= 0 && FreezeBatchNormAfterEpoch.Min <= FreezeBatchNormAfterEpoch.Max, nameof(FreezeBatchNormAfterEpoch), "must be a non-negative range");
    }

    /// <summary>A shallow copy (the lists are read-only; the caller replaces one).</summary>
    internal QatSearchSpace Copy() => (QatSearchSpace)MemberwiseClone();

    /// <summary>A short fingerprint of the space, so a checkpoint is resumed only by the experiment that wrote it.</summary>
    internal string Signature() => FormattableString.Invariant(
        $"{string.Join("/", Backends)};{string.Join("/", Observers)};{AveragingConstant};{LearningRate};{FloatEpochs};{QatEpochs};{FreezeObserversAfterEpoch};{FreezeBatchNormAfterEpoch};{string.Join("/", BatchSizes)};{string.Join("/", HiddenSizes.Select(h => string.Join("x", h)))};{WeightDecay}") +
        (Budget == QatSearchBudget.Epochs ? "" : FormattableString.Invariant($";{Budget};{FloatOptimizerSteps};{QatOptimizerSteps}")) + // epoch spaces keep their old signature (checkpoints)
        (PiecewiseLinearBins is [0] ? "" : ";ple " + string.Join("/", PiecewiseLinearBins)); // so do spaces without the encoding

    /// <summary>A random point: each setting drawn independently (log-uniform for the rates).</summary>
    internal QatTrialSettings Sample(Random random) => new()
    {
        Backend = Backends[random.Next(Backends.Count)],
        Observer = Observers[random.Next(Observers.Count)],
        AveragingConstant = LogUniform(random, AveragingConstant),
        LearningRate = LogUniform(random, LearningRate),
        FloatEpochs = Budget == QatSearchBudget.Epochs ? random.Next(FloatEpochs.Min, FloatEpochs.Max + 1) : null,
        FloatOptimizerSteps = Budget == QatSearchBudget.OptimizerSteps ? LogUniformInt(random, FloatOptimizerSteps) : null,
        QatEpochs = Budget == QatSearchBudget.Epochs ? random.Next(QatEpochs.Min, QatEpochs.Max + 1) : null,
        QatOptimizerSteps = Budget == QatSearchBudget.OptimizerSteps ? LogUniformInt(random, QatOptimizerSteps) : null,
        FreezeObserversAfterEpoch = random.Next(FreezeObserversAfterEpoch.Min, FreezeObserversAfterEpoch.Max + 1),
        FreezeBatchNormAfterEpoch = random.Next(FreezeBatchNormAfterEpoch.Min, FreezeBatchNormAfterEpoch.Max + 1),
        BatchSize = BatchSizes[random.Next(BatchSizes.Count)],
        HiddenSizes = (int[])HiddenSizes[random.Next(HiddenSizes.Count)].Clone(),
        WeightDecay = LogUniform(random, WeightDecay),
        PiecewiseLinearBins = PiecewiseLinearBins[random.Next(PiecewiseLinearBins.Count)], // drawn last: the other draws are as before
    };

    /// <summary>
    /// The coordinates of the unit cube the cost-frugal tuner searches, in order: backend, observer, averaging constant (log),
    /// learning rate (log), float epochs, QAT epochs, observer freeze, BN freeze, batch size, hidden sizes (smallest to
    /// largest network), weight decay (log), piecewise-linear bins (fewest first).
    /// </summary>
    private const int Coordinates = 12;

    /// <summary>The coordinate of the float epochs (or steps, with <see cref="QatSearchBudget.OptimizerSteps"/>).</summary>
    internal const int FloatEpochsCoordinate = 4;

    /// <summary>The coordinate of the QAT epochs (or steps).</summary>
    internal const int QatEpochsCoordinate = 5;

    /// <summary>
    /// The cheapest point of the space as coordinates: fewest epochs, the smallest network and the largest batch (fewest
    /// steps); PyTorch's defaults (or the log middle) for the rest.
    /// </summary>
    internal double[] CheapestPoint()
    {
        static double Log((double Min, double Max) r, double value) =>
            r.Min == r.Max ? 0 : Math.Clamp((Math.Log(value) - Math.Log(r.Min)) / (Math.Log(r.Max) - Math.Log(r.Min)), 0, 1);
        var x = new double[Coordinates];
        x[2] = Log(AveragingConstant, 0.01);
        x[3] = Log(LearningRate, 1e-3);
        x[8] = 1; // the largest batch size after sorting
        x[10] = Log(WeightDecay, 1e-3);
        return x;
    }

    /// <summary>The settings at unit-cube coordinates <paramref name="x"/> (see <see cref="CheapestPoint"/> for their order).</summary>
    internal QatTrialSettings At(double[] x)
    {
        static T Pick<T>(IReadOnlyList<T> choices, double u) => choices[Math.Min(choices.Count - 1, (int)Math.Floor(u * choices.Count))];
        static int Int((int Min, int Max) r, double u) => (int)Math.Round(r.Min + u * (r.Max - r.Min));
        var batches = BatchSizes.Order().ToList();
        var networks = HiddenSizes.OrderBy(h => h.Sum()).ThenBy(h => h.Length).ToList();
        return new QatTrialSettings
        {
            Backend = Pick(Backends, x[0]),
            Observer = Pick(Observers, x[1]),
            AveragingConstant = LogAt(AveragingConstant, x[2]),
            LearningRate = LogAt(LearningRate, x[3]),
            FloatEpochs = Budget == QatSearchBudget.Epochs ? Int(FloatEpochs, x[4]) : null,
            FloatOptimizerSteps = Budget == QatSearchBudget.OptimizerSteps ? LogInt(FloatOptimizerSteps, x[4]) : null,
            QatEpochs = Budget == QatSearchBudget.Epochs ? Int(QatEpochs, x[5]) : null,
            QatOptimizerSteps = Budget == QatSearchBudget.OptimizerSteps ? LogInt(QatOptimizerSteps, x[5]) : null,
            FreezeObserversAfterEpoch = Int(FreezeObserversAfterEpoch, x[6]),
            FreezeBatchNormAfterEpoch = Int(FreezeBatchNormAfterEpoch, x[7]),
            BatchSize = Pick(batches, x[8]),
            HiddenSizes = (int[])Pick(networks, x[9]).Clone(),
            WeightDecay = LogAt(WeightDecay, x[10]),
            PiecewiseLinearBins = Pick(PiecewiseLinearBins.Order().ToList(), x[11]),
        };
    }

    /// <summary>A log-uniform whole number in the range (steps: 300 to 3,000 is as likely as 3,000 to 30,000 would be).</summary>
    private static int LogUniformInt(Random random, (int Min, int Max) range) => LogInt(range, random.NextDouble());

    /// <summary>The whole number at <paramref name="u"/> (0 to 1) of the range on a log scale.</summary>
    private static int LogInt((int Min, int Max) range, double u) => Math.Clamp((int)Math.Round(LogAt((range.Min, range.Max), u)), range.Min, range.Max);

    /// <summary>The value at <paramref name="u"/> (0 to 1) of the range on a log scale.</summary>
    private static double LogAt((double Min, double Max) range, double u) => Math.Exp(Math.Log(range.Min) + u * (Math.Log(range.Max) - Math.Log(range.Min)));

    private static double LogUniform(Random random, (double Min, double Max) range) => LogAt(range, random.NextDouble());
}
