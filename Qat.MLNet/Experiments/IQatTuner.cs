namespace Qat.MLNet.Experiments;

/// <summary>A trial to run: its settings and, for successive halving, its rung.</summary>
/// <param name="Settings">What to train with.</param>
/// <param name="Rung">The budget rung (0 for tuners without rungs).</param>
public sealed record QatTrialProposal(QatTrialSettings Settings, int Rung = 0);

/// <summary>
/// Chooses the next trial from the search space and the trials so far (ML.NET AutoML's ITuner, for QAT). Deterministic
/// given its seed and the history, so an experiment can be replayed and resumed.
/// </summary>
public interface IQatTuner
{
    /// <summary>The next trial, or null when the tuner has nothing left to try (a grid that is done).</summary>
    QatTrialProposal? Propose(QatSearchSpace space, IReadOnlyList<QatTrialResult> history);
}

/// <summary>The tuners: random, grid, successive halving and cost-frugal search.</summary>
public static class QatTuners
{
    /// <summary>Independent random points of the space.</summary>
    public static IQatTuner Random(int seed) => new RandomTuner(seed);

    /// <summary>
    /// Every combination of the listed choices (backends, batch sizes, hidden sizes) and of each range's ends and middle,
    /// in a fixed order; ends when all are tried.
    /// </summary>
    public static IQatTuner Grid() => new GridTuner();

    /// <summary>
    /// Successive halving over epochs: <paramref name="configurations"/> random settings trained with 1/eta² of their
    /// epochs, the best 1/eta of them again with 1/eta, the best of those with all; then a new bracket. Spends most of
    /// the budget on the settings that look best early.
    /// </summary>
    public static IQatTuner SuccessiveHalving(int seed, int configurations = 9, int eta = 3) => new SuccessiveHalvingTuner(seed, configurations, eta);

    /// <summary>
    /// Cost-frugal search (CFO, the search of FLAML and ML.NET AutoML): from the cheapest settings (fewest epochs, smallest
    /// network) a randomized local search that moves only where trials get better, so costly settings are tried only
    /// where they pay; restarts from a random point when its step has shrunk away.
    /// </summary>
    public static IQatTuner CostFrugal(int seed) => new CostFrugalTuner(seed);
}
