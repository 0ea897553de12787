namespace Qat.MLNet.Experiments;

/// <summary>
/// Runs one trial and measures its int8 model. The experiment calls it one trial at a time; an implementation may send
/// the trial elsewhere (a job on another machine: the settings and seed are all it needs, with the data it can reach)
/// and return the measurements. See the README for running trials on several machines.
/// </summary>
public interface IQatTrialRunner
{
    /// <summary>Trains with <paramref name="proposal"/>'s settings and seed <paramref name="seed"/>, measures, and returns the result (status, metric, size, latency).</summary>
    /// <remarks>Throwing marks the trial failed; an <see cref="OperationCanceledException"/> on cancellation marks it cancelled.</remarks>
    Task<QatTrialResult> RunAsync(int id, QatTrialProposal proposal, int seed, CancellationToken cancellationToken);
}
