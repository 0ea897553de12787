namespace Qat.MLNet.Experiments;

/// <summary>
/// A cost-frugal search (CFO: Wu, Wang, Huang, "Frugal Optimization for Cost-related Hyperparameters", AAAI 2021, the
/// search behind FLAML and ML.NET AutoML's default tuner), rewritten for the QAT search space. Every setting is a
/// coordinate in [0, 1] (log scale for the rates; lists by their order, hidden sizes from smallest to largest). The
/// search starts at the cheapest point (fewest epochs, smallest network, PyTorch's defaults elsewhere; and, one trial
/// later, the same with the middle of the epoch ranges, keeping the better) and moves by randomized direct search: from
/// the best point so far it tries one step along a random direction, then the opposite step; a trial at least as good
/// becomes the new best (ties move, so the search crosses plateaus). After as many failed pairs as there are coordinates the step halves;
/// below <see cref="MinimumStep"/> the search restarts from a random point. Costly settings (more epochs, wider networks)
/// are reached only where they pay, so the budget goes to cheap trials first.
/// </summary>
/// <remarks>
/// Deterministic given its seed and the history: the proposal is recomputed by replaying the history, so an experiment
/// resumed from its checkpoint continues where it stopped. Failed and constraint-violating trials count as worse than
/// any completed one.
/// </remarks>
internal sealed class CostFrugalTuner(int seed) : IQatTuner, IRanksByMetric
{
    /// <summary>The first step length in the unit cube, times sqrt(coordinates) (FLAML's 0.1 x sqrt(d)).</summary>
    internal const double InitialStepPerSqrtDimension = 0.1;

    /// <summary>Below this step length the search restarts from a random point.</summary>
    internal const double MinimumStep = 0.01;

    /// <inheritdoc />
    public bool HigherIsBetter { get; set; } = true;

    public QatTrialProposal? Propose(QatSearchSpace space, IReadOnlyList<QatTrialResult> history)
    {
        var search = new Search(space, seed, HigherIsBetter);
        foreach (var result in history)
            search.Observe(result);
        return new QatTrialProposal(space.At(search.Next));
    }

    /// <summary>The search's state after each observed trial; <see cref="Next"/> is the point to try next.</summary>
    private sealed class Search
    {
        private readonly Random _random;
        private readonly bool _higherIsBetter;
        private readonly int _dimensions;
        private readonly double _initialStep;
        private readonly Queue<double[]> _starts = new();
        private double[] _best;
        private double _bestScore = double.NegativeInfinity;
        private double[] _direction = [];
        private double _step;
        private int _failedPairs;
        private bool _triedPlus;
        private bool _evaluatingStart = true;
        private bool _roundHasIncumbent;

        public Search(QatSearchSpace space, int seed, bool higherIsBetter)
        {
            _random = new Random(seed);
            _higherIsBetter = higherIsBetter;
            _best = space.CheapestPoint();
            _dimensions = _best.Length;
            _initialStep = _step = InitialStepPerSqrtDimension * Math.Sqrt(_dimensions);
            // Two starts, the better one kept: the cheapest point, and the same settings with the middle of each epoch
            // range. On tiny data the cheapest point trains a few dozen steps, a plateau where every neighbour scores
            // the same; the second start costs one trial and keeps the search from beginning there.
            var middle = (double[])_best.Clone();
            middle[QatSearchSpace.FloatEpochsCoordinate] = middle[QatSearchSpace.QatEpochsCoordinate] = 0.5;
            _starts.Enqueue(middle);
            Next = _best;
        }

        public double[] Next { get; private set; }

        public void Observe(QatTrialResult result)
        {
            double score = result.Status == QatTrialStatus.Completed && double.IsFinite(result.Metric)
                ? (_higherIsBetter ? result.Metric : -result.Metric)
                : double.NegativeInfinity;
            var tried = Next;
            if (_evaluatingStart)
            {
                // A round of starts (the first two, or one restart) makes its best start the incumbent, whatever it scored.
                if (!_roundHasIncumbent || score > _bestScore)
                    (_best, _bestScore, _roundHasIncumbent) = (tried, score, true);
                if (_starts.Count > 0)
                {
                    Next = _starts.Dequeue();
                    return;
                }
                _evaluatingStart = false;
                Move();
                return;
            }
            // Ties move too: on a plateau (small data, many settings scoring the same) the search keeps walking.
            if (score > double.NegativeInfinity && score >= _bestScore)
            {
                (_best, _bestScore, _failedPairs) = (tried, score, 0);
                Move();
                return;
            }
            if (!_triedPlus)
            {
                // The step along the direction failed: the opposite step next.
                _triedPlus = true;
                Next = Step(-1);
                return;
            }
            if (++_failedPairs >= _dimensions)
            {
                _failedPairs = 0;
                _step /= 2;
                if (_step < MinimumStep)
                {
                    _step = _initialStep;
                    (_evaluatingStart, _roundHasIncumbent) = (true, false);
                    Next = Enumerable.Range(0, _dimensions).Select(_ => _random.NextDouble()).ToArray();
                    return;
                }
            }
            Move();
        }

        /// <summary>A new random direction and the step along it.</summary>
        private void Move()
        {
            var u = new double[_dimensions];
            double norm = 0;
            for (int i = 0; i < u.Length; i++)
            {
                // A normal draw per coordinate (Box-Muller): the direction is uniform on the sphere.
                u[i] = Math.Sqrt(-2 * Math.Log(1 - _random.NextDouble())) * Math.Cos(2 * Math.PI * _random.NextDouble());
                norm += u[i] * u[i];
            }
            norm = Math.Sqrt(norm);
            for (int i = 0; i < u.Length; i++)
                u[i] /= norm;
            _direction = u;
            _triedPlus = false;
            Next = Step(+1);
        }

        private double[] Step(int sign) => _best.Select((x, i) => Math.Clamp(x + sign * _step * _direction[i], 0, 1)).ToArray();
    }
}

/// <summary>A tuner that ranks trials by the experiment's metric and needs its direction (set by the experiment).</summary>
internal interface IRanksByMetric
{
    /// <summary>Whether a higher metric is better.</summary>
    bool HigherIsBetter { set; }
}
