namespace Qat.MLNet.Experiments;

/// <summary>Random search: point i is the i-th draw of a generator seeded once (replayable).</summary>
internal sealed class RandomTuner(int seed) : IQatTuner
{
    public QatTrialProposal? Propose(QatSearchSpace space, IReadOnlyList<QatTrialResult> history)
    {
        var random = new Random(seed);
        QatTrialSettings settings = space.Sample(random);
        for (int i = 0; i < history.Count; i++)
            settings = space.Sample(random);
        return new QatTrialProposal(settings);
    }
}

/// <summary>Grid search over the choices and each range's ends and middle.</summary>
internal sealed class GridTuner : IQatTuner
{
    public QatTrialProposal? Propose(QatSearchSpace space, IReadOnlyList<QatTrialResult> history)
    {
        static double[] LogPoints((double Min, double Max) r) => r.Min == r.Max ? [r.Min] : [r.Min, Math.Sqrt(r.Min * r.Max), r.Max];
        static int[] Points((int Min, int Max) r) => r.Min == r.Max ? [r.Min] : [.. new[] { r.Min, (r.Min + r.Max) / 2, r.Max }.Distinct()];
        static int[] LogIntPoints((int Min, int Max) r) => r.Min == r.Max ? [r.Min] : [.. new[] { r.Min, (int)Math.Round(Math.Sqrt((double)r.Min * r.Max)), r.Max }.Distinct()];
        // A phase's length as the space's budget has it: epochs (ends and middle) or optimizer steps (ends and log middle).
        IEnumerable<(int? Epochs, int? Steps)> Lengths((int Min, int Max) epochs, (int Min, int Max) steps) => space.Budget == QatSearchBudget.Epochs
            ? Points(epochs).Select(e => ((int?)e, (int?)null))
            : LogIntPoints(steps).Select(n => ((int?)null, (int?)n));
        var grid =
            from backend in space.Backends
            from observer in space.Observers
            from hidden in space.HiddenSizes
            from lr in LogPoints(space.LearningRate)
            from batch in space.BatchSizes
            from floatLength in Lengths(space.FloatEpochs, space.FloatOptimizerSteps)
            from qatLength in Lengths(space.QatEpochs, space.QatOptimizerSteps)
            from wd in LogPoints(space.WeightDecay)
            from bins in space.PiecewiseLinearBins
            select new QatTrialSettings
            {
                Backend = backend, Observer = observer, AveragingConstant = Math.Sqrt(space.AveragingConstant.Min * space.AveragingConstant.Max), HiddenSizes = (int[])hidden.Clone(), LearningRate = lr, BatchSize = batch,
                FloatEpochs = floatLength.Epochs, FloatOptimizerSteps = floatLength.Steps, QatEpochs = qatLength.Epochs, QatOptimizerSteps = qatLength.Steps,
                WeightDecay = wd, PiecewiseLinearBins = bins, FreezeObserversAfterEpoch = space.FreezeObserversAfterEpoch.Min, FreezeBatchNormAfterEpoch = space.FreezeBatchNormAfterEpoch.Min,
            };
        var next = grid.Skip(history.Count).FirstOrDefault();
        return next is null ? null : new QatTrialProposal(next);
    }
}

/// <summary>
/// Successive halving in brackets of <c>n</c> configurations: rung r trains with epochs / eta^(rungs - 1 - r); after a
/// rung is complete, its best n / eta^(r+1) (by the experiment's metric; failed and violating trials last) go to the next.
/// </summary>
internal sealed class SuccessiveHalvingTuner : IQatTuner, IRanksByMetric
{
    private readonly int _seed;
    private readonly int _configurations;
    private readonly int _eta;
    private readonly int _rungs;

    public SuccessiveHalvingTuner(int seed, int configurations, int eta)
    {
        if (configurations < 1)
            throw new ArgumentOutOfRangeException(nameof(configurations), configurations, "Successive halving needs at least one configuration per bracket.");
        if (eta < 2)
            throw new ArgumentOutOfRangeException(nameof(eta), eta, "eta must be at least 2 (the share of configurations kept per rung is 1/eta).");
        (_seed, _configurations, _eta) = (seed, configurations, eta);
        _rungs = 1;
        for (int n = configurations; n >= eta; n /= eta)
            _rungs++;
    }

    /// <summary>Set by the experiment: whether a higher metric is better.</summary>
    public bool HigherIsBetter { get; set; } = true;

    private int TrialsPerBracket
    {
        get
        {
            int total = 0;
            for (int r = 0, n = _configurations; r < _rungs; r++, n /= _eta)
                total += Math.Max(1, n);
            return total;
        }
    }

    public QatTrialProposal? Propose(QatSearchSpace space, IReadOnlyList<QatTrialResult> history)
    {
        int bracket = history.Count / TrialsPerBracket;
        int position = history.Count % TrialsPerBracket;
        var inBracket = history.Skip(bracket * TrialsPerBracket).ToList();
        var random = new Random(unchecked(_seed + 7919 * bracket));
        var full = Enumerable.Range(0, _configurations).Select(_ => space.Sample(random)).ToArray();
        // Which rung and which slot of it is next.
        int rung = 0, start = 0, size = _configurations;
        while (position >= start + size)
        {
            start += size;
            rung++;
            size = Math.Max(1, size / _eta);
        }
        int slot = position - start;
        int[] candidates;
        if (rung == 0)
        {
            candidates = Enumerable.Range(0, _configurations).ToArray();
        }
        else
        {
            // The previous rung's results, best first: they are the trials start - previous size .. start - 1 of the bracket.
            int previousSize = rung == 1 ? _configurations : Math.Max(1, _configurations / Pow(_eta, rung - 1));
            var previous = inBracket.Skip(start - previousSize).Take(previousSize).Select((t, i) => (Trial: t, Index: PreviousIndex(inBracket, start - previousSize + i, full))).ToList();
            candidates = previous.OrderBy(p => Rank(p.Trial)).Select(p => p.Index).ToArray();
        }
        var chosen = full[candidates[slot]];
        double share = 1.0 / Pow(_eta, _rungs - 1 - rung);
        // Sampled settings have either epochs or steps (the space's budget): the rung scales whichever it has.
        var scaled = chosen with
        {
            FloatEpochs = chosen.FloatEpochs is { } fe ? (int)Math.Ceiling(fe * share) : null,
            QatEpochs = chosen.QatEpochs is { } qe ? Math.Max(1, (int)Math.Ceiling(qe * share)) : null,
            FloatOptimizerSteps = chosen.FloatOptimizerSteps is { } fs ? Math.Max(1, (int)Math.Ceiling(fs * share)) : null,
            QatOptimizerSteps = chosen.QatOptimizerSteps is { } qs ? Math.Max(1, (int)Math.Ceiling(qs * share)) : null,
        };
        return new QatTrialProposal(scaled, rung);
    }

    /// <summary>Index into the bracket's configurations of the trial at <paramref name="position"/> (matched by its full settings).</summary>
    private static int PreviousIndex(List<QatTrialResult> bracket, int position, QatTrialSettings[] full)
    {
        var s = bracket[position].Settings;
        for (int i = 0; i < full.Length; i++)
        {
            var f = full[i];
            if (f.Backend == s.Backend && f.Observer == s.Observer && f.AveragingConstant == s.AveragingConstant && f.LearningRate == s.LearningRate && f.BatchSize == s.BatchSize && f.WeightDecay == s.WeightDecay && f.PiecewiseLinearBins == s.PiecewiseLinearBins && f.HiddenSizes.SequenceEqual(s.HiddenSizes))
                return i;
        }
        throw new InvalidOperationException("A successive-halving trial does not match its bracket's configurations: the history is not this tuner's.");
    }

    private double Rank(QatTrialResult t) =>
        t.Status != QatTrialStatus.Completed || double.IsNaN(t.Metric) ? double.PositiveInfinity : HigherIsBetter ? -t.Metric : t.Metric;

    private static int Pow(int b, int e)
    {
        int r = 1;
        for (int i = 0; i < e; i++)
            r *= b;
        return r;
    }
}
