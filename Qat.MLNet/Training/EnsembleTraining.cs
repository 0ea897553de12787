using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Runtime;
using Qat.MLNet.Inference;
using Qat.MLNet.Reports;
using Qat.MLNet.Scoring;
using Qat.MLNet.Tasks;
using Qat.MLNet.Trainers;
using static TorchSharp.torch;

namespace Qat.MLNet.Training;

/// <summary>
/// A Fit of several built-in MLPs (<see cref="QatTrainerOptions.EnsembleSize"/>): each member trains as a single Fit would,
/// with seed + its index and its own held-out rows; their float weights are merged into one wider MLP that averages them
/// (<see cref="MlpEnsemble"/>), whose quantization parameters are observed on all training rows before Convert.
/// </summary>
internal static class EnsembleTraining
{
    /// <summary>Trains <paramref name="members"/> networks and returns the merged int8 model and its report.</summary>
    /// <param name="host">The trainer's host.</param>
    /// <param name="channel">The Fit's channel (progress goes to MLContext.Log).</param>
    /// <param name="options">The trainer's options (EnsembleSize resolved to <paramref name="members"/>).</param>
    /// <param name="input">The training data.</param>
    /// <param name="first">The first member's checked data (seed <paramref name="seed"/>), already made by Fit.</param>
    /// <param name="createTask">Makes the task from the label column.</param>
    /// <param name="seed">The Fit's seed; member i uses seed + i.</param>
    /// <param name="members">How many networks, at least 2.</param>
    public static (QuantizedModel Model, QatTrainingReport Report) Run(IHost host, IChannel channel, QatTrainerOptions options, IDataView input,
        TrainingData first, Func<DataViewSchema.Column, TrainingTask> createTask, int seed, int members)
    {
        var clock = Stopwatch.StartNew();
        int[] hidden = options.Network.MlpHiddenSizes
            ?? throw new InvalidOperationException($"An ensemble needs the built-in MLP; the network is '{options.Network.Description}'.");
        var memberOptions = options.Copy();
        memberOptions.MaximumTrainingTimeInSeconds = options.MaximumTrainingTimeInSeconds / members;
        var trained = new List<MlpEnsemble.Member>();
        var epochs = new List<QatEpochReport>();
        var phases = new List<string>();
        for (int m = 0; m < members; m++)
        {
            int memberSeed = unchecked(seed + m);
            var data = m == 0 ? first : TrainingData.Check(host, input, memberOptions, createTask, memberSeed);
            channel.Info(MessageSensitivity.None, FormattableString.Invariant($"Qat ensemble member {m + 1} of {members}: seed {memberSeed}, validation: {data.ValidationDescription}."));
            using var scope = NewDisposeScope();
            var session = new QatTrainingSession(host, channel, memberOptions, data.Task, data, memberSeed);
            var network = session.Train();
            try
            {
                var (labelScale, labelShift) = LabelScaling(data.Task);
                // Behind the piecewise-linear encoding fc1 reads bins, which no standardization changes: nothing to fold.
                trained.Add(MlpEnsemble.Read(network.Model, hidden.Length + 1, data.Encoding is null ? data.Standardization : null, labelScale, labelShift));
            }
            finally
            {
                network.Model.Dispose();
            }
            epochs.AddRange(network.Epochs.Select(e => e with { Member = m + 1 }));
            phases.AddRange(network.Phases.Select(p => FormattableString.Invariant($"member {m + 1} of {members} (seed {memberSeed}): {p}")));
        }

        // The merged network's own scalings come from every training row (no row is held out: each member had its own).
        var allOptions = options.Copy();
        if (allOptions.ValidationSet is null)
            allOptions.ValidationFraction = 0;
        var all = TrainingData.Check(host, input, allOptions, createTask, seed);
        var (scale, shift) = LabelScaling(all.Task);
        using var mergeScope = NewDisposeScope();
        var shape = options.Network.InputShape(all.FeatureCount, all.Feature.Name);
        var wide = QatNetwork.Mlp(hidden.Select(h => h * members).ToArray());
        // Every member's encoding has the edges of the same rows (TrainingData.Encoding): the merged network needs one.
        if (all.Encoding is { } encoding)
            wide = wide.WithEncoding(encoding);
        nn.Module<Tensor, Tensor> merged;
        lock (QatTrainingSession.RandomLock) // building draws initial weights from TorchSharp's process-wide generator
            merged = wide.Build(shape, all.Task.OutputCount);
        MlpEnsemble.WriteAverage(merged, trained, hidden, all.Encoding?.OutputCount ?? shape.Size, all.Task.OutputCount,
            all.Encoding is null ? all.Standardization : null, scale, shift);
        phases.Add(FormattableString.Invariant($"merged the {members} members into {wide.Description}: outputs averaged{(all.Task.HasAccuracy ? "" : " in the label's units")}"));
        channel.Info(MessageSensitivity.None, "Qat " + phases[^1] + ".");
        var session2 = new QatTrainingSession(host, channel, allOptions, all.Task, all, seed);
        var calibrated = session2.Calibrate(merged, epochs, phases, clock.Elapsed.TotalSeconds);
        return session2.Finish(calibrated, members);
    }

    /// <summary>The label scaling a task's outputs are in: the regression label's scale and shift, 1 and 0 otherwise.</summary>
    private static (float Scale, float Shift) LabelScaling(TrainingTask task) =>
        task.Scoring is RegressionScoringTask regression ? (regression.LabelScale, regression.LabelShift) : (1f, 0f);
}
